"""Read a batch of materialized landing files into keyed temporary tables.

The batch counterpart of ``staging``: the same DuckDB readers with the same
options, but each runs once over a list of files (``filename = ...``) instead
of once per file, so a batch of small files costs a few statements. Every
table carries ``_fid`` (the file's id) and keeps per-file line numbers:

- ``_bfiles(_fid, _path, uri, <partition columns>)``: the files of the batch;
- ``_bstage``: one row per record read (``_fid, _line, _raw`` and the
  source's fields, as ``staging`` leaves them in ``_stage``);
- ``_bstage_rejects(_fid, _line, _raw, reason)``: records not read at all.

Only the common shapes are handled here. A file that needs one of the rarer
per-file paths (a JSON page that is not valid UTF-8 or has no ``calls``
array, a CSV whose records span lines) is reported back so the caller loads
it on its own with ``staging``; its rows are removed from the batch tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from voice_compliance.loading.registry_table import e164_number_sql
from voice_compliance.loading.sources import Column
from voice_compliance.loading.staging import (
    CSV_DIALECT,
    IS_JSON_OBJECT,
    JSONL_REJECT_REASON,
    LINE_READER,
    MALFORMED_QUOTES,
    REGISTRY_REJECT_REASON,
    csv_record_fields,
    file_order,
    has_odd_quotes,
    json_records,
    literal,
    misquoted_record,
    quote_ident,
    registry_e164,
    registry_line_fields,
    registry_number,
    unique_names,
    without_bom,
    without_cr,
)
from voice_compliance.loading.validate import has_nul
from voice_compliance.phones.registry import registry_e164_sql, registry_plain_number_sql

_TABLES = (
    "_bfiles",
    "_bstage",
    "_bstage_rejects",
    "_bchecked",
    "_bcsv",
    "_bcsv_raw",
    "_bcsv_rej",
    "_bcsv_scan",
    "_bcsv_numbers",
    "_bcsv_alone",
    "_bpage",
    "_bpage_items",
    "_bjsonl",
)
# Under ``_blines``, a view or a table (``read_lines``).
_LINE_TABLES = ("_blines_raw", "_blines_span", "_blines_odd", "_blines_rej", "_blines_scan")
# Named so that no contract or extra CSV column can collide with it.
_PATH_COLUMN = "_vc_batch_path"


@dataclass(frozen=True)
class StagedFile:
    """One file of a batch, as the batch readers need it."""

    fid: str
    path: str
    uri: str
    kind: str
    """``page`` (Twilio list page), ``jsonl``, ``csv`` or ``registry``."""
    partitions: tuple[str, ...]
    """Values of the source's partition columns, in declaration order."""
    header: tuple[str, ...] = ()
    """CSV only: the header's column names, as ``staging.read_header`` gives them."""


def _path_list(files: Sequence[StagedFile]) -> str:
    return "[" + ", ".join(literal(f.path) for f in files) + "]"


def _of_kind(kind: str) -> str:
    # A semi-join on the small file table; a literal IN list of hundreds of
    # ids would be compared row by row.
    return f"_fid in (select _fid from _bfiles where kind = '{kind}')"


