"""Batch loading of many small files gives exactly what file-by-file loading gives.

``batch_files=1`` is the per-file reference path; anything larger loads
files in batches. Both must produce the same raw rows, manifest rows and
quarantine, file by file, whatever mix of good and broken files a batch holds.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from voice_compliance import warehouse
from voice_compliance.generate import generate
from voice_compliance.ingest import ALL_SOURCES
from voice_compliance.landing import LocalLandingZone
from voice_compliance.loading import loader
from voice_compliance.loading.results import FileResult
from voice_compliance.loading.sources import SOURCES

pytestmark = pytest.mark.quick

RAW_TABLES = sorted({s.table for s in SOURCES.values()})


def _write(root: Path, key: str, content: bytes | str) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    if key.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def _load(
    landing: Path, db: Path, sources: tuple[str, ...] = ALL_SOURCES, **batch: int
) -> list[FileResult]:
    zone = LocalLandingZone(landing)
    results: list[FileResult] = []
    with warehouse.connect(db) as con:
        for name in sources:
            results += loader.load_source(con, zone, SOURCES[name], db.parent / "work", **batch)
    return results


def _snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a load writes, minus its timestamps, in a stable order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {
            t: con.execute(f"select * exclude (_loaded_at) from raw.{t} order by all").fetchall()
            for t in RAW_TABLES
            if con.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = 'raw' and table_name = ?",
                [t],
            ).fetchone()
            == (1,)
        }
        tables["manifest"] = con.execute(
            "select * exclude (loaded_at) from compliance.load_manifest order by file_id"
        ).fetchall()
        tables["quarantine"] = con.execute(
            "select * exclude (quarantined_at) from compliance.quarantine order by all"
        ).fetchall()
        return tables
    finally:
        con.close()


def _assert_same(left: Path, right: Path) -> None:
    a, b = _snapshot(left), _snapshot(right)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"{table} differs between per-file and batch loading"


CALL = {
    "sid": "CA1",
    "account_sid": "AC1",
    "from": "+14155550100",
    "to": "+14155550101",
    "status": "completed",
    "direction": "outbound-api",
    "start_time": "Tue, 01 Sep 2026 15:00:00 +0000",
    "duration": "45",
}


def _calls(prefix: str, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [{**CALL, "sid": f"{prefix}{i}", **fields} for i in range(n)]


def _mixed_zone(landing: Path) -> None:
    """Good files of every format, plain and gzip, around broken ones."""
    for i in range(6):
        page = {"calls": [*_calls(f"CAP{i}-", 5), 7, {**CALL, "sid": ""}], "page": i}
        suffix = ".gz" if i % 2 else ""
        _write(landing, f"calls/region=us1/page-{i}.json{suffix}", json.dumps(page))
        lines = [json.dumps(c) for c in _calls(f"CAL{i}-", 4)]
        lines[1:1] = ["not json", "", json.dumps({**CALL, "sid": f"CAX{i}", "duration": "x"})]
        _write(landing, f"calls/region=ie1/part-{i}.jsonl{suffix}", "\n".join(lines) + "\n")
        header = "sid,account_sid,from,to,start_time,duration,custom_tag\n"
        body = "".join(f"CAC{i}-{j},AC1,+1415555010{j},+14155550102,,{j},t{j}\n" for j in range(5))
        _write(landing, f"calls/region=au1/export-{i}.csv{suffix}", header + body)
    # Broken in every way the per-file path knows, spread across the batch.
    _write(landing, "calls/region=us1/page-2b.json", '{"calls": [1, 2')
    _write(landing, "calls/region=us1/page-2c.json", b'{"calls": ["\xff"]}')
    _write(landing, "calls/region=us1/page-2d.json", '{"items": []}')
    (landing / "calls/region=us1/page-3b.json.gz").write_bytes(b"not gzip")
    _write(landing, "calls/region=us1/empty.jsonl", b"")
    _write(landing, "calls/stray.json", json.dumps({"calls": _calls("CAS", 1)}))
    _write(
        landing,
        "calls/region=au1/export-2b.csv",
        b"sid,account_sid,duration\nCAB1,AC1,1\nCAB2,AC1\nCAB3,AC1,\xff\n\nCAB4,AC1,-3\n",
    )
    _write(
        landing,
        "calls/region=au1/export-2c.csv",
        'sid,account_sid,caller_name\nCAQ1,AC1,"two\nlines"\nCAQ2,AC1,x\n',
    )
    _write(landing, "calls/region=au1/export-2d.csv", "sid,account_sid\n")
    text = "sid,account_sid\n" + "".join(f"CAT{i},AC1\n" for i in range(300))
    blob = gzip.compress(text.encode(), mtime=0)
    path = landing / "calls/region=au1/export-3t.csv.gz"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    _write(landing, "consent/c1.csv", "phone_number,brand\n+14155550101,Acme\n")
    _write(
        landing,
        "consent/c2.csv.gz",
        "phone_number,brand,consent_type,channel,granted_at\n"
        "+14155550101,Acme,express,voice,2026-08-01T00:00:00Z\n"
        "+14155550102,Acme,express,fax,2026-08-01T00:00:00Z\n",
    )
    _write(landing, "dnc/us_national/full/2026-09-01/a.txt", "4155550101\nnot-a-number\n")
    _write(landing, "dnc/us_national/full/2026-09-01/b.txt.gz", "415,5550102\n\n4155550103\n")
    _write(landing, "dnc/us_national/changes/2026-09-02/c.txt", "415,5550101,D,x\n415,555,A\n")
    _write(landing, "dnc/us_national/full/not-a-date/d.txt", "4155550104\n")
    _write(landing, "dnc/uk_tps/changes/2026-09-02/t.txt", "020 7946 0018,A\n\xff\n")


@pytest.mark.parametrize("batch_files", [2, 7, loader.BATCH_FILES])
def test_mixed_batches_match_per_file_loading(tmp_path: Path, batch_files: int) -> None:
    landing = tmp_path / "landing"
    _mixed_zone(landing)

    per_file = _load(landing, tmp_path / "a" / "w.duckdb", batch_files=1)
    batched = _load(landing, tmp_path / "b" / "w.duckdb", batch_files=batch_files)

    assert per_file == batched
    _assert_same(tmp_path / "a" / "w.duckdb", tmp_path / "b" / "w.duckdb")
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
    _mixed_zone(landing)
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
        ("export-2b.csv", 3, "CAB2,AC1", by_file[0][3]),
        ("export-2b.csv", 4, by_file[1][2], "invalid text: not valid UTF-8"),
    ]
    assert by_file[0][3].startswith("malformed CSV record: Expected Number of Columns: 3")
    assert by_file[2][1:] == (6, "CAB4,AC1,-3", "negative duration")
    assert [(f, line, reason) for f, line, _, reason in by_file[3:]] == [
        ("part-3.jsonl.gz", 2, "invalid JSON: not a JSON object"),
        ("part-3.jsonl.gz", 4, "unparseable duration: x"),
    ]
    assert reconciled == (True, 28, True)


def test_changed_file_in_a_batch_replaces_only_its_rows(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for i in range(5):
        _write(landing, f"calls/region=us1/p{i}.jsonl", json.dumps(_calls(f"CA{i}-", 1)[0]))
    db = tmp_path / "w.duckdb"
    first = _load(landing, db, ("calls",))
    assert [r.status for r in first] == ["loaded"] * 5

    changed = landing / "calls/region=us1/p2.jsonl"
    changed.write_text("\n".join(json.dumps(c) for c in _calls("CANEW-", 3)) + "\nbad\n")
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
    assert sids == ["CA0-0", "CA1-0", "CA3-0", "CA4-0", "CANEW-0", "CANEW-1", "CANEW-2"]
    assert manifest[2] == ("calls/region=us1/p2.jsonl", 2, 4, 1)
    assert [m[1] for m in manifest] == [1, 1, 2, 1, 1]
    assert quarantine == [(4, "bad")]


def test_batches_are_bounded_by_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    for i in range(6):
        _write(landing, f"calls/region=us1/p{i}.jsonl", json.dumps(_calls(f"CA{i}-", 1)[0]))
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
        _write(landing, f"calls/region=us1/p{i}.jsonl", json.dumps(_calls(f"CA{i}-", 1)[0]))
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
    _assert_same(tmp_path / "a" / "w.duckdb", tmp_path / "b" / "w.duckdb")
