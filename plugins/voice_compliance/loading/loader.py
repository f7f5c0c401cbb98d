"""Load landing files into the raw layer, one file per transaction.

For every file of a source: skip it when its fingerprint (or, failing that,
its checksum) is the one already loaded; otherwise stage it, type and check
its records, replace whatever an earlier version of the same file loaded, and
write its manifest row. Rows read = rows loaded + rows quarantined, always:
the load refuses to commit otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from voice_compliance.landing import (
    LandedObject,
    LandingZone,
    MaterializedFile,
    cleanup,
    materialize,
)
from voice_compliance.loading import staging
from voice_compliance.loading.sources import Source
from voice_compliance.loading.validate import reason_expr, sql_type, typed_expr
from voice_compliance.phones.vectorized import registry_e164_sql

log = logging.getLogger(__name__)

_FILE_COLUMNS = (
    "_extra json, _file_id varchar not null, _source_file varchar not null,"
    " _source_line bigint, _loaded_at timestamptz not null"
)


@dataclass(frozen=True)
class FileResult:
    """The outcome of loading one landing file."""

    key: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    skipped: bool = False


class ReconciliationError(RuntimeError):
    """Rows read did not equal rows loaded plus rows quarantined."""


def file_id(uri: str) -> str:
    """A stable identifier for a landing file, derived from its URI."""
    return hashlib.sha1(uri.encode()).hexdigest()[:20]


def ensure_raw_table(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Create the source's raw table if it does not exist yet."""
    if source.format == "registry":
        con.execute(
            f"""
            create table if not exists raw.{source.table} (
                registry varchar not null, list_kind varchar not null,
                effective_date date not null, e164 varchar not null,
                action varchar not null, extra varchar, {_FILE_COLUMNS})
            """
        )
        return
    columns = ", ".join(f'"{c.column}" {sql_type(c)}' for c in source.columns)
    partitions = "".join(f", {p} varchar" for p in source.partition_columns)
    con.execute(
        f"create table if not exists raw.{source.table} ({columns}{partitions}, {_FILE_COLUMNS})"
    )


def load_source(
    con: duckdb.DuckDBPyConnection, zone: LandingZone, source: Source, work_dir: Path
) -> list[FileResult]:
    """Load every new or changed file of ``source``; return one result per file."""
    ensure_raw_table(con, source)
    results = []
    for obj in zone.list(source.prefix):
        results.append(_load_object(con, zone, source, obj, work_dir))
    return results


def _manifest_row(con: duckdb.DuckDBPyConnection, fid: str) -> tuple[str, str, int] | None:
    row = con.execute(
        "select fingerprint, checksum, load_count from compliance.load_manifest where file_id = ?",
        [fid],
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def _load_object(
    con: duckdb.DuckDBPyConnection,
    zone: LandingZone,
    source: Source,
    obj: LandedObject,
    work_dir: Path,
) -> FileResult:
    fid = file_id(obj.uri)
    previous = _manifest_row(con, fid)
    if previous and previous[0] == obj.fingerprint:
        return FileResult(obj.key, "unchanged", 0, 0, 0, skipped=True)
    mat = materialize(zone, obj, work_dir)
    try:
        if previous and previous[1] == mat.sha256:
            # Touched but identical (a re-upload, a copy): nothing to reload.
            con.execute(
                "update compliance.load_manifest set fingerprint = ? where file_id = ?",
                [obj.fingerprint, fid],
            )
            return FileResult(obj.key, "unchanged", 0, 0, 0, skipped=True)
        load_count = previous[2] + 1 if previous else 1
        result = _load_file(con, source, obj, mat, fid, load_count)
    finally:
        cleanup(mat)
    log.info(
        "loaded %s: %s read, %s loaded, %s quarantined (%s)",
        obj.key,
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
        result.status,
    )
    return result


def _load_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    obj: LandedObject,
    mat: MaterializedFile,
    fid: str,
    load_count: int,
) -> FileResult:
    # Staging uses temporary tables outside the transaction; only the swap of
    # this file's rows and its manifest row is atomic.
    staging.reset(con)
    match = source.matches(obj.key)
    partitions = match.groupdict() if match else {}
    notes: list[str] = []
    if match is None:
        status_hint = "unrecognized"
        notes.append(f"path does not match the contract layout of {source.name}")
    elif mat.error is not None:
        status_hint = "unreadable"
        notes.append(mat.error)
    elif not mat.path.exists() or mat.path.stat().st_size == 0:
        status_hint = "empty"
        if mat.truncated:
            notes.append("truncated gzip member before any data")
    else:
        status_hint = ""
        _stage(con, source, obj, mat, partitions, notes)

    if status_hint in ("unrecognized", "unreadable"):
        # The file cannot be split into rows: it is quarantined as one unit.
        con.execute(
            "insert into _stage_rejects values (null, null, ?)",
            [f"{status_hint} file: {'; '.join(notes)}"],
        )
    con.begin()
    try:
        result = _swap_rows(con, source, obj, mat, fid, load_count, partitions, notes, status_hint)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


