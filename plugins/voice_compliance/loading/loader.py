"""Load landing files into the raw layer, a batch of files per transaction.

For every file of a source: skip it when its fingerprint (or, failing that,
its checksum) is the one already loaded; otherwise stage it, type and check
its records, replace whatever an earlier version of the same file loaded, and
write its manifest row. Rows read = rows loaded + rows quarantined, always:
the load refuses to commit otherwise.

Small files are loaded in batches (``batches``): a fixed cost per statement
paid once per batch instead of once per file. Batches are bounded by
decompressed bytes and by file count, so memory stays bounded. Files the
batch readers do not handle (unreadable, unrecognized, empty, truncated,
headerless, or odd in another way) take the per-file path below, which is
the reference behaviour; so does every file of a batch whose statements fail,
after the batch is split in halves down to single files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import duckdb

from voice_compliance.landing import (
    LandedObject,
    LandingZone,
    MaterializedFile,
    cleanup,
    materialize,
)
from voice_compliance.loading import batch_staging, registry_table, staging
from voice_compliance.loading.batch_staging import StagedFile
from voice_compliance.loading.batches import PendingFile, load_batch
from voice_compliance.loading.results import FileResult, ReconciliationError
from voice_compliance.loading.sources import Source
from voice_compliance.loading.validate import kept_raw, reason_expr, sql_type, typed_expr
from voice_compliance.masking import grouped
from voice_compliance.phones.vectorized import registry_e164_sql
from voice_compliance.progress import Throttle, emit

__all__ = [
    "BATCH_BYTES",
    "BATCH_FILES",
    "FileResult",
    "ReconciliationError",
    "ensure_raw_table",
    "file_id",
    "load_source",
]

log = logging.getLogger(__name__)

BATCH_BYTES = 128 * 1024 * 1024
"""Default cap on a batch's decompressed bytes. DuckDB holds a few copies of
a batch's text at once (lines, records, typed rows), so this bounds memory."""

BATCH_FILES = 500
"""Default cap on a batch's file count; 1 loads every file on its own."""

_FILE_COLUMNS = (
    "_extra json, _file_id varchar not null, _source_file varchar not null,"
    " _source_line bigint, _loaded_at timestamptz not null"
)
# DuckDB expands these in file names passed to its readers; such files are
# read on their own (as before) rather than risk a glob in a file list.
_GLOB_CHARACTERS = frozenset("*?[]{}")


def file_id(uri: str) -> str:
    """A stable identifier for a landing file, derived from its URI."""
    return hashlib.sha1(uri.encode()).hexdigest()[:20]


def is_effective_date(folder: str) -> bool:
    """True when a registry file's date folder is a real ``YYYY-MM-DD`` date
    (not merely something ``date.fromisoformat`` accepts, such as ``20260910``)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder) is None:
        return False
    try:
        dt.date.fromisoformat(folder)
    except ValueError:
        return False
    return True


def ensure_raw_table(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Create the source's raw table if it does not exist yet."""
    if source.format == "registry":
        registry_table.ensure_registry_storage(con)
        return
    columns = ", ".join(f'"{c.column}" {sql_type(c)}' for c in source.columns)
    partitions = "".join(f", {p} varchar" for p in source.partition_columns)
    con.execute(
        f"create table if not exists raw.{source.table} ({columns}{partitions}, {_FILE_COLUMNS})"
    )


