"""Where registry lines are stored: one narrow table, and the raw view on it.

A registry file holds tens or hundreds of millions of lines, and everything
the raw layer records about a line besides its own fields is the same for
the whole file: the registry, the list kind and effective date (from the
landing path), the source URI and the load time. Written on every row, those
constants were most of the registry load's insert (decision 0028). So:

- ``raw.registry_lines`` stores what differs per line: ``e164, action,
  extra, _file_id, _source_line``;
- ``raw.registry_entries`` is a view with the raw layer's usual shape
  (``registry, list_kind, effective_date, e164, action, extra, _extra,
  _file_id, _source_file, _source_line, _loaded_at``), joining each line to
  its file's row of ``compliance.load_manifest``. The loader writes both in
  one transaction, so every stored line has its manifest row; dbt's
  ``stg_registry__entries`` and anyone querying the raw layer read the view.

A warehouse created before this change has ``raw.registry_entries`` as a
table; ``ensure_registry_storage`` moves its lines into ``raw.registry_lines``
once, in one transaction, and puts the view in its place.
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
        e164 varchar not null, action varchar not null, extra varchar,
        _file_id varchar not null, _source_line bigint)
"""

_ENTRIES_VIEW_SQL = f"""
    create or replace view raw.{ENTRIES_VIEW} as
    select
        files.registry, files.list_kind, files.effective_date,
        lines.e164, lines.action, lines.extra, null::json as _extra,
        lines._file_id, files._source_file, lines._source_line, files._loaded_at
    from raw.{LINES_TABLE} as lines
    inner join (
        select
            file_id,
            replace(source, 'registry_', '') as registry,
            partition_info ->> 'list_kind' as list_kind,
            try_cast(partition_info ->> 'effective_date' as date) as effective_date,
            source_uri as _source_file,
            loaded_at as _loaded_at
        from compliance.load_manifest
        where starts_with(source, 'registry_')
    ) as files on lines._file_id = files.file_id
"""


def insert_lines_sql(select: str) -> str:
    """``insert into raw.registry_lines`` of ``select``, which yields
    ``e164, action, extra, _file_id, _source_line`` in that order."""
    return f"insert into raw.{LINES_TABLE} {select}"


def ensure_registry_storage(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lines table and the entries view, migrating an old table."""
    kind = con.execute(
        """
        select table_type from information_schema.tables
        where table_schema = 'raw' and table_name = ?
        """,
        [ENTRIES_VIEW],
    ).fetchone()
    if kind is not None and kind[0] == "VIEW":
        con.execute(_LINES_DDL)
        return
    con.begin()
    try:
        con.execute(_LINES_DDL)
        if kind is not None:
            log.info(
                "Moving raw.%s into raw.%s (one time: registry lines are now stored "
                "without their file's constants, decision 0028)",
                ENTRIES_VIEW,
                LINES_TABLE,
            )
            con.execute(
                f"""
                insert into raw.{LINES_TABLE}
                select e164, action, extra, _file_id, _source_line
                from raw.{ENTRIES_VIEW}
                """
            )
            con.execute(f"drop table raw.{ENTRIES_VIEW}")
        con.execute(_ENTRIES_VIEW_SQL)
        con.commit()
    except BaseException:
        con.rollback()
        raise
