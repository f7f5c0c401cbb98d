"""Loaders on good and malformed input: every row is loaded or quarantined."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from batch_zone import write as _write
from voice_compliance import ingest
from voice_compliance.config import Settings

pytestmark = pytest.mark.quick

UTC = dt.UTC


@pytest.fixture
def zone(tmp_path: Path) -> tuple[Path, Settings]:
    landing = tmp_path / "landing"
    landing.mkdir()
    settings = Settings.from_env(landing=str(landing), warehouse=str(tmp_path / "wh.duckdb"))
    settings = Settings(**{**settings.__dict__, "data_dir": tmp_path / "data"})
    return landing, settings


def _load(settings: Settings, *sources: str) -> list[ingest.SourceLoadSummary]:
    return [ingest.ingest_source(settings, s) for s in sources]


def _query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _manifest(settings: Settings, key: str) -> dict[str, Any]:
    rows = _query(
        settings,
        "select status, error, rows_read, rows_loaded, rows_quarantined"
        " from compliance.load_manifest where landing_key = ?",
        [key],
    )
    assert rows, f"no manifest row for {key}"
    status, error, read, loaded, quarantined = rows[0]
    assert read == loaded + quarantined, f"{key} does not reconcile"
    return {"status": status, "error": error, "read": read, "loaded": loaded, "q": quarantined}


def _reasons(settings: Settings, key: str) -> dict[int | None, str]:
    rows = _query(
        settings,
        "select line_number, reason from compliance.quarantine"
        " where source_uri like '%' || ? order by line_number",
        [key],
    )
    return {line: reason for line, reason in rows}


AC1 = "AC" + "1" * 32


def ca(n: int) -> str:
    """A well-formed Twilio call SID (CA + 32 hex digits) numbered ``n``."""
    return f"CA{n:032d}"


CALL = {
    "sid": ca(0),
    "account_sid": AC1,
    "from": "+14155550100",
    "to": "+14155550101",
    "status": "completed",
    "direction": "outbound-api",
    "start_time": "Tue, 01 Sep 2026 15:00:00 +0000",
    "end_time": "Tue, 01 Sep 2026 15:00:45 +0000",
    "duration": "45",
    "date_updated": "Tue, 01 Sep 2026 15:00:46 +0000",
    "price": "-0.01300",
    "uri": "/2010-04-01/Accounts/AC/Calls/CA.json",
}


def _call(sid: str, **fields: Any) -> dict[str, Any]:
    return {**CALL, "sid": sid, **fields}


def test_calls_json_page_loads_good_calls_and_quarantines_bad_ones(zone):
    landing, settings = zone
    page = {
        "calls": [
            _call(ca(1)),
            _call(""),
            _call(ca(3), start_time="yesterday"),
            7,
            _call(ca(5), start_time="2026-09-01T10:00:00+02:00", duration=12),
        ],
        "page": 0,
        "page_size": 50,
    }
    key = "calls/region=us1/page-0.json"
    _write(landing, key, json.dumps(page))

    [summary] = _load(settings, "calls")

    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (5, 2, 3)
    assert _manifest(settings, key)["status"] == "partial"
    assert _reasons(settings, key) == {
        2: "missing sid",
        3: "unparseable start_time: yesterday",
        4: "invalid call: not a JSON object",
    }
    rows = _query(
        settings,
        "select sid, from_number, to_number, start_time, duration, price, home_region,"
        " _extra->>'uri', _source_line from raw.calls order by sid",
    )
    assert rows[0][:7] == (
        ca(1),
        "+14155550100",
        "+14155550101",
        dt.datetime(2026, 9, 1, 15, tzinfo=UTC),
        45,
        -0.013,
        "us1",
    )
    assert rows[0][7] == CALL["uri"] and rows[0][8] == 1
    assert rows[1][3] == dt.datetime(2026, 9, 1, 8, tzinfo=UTC)  # offset applied
    assert rows[1][4] == 12 and rows[1][8] == 5


def test_a_record_longer_than_the_limit_is_quarantined_and_the_warehouse_stays_readable(zone):
    """A 5 MB field (longer than a DuckDB storage block) once made every later
    scan of the persisted raw table run out of memory: such a record is
    quarantined, its raw text cut, and the tables stay readable under a small
    memory limit."""
    landing, settings = zone
    key = "calls/region=us1/huge.json"
    huge = _call(ca(1), caller_name="n" * 5_000_000)
    _write(landing, key, json.dumps({"calls": [huge, _call(ca(2)), _call(ca(3))]}))

    [summary] = _load(settings, "calls")

    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 2, 1)
    [reason] = _reasons(settings, key).values()
    assert reason.startswith("record too long: ") and "limit 100,000" in reason
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("set memory_limit = '512MB'")
        assert con.execute("select max(length(caller_name)) from raw.calls").fetchone() == (None,)
        assert con.execute(
            "select max(length(raw_text)) from compliance.quarantine"
        ).fetchone() == (100_000,)
    finally:
        con.close()


def test_jsonl_and_csv_calls_keep_physical_line_numbers(zone):
    landing, settings = zone
    jsonl = "\n".join(
        [json.dumps(_call(ca(1))), "not json", "", json.dumps(_call(ca(4), duration="x"))]
    )
    _write(landing, "calls/region=ie1/part.jsonl.gz", jsonl + "\n")
    header = "sid,account_sid,from,to,start_time,duration,trunk_sid,custom_tag\n"
    csv_bytes = (
        header.encode()
        + f"{ca(10)},{AC1},+14155550100,+14155550102,2026-09-01T10:00:00Z,30,TK1,vip\n".encode()
        + f"{ca(11)},{AC1},short\n".encode()
        + f"{ca(12)},{AC1},+1,+2,2026-09-01T10:00:00Z,0,TK1,".encode()
        + b"\xff\xfe\n\n"
        + f'{ca(13)},{AC1},+14155550100,+14155550103,2026-09-01T10:05:00Z,,TK1,"a, b"\n'.encode()
    )
    _write(landing, "calls/region=ie1/export.csv", csv_bytes)

    _load(settings, "calls")

    assert _reasons(settings, "part.jsonl.gz") == {
        2: "invalid JSON: not a JSON object",
        4: "unparseable duration: x",
    }
    assert _manifest(settings, "calls/region=ie1/part.jsonl.gz")["read"] == 3
    reasons = _reasons(settings, "export.csv")
    assert set(reasons) == {3, 4}
    assert reasons[3].startswith("malformed CSV record: Expected Number of Columns: 8 Found: 3")
    assert reasons[4] == "invalid text: not valid UTF-8"
    rows = _query(
        settings,
        "select sid, _source_line, duration, _extra from raw.calls"
        " where _source_file like '%export.csv' order by sid",
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [(ca(10), 2, 30), (ca(13), 6, None)]
    assert json.loads(rows[0][3]) == {"custom_tag": "vip"}
    assert json.loads(rows[1][3]) == {"custom_tag": "a, b"}


def test_truncated_gzip_keeps_rows_before_the_cut_and_quarantines_the_partial_line(zone):
    landing, settings = zone
    text = "sid,account_sid\n" + "".join(f"{ca(i)},{AC1}\n" for i in range(1, 200))
    blob = gzip.compress(text.encode(), mtime=0)
    path = landing / "calls/region=us1/cut.csv.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(blob[: len(blob) * 2 // 3])

    _load(settings, "calls")

    manifest = _manifest(settings, "calls/region=us1/cut.csv.gz")
    assert manifest["status"] == "partial" and "truncated" in manifest["error"]
    reasons = _reasons(settings, "cut.csv.gz")
    assert list(reasons.values()) == ["truncated gzip member: incomplete last line"]
    [(count, last_line)] = _query(settings, "select count(*), max(_source_line) from raw.calls")
    assert count == manifest["loaded"] > 0
    assert list(reasons) == [last_line + 1]


def test_unreadable_unrecognized_and_empty_files_are_recorded_not_skipped(zone):
    landing, settings = zone
    (landing / "calls/region=us1").mkdir(parents=True)
    (landing / "calls/region=us1/broken.json.gz").write_bytes(b"this is not gzip at all")
    _write(landing, "calls/stray.json", json.dumps({"calls": [_call(ca(1))]}))
    _write(landing, "consent/empty.csv", b"")
    _write(landing, "consent/header_only.csv", "phone_number,brand,consent_type\n")

    _load(settings, "calls", "consent")

    broken = _manifest(settings, "calls/region=us1/broken.json.gz")
    assert broken["status"] == "unreadable" and (broken["read"], broken["q"]) == (1, 1)
    assert "not a gzip file" in _reasons(settings, "broken.json.gz")[None]
    stray = _manifest(settings, "calls/stray.json")
    assert stray["status"] == "unrecognized" and stray["q"] == 1
    assert _manifest(settings, "consent/empty.csv") == {
        "status": "empty",
        "error": None,
        "read": 0,
        "loaded": 0,
        "q": 0,
    }
    assert _manifest(settings, "consent/header_only.csv")["status"] == "loaded"


EXPORT_CASES: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    # source, key, good row, expected typed values, bad row, reason
    (
        "call_metadata",
        "call_metadata/m.csv",
        f"call_sid,campaign_id\n{ca(1)},CMP1\n",
        {"call_sid": ca(1), "campaign_id": "CMP1"},
        f"{ca(2)},\n",
        "missing campaign_id",
    ),
    (
        "campaigns",
        "campaigns/c.csv",
        f"campaign_id,account_sid,brand,purpose\nCMP1,{AC1},Acme,Telemarketing\n",
        {"purpose": "telemarketing", "brand": "Acme"},
        f"CMP2,{AC1},Acme,spam\n",
        "unknown purpose: spam",
    ),
    (
        "numbers",
        "numbers/n.csv",
        "phone_number,account_sid,kind,active_from,active_to,default_campaign_id\n"
        f"+14155550100,{AC1},twilio_owned,2026-01-01T00:00:00Z,,CMP1\n",
        {"active_from": dt.datetime(2026, 1, 1, tzinfo=UTC), "active_to": None},
        f"+14155550199,{AC1},borrowed,2026-01-01T00:00:00Z,,\n",
        "unknown kind: borrowed",
    ),
    (
        "accounts",
        "accounts/a.csv",
        f"account_sid,region,cps_allotted\n{AC1},us1,1\n",
        {"cps_allotted": 1.0},
        f"{AC1},ie1,fast\n",
        "unparseable cps_allotted: fast",
    ),
    (
        "consent",
        "consent/c.csv",
        "phone_number,brand,consent_type,channel,granted_at,revoked_at,source,evidence_ref\n"
        "(415) 555-0101,Acme,express_written,voice,2026-08-01T12:00:00-04:00,,web,ref-1\n",
        {"granted_at": dt.datetime(2026, 8, 1, 16, tzinfo=UTC), "channel": "voice"},
        "415.555.0102,Acme,express,voice,last tuesday,,web,ref-2\n",
        "unparseable granted_at: last tuesday",
    ),
    (
        "optouts",
        "optouts/o.csv",
        "phone_number,brand,requested_at,method,call_sid\n+14155550101,,2026-09-01T00:00:00Z,dtmf,\n",
        {"brand": None, "method": "dtmf"},
        "+14155550102,Acme,,web,\n",
        "missing requested_at",
    ),
    (
        "disclosures",
        "disclosures/d.csv",
        "call_sid,identity_disclosed_at_s,purpose_disclosed_at_s,opt_out_offered\n"
        f"{ca(1)},3,12.5,TRUE\n",
        {"purpose_disclosed_at_s": 12.5, "opt_out_offered": True},
        f"{ca(2)},3,4,maybe\n",
        "unparseable opt_out_offered: maybe",
    ),
    (
        "complaints",
        "complaints/c.csv",
        "complaint_id,received_at,source,caller_id,callee,call_sid,category\n"
        "CP1,2026-09-02T00:00:00Z,carrier,+14155550100,,,robocall\n",
        {"source": "carrier", "callee": None},
        ",2026-09-02T00:00:00Z,carrier,+14155550100,,,robocall\n",
        "missing complaint_id",
    ),
    (
        "dnc_internal",
        "dnc/internal/d.csv",
        "phone_number,added_at,brand,reason\n+14155550101,2026-09-01T00:00:00Z,,asked\n",
        {"reason": "asked"},
        ",2026-09-01T00:00:00Z,,asked\n",
        "missing phone_number",
    ),
]


@pytest.mark.parametrize(("source", "key", "good", "typed", "bad", "reason"), EXPORT_CASES)
def test_export_sources_type_good_rows_and_quarantine_bad_ones(
    zone, source, key, good, typed, bad, reason
):
    landing, settings = zone
    _write(landing, key, good + bad + "a,b,c,d,e,f,g,h,i,j,k\n")

    [summary] = _load(settings, source)

    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 1, 2)
    reasons = _reasons(settings, key)
    assert reasons[3] == reason
    assert reasons[4].startswith("malformed CSV record")
    columns = ", ".join(f'"{c}"' for c in typed)
    assert _query(settings, f"select {columns} from raw.{source}") == [tuple(typed.values())]


ISO_FORMS = {
    "2026-09-01T12:00:00Z": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),
    "2026-09-01T12:00Z": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),  # no seconds
    "2026-09-01T14:00+02:00": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),
    "2026-09-01t12:00:00z": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),  # RFC 3339 lower case
    "20260901T120000Z": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),  # ISO 8601 basic format
    "20260901t1400+0200": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),
    "20260901T120000.5Z": dt.datetime(2026, 9, 1, 12, 0, 0, 500000, tzinfo=UTC),
    "Tue, 01 Sep 2026 12:00:00 +0000": dt.datetime(2026, 9, 1, 12, tzinfo=UTC),  # RFC 2822
}


NOT_ISO = ("2026111T120000Z", "20261001T12305Z", "2026-9-01T12:00Z", "2026-09-01T12Z")
"""Shapes ``strptime`` alone would read as some time (one-digit fields)."""


def test_every_iso_8601_form_of_a_timestamp_loads(zone):
    """The contract's timestamps are ISO 8601 with an offset or Z: its basic
    format, minutes without seconds and RFC 3339's lower case are ISO too. An
    opt-out quarantined for its form is one no result honours."""
    landing, settings = zone
    rows = "".join(f'+1415555{n:04d},,"{form}",web,\n' for n, form in enumerate(ISO_FORMS))
    _write(landing, "optouts/o.csv", "phone_number,brand,requested_at,method,call_sid\n" + rows)

    [summary] = _load(settings, "optouts")

    assert summary.rows_quarantined == 0, _reasons(settings, "optouts/o.csv")
    loaded = _query(settings, "select requested_at from raw.optouts order by _source_line")
    assert [at for (at,) in loaded] == list(ISO_FORMS.values())

    # Not ISO 8601: quarantined, never read as a wrong time.
    rows = "".join(f"+1415556{n:04d},,{form},web,\n" for n, form in enumerate(NOT_ISO))
    _write(landing, "optouts/p.csv", "phone_number,brand,requested_at,method,call_sid\n" + rows)
    [again] = _load(settings, "optouts")
    assert again.rows_quarantined == len(NOT_ISO)
    assert set(_reasons(settings, "optouts/p.csv").values()) == {
        f"unparseable requested_at: {form}" for form in NOT_ISO
    }


def test_csv_header_order_case_bom_and_quoted_newlines(zone):
    landing, settings = zone
    content = (
        "\ufeffReason,Brand,ADDED_AT,phone_number\n"
        '"line one\nline two",Acme,2026-09-01T00:00:00Z,+14155550101\n'
        ",,2026-09-02T00:00:00Z,+14155550102\n"
    )
    _write(landing, "dnc/internal/odd.csv", content)

    [summary] = _load(settings, "dnc_internal")

    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 0)
    rows = _query(settings, "select phone_number, brand, reason from raw.dnc_internal order by 1")
    assert rows == [("+14155550101", "Acme", "line one\nline two"), ("+14155550102", None, None)]


def test_changed_file_replaces_its_rows_and_unchanged_files_are_skipped(zone):
    landing, settings = zone
    key = "campaigns/c.csv"
    path = _write(landing, key, f"campaign_id,account_sid,brand,purpose\nC1,{AC1},A,other\n")
    _load(settings, "campaigns")
    first_loaded_at = _query(settings, "select loaded_at from compliance.load_manifest")

    [again] = _load(settings, "campaigns")
    assert (again.files_unchanged, again.files_loaded) == (1, 0)
    os.utime(path, ns=(1, 1))  # touched, same bytes: the checksum says unchanged
    [touched] = _load(settings, "campaigns")
    assert touched.files_unchanged == 1
    assert _query(settings, "select loaded_at from compliance.load_manifest") == first_loaded_at

    path.write_text(f"campaign_id,account_sid,brand,purpose\nC2,{AC1},B,other\nC3,{AC1},B,bad\n")
    [changed] = _load(settings, "campaigns")

    assert changed.files_loaded == 1
    assert _query(settings, "select campaign_id from raw.campaigns") == [("C2",)]
    assert _query(settings, "select count(*) from compliance.quarantine") == [(1,)]
    assert _query(settings, "select load_count, rows_read from compliance.load_manifest") == [
        (2, 2)
    ]


def _registry_files(landing: Path) -> None:
    files = {
        "dnc/us_national/full/2026-09-01/part-1.txt": "4155550101\n415,5550102\n",
        "dnc/us_national/full/2026-09-01/part-2.txt.gz": "4155550104\nnot-a-number\n",
        "dnc/us_national/changes/2026-09-01/c.txt": "415,5550105,A\n",
        "dnc/us_national/changes/2026-09-10/c.txt": "415,5550101,D,20260910\n415,5550103,A\n",
        "dnc/us_national/full/2026-09-20/all.txt": "4155550103\n4155550101\n",
        "dnc/ca_dncl/full/2026-08-01/all.txt": "6135550100\n",
        "dnc/uk_tps/full/2026-09-01/tps.txt": "020 7946 0018\n01632960000\n",
        "dnc/uk_tps/changes/2026-09-05/tps.txt": "020 7946 0018,D\n0161 496 0000,A\n",
        "dnc/uk_ctps/full/not-a-date/ctps.txt": "020 7946 0099\n",
        "dnc/uk_ctps/full/20260901/ctps.txt": "020 7946 0098\n",
    }
    for key, content in files.items():
        _write(landing, key, content)


def test_registry_files_load_in_every_contract_format(zone):
    landing, settings = zone
    _registry_files(landing)

    _load(settings, *ingest.REGISTRY_SOURCES)

    assert _reasons(settings, "part-2.txt.gz") == {
        2: "unparseable registry line: expected the contract format"
    }
    assert _manifest(settings, "dnc/uk_ctps/full/not-a-date/ctps.txt")["q"] == 1
    # A basic ISO date (no dashes) is not the contract's YYYY-MM-DD folder.
    assert _manifest(settings, "dnc/uk_ctps/full/20260901/ctps.txt")["q"] == 1
    assert _reasons(settings, "full/20260901/ctps.txt") == {
        1: "invalid effective date folder: '20260901'"
    }
    rows = _query(
        settings,
        "select registry, list_kind, e164, action, extra from raw.registry_entries"
        " where effective_date = '2026-09-10' or registry = 'uk_tps' order by all",
    )
    assert rows == [
        ("uk_tps", "changes", "+441614960000", "A", None),
        ("uk_tps", "changes", "+442079460018", "D", None),
        ("uk_tps", "full", "+441632960000", "L", None),
        ("uk_tps", "full", "+442079460018", "L", None),
        ("us_national", "changes", "+14155550101", "D", "20260910"),
        ("us_national", "changes", "+14155550103", "A", None),
    ]


def _as_older_layout_then_load(landing: Path, settings: Settings, *statements: str) -> None:
    """Turn the warehouse's registry storage into an older layout (``statements``),
    then load twice: the first load (nothing new landed) moves it forward, the
    second finds the current layout and adds a change list."""
    con = duckdb.connect(str(settings.warehouse))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
    _load(settings, *ingest.REGISTRY_SOURCES)
    _write(landing, "dnc/us_national/changes/2026-09-21/c.txt", "415,5550109,A\n")
    _load(settings, *ingest.REGISTRY_SOURCES)


def test_a_warehouse_with_the_old_registry_table_is_migrated_once_with_every_line(zone):
    # Before decision 0028, raw.registry_entries was a table that repeated
    # its file's registry, list kind, date, URI and load time on every line.
    landing, settings = zone
    _registry_files(landing)
    _load(settings, *ingest.REGISTRY_SOURCES)
    entries = "select * exclude (e164_number) from raw.registry_entries order by all"
    before = _query(settings, entries)
    _as_older_layout_then_load(
        landing,
        settings,
        "create table raw.old_entries as select * exclude (e164_number) from raw.registry_entries",
        "drop view raw.registry_entries",
        "drop table raw.registry_lines",
        "alter table raw.old_entries rename to registry_entries",
    )

    kinds = _query(
        settings,
        "select table_name, table_type from information_schema.tables"
        " where table_schema = 'raw' and table_name like 'registry%' order by all",
    )
    assert kinds == [("registry_entries", "VIEW"), ("registry_lines", "BASE TABLE")]
    after = _query(settings, entries)
    added = [r for r in after if r[3] == "+14155550109"]
    assert [r for r in after if r not in added] == before
    assert [(r[0], r[1], str(r[2]), r[4]) for r in added] == [
        ("us_national", "changes", "2026-09-21", "A")
    ]
    assert len(before) == _query(settings, "select count(*) from raw.registry_lines")[0][0] - 1


def test_registry_lines_stored_as_text_get_their_numbers_once(zone):
    # Between decisions 0028 and 0031, raw.registry_lines held e164 as text.
    landing, settings = zone
    _registry_files(landing)
    _load(settings, *ingest.REGISTRY_SOURCES)
    entries = "select * from raw.registry_entries order by all"
    before = _query(settings, entries)
    _as_older_layout_then_load(
        landing,
        settings,
        "drop view raw.registry_entries",
        "create table raw.text_lines as select '+' || e164_number as e164,"
        " action, extra, _file_id, _source_line from raw.registry_lines",
        "drop table raw.registry_lines",
        "alter table raw.text_lines rename to registry_lines",
        "create view raw.registry_entries as select lines.e164, lines._file_id"
        " from raw.registry_lines as lines",
    )

    columns = _query(
        settings,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'raw' and table_name = 'registry_lines'"
        " and column_name like 'e164%'",
    )
    assert columns == [("e164_number", "BIGINT")]
    after = _query(settings, entries)
    assert [r for r in after if r[3] != "+14155550109"] == before
    assert [r[-1] for r in after if r[3] == "+14155550109"] == [14155550109]


def test_every_manifest_row_reconciles_and_phone_values_are_normalized(zone):
    landing, settings = zone
    _registry_files(landing)
    for _source, key, good, _typed, bad, _reason in EXPORT_CASES:
        _write(landing, key, good + bad)
    _write(landing, "calls/region=us1/p.json", json.dumps({"calls": [_call(ca(1))]}))

    _load(settings, *ingest.ALL_SOURCES)

    unreconciled = _query(
        settings,
        "select landing_key from compliance.load_manifest"
        " where rows_read <> rows_loaded + rows_quarantined",
    )
    assert unreconciled == []
    quarantined = _query(settings, "select count(*) from compliance.quarantine")[0][0]
    assert (
        quarantined
        == _query(settings, "select sum(rows_quarantined) from compliance.load_manifest")[0][0]
    )
    normalized = dict(
        _query(
            settings,
            "select raw, e164 from ref.phone_numbers where region = 'US'"
            " and raw in ('(415) 555-0101', '+14155550100')",
        )
    )
    assert normalized == {"(415) 555-0101": "+14155550101", "+14155550100": "+14155550100"}


def test_phone_dimension_reads_only_rows_loaded_since_its_last_scan(zone):
    landing, settings = zone
    header = "phone_number,brand,requested_at,method,call_sid\n"
    _write(landing, "optouts/a.csv", header + "(415) 555-0111,Acme,2026-09-01T10:00:00Z,dtmf,\n")
    _load(settings, "optouts")
    # A load that died after writing its rows but before its phone scan:
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute(
            "insert into raw.optouts (phone_number, brand, requested_at, method,"
            " _file_id, _source_file, _source_line, _loaded_at)"
            " values ('(415) 555-0112', 'Acme', now(), 'web', 'x', 'x', 2, now())"
        )
    finally:
        con.close()
    _write(landing, "optouts/b.csv", header + "(415) 555-0113,Acme,2026-09-02T10:00:00Z,web,\n")

    _load(settings, "optouts")

    normalized = dict(
        _query(settings, "select raw, e164 from ref.phone_numbers where region = 'US'")
    )
    assert normalized == {
        "(415) 555-0111": "+14155550111",
        "(415) 555-0112": "+14155550112",
        "(415) 555-0113": "+14155550113",
    }
    scanned = _query(settings, "select scanned_through from ref.phone_number_scans")
    newest = _query(settings, "select max(_loaded_at) from raw.optouts")
    assert scanned == newest