def load_source(
    con: duckdb.DuckDBPyConnection,
    zone: LandingZone,
    source: Source,
    work_dir: Path,
    *,
    batch_bytes: int = BATCH_BYTES,
    batch_files: int = BATCH_FILES,
) -> list[FileResult]:
    """Load every new or changed file of ``source``; return one result per file.

    ``batch_bytes`` and ``batch_files`` bound each batch (decompressed bytes,
    file count); ``batch_files=1`` loads file by file.
    """
    ensure_raw_table(con, source)
    objects = zone.list(source.prefix)
    previous = _manifest_rows(con, [file_id(o.uri) for o in objects])
    results: dict[str, FileResult] = {}
    batch: list[PendingFile] = []
    batch_size = 0
    throttle = Throttle(2.0)
    _progress(source, results, len(objects))
    for obj in objects:
        pending = _prepare(con, zone, source, obj, previous.get(file_id(obj.uri)), work_dir)
        if isinstance(pending, FileResult):
            results[obj.key] = pending
            continue
        try:
            staged = _batchable(source, pending) if batch_files > 1 else None
        except Exception:  # an odd file is the per-file path's to judge
            staged = None
        if staged is None:
            try:
                results[obj.key] = _load_alone(con, source, pending)
            finally:
                cleanup(pending.mat)
            if throttle.due():
                _progress(source, results, len(objects))
            continue
        batch.append(replace(pending, staged=staged))
        batch_size += pending.mat.path.stat().st_size
        if len(batch) >= batch_files or batch_size >= batch_bytes:
            _flush(con, source, batch, results)
            batch, batch_size = [], 0
            if throttle.due():
                _progress(source, results, len(objects))
    _flush(con, source, batch, results)
    _progress(source, results, len(objects))
    return [results[o.key] for o in objects]


def _progress(source: Source, results: dict[str, FileResult], total: int) -> None:
    """One progress event for the command line: files done and rows so far (no keys)."""
    loaded = [r for r in results.values() if not r.skipped]
    emit(
        "load",
        source=source.name,
        files=len(results),
        files_total=total,
        unchanged=len(results) - len(loaded),
        rows=sum(r.rows_loaded for r in loaded),
        quarantined=sum(r.rows_quarantined for r in loaded),
    )


def _manifest_rows(
    con: duckdb.DuckDBPyConnection, fids: list[str]
) -> dict[str, tuple[str, str, int]]:
    """Fingerprint, checksum and load count of every listed file already loaded."""
    rows = con.execute(
        "select file_id, fingerprint, checksum, load_count from compliance.load_manifest"
        " where file_id in (select unnest(?::varchar[]))",
        [fids],
    ).fetchall()
    return {str(r[0]): (r[1], r[2], r[3]) for r in rows}


def _prepare(
    con: duckdb.DuckDBPyConnection,
    zone: LandingZone,
    source: Source,
    obj: LandedObject,
    previous: tuple[str, str, int] | None,
    work_dir: Path,
) -> FileResult | PendingFile:
    """Skip an unchanged file (its result), or materialize it for loading."""
    fid = file_id(obj.uri)
    if previous and previous[0] == obj.fingerprint:
        return FileResult(obj.key, "unchanged", 0, 0, 0, skipped=True)
    mat = materialize(zone, obj, work_dir)
    if previous and mat.sha256 and previous[1] == mat.sha256:
        # Touched but identical (a re-upload, a copy): nothing to reload.
        cleanup(mat)
        con.execute(
            "update compliance.load_manifest set fingerprint = ? where file_id = ?",
            [obj.fingerprint, fid],
        )
        return FileResult(obj.key, "unchanged", 0, 0, 0, skipped=True)
    load_count = previous[2] + 1 if previous else 1
    match = source.matches(obj.key)
    partitions = match.groupdict() if match else {}
    return PendingFile(obj, mat, fid, load_count, partitions)


def _batchable(source: Source, pending: PendingFile) -> StagedFile | None:
    """How the batch readers see the file, or None when it must load on its own."""
    obj, mat, fid, partitions = pending.obj, pending.mat, pending.fid, pending.partitions
    if source.matches(obj.key) is None or mat.error or mat.truncated or mat.note:
        return None
    path = str(mat.path)
    if _GLOB_CHARACTERS & set(path) or not mat.path.exists() or mat.path.stat().st_size == 0:
        return None
    values = tuple(partitions[p] for p in source.partition_columns)
    key = obj.key.removesuffix(".gz")
    if source.format == "registry":
        if not is_effective_date(partitions["effective_date"]):
            return None
        return StagedFile(fid, path, obj.uri, "registry", values)
    if source.format == "calls" and key.endswith(".json"):
        return StagedFile(fid, path, obj.uri, "page", values)
    if key.endswith(".jsonl"):
        return StagedFile(fid, path, obj.uri, "jsonl", values)
    header = staging.read_header(mat.path)
    if header is None or not batch_staging.csv_header_fits(header):
        return None
    return StagedFile(fid, path, obj.uri, "csv", values, tuple(header))


