"""Batch loading of many small files gives exactly what file-by-file loading gives.

``batch_files=1`` is the per-file reference path; anything larger loads
files in batches. Both must produce the same raw rows, manifest rows and
quarantine, file by file, whatever mix of good and broken files a batch holds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from batch_zone import AC1, assert_same, calls, mixed_zone, sid, write
from vc_sample.generate import generate
from voice_compliance import warehouse
from voice_compliance.config import Settings
from voice_compliance.ingest import ALL_SOURCES
from voice_compliance.landing import LocalLandingZone
from voice_compliance.loading import loader
from voice_compliance.loading.results import FileResult
from voice_compliance.loading.sources import SOURCES

pytestmark = pytest.mark.quick


def _load(
    landing: Path, db: Path, sources: tuple[str, ...] = ALL_SOURCES, **batch: int
) -> list[FileResult]:
    zone = LocalLandingZone(landing)
    results: list[FileResult] = []
    with warehouse.connect(db) as con:
        for name in sources:
            results += loader.load_source(con, zone, SOURCES[name], db.parent / "work", **batch)
    return results


@pytest.mark.parametrize("batch_files", [2, 7, loader.BATCH_FILES])
def test_mixed_batches_match_per_file_loading(tmp_path: Path, batch_files: int) -> None:
    landing = tmp_path / "landing"
    mixed_zone(landing)

    per_file = _load(landing, tmp_path / "a" / "w.duckdb", batch_files=1)
    batched = _load(landing, tmp_path / "b" / "w.duckdb", batch_files=batch_files)

    assert per_file == batched
    assert_same(tmp_path / "a" / "w.duckdb", tmp_path / "b" / "w.duckdb")
    statuses = {r.key: r.status for r in batched}
    assert statuses["calls/region=us1/page-3b.json.gz"] == "unreadable"
    assert statuses["calls/stray.json"] == "unrecognized"
    assert statuses["calls/region=us1/empty.jsonl"] == "empty"
    assert statuses["calls/region=au1/export-3t.csv.gz"] == "partial"
    assert statuses["calls/region=us1/page-1.json.gz"] == "partial"
    assert statuses["dnc/us_national/full/2026-09-01/b.txt.gz"] == "loaded"
    assert all(r.rows_read == r.rows_loaded + r.rows_quarantined for r in batched)


def test_batch_quarantine_keeps_physical_lines_per_file(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    mixed_zone(landing)
    db = tmp_path / "w.duckdb"

    _load(landing, db, ("calls",))

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "select source_uri, line_number, raw_text, reason from compliance.quarantine"
        " where source_uri like '%part-3.jsonl.gz' or source_uri like '%export-2b.csv'"
        " order by source_uri, line_number"
    ).fetchall()
    reconciled = con.execute(
        "select bool_and(rows_read = rows_loaded + rows_quarantined), count(*),"
        " (select count(*) from compliance.quarantine) = sum(rows_quarantined)"
        " from compliance.load_manifest"
    ).fetchone()
    con.close()
    by_file = [(uri.rsplit("/", 1)[1], line, text, reason) for uri, line, text, reason in rows]
    assert by_file[:2] == [
        ("export-2b.csv", 3, f"{sid('CAB2')},{AC1}", by_file[0][3]),
        ("export-2b.csv", 4, by_file[1][2], "invalid text: not valid UTF-8"),
    ]
    assert by_file[0][3].startswith("malformed CSV record: Expected Number of Columns: 3")
    assert by_file[2][1:] == (6, f"{sid('CAB4')},{AC1},-3", "negative duration")
    assert [(f, line, reason) for f, line, _, reason in by_file[3:]] == [
        ("part-3.jsonl.gz", 2, "invalid JSON: not a JSON object"),
        ("part-3.jsonl.gz", 4, "unparseable duration: x"),
    ]
    assert reconciled == (True, 32, True)


def test_changed_file_in_a_batch_replaces_only_its_rows(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for i in range(5):
        write(landing, f"calls/region=us1/p{i}.jsonl", json.dumps(calls(f"CA{i}-", 1)[0]))
    db = tmp_path / "w.duckdb"
    first = _load(landing, db, ("calls",))
    assert [r.status for r in first] == ["loaded"] * 5

    changed = landing / "calls/region=us1/p2.jsonl"
    changed.write_text("\n".join(json.dumps(c) for c in calls("CANEW-", 3)) + "\nbad\n")
    touched = landing / "calls/region=us1/p3.jsonl"
    os.utime(touched, ns=(1, 1))  # same bytes, new fingerprint: not reloaded
    second = _load(landing, db, ("calls",))

    assert [(r.key.rsplit("/", 1)[1], r.status, r.skipped) for r in second] == [
        ("p0.jsonl", "unchanged", True),
        ("p1.jsonl", "unchanged", True),
        ("p2.jsonl", "partial", False),
        ("p3.jsonl", "unchanged", True),
        ("p4.jsonl", "unchanged", True),
    ]
    con = duckdb.connect(str(db), read_only=True)
    sids = [r[0] for r in con.execute("select sid from raw.calls order by sid").fetchall()]
    manifest = con.execute(
        "select landing_key, load_count, rows_read, rows_quarantined"
        " from compliance.load_manifest order by landing_key"
    ).fetchall()
    quarantine = con.execute("select line_number, raw_text from compliance.quarantine").fetchall()
    con.close()
    labels = ["CA0-0", "CA1-0", "CA3-0", "CA4-0", "CANEW-0", "CANEW-1", "CANEW-2"]
    assert sids == sorted(sid(label) for label in labels)
    assert manifest[2] == ("calls/region=us1/p2.jsonl", 2, 4, 1)
    assert [m[1] for m in manifest] == [1, 1, 2, 1, 1]
    assert quarantine == [(4, "bad")]


def test_batches_are_bounded_by_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    for i in range(6):
        write(landing, f"calls/region=us1/p{i}.jsonl", json.dumps(calls(f"CA{i}-", 1)[0]))
    sizes: list[int] = []
    real = loader.load_batch

    def spy(con: Any, source: Any, files: Any) -> Any:
        sizes.append(len(files))
        return real(con, source, files)

    monkeypatch.setattr(loader, "load_batch", spy)
    one_file = (landing / "calls/region=us1/p0.jsonl").stat().st_size
    results = _load(landing, tmp_path / "w.duckdb", ("calls",), batch_bytes=2 * one_file)

    assert sizes == [2, 2, 2]
    assert sum(r.rows_loaded for r in results) == 6


def test_a_failing_batch_statement_falls_back_to_smaller_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    for i in range(4):
        write(landing, f"calls/region=us1/p{i}.jsonl", json.dumps(calls(f"CA{i}-", 1)[0]))
    real = loader.load_batch
    attempts: list[int] = []

    def poisoned(con: Any, source: Any, files: Any) -> Any:
        # p1 makes any batch holding it fail, as a file DuckDB chokes on would.
        attempts.append(len(files))
        if any(f.obj.key.endswith("p1.jsonl") for f in files):
            raise duckdb.Error("cannot read p1")
        return real(con, source, files)

    monkeypatch.setattr(loader, "load_batch", poisoned)
    results = _load(landing, tmp_path / "w.duckdb", ("calls",))

    assert attempts == [4, 2, 1, 1, 2]
    assert [r.status for r in results] == ["loaded"] * 4
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select count(*) from compliance.load_manifest").fetchone() == (4,)
    assert con.execute("select count(*) from raw.calls").fetchone() == (4,)
    con.close()


def test_generated_zone_loads_the_same_in_batches_and_file_by_file(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, seed=11, calls=2_000)

    per_file = _load(landing, tmp_path / "a" / "w.duckdb", batch_files=1)
    batched = _load(landing, tmp_path / "b" / "w.duckdb")

    assert per_file == batched
    assert any(r.rows_quarantined for r in batched)
    assert_same(tmp_path / "a" / "w.duckdb", tmp_path / "b" / "w.duckdb")


@pytest.mark.parametrize("batch_files", [1, loader.BATCH_FILES])
def test_line_numbers_hold_in_large_files_read_in_parallel(
    tmp_path: Path, batch_files: int
) -> None:
    """Lines of files of 100 MB and more keep their physical numbers under the warehouse settings.

    With ``preserve_insertion_order`` off (``Settings.duckdb_config``) DuckDB's
    parallel reader appends a large file's chunks in any order; the loaders'
    line numbers (``_source_line``, the quarantine's ``line_number``, which
    the registry's "last line wins" and the calls' copy ranking rely on)
    must still be the file's own.
    """
    landing = tmp_path / "landing"
    folder = landing / "dnc/us_national/full/2026-09-01"
    folder.mkdir(parents=True)
    lines = 1_200_000
    bad_line = 1_000_000
    # Line i holds 200-000-0000 + i, except one malformed line: the number
    # says where it came from. Trailing blanks (allowed) make the file
    # 120 MB: DuckDB reads a file beyond 64 MB in parallel chunks.
    duckdb.connect().execute(
        f"""
        copy (select case when i = {bad_line} then 'not a number'
                     else (2000000000 + i)::varchar || repeat(' ', 90) end
              from range(1, {lines + 1}) as r(i) order by i)
        to '{folder / "big.txt"}' (header false, quote '')
        """
    )
    (folder / "small.txt").write_text("3005550100\n3005550101\n")
    db = tmp_path / "w.duckdb"
    settings = Settings.from_env(landing=str(landing), warehouse=str(db), data_dir=tmp_path)
    config = {**settings.duckdb_config(), "threads": "2"}
    assert config["preserve_insertion_order"] == "false"
    zone = LocalLandingZone(landing)
    with warehouse.connect(db, config=config) as con:
        results = loader.load_source(
            con, zone, SOURCES["registry_us_national"], tmp_path / "work", batch_files=batch_files
        )
        misplaced = con.execute(
            """
            select count(*) from raw.registry_entries
            where _source_file like '%big.txt'
              and _source_line <> substr(e164, 3)::bigint - 2000000000
            """
        ).fetchone()
        quarantined = con.execute(
            "select line_number, raw_text from compliance.quarantine"
        ).fetchall()
        small = con.execute(
            "select _source_line, e164 from raw.registry_entries"
            " where _source_file like '%small.txt' order by 1"
        ).fetchall()

    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [(lines - 1, 1), (2, 0)]
    assert misplaced == (0,)
    assert quarantined == [(bad_line, "not a number")]
    assert small == [(1, "+13005550100"), (2, "+13005550101")]
