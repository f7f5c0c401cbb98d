"""The dbt marts reproduce the generator's planted violations exactly.

The generator re-evaluates every clause on the data it writes
(``_generator/planted.json``), so this compares, clause by clause and
subject by subject, what the warehouse finds with what the policy implies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from vc_sample.generate import generate
from voice_compliance import dbt_runner, ingest
from voice_compliance.config import Settings
from voice_compliance.loading import registry_table

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


def _evidence(settings: Settings, clause_id: str) -> dict[str, dict[str, Any]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select subject_id, evidence::varchar from compliance.policy_violations"
            " where clause_id = ?",
            [clause_id],
        ).fetchall()
    finally:
        con.close()
    return {subject: json.loads(evidence) for subject, evidence in rows}


def _registry_line_numbers(path: Path, registry: str) -> set[str]:
    """E.164 numbers a registry file lists (a full-list line, or a change line ending in A)."""
    listed: set[str] = set()
    for line in path.read_text().splitlines():
        parts = [p.strip() for p in line.strip().split(",") if p.strip()]
        if not parts:
            continue
        if registry.startswith("uk_"):
            number, rest = parts[0].replace(" ", ""), parts[1:]
            e164 = "+44" + number[1:]
        else:
            number, rest = (
                (parts[0], parts[1:]) if len(parts[0]) == 10 else (parts[0] + parts[1], parts[2:])
            )
            e164 = "+1" + number
        if not rest or rest[0].upper() == "A":
            listed.add(e164)
    return listed


def test_dnc_evidence_cites_only_files_that_list_the_callee(built):
    settings, _ = built
    landing = Path(settings.landing)

    evidence = _evidence(settings, "dnc.registry")

    assert evidence
    cited_any_change_list = False
    for subject, facts in evidence.items():
        for listing in facts["listings"]:
            files = listing["files"].split(", ")
            assert files, subject
            for key in files:
                assert f"/{listing['listed_from']}/" in key, (subject, key)
                numbers = _registry_line_numbers(landing / key, listing["registry"])
                assert facts["callee"] in numbers, (subject, key)
                cited_any_change_list |= "/changes/" in key
    assert cited_any_change_list


def test_evidence_marks_unclassified_calls_treated_as_telemarketing(built):
    settings, _ = built
    telemarketing_clauses = (
        "consent.prior_consent",
        "disclosure.identity_purpose",
        "optout.mechanism",
        "optout.honored",
        "dnc.registry",
        "country.calling_hours",
    )

    marked = {
        clause: [facts for facts in _evidence(settings, clause).values() if facts["unclassified"]]
        for clause in telemarketing_clauses
    }

    unclassified = [facts for rows in marked.values() for facts in rows]
    assert unclassified, "the generator plants unclassified telemarketing violations"
    for facts in unclassified:
        assert facts["telemarketing_basis"].startswith("unclassified: ")
        assert "treat_unclassified_as_telemarketing" in facts["telemarketing_basis"]
    for clause in telemarketing_clauses:
        for facts in _evidence(settings, clause).values():
            if not facts["unclassified"]:
                assert facts["campaign_id"] is not None, clause
                assert facts["telemarketing_basis"] == "campaign purpose is telemarketing"


def test_complaints_evidence_says_when_a_number_had_no_attempts(built):
    settings, _ = built

    evidence = _evidence(settings, "complaints.rate")

    zero = [facts for facts in evidence.values() if facts["attempts"] == 0]
    assert zero, "the generator plants complaints against a number that placed no call"
    for facts in evidence.values():
        if facts["attempts"] == 0:
            assert facts["complaints_per_1000"] is None
            assert facts["rate_basis"].startswith("no attempts: ")
        else:
            assert facts["rate_basis"].startswith("complaints per 1,000")


def test_cps_evidence_gives_episode_bounds_in_one_convention(built):
    settings, _ = built
    from datetime import datetime, timedelta

    evidence = _evidence(settings, "cps.multi_region")

    assert evidence
    for facts in evidence.values():
        bucket = timedelta(seconds=facts["cps_bucket_seconds"])
        start = datetime.fromisoformat(facts["episode_start_utc"])
        last = datetime.fromisoformat(facts["episode_last_bucket_utc"])
        end = datetime.fromisoformat(facts["episode_end_exclusive_utc"])
        assert facts["episode_end_utc"] == facts["episode_end_exclusive_utc"]  # earlier name
        assert end - last == bucket
        # one episode started that day: its exceeding buckets span start..last
        if facts["episodes_started"] == 1:
            assert (last - start) // bucket + 1 == facts["exceeding_buckets"]


def _scanned_rows(con: duckdb.DuckDBPyConnection, sql: str, table: str, profile: Path) -> int:
    """Rows that DuckDB's scan of ``table`` passed on while running ``sql``."""
    con.execute(f"pragma enable_profiling = 'json'; set profiling_output = '{profile}'")
    con.execute(f"select count(*) from ({sql})").fetchall()
    con.execute("pragma disable_profiling")
    scans: list[int] = []

    def walk(node: dict[str, Any]) -> None:
        if str(node.get("extra_info", {}).get("Table", "")).endswith(f".{table}"):
            scans.append(int(node["operator_cardinality"]))
        for child in node.get("children", []):
            walk(child)

    walk(json.loads(profile.read_text()))
    assert len(scans) == 1, scans
    return scans[0]