def csv_header_fits(header: Sequence[str]) -> bool:
    """Whether a CSV header can be read in a batch (no clash with the batch's path column)."""
    return not any(name.startswith("_vc_") for name in unique_names(list(header)))


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every batch table (frees their memory between batches)."""
    drop_lines(con)
    for table in _TABLES:
        con.execute(f"drop table if exists {table}")


def reset(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[StagedFile],
    partition_columns: tuple[str, ...],
    stage_columns: str,
) -> None:
    """Drop what a previous batch left; create ``_bfiles``, ``_bstage``, ``_bstage_rejects``.

    ``stage_columns`` is the DDL of ``_bstage``'s columns after ``_fid, _line, _raw``.
    """
    clear(con)
    parts = "".join(
        f", unnest(${i + 5}::varchar[]) as {quote_ident(p)}"
        for i, p in enumerate(partition_columns)
    )
    # One statement for the whole list: unnest zips the parallel arrays.
    con.execute(
        f"""
        create temp table _bfiles as
        select unnest($1::varchar[]) as _fid, unnest($2::varchar[]) as _path,
            unnest($3::varchar[]) as uri, unnest($4::varchar[]) as kind{parts}
        """,
        [
            [f.fid for f in files],
            [f.path for f in files],
            [f.uri for f in files],
            [f.kind for f in files],
            *([f.partitions[i] for f in files] for i in range(len(partition_columns))),
        ],
    )
    con.execute(
        "create temp table _bstage_rejects (_fid varchar, _line bigint, _raw varchar,"
        " reason varchar)"
    )
    con.execute(
        f"create temp table _bstage (_fid varchar, _line bigint, _raw varchar, {stage_columns})"
    )


def record_columns_ddl(columns: tuple[Column, ...]) -> str:
    """``_bstage`` columns for CSV and Call records: every field VARCHAR, then ``_extra``."""
    return "".join(f"{quote_ident(c.name)} varchar, " for c in columns) + "_extra json"


REGISTRY_COLUMNS_DDL = "action varchar, extra varchar, e164_number bigint"


def read_lines(
    con: duckdb.DuckDBPyConnection, files: Sequence[StagedFile], *, read_once: bool = False
) -> None:
    """Create ``_blines(_fid, line_number, text)``: every physical line of ``files``.

    Same reader and numbering as ``staging.read_lines``, per file. Read in
    ``file_order``, a file's lines get consecutive rowids in line order: where
    a file's rowids are contiguous and none of its lines was rejected, line
    k is simply the k-th rowid of the file (no sort). The
    other files (rejected lines leave gaps, filled the same way as in
    ``staging``) are numbered with a window, on their own rows only.
    Rejected lines (invalid UTF-8, oversized) go to ``_bstage_rejects``.

    ``read_once``: the caller reads ``_blines`` once (registry lists), so it
    is a view over the lines as read and the text is held once. Otherwise
    (CSV and JSON Lines read it several times) it is a table: the join and
    trim are not redone on every read of long lines.
    """
    with file_order(con):
        con.execute(
            f"""
            create temp table _blines_raw as
            select "text", {_PATH_COLUMN} as _path
            from read_csv({_path_list(files)}, {LINE_READER}, filename = '{_PATH_COLUMN}',
                store_rejects = true, rejects_table = '_blines_rej',
                rejects_scan = '_blines_scan')
            """
        )
    con.execute(
        """
        create temp table _blines_span as
        with rejected as (
            select distinct s.file_path as _path
            from _blines_rej as r join _blines_scan as s using (scan_id, file_id)
        )
        -- never NULL: a file is in exactly one branch of _blines
        select f._fid, l._path, l.first_row,
            coalesce(l.last_row - l.first_row + 1 = l.n, false)
                and not exists (select 1 from rejected as x where x._path = l._path) as simple
        from (select _path, min(rowid) as first_row, max(rowid) as last_row, count(*) as n
              from _blines_raw group by _path) as l
        join _bfiles as f on f._path = l._path
        """
    )
    con.execute(
        """
        create temp table _blines_odd as
        with kept as (
            select _path, "text",
                row_number() over (partition by _path order by rowid) as k
            from _blines_raw
            where _path in (select _path from _blines_span where not simple)
        ),
        rejected as (
            select distinct s.file_path as _path, r.line
            from _blines_rej as r join _blines_scan as s using (scan_id, file_id)
        ),
        totals as (
            select _path, (select count(*) from kept where kept._path = b._path)
                + count(*) as n
            from rejected as b group by _path
        ),
        slots as (
            select t._path, r.i as line_number,
                row_number() over (partition by t._path order by r.i) as k
            from totals as t, range(1, t.n + 1) as r(i)
            where not exists (
                select 1 from rejected as x where x._path = t._path and x.line = r.i)
        )
        select kept._path, coalesce(s.line_number, kept.k) as line_number, kept."text"
        from kept
        left join slots as s on s._path = kept._path and s.k = kept.k
        """
    )
    kind = "view" if read_once else "table"
    con.execute(
        f"""
        create temp {kind} _blines as
        select s._fid, r.rowid - s.first_row + 1 as line_number,
            {without_cr('r."text"')} as "text"
        from _blines_raw as r join _blines_span as s on s._path = r._path and s.simple
        union all
        select s._fid, o.line_number, {without_cr('o."text"')} as "text"
        from _blines_odd as o join _blines_span as s on s._path = o._path
        """
    )
    if not read_once:
        con.execute("drop table _blines_raw; drop table _blines_odd")
    con.execute(
        """
        insert into _bstage_rejects
        select f._fid, r.line, string_agg(distinct r.csv_line, ' '), 'invalid text: '
            || string_agg(distinct case when r.error_type = 'INVALID ENCODING'
                then 'not valid UTF-8' else lower(r.error_type) end, ', ')
        from _blines_rej as r
        join _blines_scan as s using (scan_id, file_id)
        join _bfiles as f on f._path = s.file_path
        group by f._fid, r.line
        """
    )


def drop_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``_blines`` and the tables under it (frees the batch's text)."""
    row = con.execute(
        "select count(*) from duckdb_views() where temporary and view_name = '_blines'"
    ).fetchone()
    con.execute(f"drop {'view' if row and row[0] else 'table'} if exists _blines")
    for table in _LINE_TABLES:
        con.execute(f"drop table if exists {table}")


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[StagedFile],
    columns: tuple[Column, ...],
) -> list[str]:
    """Stage every CSV file of the batch; return the ids of files to load alone.

    Only files whose records are all one line are read here: a file with a
    line holding an odd number of quotes (a quoted field spanning lines, an
    unbalanced quote) goes to the per-file path, which groups lines into
    records (``staging.stage_csv``); so does a file whose reader records do
    not match its non-blank lines one to one. The rest is read once per
    distinct header (the header fixes the reader's schema), each read
    appending to one table in the staged shape, so the numbering and checks
    that follow run once for the batch. Records are numbered as in
    ``staging``: the non-blank lines after the header that neither reader
    rejected, in order.
    """
    con.execute(
        f"""
        create temp table _bcsv_alone as
        select distinct _fid from _blines where {_of_kind("csv")} and {has_odd_quotes('"text"')}
        union
        select distinct _fid from _bstage_rejects
        where {_of_kind("csv")} and {has_odd_quotes("_raw")}
        """
    )
    odd = {str(r[0]) for r in con.execute("select _fid from _bcsv_alone").fetchall()}
    files = [f for f in files if f.fid not in odd]
    if not files:
        return sorted(odd)
    con.execute(f"create temp table _bcsv_raw (_path varchar, {record_columns_ddl(columns)})")
    groups: dict[tuple[str, ...], list[StagedFile]] = {}
    for f in files:
        groups.setdefault(f.header, []).append(f)
    for header, group in groups.items():
        names = unique_names(list(header))
        spec = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
        # Insertion order is file order, so rowid later numbers each file's records.
        with file_order(con):
            con.execute(
                f"""
                insert into _bcsv_raw
                select c.{_PATH_COLUMN}, {csv_record_fields(columns, names)}
                from read_csv({_path_list(group)}, columns = {{{spec}}}, {CSV_DIALECT},
                    filename = '{_PATH_COLUMN}', store_rejects = true,
                    rejects_table = '_bcsv_rej', rejects_scan = '_bcsv_scan') as c
                """
            )
    con.execute(
        """
        create temp table _bcsv as
        select f._fid, c.* exclude (_path, rowid),
            row_number() over (partition by f._fid order by c.rowid) as _vc_k
        from (select *, rowid from _bcsv_raw) as c
        join _bfiles as f on f._path = c._path
        """
    )
    con.execute("drop table _bcsv_raw")
    con.execute(
        f"""
        create temp table _bcsv_numbers as
        with rejected as (
            select f._fid, r.line
            from _bcsv_rej as r
            join _bcsv_scan as s using (scan_id, file_id)
            join _bfiles as f on f._path = s.file_path
        )
        select l._fid, l.line_number as _line, l."text" as _raw,
            row_number() over (partition by l._fid order by l.line_number) as k
        from _blines as l
        where l.{_of_kind("csv")}
          and l.line_number > 1 and coalesce(trim(l."text"), '') <> ''
          and not exists (select 1 from rejected as r
                          where r._fid = l._fid and r.line = l.line_number)
          and not exists (select 1 from _bstage_rejects as x
                          where x._fid = l._fid and x._line = l.line_number)
        """
    )
    con.execute(
        """
        insert into _bcsv_alone
        select f._fid
        from _bfiles as f
        left join (select _fid, count(*) as n from _bcsv group by _fid) as c using (_fid)
        left join (select _fid, count(*) as n from _bcsv_numbers group by _fid) as l
            using (_fid)
        where f.kind = 'csv' and coalesce(c.n, 0) <> coalesce(l.n, 0)
          and f._fid not in (select _fid from _bcsv_alone)
        union
        select distinct f._fid
        from _bcsv_rej as r
        join _bcsv_scan as s using (scan_id, file_id)
        join _bfiles as f on f._path = s.file_path
        where contains(r.csv_line, e'\\n') and f._fid not in (select _fid from _bcsv_alone)
        """
    )
    names = ", ".join(quote_ident(c.name) for c in columns)
    con.execute(
        f"""
        insert into _bstage
        select n._fid, n._line, n._raw, {names}, c._extra
        from _bcsv as c join _bcsv_numbers as n on n._fid = c._fid and n.k = c._vc_k
        where c._fid not in (select _fid from _bcsv_alone)
        """
    )
    # As the per-file path does: a misquoted record the reader took is rejected.
    con.execute(
        f"""
        create temp table _bcsv_misquoted as
        select _fid, _line from _bstage
        where _fid in (select _fid from _bfiles where kind = 'csv')
          and _fid not in (select _fid from _bcsv_alone) and {misquoted_record("_raw")}
        """
    )
    con.execute(
        f"insert into _bstage_rejects select _fid, _line, _raw, {literal(MALFORMED_QUOTES)}"
        " from _bstage semi join _bcsv_misquoted using (_fid, _line)"
    )
    con.execute(
        "delete from _bstage using _bcsv_misquoted as m"
        " where _bstage._fid = m._fid and _bstage._line = m._line"
    )
    con.execute("drop table _bcsv_misquoted")
    con.execute(
        """
        insert into _bstage_rejects
        select f._fid, r.line, coalesce(l."text", any_value(r.csv_line)),
            'malformed CSV record: ' || min(r.error_message)
        from _bcsv_rej as r
        join _bcsv_scan as s using (scan_id, file_id)
        join _bfiles as f on f._path = s.file_path
        left join _blines as l on l._fid = f._fid and l.line_number = r.line
        where f._fid not in (select _fid from _bcsv_alone)
          and not exists (select 1 from _bstage_rejects as x
                          where x._fid = f._fid and x._line = r.line)
        group by f._fid, r.line, l."text"
        having coalesce(trim(any_value(r.csv_line)), '') <> ''
        """
    )
    con.execute("drop table _bcsv; drop table _bcsv_numbers")
    return [str(r[0]) for r in con.execute("select _fid from _bcsv_alone").fetchall()]