def _swap_rows(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    obj: LandedObject,
    mat: MaterializedFile,
    fid: str,
    load_count: int,
    partitions: dict[str, str],
    notes: list[str],
    status_hint: str,
) -> FileResult:
    con.execute(f"delete from raw.{source.table} where _file_id = ?", [fid])
    con.execute("delete from compliance.quarantine where file_id = ?", [fid])
    loaded = _insert_good_rows(con, source, obj, fid, partitions) if status_hint == "" else 0
    quarantined = _insert_quarantine(con, source, obj, fid)
    staged = con.execute("select count(*) from _stage_rejects").fetchone()
    rejects = int(staged[0]) if staged else 0
    stage_rows = 0
    if status_hint == "":
        row = con.execute("select count(*) from _stage").fetchone()
        stage_rows = int(row[0]) if row else 0
    rows_read = stage_rows + rejects
    if rows_read != loaded + quarantined:
        raise ReconciliationError(
            f"{obj.uri}: read {rows_read} != loaded {loaded} + quarantined {quarantined}"
        )
    status = status_hint or ("partial" if quarantined or mat.truncated else "loaded")
    if mat.truncated and status_hint == "":
        notes.append("gzip member truncated: rows after the cut are lost at the source")
    con.execute(
        """
        insert or replace into compliance.load_manifest values
        (?, ?, ?, ?, ?::json, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())
        """,
        [
            fid,
            source.name,
            obj.uri,
            obj.key,
            json.dumps(partitions) if partitions else None,
            obj.size,
            mat.sha256,
            obj.fingerprint,
            status,
            "; ".join(notes) or None,
            rows_read,
            loaded,
            quarantined,
            load_count,
        ],
    )
    return FileResult(obj.key, status, rows_read, loaded, quarantined)


def _stage(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    obj: LandedObject,
    mat: MaterializedFile,
    partitions: dict[str, str],
    notes: list[str],
) -> None:
    """Stage the file into ``_stage`` and ``_stage_rejects``."""
    key = obj.key.removesuffix(".gz")
    if source.format == "calls" and key.endswith(".json"):
        note = " (gzip member truncated)" if mat.truncated else ""
        staging.stage_json_page(con, mat.path, source.columns, note)
        return
    remainder = _cut_partial_line(mat) if mat.truncated else None
    staging.read_lines(con, mat.path)
    if remainder:
        staging.add_truncation_reject(con, remainder)
    if source.format == "registry":
        _stage_registry(con, source, partitions, notes)
    elif key.endswith(".jsonl"):
        staging.stage_jsonl(con, source.columns)
    else:
        header = staging.read_header(mat.path)
        if header is None:
            header = []
            notes.append("no CSV header on line 1")
        staging.stage_csv(con, mat.path, source.columns, header)


def _stage_registry(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    partitions: dict[str, str],
    notes: list[str],
) -> None:
    registry = source.name.removeprefix("registry_")
    staging.stage_registry_lines(
        con, registry, partitions["list_kind"], registry_e164_sql("number", registry)
    )
    try:
        dt.date.fromisoformat(partitions["effective_date"])
    except ValueError:
        notes.append(f"folder {partitions['effective_date']!r} is not a YYYY-MM-DD date")
        con.execute(
            "insert into _stage_rejects select _line, _raw, ? from _stage",
            [f"invalid effective date folder: {partitions['effective_date']!r}"],
        )
        con.execute("delete from _stage")


def _cut_partial_line(mat: MaterializedFile) -> str | None:
    """Remove the incomplete last line of a truncated decompressed file.

    Returns its text (for quarantine), or None when the cut fell exactly on
    a line end. Only our own decompressed copy is modified, never a source.
    """
    if not mat.temporary:
        raise ValueError(f"refusing to modify a landed file in place: {mat.path}")
    with mat.path.open("rb+") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        block = 64 * 1024
        position = size
        tail = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            newline = tail.rfind(b"\n")
            if newline >= 0:
                cut = position + newline + 1
                break
        else:
            cut = 0
        remainder = tail[len(tail) - (size - cut) :] if size > cut else b""
        handle.truncate(cut)
    text = remainder.decode("utf-8", errors="replace").strip()
    return text or None


def _insert_good_rows(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    obj: LandedObject,
    fid: str,
    partitions: dict[str, str],
) -> int:
    if source.format == "registry":
        registry = source.name.removeprefix("registry_")
        row = con.execute(
            f"""
            insert into raw.{source.table}
            select ?, ?, ?::date, e164, action, extra, null, ?, ?, _line, now()
            from _stage
            """,
            [registry, partitions["list_kind"], partitions["effective_date"], fid, obj.uri],
        ).fetchone()
        return int(row[0]) if row else 0
    typed = ", ".join(typed_expr(c) for c in source.columns)
    partition_values = "".join(f", ${i + 3}" for i in range(len(source.partition_columns)))
    row = con.execute(
        f"""
        insert into raw.{source.table}
        select {typed}{partition_values}, s._extra, $1, $2, s._line, now()
        from _stage as s
        where {reason_expr(source.columns)} is null
        """,
        [fid, obj.uri, *(partitions[p] for p in source.partition_columns)],
    ).fetchone()
    return int(row[0]) if row else 0


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, source: Source, obj: LandedObject, fid: str
) -> int:
    invalid = ""
    has_stage = con.execute(
        "select count(*) from information_schema.tables where table_name = '_stage'"
    ).fetchone()
    if source.format != "registry" and has_stage and has_stage[0]:
        invalid = f"""
            union all
            select s._line, s._raw, {reason_expr(source.columns)} from _stage as s
            where {reason_expr(source.columns)} is not null
        """
    row = con.execute(
        f"""
        insert into compliance.quarantine
        select ?, ?, ?, _line, _raw, reason, now()
        from (select _line, _raw, reason from _stage_rejects {invalid})
        """,
        [fid, source.name, obj.uri],
    ).fetchone()
    return int(row[0]) if row else 0
