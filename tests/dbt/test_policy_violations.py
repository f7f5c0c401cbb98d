"""The dbt marts reproduce the generator's planted violations exactly.

The generator re-evaluates every clause on the data it writes
(``_generator/planted.json``), so this compares, clause by clause and
subject by subject, what the warehouse finds with what the policy implies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from voice_compliance import dbt_runner, ingest
from voice_compliance.config import Settings
from voice_compliance.generate import generate

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Any]]:
    root = tmp_path_factory.mktemp("marts")
    report = generate(root / "landing", seed=11, calls=2_000)
    settings = Settings.from_env(
        landing=str(report.out), warehouse=str(root / "wh.duckdb"), data_dir=root / "data"
    )
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    dbt_runner.dbt_build(settings)
    planted = json.loads((report.out / "_generator" / "planted.json").read_text())
    return settings, planted


def _violations(settings: Settings) -> dict[str, set[str]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("select clause_id, subject_id from compliance.policy_violations")
        found: dict[str, set[str]] = {}
        for clause_id, subject_id in rows.fetchall():
            found.setdefault(clause_id, set()).add(subject_id)
        return found
    finally:
        con.close()


def test_every_clause_finds_exactly_the_planted_subjects(built):
    settings, planted = built

    found = _violations(settings)

    expected = {clause: set(spec["subjects"]) for clause, spec in planted["clauses"].items()}
    assert len(expected) == 12
    for clause, subjects in expected.items():
        assert found.get(clause, set()) == subjects, clause
    assert set(found) <= set(expected)


def test_violations_are_not_repeated_and_carry_evidence(built):
    settings, _ = built
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        total, distinct, without_evidence = con.execute(
            "select count(*), count(distinct (clause_id, subject_id)),"
            " count(*) filter (where evidence is null) from compliance.policy_violations"
        ).fetchone()
        summary = con.execute(
            "select clause_id, sum(violations), min(thresholds::varchar)"
            " from compliance.clause_summary group by 1"
        ).fetchall()
    finally:
        con.close()
    assert total == distinct and without_evidence == 0
    assert len(summary) == 12
    assert sum(row[1] for row in summary) == total
    thresholds = {clause: json.loads(settings_json) for clause, _, settings_json in summary}
    assert thresholds["duration.average"] == {"acd_min_answered": 100, "acd_min_seconds": 30}


def test_changing_a_threshold_in_the_policy_file_changes_the_result(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    settings, planted = built
    near_misses = [m["subject"] for m in planted["near_misses"]["duration.average"]]
    assert near_misses, "the generator plants an account-month averaging exactly 30 s"
    policy = yaml.safe_load(dbt_runner.DBT_PROJECT_DIR.joinpath("policy.yml").read_text())
    policy["acd_min_seconds"] = 31
    stricter = tmp_path / "policy.yml"
    stricter.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("VC_POLICY_FILE", str(stricter))

    dbt_runner.dbt_build(settings, select="clause_duration__average+")

    found = _violations(settings)["duration.average"]
    assert found == set(planted["clauses"]["duration.average"]["subjects"]) | set(near_misses)