def stage_jsonl(con: duckdb.DuckDBPyConnection, columns: tuple[Column, ...]) -> None:
    """Stage the batch's JSON Lines files (one Call resource per line) from ``_blines``.

    Each line is parsed as few times as possible (JSON parsing is most of
    the cost): once to say whether it is a JSON object (``IS_JSON_OBJECT``,
    kept in ``_bjsonl``), then once per pass of ``json_records``. The record
    is the line's text as it is, not cast to JSON, which would parse it again.
    """
    con.execute(
        f"""
        create temp table _bjsonl as
        select _fid, line_number, "text", {IS_JSON_OBJECT} as is_object
        from _blines
        where {_of_kind("jsonl")} and coalesce(trim("text"), '') <> ''
        """
    )
    con.execute(
        f"""
        insert into _bstage_rejects
        select _fid, line_number, "text", {JSONL_REJECT_REASON}
        from _bjsonl where not is_object
        """
    )
    records = """
        select _fid, line_number as _line, "text" as _raw, "text" as rec
        from _bjsonl where is_object
    """
    con.execute(f"insert into _bstage {json_records(columns, records, '_fid, _line, _raw')}")
    con.execute("drop table _bjsonl")


def stage_json_pages(
    con: duckdb.DuckDBPyConnection, files: Sequence[StagedFile], columns: tuple[Column, ...]
) -> list[str]:
    """Stage Twilio list pages; return the ids of pages to load alone.

    ``read_blob`` plus a ``try`` decode reads every page in one statement
    without one bad page failing the others (``read_text`` would). A page
    that is not valid UTF-8, not valid JSON or has no ``calls`` array is
    handed back: the per-file path records it with its exact reason.
    """
    con.execute(
        f"""
        create temp table _bpage as
        select _fid, content, coalesce(
            case when json_valid(content) then json_type(content, '$.calls') = 'ARRAY' end,
            false) as ok
        from (
            select f._fid, {without_bom("try(decode(b.content))")} as content
            from read_blob({_path_list(files)}) as b join _bfiles as f on f._path = b.filename
        )
        """
    )
    rejected = [str(r[0]) for r in con.execute("select _fid from _bpage where not ok").fetchall()]
    # One parse of each page: the array's elements, numbered by position.
    con.execute(
        """
        create temp table _bpage_items as
        select _fid, unnest(items) as rec, unnest(range(1, len(items) + 1)) as _line
        from (select _fid, json_extract(content, '$.calls[*]') as items from _bpage where ok)
        """
    )
    con.execute("drop table _bpage")
    con.execute(
        """
        insert into _bstage_rejects
        select _fid, _line, rec::varchar, 'invalid call: not a JSON object'
        from _bpage_items where json_type(rec) <> 'OBJECT'
        """
    )
    records = "select _fid, _line, rec::varchar as _raw, rec from _bpage_items"
    records += " where json_type(rec) = 'OBJECT'"
    con.execute(f"insert into _bstage {json_records(columns, records, '_fid, _line, _raw')}")
    con.execute("drop table _bpage_items")
    return rejected


