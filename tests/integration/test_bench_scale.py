"""The scale benchmark's landing zone is clean apart from the planted world.

``benchmarks/scale_landing.py`` adds a bulk background, written by DuckDB,
to the sample generator's planted world and claims it is compliant by
construction. At the ``tiny`` size this loads the zone (every source, the
real loaders), runs ``dbt build`` and checks that
``compliance.policy_violations`` is exactly the generator's expected set;
then lands the incremental day (2026-11-01) and checks it again after the
re-load. A change in the pipeline's reading of a clause that the background
trips shows up here, not after a 30-minute benchmark run.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import phonenumbers
import pytest

from voice_compliance import dbt_runner, ingest
from voice_compliance.config import REPO_ROOT, Settings

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import scale_landing

pytestmark = [pytest.mark.slow, pytest.mark.dbt]


def _violations(settings: Settings) -> dict[str, set[str]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        found: dict[str, set[str]] = {}
        for clause, subject in con.execute(
            "select clause_id, subject_id from compliance.policy_violations"
        ).fetchall():
            found.setdefault(clause, set()).add(subject)
        return found
    finally:
        con.close()


def _load_and_build(settings: Settings) -> None:
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    dbt_runner.dbt_build(settings)


def _expected(landing: Path) -> dict[str, set[str]]:
    planted = json.loads((landing / "_generator" / "planted.json").read_text())
    return {clause: set(spec["subjects"]) for clause, spec in planted["clauses"].items()}


def _assert_same(found: dict[str, set[str]], expected: dict[str, set[str]]) -> None:
    assert len(expected) == 12
    for clause, subjects in expected.items():
        got = found.get(clause, set())
        assert got == subjects, (clause, sorted(got - subjects)[:5], sorted(subjects - got)[:5])
    assert set(found) <= set(expected)


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bench_scale")
    landing = root / "landing"
    meta = scale_landing.build(landing, scale_landing.SIZES["tiny"], seed=7)
    settings = Settings.from_env(
        landing=str(landing), warehouse=str(root / "wh.duckdb"), data_dir=root / "data"
    )
    return {"landing": landing, "settings": settings, "meta": meta}


def test_bulk_rows_are_written_in_the_contract_formats(zone: dict[str, Any]) -> None:
    landing: Path = zone["landing"]
    rows = zone["meta"]["bulk"]["rows"]
    assert rows["calls"] == zone["meta"]["layout"]["calls"]
    suffixes = {p.name.split(".", 1)[1] for p in (landing / "calls").rglob("bench_*")}
    assert suffixes == {"json", "jsonl", "csv", "json.gz", "jsonl.gz", "csv.gz"}
    page = next((landing / "calls").rglob("bench_*_page000.json"))
    body = json.loads(page.read_text())
    assert body["calls"] and {"sid", "from", "to", "status", "start_time"} <= set(body["calls"][0])
    for registry in ("us_national", "uk_tps", "uk_ctps", "ca_dncl"):
        for kind in ("full", "changes"):
            assert list((landing / "dnc" / registry / kind).rglob("bench_*")), (registry, kind)


def test_bulk_numbers_are_valid_and_callees_in_one_zone(zone: dict[str, Any]) -> None:
    landing: Path = zone["landing"]
    with (landing / "consent" / "bench_consent_000.csv").open() as f:
        consent = [row["phone_number"] for row in csv.DictReader(f)]
    zones = set()
    for raw in consent:
        num = phonenumbers.parse(raw, "US")
        assert phonenumbers.is_valid_number(num)
        assert phonenumbers.region_code_for_number(num) == "US"
        zones.update(phonenumbers.timezone.time_zones_for_number(num))
    assert zones <= {"America/New_York", "America/Chicago"}
    full = landing / "dnc" / "uk_tps" / "full" / "2026-08-28"
    lines = []
    for path in full.glob("bench_extra_*"):
        data = path.read_bytes()
        lines += (gzip.decompress(data) if path.suffix == ".gz" else data).decode().splitlines()
    digits = [line.replace(" ", "") for line in lines if line]
    assert digits and all(
        phonenumbers.is_valid_number(phonenumbers.parse(d, "GB")) for d in digits[:2000]
    )


def test_pipeline_finds_exactly_the_planted_violations(zone: dict[str, Any]) -> None:
    settings: Settings = zone["settings"]
    _load_and_build(settings)
    _assert_same(_violations(settings), _expected(zone["landing"]))


def test_incremental_day_adds_no_violation(zone: dict[str, Any]) -> None:
    settings: Settings = zone["settings"]
    if not settings.warehouse.exists():
        pytest.skip("needs the full load of the previous test")
    meta = scale_landing.land_next_day(zone["landing"])
    assert meta["next_day"]["rows"]["calls"] == zone["meta"]["layout"]["per_day"]
    _load_and_build(settings)
    _assert_same(_violations(settings), _expected(zone["landing"]))
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        latest = con.execute(
            "select strftime(max(start_time) at time zone 'UTC', '%Y-%m-%d') from raw.calls"
        ).fetchone()
    finally:
        con.close()
    assert latest == ("2026-11-01",)
