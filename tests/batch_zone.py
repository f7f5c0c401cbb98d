"""A landing zone of good and broken files in every format, and a snapshot of
what loading it wrote: shared by the batch-loading tests, local and on S3."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from voice_compliance.loading.registry_table import ENTRIES_VIEW, LINES_TABLE
from voice_compliance.loading.sources import SOURCES

# Registry lines are compared through the raw view: it adds each line's file.
RAW_TABLES = sorted({s.table for s in SOURCES.values()} - {LINES_TABLE} | {ENTRIES_VIEW})


def write(root: Path, key: str, content: bytes | str) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    if key.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
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


def assert_same(left: Path, right: Path) -> None:
    a, b = snapshot(left), snapshot(right)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"{table} differs between per-file and batch loading"


def sid(label: str) -> str:
    """A well-formed Twilio call SID (CA + 32 lowercase hex digits) named by ``label``."""
    return "CA" + hashlib.md5(label.encode()).hexdigest()


AC1 = "AC" + "1" * 32

CALL: dict[str, Any] = {
    "sid": sid("CA1"),
    "account_sid": AC1,
    "from": "+14155550100",
    "to": "+14155550101",
    "status": "completed",
    "direction": "outbound-api",
    "start_time": "Tue, 01 Sep 2026 15:00:00 +0000",
    "duration": "45",
}


def calls(prefix: str, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [{**CALL, "sid": sid(f"{prefix}{i}"), **fields} for i in range(n)]


def mixed_zone(landing: Path) -> None:
    """Good files of every format, plain and gzip, around broken ones."""
    for i in range(6):
        page = {"calls": [*calls(f"CAP{i}-", 5), 7, {**CALL, "sid": ""}], "page": i}
        suffix = ".gz" if i % 2 else ""
        write(landing, f"calls/region=us1/page-{i}.json{suffix}", json.dumps(page))
        lines = [json.dumps(c) for c in calls(f"CAL{i}-", 4)]
        lines[1:1] = ["not json", "", json.dumps({**CALL, "sid": sid(f"CAX{i}"), "duration": "x"})]
        write(landing, f"calls/region=ie1/part-{i}.jsonl{suffix}", "\n".join(lines) + "\n")
        header = "sid,account_sid,from,to,start_time,duration,custom_tag\n"
        body = "".join(
            f"{sid(f'CAC{i}-{j}')},{AC1},+1415555010{j},+14155550102,,{j},t{j}\n" for j in range(5)
        )
        write(landing, f"calls/region=au1/export-{i}.csv{suffix}", header + body)
    # Broken in every way the per-file path knows, spread across the batch.
    write(landing, "calls/region=us1/page-2b.json", '{"calls": [1, 2')
    write(landing, "calls/region=us1/page-2c.json", b'{"calls": ["\xff"]}')
    write(landing, "calls/region=us1/page-2d.json", '{"items": []}')
    (landing / "calls/region=us1/page-3b.json.gz").write_bytes(b"not gzip")
    write(landing, "calls/region=us1/empty.jsonl", b"")
    write(landing, "calls/stray.json", json.dumps({"calls": calls("CAS", 1)}))
    write(
        landing,
        "calls/region=au1/export-2b.csv",
        f"sid,account_sid,duration\n{sid('CAB1')},{AC1},1\n{sid('CAB2')},{AC1}\n".encode()
        + f"{sid('CAB3')},{AC1},".encode()
        + f"\xff\n\n{sid('CAB4')},{AC1},-3\n".encode("latin-1"),
    )
    write(
        landing,
        "calls/region=au1/export-2c.csv",
        f'sid,account_sid,caller_name\n{sid("CAQ1")},{AC1},"two\nlines"\n{sid("CAQ2")},{AC1},x\n',
    )
    write(landing, "calls/region=au1/export-2d.csv", "sid,account_sid\n")
    text = "sid,account_sid\n" + "".join(f"{sid(f'CAT{i}')},{AC1}\n" for i in range(300))
    blob = gzip.compress(text.encode(), mtime=0)
    path = landing / "calls/region=au1/export-3t.csv.gz"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    write(
        landing,
        "calls/region=au1/export-4crlf.csv",
        f"account_sid,sid,duration\r\n{AC1},{sid('CAR1')},5\r\n{AC1},{sid('CAR2')},x\r\n\r\n"
        f"{AC1},{sid('CAR3')}\r\n",
    )
    # Records the batch reader must hand back (odd quotes) or count like the per-file path.
    write(
        landing,
        "calls/region=au1/export-5q.csv",
        f'sid,account_sid,caller_name\n{sid("CAU1")},{AC1},"open\n{sid("CAU2")},{AC1},x\n'
        f'{sid("CAU3")},{AC1},"a\nb",extra\n{sid("CAU4")},{AC1},\x00\n',
    )
    write(
        landing,
        "calls/region=au1/export-5n.csv",
        f"sid,account_sid,caller_name\n{sid('CAN1')},{AC1},a\x00b\n=HYPERLINK(1),{AC1},c\n",
    )
    write(landing, "calls/region=ie1/part-4crlf.jsonl", f'{{"sid": "{sid("CAJ1")}"}}\r\n[]\r\n')
    write(landing, "consent/c1.csv", "phone_number,brand\n+14155550101,Acme\n")
    write(landing, "consent/c3.csv", "\ufeffbrand,phone_number\r\nAcme,+14155550109\r\n")
    write(
        landing,
        "consent/c2.csv.gz",
        "phone_number,brand,consent_type,channel,granted_at\n"
        "+14155550101,Acme,express,voice,2026-08-01T00:00:00Z\n"
        "+14155550102,Acme,express,fax,2026-08-01T00:00:00Z\n",
    )
    write(landing, "dnc/us_national/full/2026-09-01/a.txt", "4155550101\nnot-a-number\n")
    write(landing, "dnc/us_national/full/2026-09-01/b.txt.gz", "415,5550102\n\n4155550103\n")
    write(landing, "dnc/us_national/changes/2026-09-02/c.txt", "415,5550101,D,x\n415,555,A\n")
    write(landing, "dnc/us_national/full/not-a-date/d.txt", "4155550104\n")
    write(landing, "dnc/uk_tps/changes/2026-09-02/t.txt", "020 7946 0018,A\n\xff\n")