def test_dnc_membership_reads_only_the_lines_of_called_numbers(built, tmp_path):
    # The registry holds hundreds of millions of lines; the DNC rule needs
    # those of the numbers telemarketing calls reached. The lines of every
    # other number must be dropped while the stored table is scanned (a
    # filter on e164_number, decision 0031), not joined first: the join
    # spilled the whole registry to disk at 1 M calls (performance.md).
    settings, _ = built
    warehouse = tmp_path / settings.warehouse.name  # same catalog name as compiled
    shutil.copy(settings.warehouse, warehouse)
    compiled = next(
        (dbt_runner.target_dir(settings) / "compiled").rglob("int_dnc_registry_membership.sql")
    ).read_text()
    con = duckdb.connect(str(warehouse))
    try:
        called = (
            "select try_cast(replace(to_e164, '+', '') as bigint) from"
            " intermediate.int_calls_enriched where is_telemarketing and to_e164 like '+1%'"
        )
        low, high, n_called = con.execute(
            f"select min(n), max(n), count(distinct n) from ({called}) as c(n)"
        ).fetchone()
        # 200 k lines of numbers nobody called, between the lowest and the
        # highest called number (a min-max filter alone keeps them all),
        # in a us_national snapshot the warehouse holds.
        con.execute(
            f"""
            insert into raw.registry_lines
            select n, 'L', null, (
                select file_id from compliance.load_manifest
                where source = 'registry_us_national' and rows_loaded > 0
                  and (partition_info ->> 'list_kind') = 'full' limit 1), 1000000 + n - {low}
            from (select {low} + (i * ({high} - {low}) // 200000) as n from range(200000) as r(i))
            where n not in ({called})
            """
        )
        total = con.execute("select count(*) from raw.registry_lines").fetchone()[0]
        listed = con.execute(
            f"select count(*) from raw.registry_lines where e164_number in ({called})"
        ).fetchone()[0]
        scanned = _scanned_rows(con, compiled, "registry_lines", tmp_path / "profile.json")
    finally:
        con.close()
    assert total > 200_000 > 100 * max(listed, 1)
    assert n_called > 100 and low < high
    assert scanned < total // 10, (scanned, listed, total)


# raw.registry_entries between decisions 0028 and 0031: the lines kept the
# E.164 as text, and the view had no e164_number.
_TEXT_LINES_LAYOUT = (
    "drop view raw.registry_entries",
    "create table raw.text_lines as select '+' || e164_number as e164,"
    " action, extra, _file_id, _source_line from raw.registry_lines",
    "drop table raw.registry_lines",
    "alter table raw.text_lines rename to registry_lines",
    "create view raw.registry_entries as select files.registry, files.list_kind,"
    " files.effective_date, lines.e164, lines.action, lines.extra, null::json as _extra,"
    " lines._file_id, files._source_file, lines._source_line, files._loaded_at"
    f" from raw.registry_lines as lines inner join ({registry_table.FILES_SQL}) as files"
    " on lines._file_id = files.file_id",
)


def test_a_build_by_hand_before_the_registry_storage_moves_forward_finds_the_same(built, tmp_path):
    # After an upgrade, the README's `dbt build` by hand can come before the
    # first registry load, which is what moves older registry storage forward.
    # dbt then reads the number from the E.164 text, with the same results.
    settings, planted = built
    copy = Settings.from_env(
        landing=str(settings.landing),
        warehouse=str(tmp_path / settings.warehouse.name),
        data_dir=tmp_path / "data",
    )
    shutil.copy(settings.warehouse, copy.warehouse)
    with duckdb.connect(str(copy.warehouse)) as con:
        for statement in _TEXT_LINES_LAYOUT:
            con.execute(statement)

    dbt_runner.dbt_build(copy, full_refresh=True)

    expected = {clause: set(spec["subjects"]) for clause, spec in planted["clauses"].items()}
    assert {clause: subjects for clause, subjects in expected.items() if subjects} == _violations(
        copy
    )
    assert expected["dnc.registry"]
