"""Each suite passes on clean data and fails, with its own clause_id, on data
that breaks its clause.

The warehouse here is built by hand: the tables the frames read (the clause
outcomes dbt would build, the staged calls and consent, the metrics, the
load manifest) with one compliant subject per clause. A broken variant adds
one subject that breaks exactly one clause, with facts (evidence) beyond the
policy's thresholds, which come from the policy file, as in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from voice_compliance import warehouse
from voice_compliance.config import Settings
from voice_compliance.policy import CLAUSE_IDS, Policy, load_policy
from voice_compliance.validation import results
from voice_compliance.validation.catalog import load_suites
from voice_compliance.validation.run import data_docs_index, validate

pytestmark = pytest.mark.gx

MONTH = "2026-10"
DAY = "2026-10-14"
ACCOUNT = "AC0000000000000000000000000000000a"
POLICY = load_policy()


@dataclass
class Outcome:
    """A row of ``compliance.clause_outcomes``."""

    clause_id: str
    subject_id: str
    is_violation: bool
    account_sid: str | None = ACCOUNT
    evidence: dict[str, Any] = field(default_factory=dict)
    subject_type: str = "call"


def clean_outcomes(p: Policy) -> list[Outcome]:
    """One compliant subject per clause, facts on the compliant side of each threshold."""
    number = {"number": "+14155550100", "month": MONTH}
    rows = [
        Outcome(c, f"CA{i:032x}", False)
        for i, c in enumerate(
            (
                "consent.prior_consent",
                "optout.mechanism",
                "optout.honored",
                "dnc.registry",
                "callerid.misleading",
                "country.calling_hours",
            )
        )
    ]
    at_limit = p.disclosure_max_offset_s
    rows.append(
        Outcome(
            "disclosure.identity_purpose",
            "CA" + "d" * 32,
            False,
            evidence={
                "has_disclosure_record": True,
                "identity_disclosed_at_s": at_limit,
                "purpose_disclosed_at_s": at_limit,
            },
        )
    )
    attempts = int(p.complaints_min_count * 1000 / p.complaints_max_per_1000)
    rows.append(
        Outcome(
            "complaints.rate",
            f"+14155550100/{MONTH}",
            False,
            evidence={
                **number,
                "complaints": p.complaints_min_count,
                "attempts": attempts,
                "complaints_per_1000": p.complaints_min_count * 1000 / attempts,
            },
            subject_type="number_month",
        )
    )
    unanswered = int(p.unanswered_min_attempts * p.unanswered_max_ratio)
    rows.append(
        Outcome(
            "unanswered.volume",
            f"+14155550100/{MONTH}",
            False,
            evidence={
                **number,
                "attempts": p.unanswered_min_attempts,
                "unanswered": unanswered,
                "unanswered_ratio": unanswered / p.unanswered_min_attempts,
            },
            subject_type="number_month",
        )
    )
    rows.append(
        Outcome(
            "duration.average",
            f"{ACCOUNT}/{MONTH}",
            False,
            evidence={
                "month": MONTH,
                "answered": p.acd_min_answered,
                "average_duration_s": p.acd_min_seconds,
            },
            subject_type="account_month",
        )
    )
    registry, max_age = next(iter(sorted(p.dnc_registry_max_age_days.items())))
    rows.append(
        Outcome(
            "dnc.registry_freshness",
            f"{registry}/{DAY}",
            False,
            account_sid=None,
            evidence={"registry": registry, "age_days": max_age},
            subject_type="registry_day",
        )
    )
    rows.append(
        Outcome(
            "cps.multi_region",
            f"{ACCOUNT}/{DAY}",
            False,
            evidence={"episodes_started": 0, "max_concurrent_hot_in_window": _window_buckets(p)},
            subject_type="account_day",
        )
    )
    return rows


def _window_buckets(p: Policy) -> int:
    return p.cps_max_concurrent_hot_hours * 3600 // p.cps_bucket_seconds


def breaking(clause_id: str, p: Policy) -> Outcome:
    """One subject that breaks ``clause_id`` (and its threshold, where it has one)."""
    number = {"number": "+14155550199", "month": MONTH}
    over: dict[str, tuple[dict[str, Any], str, str | None]] = {
        "disclosure.identity_purpose": (
            {
                "has_disclosure_record": True,
                "identity_disclosed_at_s": 1,
                "purpose_disclosed_at_s": p.disclosure_max_offset_s + 1,
            },
            "call",
            ACCOUNT,
        ),
        "complaints.rate": (
            {
                **number,
                "complaints": p.complaints_min_count,
                "attempts": 400,
                "complaints_per_1000": p.complaints_min_count * 1000 / 400,
            },
            "number_month",
            ACCOUNT,
        ),
        "unanswered.volume": (
            {
                **number,
                "attempts": p.unanswered_min_attempts,
                "unanswered": int(p.unanswered_min_attempts * p.unanswered_max_ratio) + 1,
                "unanswered_ratio": (int(p.unanswered_min_attempts * p.unanswered_max_ratio) + 1)
                / p.unanswered_min_attempts,
            },
            "number_month",
            ACCOUNT,
        ),
        "duration.average": (
            {"month": MONTH, "answered": p.acd_min_answered, "average_duration_s": 1.0},
            "account_month",
            "AC" + "b" * 32,
        ),
        "dnc.registry_freshness": (
            {"registry": "ca_dncl", "age_days": p.dnc_registry_max_age_days["ca_dncl"] + 1},
            "registry_day",
            None,
        ),
        "cps.multi_region": (
            {"episodes_started": 1, "max_concurrent_hot_in_window": _window_buckets(p) + 1},
            "account_day",
            "AC" + "c" * 32,
        ),
    }
    evidence, subject_type, account = over.get(clause_id, ({}, "call", ACCOUNT))
    subject = {
        "number_month": f"{number['number']}/{MONTH}",
        "account_month": f"{account}/{MONTH}",
        "account_day": f"{account}/{DAY}",
        "registry_day": f"ca_dncl/{DAY}",
    }.get(subject_type, "CA" + "f" * 32)
    return Outcome(clause_id, subject, True, account, evidence, subject_type)


def build_warehouse(path: Path, outcomes: list[Outcome], **broken: bool) -> None:
    """The tables the frames read, with ``outcomes`` and clean data-quality inputs."""
    with warehouse.connect(path) as con:
        for schema in ("staging", "metrics"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(
            "create table compliance.clause_outcomes (clause_id varchar, subject_type varchar,"
            " subject_id varchar, account_sid varchar, period_start date, is_violation boolean,"
            " severity varchar, evidence json)"
        )
        for o in outcomes:
            con.execute(
                "insert into compliance.clause_outcomes values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    o.clause_id,
                    o.subject_type,
                    o.subject_id,
                    o.account_sid,
                    DAY,
                    o.is_violation,
                    POLICY.clause(o.clause_id).severity,
                    json.dumps(o.evidence),
                ],
            )
        sids = ["CA1", "CA1"] if broken.get("duplicate_sid") else ["CA1", "CA2"]
        valid = "false" if broken.get("invalid_callee") else "true"
        con.execute(
            "create table staging.stg_twilio__calls as select unnest(?) as call_sid,"
            f" 'outbound-api' as direction, {valid} as to_is_valid,"
            " timestamptz '2026-10-14 12:00:00+00' as started_at",
            [sids],
        )
        unclassified = 1 if broken.get("unclassified") else 0
        con.execute(
            "create table metrics.metric_unclassified_calls as select ? as account_sid,"
            " ? as metric_month, date '2026-10-01' as month_start, 100 as attempts,"
            " ? as unclassified_attempts, ? / 100.0 as unclassified_share",
            [ACCOUNT, MONTH, unclassified, unclassified],
        )
        coverage = "missing" if broken.get("registry_missing") else "covered"
        con.execute(
            "create table metrics.metric_registry_coverage as select 'US' as callee_country,"
            " ? as coverage_status, null as registries_never_loaded, 10 as telemarketing_calls",
            [coverage],
        )
        granted = "now() + interval 1 day" if broken.get("future_consent") else "now()"
        con.execute(
            f"create table staging.stg_exports__consent as select {granted} as granted_at,"
            " cast(null as timestamptz) as revoked_at"
        )
        quarantined = 0 if broken.get("unreconciled") else 1
        con.execute(
            "insert into compliance.load_manifest values ('f1', 'calls', 'calls/a.csv',"
            " 'calls/a.csv', null, 10, 'x', 'y', 'partial', null, 10, 9, ?, 1, now())",
            [quarantined],
        )
        unknown = 1 if broken.get("unknown_tz") else 0
        con.execute(
            "create table metrics.metric_calling_hours_unknown_tz as select 10 as"
            " telemarketing_attempts, ? as unknown_tz_calls, 0 as invalid_callee_calls,"
            " ? as unmapped_zone_calls",
            [unknown, unknown],
        )
        con.execute(
            "create table metrics.metric_cps_unallotted_regions (account_sid varchar,"
            " home_region varchar, metric_month varchar, attempts bigint)"
        )
        if broken.get("unallotted"):
            con.execute(
                "insert into metrics.metric_cps_unallotted_regions values (?, 'au1', ?, 5)",
                [ACCOUNT, MONTH],
            )


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[[str], Settings]:
    def make(name: str) -> Settings:
        root = tmp_path / name
        return Settings(
            landing=str(root / "landing"),
            warehouse=root / "wh.duckdb",
            data_dir=root / "data",
            airflow_home=root / "airflow",
        )

    return make


def run_and_read(settings: Settings, run_id: str = "test-run") -> list[dict[str, Any]]:
    validate(settings, run_id=run_id, months=[MONTH])
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        cursor = con.execute(
            "select * from compliance.validation_results where run_id = ? order by all", [run_id]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def failing_keys(settings: Settings, run_id: str = "test-run") -> list[results.FailingKey]:
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        return results.failing_keys(con, run_id)


def test_every_suite_passes_on_clean_data(make_settings: Callable[[str], Settings]) -> None:
    settings = make_settings("clean")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))

    rows = run_and_read(settings)

    assert [r for r in rows if not r["success"]] == []
    assert {r["suite"] for r in rows} == {s.name for s in load_suites(POLICY)}
    assert failing_keys(settings) == []


@pytest.mark.parametrize("clause_id", CLAUSE_IDS)
def test_a_broken_clause_fails_its_own_suite_only(
    clause_id: str, make_settings: Callable[[str], Settings]
) -> None:
    settings = make_settings(clause_id)
    broken = breaking(clause_id, POLICY)
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), broken])

    rows = run_and_read(settings)

    failed = [r for r in rows if not r["success"]]
    assert failed, f"{clause_id}: nothing failed"
    assert {r["clause_id"] for r in failed} == {clause_id}
    assert {r["suite"] for r in failed} == {f"clause.{clause_id}"}
    assert all(r["severity"] == POLICY.clause(clause_id).severity for r in failed)
    assert any(r["ticketing"] for r in failed)
    keys = failing_keys(settings)
    assert [(k.clause_id, k.account_sid, k.month, k.violations) for k in keys] == [
        (clause_id, broken.account_sid, MONTH, 1)
    ]


THRESHOLD_CLAUSES = (
    "disclosure.identity_purpose",
    "complaints.rate",
    "unanswered.volume",
    "duration.average",
    "dnc.registry_freshness",
    "cps.multi_region",
)


@pytest.mark.parametrize("clause_id", THRESHOLD_CLAUSES)
def test_threshold_expectations_come_from_the_policy_file(
    clause_id: str, make_settings: Callable[[str], Settings]
) -> None:
    """The facts of a broken subject fail a threshold expectation too: the
    suite re-states the policy's number, it does not only read dbt's flag."""
    settings = make_settings(clause_id)
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), breaking(clause_id, POLICY)])

    rows = run_and_read(settings)

    failed_thresholds = [r for r in rows if not r["success"] and not r["ticketing"]]
    assert failed_thresholds, f"{clause_id}: no threshold expectation failed"


DQ_BREAKS = {
    "duplicate_sid": "dq.unique_call_sids",
    "invalid_callee": "dq.valid_callee_share",
    "unclassified": "dq.unclassified_calls",
    "registry_missing": "dq.registry_coverage",
    "future_consent": "dq.consent_granted_in_future",
    "unreconciled": "dq.manifest_reconciled",
    "unknown_tz": "dq.unknown_time_zone",
    "unallotted": "dq.cps_unallotted_regions",
}


@pytest.mark.parametrize("flaw", sorted(DQ_BREAKS))
def test_data_quality_checks_fail_alone_and_open_no_ticket(
    flaw: str, make_settings: Callable[[str], Settings]
) -> None:
    settings = make_settings(flaw)
    build_warehouse(settings.warehouse, clean_outcomes(POLICY), **{flaw: True})

    rows = run_and_read(settings)

    failed = [r for r in rows if not r["success"]]
    assert {r["check_id"] for r in failed} == {DQ_BREAKS[flaw]}
    assert all(r["clause_id"] is None and r["suite_kind"] == "data_quality" for r in failed)
    assert failing_keys(settings) == []


def test_frames_are_aggregates_not_raw_rows(make_settings: Callable[[str], Settings]) -> None:
    """Many violating calls of one account and month are one frame row, one ticket key."""
    settings = make_settings("many")
    calls = [Outcome("consent.prior_consent", f"CA{i:032x}", i % 2 == 0) for i in range(500)]
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), *calls])

    rows = run_and_read(settings)

    ticketing = next(
        r for r in rows if r["suite"] == "clause.consent.prior_consent" and r["ticketing"]
    )
    assert ticketing["element_count"] == 1
    assert [(k.clause_id, k.violations) for k in failing_keys(settings)] == [
        ("consent.prior_consent", 250)
    ]


def test_rerunning_a_run_replaces_its_results(make_settings: Callable[[str], Settings]) -> None:
    settings = make_settings("rerun")
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), breaking("dnc.registry", POLICY)])

    first = run_and_read(settings, "run-1")
    again = run_and_read(settings, "run-1")

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        stored = con.execute("select count(*) from compliance.validation_results").fetchone()
        runs = con.execute("select run_id, failed from compliance.validation_runs").fetchall()
    assert len(first) == len(again) == (stored[0] if stored else -1)
    assert runs == [("run-1", sum(1 for r in first if not r["success"]))]


def test_results_data_docs_and_suites_carry_clause_meta_and_no_phone_number(
    make_settings: Callable[[str], Settings],
) -> None:
    settings = make_settings("docs")
    build_warehouse(
        settings.warehouse,
        [*clean_outcomes(POLICY), breaking("complaints.rate", POLICY)],
    )

    rows = run_and_read(settings)

    stored_text = json.dumps(rows, default=str)
    assert not re.search(r"\+\d{10,}", stored_text)
    docs = data_docs_index(settings)
    assert docs.is_file()
    site_text = "".join(p.read_text(errors="replace") for p in docs.parent.rglob("*.html"))
    assert not re.search(r"\+\d{10,}", site_text)
    suite_files = list((settings.data_dir / "gx" / "gx" / "expectations").rglob("*.json"))
    clause_suites = [json.loads(p.read_text()) for p in suite_files]
    clause_suites = [s for s in clause_suites if s["name"].startswith("clause.")]
    assert len(clause_suites) == len(CLAUSE_IDS)
    for suite in clause_suites:
        clause_id = suite["name"].removeprefix("clause.")
        for expectation in suite["expectations"]:
            assert expectation["meta"]["clause_id"] == clause_id
            assert expectation["meta"]["severity"] == POLICY.clause(clause_id).severity


@pytest.fixture(autouse=True)
def _no_gx_analytics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    yield