def _flush(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch: list[PendingFile],
    results: dict[str, FileResult],
) -> None:
    """Load a batch, then delete its materialized files."""
    if not batch:
        return
    try:
        _run_batch(con, source, batch, results)
    finally:
        batch_staging.clear(con)
        for pending in batch:
            cleanup(pending.mat)


def _run_batch(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch: Sequence[PendingFile],
    results: dict[str, FileResult],
) -> None:
    try:
        loaded, alone = load_batch(con, source, batch)
    except (duckdb.Error, ReconciliationError) as exc:
        if len(batch) == 1:
            loaded, alone = [], list(batch)
        else:
            # Isolate the file(s) the statement chokes on: halves, down to
            # single files, which then take the per-file path.
            log.warning("batch of %s %s files failed, splitting: %s", len(batch), source.name, exc)
            middle = len(batch) // 2
            _run_batch(con, source, batch[:middle], results)
            _run_batch(con, source, batch[middle:], results)
            return
    for result in loaded:
        results[result.key] = _logged(result)
    for pending in alone:
        results[pending.obj.key] = _load_alone(con, source, pending)


def _load_alone(con: duckdb.DuckDBPyConnection, source: Source, pending: PendingFile) -> FileResult:
    """Load one file in its own transaction (the reference, per-file path).

    A file that still makes DuckDB fail is recorded as unreadable, with the
    error, and quarantined as one unit: one hostile file never stops its
    source, and never fails again on every later run.
    """
    p = pending
    try:
        result = _load_file(con, source, p.obj, p.mat, p.fid, p.load_count, p.partitions)
    except Exception as exc:  # whatever one file does, the source goes on
        log.warning("%s could not be loaded, recording it as unreadable: %s", p.obj.key, exc)
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
        failed = replace(p.mat, error=f"could not be loaded: {first_line}")
        result = _load_file(con, source, p.obj, failed, p.fid, p.load_count, p.partitions)
    return _logged(result)


def _logged(result: FileResult) -> FileResult:
    log.info(
        "loaded %s: %s read, %s loaded, %s quarantined (%s)",
        result.key,
        grouped(result.rows_read),
        grouped(result.rows_loaded),
        grouped(result.rows_quarantined),
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
    partitions: dict[str, str],
) -> FileResult:
    # Staging uses temporary tables outside the transaction; only the swap of
    # this file's rows and its manifest row is atomic.
    staging.reset(con)
    match = source.matches(obj.key)
    notes: list[str] = []
    if obj.refused:
        status_hint = "unreadable"
        notes.append(obj.refused)
    elif match is None:
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
        if mat.note:
            notes.append(mat.note)
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
    incomplete = quarantined or mat.truncated or mat.note
    status = status_hint or ("partial" if incomplete else "loaded")
    # A read failure (network, permissions) is retried by the next run: its
    # fingerprint is not recorded, so the unchanged-file shortcut never hits.
    fingerprint = "" if (mat.error or "").startswith("read failure") else obj.fingerprint
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
            fingerprint,
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
        shown_as = obj.uri if mat.temporary else None
        staging.stage_json_page(con, mat.path, source.columns, note, shown_as)
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
    if not is_effective_date(partitions["effective_date"]):
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
        # The file's constants live in its manifest row (registry_table).
        sql = registry_table.insert_lines_sql(
            "select e164_number, action, extra, ?, _line from _stage"
        )
        row = con.execute(sql, [fid]).fetchone()
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
        select ?, ?, ?, _line, {kept_raw('_raw')}, reason, now()
        from (select _line, _raw, reason from _stage_rejects {invalid})
        """,
        [fid, source.name, obj.uri],
    ).fetchone()
    return int(row[0]) if row else 0
