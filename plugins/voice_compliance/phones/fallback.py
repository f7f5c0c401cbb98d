"""The slow lane: inputs outside the SQL grammar go through phonenumbers.

Only distinct ``(raw, region)`` pairs reach this module, and only those the
vectorized path declines (letters, extensions, international dialling
prefixes, odd characters...), so it runs once per distinct odd value.
"""

from __future__ import annotations

import duckdb

from voice_compliance.phones.reference import normalize
from voice_compliance.phones.tables import quote_ident

RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("raw", "VARCHAR"),
    ("r", "VARCHAR"),
    ("e164", "VARCHAR"),
    ("is_valid", "BOOLEAN"),
    ("country_code", "INTEGER"),
    ("region_code", "VARCHAR"),
    ("number_type", "VARCHAR"),
    ("time_zones", "VARCHAR[]"),
)


def materialize(con: duckdb.DuckDBPyConnection, pairs_sql: str, table: str) -> int:
    """Normalize each row of ``pairs_sql`` (columns raw, r) into temp table ``table``.

    Returns the number of pairs normalized.
    """
    pairs = con.execute(pairs_sql).fetchall()
    infos = [normalize(raw, region) for raw, region in pairs]
    columns: list[list[object]] = [
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        [i.e164 for i in infos],
        [i.is_valid for i in infos],
        [i.country_code for i in infos],
        [i.region_code for i in infos],
        [i.number_type for i in infos],
        [list(i.time_zones) for i in infos],
    ]
    selects = ", ".join(
        f"unnest(${n + 1}::{sql_type}[]) AS {quote_ident(name)}"
        for n, (name, sql_type) in enumerate(RESULT_COLUMNS)
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT {selects}", columns)
    return len(pairs)
