"""The DuckDB warehouse: connections and the tables every job shares.

DuckDB allows one writing process per file (stack.md), so callers open a
connection for one unit of work and close it at once; Airflow serializes the
writers with the ``duckdb_writer`` pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from voice_compliance.config import Settings

SCHEMAS = ("raw", "compliance", "registry", "ref")

_SHARED_DDL = (
    """
    create table if not exists compliance.load_manifest (
        file_id varchar primary key,
        source varchar not null,
        source_uri varchar not null,
        landing_key varchar not null,
        partition_info json,
        size_bytes bigint not null,
        checksum varchar,
        fingerprint varchar not null,
        status varchar not null,
        error varchar,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        load_count integer not null,
        loaded_at timestamptz not null
    )
    """,
    """
    create table if not exists compliance.quarantine (
        file_id varchar not null,
        source varchar not null,
        source_uri varchar not null,
        line_number bigint,
        raw_text varchar,
        reason varchar not null,
        quarantined_at timestamptz not null
    )
    """,
)


def open_warehouse(
    settings: Settings, *, read_only: bool = False
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """``connect`` to the settings' warehouse with their DuckDB resource bounds."""
    return connect(settings.warehouse, read_only=read_only, config=settings.duckdb_config())


@contextmanager
def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    config: Mapping[str, str] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating its folder), in UTC, and close it on exit.

    ``config`` carries DuckDB settings such as ``memory_limit``, ``threads``
    and ``temp_directory`` (``Settings.duckdb_config``). Writers also get the
    shared schemas and the manifest and quarantine tables, so every job can
    assume they exist.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
    try:
        # Every timestamp in the warehouse is UTC (policy-rules.md conventions).
        con.execute("set TimeZone = 'UTC'")
        # Task logs are files: no terminal progress bars in them.
        con.execute("set enable_progress_bar = false")
        if not read_only:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            for ddl in _SHARED_DDL:
                con.execute(ddl)
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """True when ``schema.table`` exists in the open warehouse."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])
