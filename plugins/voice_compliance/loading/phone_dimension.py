"""``ref.phone_numbers``: every distinct phone value of the raw layer, normalized.

Each distinct (raw text, default region) pair is normalized once, on the
vectorized path, and kept: later loads only normalize values not seen before.
A watermark per raw table and region (``ref.phone_number_scans``: the newest
``_loaded_at`` already scanned) makes a daily load read only the rows loaded
since, not the whole raw table; a load that died before its scan leaves the
watermark behind, so the next one scans those rows too. dbt staging joins raw
phone columns to this table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from voice_compliance.loading.sources import Source
from voice_compliance.phones import vectorized

_DDL = """
create table if not exists ref.phone_numbers (
    raw varchar not null, region varchar not null, e164 varchar, is_valid boolean,
    country_code integer, region_code varchar, number_type varchar, time_zones varchar[],
    primary key (raw, region)
)
"""

_SCANS_DDL = """
create table if not exists ref.phone_number_scans (
    raw_table varchar not null, region varchar not null, scanned_through timestamptz not null,
    primary key (raw_table, region)
)
"""


def update(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    default_region: str,
    cache_dir: Path | None = None,
) -> int:
    """Normalize the phone values of ``source`` not yet in the dimension.

    Returns how many new distinct values were added. ``cache_dir``: the
    machine's cache of the phone metadata tables (``phones.cache``).
    """
    if not source.phone_columns:
        return 0
    con.execute(_DDL)
    con.execute(_SCANS_DDL)
    region = default_region.replace("'", "")
    newest = con.execute(f"select max(_loaded_at) from raw.{source.table}").fetchone()
    if not newest or newest[0] is None:
        return 0
    mark = con.execute(
        "select scanned_through from ref.phone_number_scans where raw_table = ? and region = ?",
        [source.table, region],
    ).fetchone()
    # Literals, not parameters: the query text is handed to the normalizer.
    window = f" and _loaded_at <= cast('{newest[0].isoformat()}' as timestamptz)"
    if mark:
        window += f" and _loaded_at > cast('{mark[0].isoformat()}' as timestamptz)"
    candidates = " union ".join(
        f'select "{column}" as raw from raw.{source.table} where "{column}" is not null{window}'
        for column in source.phone_columns
    )
    new_values = f"""
        select c.raw, '{region}' as region from ({candidates}) as c
        anti join ref.phone_numbers as p on p.raw = c.raw and p.region = '{region}'
    """
    pending = con.execute(f"select count(*) from ({new_values})").fetchone()
    added = 0
    if pending and pending[0]:
        added = _normalize_new(con, new_values, default_region, cache_dir)
    con.execute(
        "insert or replace into ref.phone_number_scans values (?, ?, ?)",
        [source.table, region, newest[0]],
    )
    return added


def _normalize_new(
    con: duckdb.DuckDBPyConnection, new_values: str, default_region: str, cache_dir: Path | None
) -> int:
    # Installs the phone metadata tables on first use (and after upgrades).
    vectorized.normalize_relation(
        con, new_values, "_phone_new", default_region, cache_dir=cache_dir
    )
    row = con.execute(
        """
        insert into ref.phone_numbers
        select raw, coalesce(region, ?), e164, is_valid, country_code, region_code,
               number_type, time_zones
        from _phone_new
        """,
        [default_region],
    ).fetchone()
    con.execute("drop table if exists _phone_new")
    return int(row[0]) if row else 0
