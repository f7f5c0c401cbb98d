"""Write phonenumbers' metadata, and lookups derived from it, into DuckDB.

``install`` is idempotent: when the tables exist with the current stamp
(phonenumbers version and table layout) it returns at once; otherwise it
creates or replaces every table. The first install in a process spends a
few seconds deriving the decision levels (see ``typetrie``); later ones
reuse them, and with a cache folder later processes copy the finished
tables from disk (``cache``). The SQL generator reads only these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from voice_compliance.phones import cache, derived, metadata, typetrie

TABLES: tuple[str, ...] = (
    "phone_regions",
    "phone_number_descs",
    "phone_country_codes",
    "phone_parse_keys",
    "phone_zone_sets",
    "phone_tz_prefixes",
    "phone_type_levels",
    "phone_type_answers",
    "phone_metadata_stamp",
)
# Bumped whenever the tables' layout or derivation changes, so that tables
# written by an older version of this module are rebuilt.
LAYOUT_VERSION = 7


def quote_ident(name: str) -> str:
    """Quote one SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``schema.table`` with both parts quoted."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def stamp() -> str:
    """What the stamp table records: library version and table layout."""
    return f"phonenumbers {metadata.library_version()}; layout {LAYOUT_VERSION}"


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


def _padded(values: Sequence[Any], width: int) -> list[Any]:
    return [*values, *([None] * (width - len(values)))]


def _load_metadata(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    _load(
        con,
        qualified(schema, "phone_regions"),
        [
            ("md_id", "INTEGER"),
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
                derived.md_ids()[r.md_key],
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
            for r in metadata.region_records()
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
    zones = derived.zone_sets()
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
                zones[c.country_time_zones],
            )
            for c in metadata.country_code_records()
        ],
    )
    _load(
        con,
        qualified(schema, "phone_zone_sets"),
        [("zone_set_id", "INTEGER"), ("time_zones", "VARCHAR[]")],
        [(i, list(z)) for z, i in zones.items()],
    )
    _load(
        con,
        qualified(schema, "phone_tz_prefixes"),
        [("prefix", "VARCHAR"), ("zone_set_id", "INTEGER")],
        [(p, zones[z]) for p, z in metadata.time_zone_prefixes()],
    )