def stage_registry(con: duckdb.DuckDBPyConnection, registry: str, list_kind: str) -> None:
    """Stage the batch's registry files of one list kind from ``_blines`` (see ``staging``).

    A full list's line is the number alone, and nearly always in its bare
    form: that form is read with one regex (``registry_plain_number_sql``),
    the general parse only runs on the other lines. Both give the same E.164.
    """
    of_kind = f"_fid in (select _fid from _bfiles where list_kind = {literal(list_kind)})"
    if list_kind == "full":
        general = registry_e164_sql(registry_number(registry, list_kind), registry)
        number = f"""coalesce({registry_plain_number_sql('"text"', registry)},
            case when not {has_nul('"text"')} then {e164_number_sql(general)} end)"""
        con.execute(
            f"""
            insert into _bstage
            select _fid, line_number, "text", 'L', null, {number}
            from _blines
            where {of_kind} and coalesce(trim("text"), '') <> ''
            """
        )
        return
    con.execute(
        f"""
        insert into _bstage
        with parsed as (
            select _fid, line_number as _line, "text" as _raw,
                {registry_line_fields(registry, list_kind)}
            from _blines
            where {of_kind} and coalesce(trim("text"), '') <> ''
        )
        select _fid, _line, _raw, action, extra,
            {e164_number_sql(registry_e164(registry_e164_sql("number", registry)))} as e164_number
        from parsed
        """
    )


def finish_registry(con: duckdb.DuckDBPyConnection) -> None:
    """Move registry lines that match no contract format to ``_bstage_rejects``."""
    con.execute(
        f"""
        insert into _bstage_rejects
        select _fid, _line, _raw, {REGISTRY_REJECT_REASON}
        from _bstage where e164_number is null
        """
    )
    con.execute("delete from _bstage where e164_number is null")


def drop_files(con: duckdb.DuckDBPyConnection, fids: Sequence[str]) -> None:
    """Remove files from the batch tables (they are loaded on their own instead)."""
    if not fids:
        return
    listed = "(" + ", ".join(literal(f) for f in fids) + ")"
    for table in ("_bfiles", "_bstage", "_bstage_rejects"):
        con.execute(f"delete from {table} where _fid in {listed}")
