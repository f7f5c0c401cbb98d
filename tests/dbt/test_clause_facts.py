"""The clause suites read typed columns (``metrics.metric_clause_facts``,
``intermediate.int_call_disclosures``), not the marts' ``evidence`` JSON, and
get exactly the frames they got when they unpacked the evidence themselves.

On a dbt-built warehouse (a generated landing zone with planted violations),
every clause suite's frame of every month equals, value for value and type
for type, the frame of the evidence-reading query the suites used before.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from vc_sample.generate import generate
from voice_compliance import dbt_runner, ingest
from voice_compliance.config import Settings
from voice_compliance.policy import load_policy
from voice_compliance.validation.catalog import load_suites
from voice_compliance.validation.frames import compute_frame, months_in_marts

pytestmark = pytest.mark.dbt

# What the frames computed from the evidence before: column -> expression.
_NUMBER = "'***' || right(evidence->>'number', 4) || '/' || (evidence->>'month')"
EVIDENCE_FACTS: dict[str, tuple[str, dict[str, str]]] = {
    "complaints.rate": (
        _NUMBER,
        {
            "complaints": "(evidence->>'complaints')::integer",
            "attempts": "(evidence->>'attempts')::bigint",
            "complaints_per_1000": "(evidence->>'complaints_per_1000')::double",
        },
    ),
    "unanswered.volume": (
        _NUMBER,
        {
            "attempts": "(evidence->>'attempts')::bigint",
            "unanswered": "(evidence->>'unanswered')::bigint",
            "unanswered_ratio": "(evidence->>'unanswered_ratio')::double",
        },
    ),
    "duration.average": (
        "account_sid || '/' || (evidence->>'month')",
        {
            "answered": "(evidence->>'answered')::bigint",
            "average_duration_s": "(evidence->>'average_duration_s')::double",
        },
    ),
    "dnc.registry_freshness": (
        "subject_id",
        {"registry": "evidence->>'registry'", "age_days": "(evidence->>'age_days')::integer"},
    ),
    "cps.multi_region": (
        "subject_id",
        {
            "episodes_started": "(evidence->>'episodes_started')::integer",
            "max_concurrent_hot_in_window": (
                "(evidence->>'max_concurrent_hot_in_window')::integer"
            ),
        },
    ),
}
EVIDENCE_DISCLOSURE = """
select coalesce(account_sid, '-') as account_key, strftime(period_start, '%Y-%m') as month,
    count(*) as subjects_checked, count(*) filter (where is_violation) as violations,
    count(*) filter (where not (evidence->>'has_disclosure_record')::boolean)
        as calls_without_record,
    count(*) filter (where evidence->>'identity_disclosed_at_s' is null) as identity_missing,
    count(*) filter (where evidence->>'purpose_disclosed_at_s' is null) as purpose_missing,
    max((evidence->>'identity_disclosed_at_s')::double) as max_identity_offset_s,
    max((evidence->>'purpose_disclosed_at_s')::double) as max_purpose_offset_s
from compliance.clause_outcomes
where clause_id = 'disclosure.identity_purpose'
    and period_start >= $month_start and period_start < $month_end
group by all order by all
"""


def evidence_frame_sql(clause_id: str) -> str:
    subject_key, facts = EVIDENCE_FACTS[clause_id]
    columns = ", ".join(f"{sql} as {name}" for name, sql in facts.items())
    return f"""
select coalesce(account_sid, '-') as account_key, strftime(period_start, '%Y-%m') as month,
    {subject_key} as subject_key, 1 as subjects_checked,
    case when is_violation then 1 else 0 end as violations, {columns}
from compliance.clause_outcomes
where clause_id = '{clause_id}' and period_start >= $month_start and period_start < $month_end
order by all
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("facts")
    report = generate(root / "landing", seed=11, calls=1_000)
    settings = Settings.from_env(
        landing=str(report.out), warehouse=str(root / "wh.duckdb"), data_dir=root / "data"
    )
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    dbt_runner.dbt_build(settings)
    return settings.warehouse


def test_clause_frames_are_the_evidence_frames(warehouse: Path) -> None:
    policy = load_policy()
    suites = {s.clause_id: s for s in load_suites(policy) if s.kind == "clause"}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        months = months_in_marts(con)
        compared = 0
        for clause_id in [*EVIDENCE_FACTS, "disclosure.identity_purpose"]:
            suite = suites[clause_id]
            assert "evidence" not in suite.frame_sql, clause_id
            reference = replace(
                suite,
                frame_sql=(
                    EVIDENCE_DISCLOSURE
                    if clause_id == "disclosure.identity_purpose"
                    else evidence_frame_sql(clause_id)
                ),
            )
            for month in months:
                typed = compute_frame(con, suite, policy, month)
                expected = compute_frame(con, reference, policy, month)
                pd.testing.assert_frame_equal(typed, expected, obj=f"{clause_id} {month}")
                compared += len(typed)
        assert compared > 0
        facts = con.execute("select count(*) from metrics.metric_clause_facts").fetchone()
        subjects = con.execute(
            "select count(*) from compliance.clause_outcomes where clause_id in"
            f" ({', '.join(repr(c) for c in EVIDENCE_FACTS)})"
        ).fetchone()
        assert facts == subjects  # one typed row per subject, none lost, none repeated
    finally:
        con.close()


def test_no_suite_unpacks_evidence() -> None:
    for suite in load_suites(load_policy()):
        assert "evidence" not in suite.frame_sql, suite.name
