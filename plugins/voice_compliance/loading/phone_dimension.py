"""``ref.phone_numbers``: every distinct phone value of the raw layer, normalized.

Each distinct (raw text, default region) pair is normalized once, on the
vectorized path, and kept: later loads only normalize values not seen before.
dbt staging joins raw phone columns to this table.
"""

from __future__ import annotations

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


def update(con: duckdb.DuckDBPyConnection, source: Source, default_region: str) -> int:
    """Normalize the phone values of ``source`` not yet in the dimension.

    Returns how many new distinct values were added.
    """
    if not source.phone_columns:
        return 0
    con.execute(_DDL)
    candidates = " union ".join(
        f'select "{column}" as raw from raw.{source.table} where "{column}" is not null'
        for column in source.phone_columns
    )
    region = default_region.replace("'", "")
    new_values = f"""
        select c.raw, '{region}' as region from ({candidates}) as c
        anti join ref.phone_numbers as p on p.raw = c.raw and p.region = '{region}'
    """
    pending = con.execute(f"select count(*) from ({new_values})").fetchone()
    if not pending or not pending[0]:
        return 0
    # Installs the phone metadata tables on first use (and after upgrades).
    vectorized.normalize_relation(con, new_values, "_phone_new", default_region)
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
