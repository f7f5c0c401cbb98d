"""Load a batch of landing files in one transaction, with a few statements.

``batch_staging`` reads the batch into keyed temporary tables; this module
types and checks the records, then in one transaction replaces whatever
earlier versions of these files loaded, inserts the good rows and the
quarantine, and writes one manifest row per file. Per-file counts come from
the staged rows and are checked against what the inserts actually wrote:
rows read = rows loaded + rows quarantined for every file, or nothing is
committed (the caller then loads the files one by one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from voice_compliance.landing import LandedObject, MaterializedFile
from voice_compliance.loading import batch_staging, registry_table
from voice_compliance.loading.batch_staging import StagedFile
from voice_compliance.loading.results import FileResult, ReconciliationError
from voice_compliance.loading.sources import Source
from voice_compliance.loading.validate import kept_raw, reason_expr, typed_expr, typed_name


@dataclass(frozen=True)
class PendingFile:
    """A materialized landing file waiting to be loaded."""

    obj: LandedObject
    mat: MaterializedFile
    fid: str
    load_count: int
    partitions: dict[str, str]
    staged: StagedFile | None = None
    """How the batch readers see the file; None when it must load on its own."""


def load_batch(
    con: duckdb.DuckDBPyConnection, source: Source, files: Sequence[PendingFile]
) -> tuple[list[FileResult], list[PendingFile]]:
    """Load ``files``; return their results and the files to load on their own.

    Raises (``duckdb.Error``, ``ReconciliationError``) with nothing committed
    when a statement fails for the batch as a whole.
    """
    staged = [f.staged for f in files if f.staged is not None]
    if len(staged) != len(files):
        raise ValueError("every file of a batch needs its batch reader description")
    alone = _stage(con, source, staged)
    batch_staging.drop_files(con, alone)
    kept = [f for f in files if f.fid not in set(alone)]
    results = _swap(con, source, kept) if kept else []
    return results, [f for f in files if f.fid in set(alone)]


def _stage(con: duckdb.DuckDBPyConnection, source: Source, files: list[StagedFile]) -> list[str]:
    """Stage every file; return the ids of files the batch readers handed back."""
    if source.format == "registry":
        ddl = batch_staging.REGISTRY_COLUMNS_DDL
    else:
        ddl = batch_staging.record_columns_ddl(source.columns)
    batch_staging.reset(con, files, source.partition_columns, ddl)
    alone: list[str] = []
    pages = [f for f in files if f.kind == "page"]
    if pages:
        alone += batch_staging.stage_json_pages(con, pages, source.columns)
    by_lines = [f for f in files if f.kind != "page"]
    if not by_lines:
        return alone
    batch_staging.read_lines(con, by_lines, read_once=source.format == "registry")
    if source.format == "registry":
        registry = source.name.removeprefix("registry_")
        for list_kind in ("full", "changes"):
            if any(f.partitions[0] == list_kind for f in by_lines):
                batch_staging.stage_registry(con, registry, list_kind)
        batch_staging.finish_registry(con)
    else:
        if any(f.kind == "jsonl" for f in by_lines):
            batch_staging.stage_jsonl(con, source.columns)
        csv = [f for f in by_lines if f.kind == "csv"]
        if csv:
            alone += batch_staging.stage_csv(con, csv, source.columns)
    batch_staging.drop_lines(con)
    return alone


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _swap(
    con: duckdb.DuckDBPyConnection, source: Source, files: list[PendingFile]
) -> list[FileResult]:
    registry = source.format == "registry"
    if not registry:
        # Each field is typed once per record; the reasons, both inserts and
        # the counts all read those values.
        typed = ", ".join(f"{typed_expr(c)} as {typed_name(c)}" for c in source.columns)
        con.execute(
            f"""
            create temp table _bchecked as
            select s.*, {reason_expr(source.columns, precomputed=True)} as _reason
            from (select s.*, {typed} from _bstage as s) as s
            """
        )
        con.execute("drop table _bstage")
    checked = "_bstage" if registry else "_bchecked"
    bad = "0" if registry else "count(*) filter (where _reason is not null)"
    good = "count(*)" if registry else "count(*) filter (where _reason is null)"
    counts = {
        str(fid): (int(ok), int(invalid), int(rejects))
        for fid, ok, invalid, rejects in con.execute(
            f"""
            select f._fid, coalesce(c.ok, 0), coalesce(c.invalid, 0), coalesce(r.n, 0)
            from _bfiles as f
            left join (select _fid, {good} as ok, {bad} as invalid
                       from {checked} group by _fid) as c using (_fid)
            left join (select _fid, count(*) as n from _bstage_rejects group by _fid) as r
                using (_fid)
            """
        ).fetchall()
    }
    con.begin()
    try:
        con.execute(f"delete from raw.{source.table} where _file_id in (select _fid from _bfiles)")
        con.execute("delete from compliance.quarantine where file_id in (select _fid from _bfiles)")
        loaded = _count(con, _insert_good_sql(source))
        quarantined = _insert_quarantine(con, source)
        results = _reconcile(source, files, counts, loaded, quarantined)
        _write_manifest(con, source, files, results)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return results


def _insert_good_sql(source: Source) -> str:
    if source.format == "registry":
        # The file's constants live in its manifest row (registry_table).
        return registry_table.insert_lines_sql(
            "select e164_number, action, extra, _fid, _line from _bstage"
        )
    typed = ", ".join(f"s.{typed_name(c)}" for c in source.columns)
    partitions = "".join(f", f.{p}" for p in source.partition_columns)
    return f"""
        insert into raw.{source.table}
        select {typed}{partitions}, s._extra, s._fid, f.uri, s._line, now()
        from _bchecked as s join _bfiles as f using (_fid)
        where s._reason is null
    """


def _insert_quarantine(con: duckdb.DuckDBPyConnection, source: Source) -> int:
    invalid = ""
    if source.format != "registry":
        invalid = """
            union all
            select _fid, _line, _raw, _reason from _bchecked where _reason is not null
        """
    row = con.execute(
        f"""
        insert into compliance.quarantine
        select q._fid, ?, f.uri, q._line, {kept_raw('q._raw')}, q.reason, now()
        from (select _fid, _line, _raw, reason from _bstage_rejects {invalid}) as q
        join _bfiles as f using (_fid)
        """,
        [source.name],
    ).fetchone()
    return int(row[0]) if row else 0


def _reconcile(
    source: Source,
    files: list[PendingFile],
    counts: dict[str, tuple[int, int, int]],
    loaded: int,
    quarantined: int,
) -> list[FileResult]:
    """Per-file results; raise unless the inserts wrote exactly the staged split."""
    results = []
    for f in files:
        ok, invalid, rejects = counts[f.fid]
        read = ok + invalid + rejects
        status = "partial" if invalid + rejects else "loaded"
        results.append(FileResult(f.obj.key, status, read, ok, invalid + rejects))
    want_loaded = sum(r.rows_loaded for r in results)
    want_quarantined = sum(r.rows_quarantined for r in results)
    if (loaded, quarantined) != (want_loaded, want_quarantined):
        raise ReconciliationError(
            f"{source.name} batch of {len(files)} files: wrote {loaded} rows and"
            f" {quarantined} quarantined, staged {want_loaded} and {want_quarantined}"
        )
    return results


def _write_manifest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[PendingFile],
    results: list[FileResult],
) -> None:
    # One statement for the batch: unnest zips the parallel arrays into rows.
    con.execute(
        """
        insert or replace into compliance.load_manifest
        select unnest($1::varchar[]), $2, unnest($3::varchar[]), unnest($4::varchar[]),
            unnest($5::varchar[])::json, unnest($6::bigint[]), unnest($7::varchar[]),
            unnest($8::varchar[]), unnest($9::varchar[]), null, unnest($10::bigint[]),
            unnest($11::bigint[]), unnest($12::bigint[]), unnest($13::integer[]), now()
        """,
        [
            [f.fid for f in files],
            source.name,
            [f.obj.uri for f in files],
            [f.obj.key for f in files],
            [json.dumps(f.partitions) if f.partitions else None for f in files],
            [f.obj.size for f in files],
            [f.mat.sha256 for f in files],
            [f.obj.fingerprint for f in files],
            [r.status for r in results],
            [r.rows_read for r in results],
            [r.rows_loaded for r in results],
            [r.rows_quarantined for r in results],
            [f.load_count for f in files],
        ],
    )
