"""Where registry lines are stored: one narrow table, and the raw view on it.

A registry file holds tens or hundreds of millions of lines, and everything
the raw layer records about a line besides its own fields is the same for
the whole file: the registry, the list kind and effective date (from the
landing path), the source URI and the load time. Written on every row, those
constants were most of the registry load's insert (decision 0028). So:

- ``raw.registry_lines`` stores what differs per line: ``e164_number,
  action, extra, _file_id, _source_line``. The number is the E.164 without
  its ``+``, as a BIGINT (decision 0031): an E.164 has at most 15 digits and
  never starts with 0, so ``'+' || e164_number`` gives the text back exactly,
  and the integer costs half as much to write and compare as the text;
- ``raw.registry_entries`` is a view with the raw layer's usual shape
  (``registry, list_kind, effective_date, e164, action, extra, _extra,
  _file_id, _source_file, _source_line, _loaded_at``, then ``e164_number``),
  joining each line to its file's row of ``compliance.load_manifest``. The
  loader writes both in one transaction, so every stored line has its
  manifest row; dbt's ``stg_registry__entries`` and anyone querying the raw
  layer read the view. A query that looks lines up by number filters on
  ``e164_number``, which DuckDB can push into the scan of the stored lines.

Older warehouses are moved forward on their first registry load, once, in
one transaction: ``raw.registry_entries`` as a table (before decision 0028)
becomes lines and the view; ``raw.registry_lines`` with a text ``e164``
(before decision 0031) gets its numbers. Until then dbt's
``stg_registry__entries`` reads the number from the E.164 text.
"""

from __future__ import annotations

import logging

import duckdb

log = logging.getLogger(__name__)

LINES_TABLE = "registry_lines"
"""The storage table, in the ``raw`` schema."""

ENTRIES_VIEW = "registry_entries"
"""The raw layer's view of registry lines, in the ``raw`` schema."""

_LINES_DDL = f"""
    create table if not exists raw.{LINES_TABLE} (
        e164_number bigint not null, action varchar not null, extra varchar,
        _file_id varchar not null, _source_line bigint)
"""

FILES_SQL = """
    select
        file_id,
        replace(source, 'registry_', '') as registry,
        partition_info ->> 'list_kind' as list_kind,
        try_cast(partition_info ->> 'effective_date' as date) as effective_date,
        source_uri as _source_file,
        loaded_at as _loaded_at
    from compliance.load_manifest
    where starts_with(source, 'registry_')
"""
"""What the view adds to each line: its registry file's row of the load manifest."""

_ENTRIES_VIEW_SQL = f"""
    create or replace view raw.{ENTRIES_VIEW} as
    select
        files.registry, files.list_kind, files.effective_date,
        '+' || cast(lines.e164_number as varchar) as e164, lines.action, lines.extra,
        null::json as _extra, lines._file_id, files._source_file, lines._source_line,
        files._loaded_at, lines.e164_number
    from raw.{LINES_TABLE} as lines
    inner join ({FILES_SQL}) as files on lines._file_id = files.file_id
"""


def e164_number_sql(e164: str) -> str:
    """SQL: the stored number of E.164 text ``e164`` (NULL when it is not one).

    The registry parsers only ever give ``+`` and digits, the first of them a
    country code (never 0), so the cast is exact and reversible.
    """
    return f"try_cast(substr({e164}, 2) as bigint)"


def insert_lines_sql(select: str) -> str:
    """``insert into raw.registry_lines`` of ``select``, which yields
    ``e164_number, action, extra, _file_id, _source_line`` in that order."""
    return f"insert into raw.{LINES_TABLE} {select}"


def ensure_registry_storage(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lines table and the entries view, moving an older layout forward."""
    kind = _relation_kind(con, ENTRIES_VIEW)
    text_lines = _has_column(con, LINES_TABLE, "e164")
    if kind == "VIEW" and not text_lines:
        con.execute(_LINES_DDL)
        return
    con.begin()
    try:
        if kind == "BASE TABLE":
            log.info(
                "Moving raw.%s into raw.%s (one time: registry lines are now stored "
                "without their file's constants, decision 0028)",
                ENTRIES_VIEW,
                LINES_TABLE,
            )
            con.execute(_LINES_DDL)
            con.execute(
                f"""
                insert into raw.{LINES_TABLE}
                select {e164_number_sql("e164")}, action, extra, _file_id, _source_line
                from raw.{ENTRIES_VIEW}
                """
            )
            con.execute(f"drop table raw.{ENTRIES_VIEW}")
        elif text_lines:
            log.info(
                "Storing the numbers of raw.%s as integers (one time, decision 0031)",
                LINES_TABLE,
            )
            con.execute(f"drop view if exists raw.{ENTRIES_VIEW}")
            con.execute(
                f"alter table raw.{LINES_TABLE} alter column e164 type bigint"
                f" using {e164_number_sql('e164')}"
            )
            con.execute(f"alter table raw.{LINES_TABLE} rename column e164 to e164_number")
        else:
            con.execute(_LINES_DDL)
        con.execute(_ENTRIES_VIEW_SQL)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _relation_kind(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        """
        select table_type from information_schema.tables
        where table_schema = 'raw' and table_name = ?
        """,
        [name],
    ).fetchone()
    return None if row is None else str(row[0])


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    row = con.execute(
        """
        select count(*) from information_schema.columns
        where table_schema = 'raw' and table_name = ? and column_name = ?
        """,
        [table, column],
    ).fetchone()
    return bool(row and row[0])
