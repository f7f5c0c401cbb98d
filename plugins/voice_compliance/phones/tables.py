"""Write phonenumbers' metadata into DuckDB reference tables.

``install`` is idempotent (every table is created or replaced) and cheap
(well under a second), so jobs call it before each bulk normalization. The
tables are the only source the SQL generator reads, and the stamp table
records which phonenumbers version they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from voice_compliance.phones import metadata, tzlevels

TABLES: tuple[str, ...] = (
    "phone_regions",
    "phone_number_descs",
    "phone_country_codes",
    "phone_cc_prefixes",
    "phone_zone_sets",
    "phone_tz_prefixes",
    "phone_tz_levels",
    "phone_metadata_stamp",
)


def quote_ident(name: str) -> str:
    """Quote one SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``schema.table`` with both parts quoted."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def _load(
    con: duckdb.DuckDBPyConnection,
    target: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
) -> None:
    # One statement with list parameters: far faster than executemany, and
    # the explicit casts keep empty or all-NULL columns correctly typed.
    selects = ", ".join(
        f"unnest(${i + 1}::{sql_type}[]) AS {quote_ident(name)}"
        for i, (name, sql_type) in enumerate(columns)
    )
    params = [[row[i] for row in rows] for i in range(len(columns))]
    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {selects}", params)


def install(con: duckdb.DuckDBPyConnection, schema: str = "ref") -> None:
    """Create (or replace) the phone metadata tables in ``schema``.

    Tables: regions (prefixes, transform rules, leading digits), number
    descriptions (patterns and possible lengths per type), country codes
    (regions, country-level zones), the 3-digit country-code prefix map,
    time-zone sets, the raw time-zone prefix map and its join levels, and a
    stamp with the phonenumbers version.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    # Dropped first so that an interrupted install never looks complete.
    con.execute(f"DROP TABLE IF EXISTS {qualified(schema, 'phone_metadata_stamp')}")
    regions = metadata.region_records()
    _load(
        con,
        qualified(schema, "phone_regions"),
        [
            ("md_key", "VARCHAR"),
            ("region_code", "VARCHAR"),
            ("country_code", "INTEGER"),
            ("region_rank", "INTEGER"),
            ("leading_digits", "VARCHAR"),
            ("international_prefix", "VARCHAR"),
            ("national_prefix_for_parsing", "VARCHAR"),
            ("national_prefix_transform_rule", "VARCHAR"),
            ("npfp_groups", "INTEGER"),
            ("npfp_last_group_nonempty", "BOOLEAN"),
            ("same_mobile_and_fixed_line_pattern", "BOOLEAN"),
        ],
        [
            (
                r.md_key,
                r.region_code,
                r.country_code,
                r.region_rank,
                r.leading_digits,
                r.international_prefix,
                r.national_prefix_for_parsing,
                r.national_prefix_transform_rule,
                r.npfp_groups,
                r.npfp_last_group_nonempty,
                r.same_mobile_and_fixed_line_pattern,
            )
            for r in regions
        ],
    )
    _load(
        con,
        qualified(schema, "phone_number_descs"),
        [
            ("md_key", "VARCHAR"),
            ("desc_type", "VARCHAR"),
            ("pattern", "VARCHAR"),
            ("possible_lengths", "INTEGER[]"),
            ("local_only_lengths", "INTEGER[]"),
        ],
        [
            (d.md_key, d.desc_type, d.pattern, list(d.possible_lengths), list(d.local_only_lengths))
            for d in metadata.desc_records()
        ],
    )

    # Zone sets are numbered once so the wide lists travel through the joins
    # as small integers; set 0 is phonenumbers' "unknown" answer.
    zone_sets: dict[tuple[str, ...], int] = {(metadata.UNKNOWN_TIME_ZONE,): 0}
    prefixes = [
        (p, zone_sets.setdefault(z, len(zone_sets))) for p, z in metadata.time_zone_prefixes()
    ]
    ccs = metadata.country_code_records()
    _load(
        con,
        qualified(schema, "phone_country_codes"),
        [
            ("country_code", "INTEGER"),
            ("main_md_key", "VARCHAR"),
            ("region_codes", "VARCHAR[]"),
            ("geo_mobile", "BOOLEAN"),
            ("country_zone_set_id", "INTEGER"),
        ],
        [
            (
                c.country_code,
                c.main_md_key,
                list(c.region_codes),
                c.geo_mobile,
                zone_sets.setdefault(c.country_time_zones, len(zone_sets)),
            )
            for c in ccs
        ],
    )
    _load(
        con,
        qualified(schema, "phone_zone_sets"),
        [("zone_set_id", "INTEGER"), ("time_zones", "VARCHAR[]")],
        [(i, list(z)) for z, i in zone_sets.items()],
    )
    _load(
        con,
        qualified(schema, "phone_tz_prefixes"),
        [("prefix", "VARCHAR"), ("zone_set_id", "INTEGER")],
        prefixes,
    )
    level_rows = [
        (depth, tzlevels.level_key(digits), entry.zone_set_id, entry.deep)
        for depth, entries in zip(tzlevels.LEVELS, tzlevels.build_levels(prefixes), strict=True)
        for digits, entry in entries.items()
    ]
    _load(
        con,
        qualified(schema, "phone_tz_levels"),
        [
            ("depth", "INTEGER"),
            ("level_key", "BIGINT"),
            ("zone_set_id", "INTEGER"),
            ("deep", "BOOLEAN"),
        ],
        level_rows,
    )
    cc_prefix_rows = []
    for value in range(1000):
        digits = f"{value:03d}"
        cc = metadata.country_code_for_digits(digits)
        if cc:
            cc_prefix_rows.append((digits, cc, len(str(cc))))
    _load(
        con,
        qualified(schema, "phone_cc_prefixes"),
        [("digits", "VARCHAR"), ("country_code", "INTEGER"), ("cc_len", "INTEGER")],
        cc_prefix_rows,
    )
    # Written last: a stamp only exists when every other table is complete.
    con.execute(
        f"CREATE OR REPLACE TABLE {qualified(schema, 'phone_metadata_stamp')} AS "
        "SELECT ?::VARCHAR AS phonenumbers_version, now() AS installed_at",
        [metadata.library_version()],
    )


def installed_version(con: duckdb.DuckDBPyConnection, schema: str = "ref") -> str | None:
    """The phonenumbers version the tables in ``schema`` were built from, if any."""
    try:
        row = con.execute(
            f"SELECT phonenumbers_version FROM {qualified(schema, 'phone_metadata_stamp')}"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else str(row[0])


def ensure_installed(con: duckdb.DuckDBPyConnection, schema: str = "ref") -> None:
    """Install the tables unless they exist and match the running phonenumbers."""
    if installed_version(con, schema) != metadata.library_version():
        install(con, schema)