def _load_derived(con: duckdb.DuckDBPyConnection, schema: str) -> int:
    keys = derived.parse_keys()
    width = max(len(k.type_depths) for k in keys)
    # One column per decision level (NULL past a code's last level): the SQL
    # needs each depth as a plain integer before it can build that level's key.
    _load(
        con,
        qualified(schema, "phone_parse_keys"),
        [
            ("key_id", "INTEGER"),
            ("parse_key", "VARCHAR"),
            ("after_plus", "BOOLEAN"),
            ("country_code", "INTEGER"),
            ("cc_len", "INTEGER"),
            ("cc_text", "VARCHAR"),
            ("md_id", "INTEGER"),
            ("main_md_id", "INTEGER"),
            ("strip_mask", "INTEGER"),
            ("main_strip_mask", "INTEGER"),
            *((f"idd_{i}", "VARCHAR") for i in range(derived.MAX_IDD_PREFIXES)),
            ("sql_ok", "BOOLEAN"),
            *((f"type_depth_{i}", "INTEGER") for i in range(width)),
        ],
        [
            (
                k.key_id,
                k.parse_key,
                k.parse_key.isdigit(),
                k.country_code,
                k.cc_len,
                str(k.country_code),
                k.md_id,
                k.main_md_id,
                k.strip_mask,
                k.main_strip_mask,
                *_padded(k.idd_prefixes, derived.MAX_IDD_PREFIXES),
                k.sql_ok,
                *_padded(k.type_depths, width),
            )
            for k in keys
        ],
    )
    _, rows, vectors = derived.type_tables()
    nodes = qualified(schema, "phone_type_nodes")
    _load(
        con,
        nodes,
        [
            ("country_code", "INTEGER"),
            ("level_index", "INTEGER"),
            ("prefix", "VARCHAR"),
            ("first_size", "INTEGER"),
            ("last_size", "INTEGER"),
            ("vector_id", "INTEGER"),
            ("deep", "BOOLEAN"),
        ],
        [
            (
                r.country_code,
                r.level_index,
                r.prefix,
                r.sizes[0],
                r.sizes[1],
                vectors[(r.country_code, r.vector)],
                r.deep,
            )
            for r in rows
        ],
    )
    # Expand each node to every digit completion of every length it covers:
    # the key is length * 10**17 + value (see typetrie.level_key).
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {qualified(schema, "phone_type_levels")} AS
        SELECT country_code, level_index,
               size * {typetrie.KEY_LENGTH_FACTOR}::BIGINT
                 + coalesce(TRY_CAST(prefix AS BIGINT), 0)
                   * CAST(10 ** (size - length(prefix)) AS BIGINT)
                 + tail AS level_key,
               vector_id, deep
        FROM (
            SELECT *, unnest(range(CAST(10 ** (size - length(prefix)) AS BIGINT))) AS tail
            FROM (SELECT *, unnest(range(first_size, last_size + 1)) AS size FROM {nodes})
        )
        """
    )
    con.execute(f"DROP TABLE {nodes}")
    # The answers carry their final output values, so the bulk SQL needs no
    # further lookups for region, type name or validity.
    regions = {(r.country_code, r.region_rank): r.region_code for r in metadata.region_records()}
    type_name = typetrie.phonenumbers.PhoneNumberType.to_string
    # Zone lists travel as one comma-joined string (no zone name has a
    # comma): DuckDB joins strings far faster than lists.
    zone_lists = {i: z for z, i in derived.zone_sets().items()}
    answers = [
        (
            vector_id,
            typetrie.MIN_NSN + i,
            regions.get((cc, rank)),
            type_name(kind),
            kind != typetrie.UNKNOWN,
            zone,
            ",".join(zone_lists[zone]),
        )
        for (cc, vector), vector_id in vectors.items()
        for i, answer in enumerate(vector)
        if answer is not None
        for rank, kind, zone in [answer]
    ]
    _load(
        con,
        qualified(schema, "phone_type_answers"),
        [
            ("vector_id", "INTEGER"),
            ("nsn_length", "INTEGER"),
            ("region_code", "VARCHAR"),
            ("number_type", "VARCHAR"),
            ("is_valid", "BOOLEAN"),
            ("zone_set_id", "INTEGER"),
            ("time_zones_csv", "VARCHAR"),
        ],
        answers,
    )
    return width


def install(
    con: duckdb.DuckDBPyConnection,
    schema: str = "ref",
    force: bool = False,
    cache_dir: Path | None = None,
) -> None:
    """Create (or replace) the phone metadata tables in ``schema``.

    Tables: regions (prefix rules, transform rules, leading digits), number
    descriptions (patterns and possible lengths per type), country codes
    (regions, country-level zones), parse keys ('+' prefixes and default
    regions to country codes), zone sets and the raw time-zone prefix map,
    the region/type/zone decision levels and their per-length answers, and
    a stamp. Idempotent: nothing is rewritten when the tables already carry
    the current stamp, unless ``force`` is set.

    With ``cache_dir``, the tables are copied from the machine's cache of
    them when it holds this derivation, and written there after deriving
    them (``cache``); ``force`` always derives them.
    """
    if not force and installed_version(con, schema) == stamp():
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    # Dropped first so that an interrupted install never looks complete.
    con.execute(f"DROP TABLE IF EXISTS {qualified(schema, 'phone_metadata_stamp')}")
    cached = cache.folder(cache_dir, stamp()) if cache_dir is not None else None
    targets = [(table, qualified(schema, table)) for table in TABLES]
    if cached is not None and not force and cache.load(con, targets, cached):
        con.execute(f"UPDATE {qualified(schema, 'phone_metadata_stamp')} SET installed_at = now()")
        return
    _load_metadata(con, schema)
    width = _load_derived(con, schema)
    con.execute(
        f"CREATE OR REPLACE TABLE {qualified(schema, 'phone_metadata_stamp')} AS "
        "SELECT ?::VARCHAR AS stamp, ?::INTEGER AS type_levels, now() AS installed_at",
        [stamp(), width],
    )
    if cached is not None:
        cache.save(con, targets, cached)


def installed_version(con: duckdb.DuckDBPyConnection, schema: str = "ref") -> str | None:
    """The stamp of the tables in ``schema`` (see ``stamp``), if installed."""
    try:
        row = con.execute(
            f"SELECT stamp FROM {qualified(schema, 'phone_metadata_stamp')}"
        ).fetchone()
    except duckdb.Error:
        return None
    return None if row is None else str(row[0])


def type_levels(con: duckdb.DuckDBPyConnection, schema: str = "ref") -> int:
    """How many decision levels the tables in ``schema`` have (at most)."""
    row = con.execute(
        f"SELECT type_levels FROM {qualified(schema, 'phone_metadata_stamp')}"
    ).fetchone()
    if row is None:  # pragma: no cover - install writes exactly one row
        raise LookupError("phone metadata stamp is empty; run install()")
    return int(row[0])


def ensure_installed(
    con: duckdb.DuckDBPyConnection, schema: str = "ref", cache_dir: Path | None = None
) -> None:
    """Install the tables unless they exist with the current stamp."""
    install(con, schema, cache_dir=cache_dir)
