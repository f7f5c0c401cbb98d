"""Bulk phone normalization in DuckDB SQL, agreeing exactly with phonenumbers.

Design. Each distinct ``(raw, region)`` pair is classified by shape:

* ``+`` then digits, or digits only, or digits with ``( ) - . space`` and at
  most one leading ``+``: the *fast grammar*. For it, phonenumbers' parse
  reduces to digit arithmetic plus the metadata's regular expressions
  (country-code extraction, national-prefix stripping and transform rules,
  possible-length tests, number-type patterns, region choice among regions
  sharing a code, leading digits, the time-zone prefix map), all replayed
  in one SQL statement generated from the tables ``install`` writes.
* anything else (letters, extensions, several ``+``, other characters,
  national input starting with the region's international dialling prefix,
  ``+`` followed by an unknown country code): the *fallback*, which calls
  ``reference.normalize`` once per distinct pair.

The SQL is generated only for the regions and country codes present in the
input, which keeps it small and its CASE chains short.
"""

from __future__ import annotations

import uuid

import duckdb

from voice_compliance.phones import fallback, sqlgen
from voice_compliance.phones.catalog import Catalog, Entity, load_catalog
from voice_compliance.phones.metadata import NON_GEO_REGION
from voice_compliance.phones.registry import registry_e164_sql
from voice_compliance.phones.tables import ensure_installed, install, qualified, quote_ident
from voice_compliance.phones.tzlevels import KEY_LENGTH_FACTOR, LEVELS

__all__ = ["install", "normalize_relation", "registry_e164_sql"]

# Shapes, stored as a TINYINT per distinct pair.
EMPTY, PLUS_DIGITS, DIGITS, PUNCT_NATIONAL, PUNCT_PLUS, OTHER = 0, 1, 2, 3, 4, 9
_PUNCT = r"[ ().\-]"
# At least 3 digits keeps every fast input "viable" in phonenumbers' sense;
# at most 24 bounds the input (a national number is at most 17 digits, and
# prefixes never add up to 7 more). Longer or shorter inputs fall back.
_PLUS_OR_DIGITS = r"\+?[0-9]{3,24}"
_PUNCTUATED = rf"{_PUNCT}*(?:\+{_PUNCT}*)?[0-9](?:{_PUNCT}*[0-9]){{2,23}}{_PUNCT}*"
_MAX_INPUT = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH
_MAX_NSN = 17  # phonenumbers' _MAX_LENGTH_FOR_NSN
_DIGITS_SQL = (
    f"(CASE shape WHEN {PLUS_DIGITS} THEN substr(raw, 2) WHEN {DIGITS} THEN raw ELSE dp END)"
)
_PLUS_SQL = f"(shape IN ({PLUS_DIGITS}, {PUNCT_PLUS}))"
_FAST_SQL = f"(shape BETWEEN {PLUS_DIGITS} AND {PUNCT_PLUS})"


def _stage_inputs(
    con: duckdb.DuckDBPyConnection, source_sql: str, default_region: str | None, table: str
) -> None:
    # Distinct pairs first: every later step is per distinct value.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
        SELECT raw, region, r, shape,
               CASE WHEN shape IN ({PUNCT_NATIONAL}, {PUNCT_PLUS})
                    THEN regexp_replace(raw, '[^0-9]', '', 'g') END AS dp
        FROM (
            SELECT raw, region, coalesce(region, {sqlgen.lit(default_region)}) AS r,
                   CAST(CASE
                       WHEN raw IS NULL OR raw = '' THEN {EMPTY}
                       WHEN regexp_full_match(raw, {sqlgen.lit(_PLUS_OR_DIGITS)})
                           THEN (CASE WHEN starts_with(raw, '+') THEN {PLUS_DIGITS} ELSE {DIGITS} END)
                       WHEN length(raw) <= {_MAX_INPUT}
                            AND regexp_full_match(raw, {sqlgen.lit(_PUNCTUATED)})
                           THEN (CASE WHEN contains(raw, '+') THEN {PUNCT_PLUS} ELSE {PUNCT_NATIONAL} END)
                       ELSE {OTHER} END AS TINYINT) AS shape
            FROM (
                SELECT DISTINCT CAST(raw AS VARCHAR) AS raw, CAST(region AS VARCHAR) AS region
                FROM ({source_sql}) AS src
            ) AS pairs
        ) AS classified
        """
    )


class _Plan:
    """Which entities and codes the input needs, and how to route it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalog: Catalog, table: str) -> None:
        self.catalog = catalog
        rows = con.execute(
            f"""
            SELECT DISTINCT {_PLUS_SQL} AS plus, CASE WHEN {_PLUS_SQL} THEN left({_DIGITS_SQL}, 3)
                   ELSE r END AS k
            FROM {quote_ident(table)} WHERE {_FAST_SQL}
            """
        ).fetchall()
        plus_prefixes = {k for plus, k in rows if plus}
        self.unknown_prefixes = sorted(p for p in plus_prefixes if p not in catalog.cc_prefixes)
        ents = catalog.entities
        self.regions = sorted(
            k
            for plus, k in rows
            if not plus and k in ents and ents[k].region_code != NON_GEO_REGION
        )
        codes = {catalog.cc_prefixes[p] for p in plus_prefixes if p in catalog.cc_prefixes}
        codes |= {ents[r].country_code for r in self.regions}
        self.codes = sorted(codes)
        strip_keys = {catalog.country_codes[c].main for c in self.codes} | set(self.regions)
        self.unsupported = sorted(k for k in strip_keys if not ents[k].sql_supported)
        self.strip_keys = sorted(set(strip_keys) - set(self.unsupported))

    def entity(self, key: str) -> Entity:
        """The entity behind a metadata key."""
        return self.catalog.entities[key]

    def fallback_condition(self) -> str:
        """Rows of the staged table that the SQL path declines."""
        parts = [f"shape = {OTHER}"]
        if self.unknown_prefixes:
            unknown = ", ".join(sqlgen.lit(p) for p in self.unknown_prefixes)
            parts.append(f"({_PLUS_SQL} AND left({_DIGITS_SQL}, 3) IN ({unknown}))")
        declined: dict[str, str] = {}
        unsupported = set(self.unsupported)
        for r in self.regions:
            ent = self.entity(r)
            main = self.catalog.country_codes[ent.country_code].main
            if r in unsupported or main in unsupported:
                declined[sqlgen.lit(r)] = "TRUE"
            elif ent.international_prefix is not None:
                # International dialling prefix: the library may read a country
                # code after it (or not, before a 0); leave that to the library.
                declined[sqlgen.lit(r)] = sqlgen.idd_match(ent, _DIGITS_SQL)
        if declined:
            parts.append(f"(NOT {_PLUS_SQL} AND {sqlgen.case_of('r', declined, 'FALSE')})")
        if unsupported:
            # A '+' number whose country's main metadata cannot be replayed.
            mains = [c for c in self.codes if self.catalog.country_codes[c].main in unsupported]
            prefixes = [p for p, c in self.catalog.cc_prefixes.items() if c in mains]
            if prefixes:
                listed = ", ".join(sqlgen.lit(p) for p in sorted(prefixes))
                parts.append(f"({_PLUS_SQL} AND left({_DIGITS_SQL}, 3) IN ({listed}))")
        return "(" + " OR ".join(parts) + ")"

    def national_cc_check(self) -> str:
        """For national input starting with the region's own country code:
        ``_maybe_extract_country_code`` keeps it stripped when that makes the
        number viable, or when the whole input is too long."""
        branches = {}
        for r in self.regions:
            ent = self.entity(r)
            size = len(str(ent.country_code)) + 1
            p2 = sqlgen.strip_national_prefix(ent, f"substr(d, {size})")
            branches[sqlgen.lit(r)] = (
                f"((NOT {sqlgen.pattern_match(ent, 'd')} AND {sqlgen.pattern_match(ent, p2)})"
                f" OR {sqlgen.too_long(ent, 'length(d)')})"
            )
        return sqlgen.case_of("r", branches, "FALSE")

    def national_cc_stripped(self) -> str:
        """The national number ``_maybe_extract_country_code`` returns in that case."""
        branches = {}
        for r in self.regions:
            ent = self.entity(r)
            size = len(str(ent.country_code)) + 1
            branches[sqlgen.lit(r)] = sqlgen.strip_national_prefix(ent, f"substr(d, {size})")
        return sqlgen.case_of("r", branches)

    def strip(self, column: str) -> str:
        """parse()'s own national-prefix stripping with the chosen metadata ``md``."""
        return sqlgen.case_of(
            "md",
            {sqlgen.lit(k): sqlgen.strip_national_prefix(self.entity(k), column) for k in self.strip_keys},
        )

    def keeps_stripped(self, length: str) -> str:
        """Whether parse() keeps the stripped number (its possible-length test)."""
        return sqlgen.case_of(
            "md",
            {sqlgen.lit(k): sqlgen.keeps_stripped(self.entity(k), length) for k in self.strip_keys},
            "FALSE",
        )

    def main_type(self) -> str:
        """Number type of ``nn`` in the main metadata of its country code."""
        return sqlgen.case_of(
            "cc",
            {
                str(c): sqlgen.number_type(self.entity(self.catalog.country_codes[c].main), "nn", "nlen")
                for c in self.codes
            },
            str(sqlgen.UNKNOWN),
        )

    def region_key(self) -> str:
        """``region_code_for_number`` as a metadata key (NULL when no region fits)."""
        branches = {}
        for c in self.codes:
            keys = self.catalog.country_codes[c].md_keys
            if len(keys) == 1:
                continue
            whens = []
            for rank, key in enumerate(keys):
                ent = self.entity(key)
                if ent.leading_digits is not None:
                    cond = sqlgen.leading_digits_match(ent, "nn")
                elif rank == 0:
                    cond = f"t0 <> {sqlgen.UNKNOWN}"
                else:
                    cond = f"{sqlgen.number_type(ent, 'nn', 'nlen')} <> {sqlgen.UNKNOWN}"
                whens.append(f"WHEN {cond} THEN {sqlgen.lit(key)}")
            branches[str(c)] = f"(CASE {' '.join(whens)} ELSE NULL END)"
        return sqlgen.case_of("cc", branches, "main_md")

    def secondary_type(self) -> str:
        """Number type of ``nn`` in a region that is not its code's main one."""
        branches = {}
        for c in self.codes:
            for key in self.catalog.country_codes[c].md_keys[1:]:
                branches[sqlgen.lit(key)] = sqlgen.number_type(self.entity(key), "nn", "nlen")
        return sqlgen.case_of("rmd", branches, str(sqlgen.UNKNOWN))


def _type_name_sql(column: str) -> str:
    names = {str(code): sqlgen.lit(name) for name, code in sqlgen.TYPE_CODES.items()}
    return sqlgen.case_of(column, names)


def _tz_level_sql(schema: str, alias: str, depth: int, guard: str) -> str:
    key = (
        f"CASE WHEN {guard} THEN length(left(ed, {depth})) * {KEY_LENGTH_FACTOR}::BIGINT"
        f" + CAST(left(ed, {depth}) AS BIGINT) END"
    )
    return (
        f"LEFT JOIN {qualified(schema, 'phone_tz_levels')} AS {alias} "
        f"ON {alias}.depth = {depth} AND {alias}.level_key = {key}"
    )


def _fast_sql(plan: _Plan, schema: str, table: str, condition: str) -> str:
    """The SELECT that normalizes every fast-grammar row of the staged table."""
    cc_prefixes = qualified(schema, "phone_cc_prefixes")
    regions = qualified(schema, "phone_regions")
    codes = qualified(schema, "phone_country_codes")
    geo = (
        f"(ty IN ({sqlgen.TYPE_CODES['FIXED_LINE']}, {sqlgen.TYPE_CODES['FIXED_LINE_OR_MOBILE']})"
        f" OR (ty = {sqlgen.TYPE_CODES['MOBILE']} AND geo_mobile))"
    )
    l1, l2, l3 = LEVELS
    return f"""
    WITH a AS (
        SELECT raw, region, r, {_DIGITS_SQL} AS d, {_PLUS_SQL} AS plus
        FROM {quote_ident(table)} WHERE {_FAST_SQL} AND NOT {condition}
    ),
    b AS (
        -- Country code: read after '+', else the default region's own.
        SELECT a.raw, a.region, a.r, a.d, a.plus, c.cc_len,
               CASE WHEN a.plus THEN c.country_code ELSE rg.country_code END AS cc
        FROM a
        LEFT JOIN {cc_prefixes} AS c ON c.digits = CASE WHEN a.plus THEN left(a.d, 3) END
        LEFT JOIN {regions} AS rg
            ON rg.md_key = CASE WHEN NOT a.plus THEN a.r END AND rg.region_code <> '{NON_GEO_REGION}'
    ),
    c AS (
        SELECT b.*, m.main_md_key AS main_md, m.geo_mobile, m.country_zone_set_id,
               NOT plus AND starts_with(d, cc::VARCHAR) AS has_cc
        FROM b LEFT JOIN {codes} AS m ON m.country_code = b.cc
    ),
    n AS (
        SELECT c.*, CASE WHEN has_cc THEN {plan.national_cc_check()} ELSE FALSE END AS use_cc
        FROM c
    ),
    u AS (
        -- The national number before parse()'s own prefix stripping, and the
        -- metadata that stripping uses (the country's main one once a code
        -- was read, else the default region's).
        SELECT raw, region, cc, main_md, geo_mobile, country_zone_set_id,
               CASE WHEN plus THEN substr(d, cc_len + 1)
                    WHEN use_cc THEN {plan.national_cc_stripped()}
                    ELSE d END AS nn0,
               CASE WHEN plus OR use_cc THEN main_md ELSE r END AS md
        FROM n
    ),
    s AS (
        SELECT u.*, CASE WHEN cc IS NOT NULL AND length(nn0) >= 2 THEN {plan.strip("nn0")} END AS ps
        FROM u
    ),
    v AS (
        SELECT raw, region, cc, main_md, geo_mobile, country_zone_set_id, nn, length(nn) AS nlen,
               ps IS NOT NULL AND length(nn) <= {_MAX_NSN} AS ok
        FROM (
            SELECT s.*, CASE WHEN {plan.keeps_stripped("length(ps)")} THEN ps ELSE nn0 END AS nn
            FROM s
        ) AS kept
    ),
    t0 AS (
        SELECT v.*, CASE WHEN ok THEN {plan.main_type()} END AS t0 FROM v
    ),
    t1 AS (
        SELECT t0.*, CASE WHEN ok THEN {plan.region_key()} END AS rmd FROM t0
    ),
    t2 AS (
        SELECT t1.*,
               CASE WHEN NOT ok THEN NULL
                    WHEN rmd IS NULL THEN {sqlgen.UNKNOWN}
                    WHEN rmd = main_md THEN t0
                    ELSE {plan.secondary_type()} END AS ty,
               CASE WHEN ok THEN cc::VARCHAR || nn END AS ed
        FROM t1
    ),
    z AS (
        SELECT t2.*, {geo} AS geo FROM t2
    )
    SELECT z.raw, z.region,
           CASE WHEN ok THEN '+' || ed END AS e164,
           coalesce(ok AND ty <> {sqlgen.UNKNOWN}, FALSE) AS is_valid,
           CASE WHEN ok THEN cc END AS country_code,
           CASE WHEN starts_with(rmd, '{NON_GEO_REGION}/') THEN '{NON_GEO_REGION}' ELSE rmd END
               AS region_code,
           {_type_name_sql("ty")} AS number_type,
           CASE WHEN NOT ok THEN []::VARCHAR[] ELSE zs.time_zones END AS time_zones
    FROM z
    {_tz_level_sql(schema, "l1", l1, "geo")}
    {_tz_level_sql(schema, "l2", l2, f"geo AND l1.deep AND length(ed) > {l1}")}
    {_tz_level_sql(schema, "l3", l3, f"geo AND l2.deep AND length(ed) > {l2}")}
    LEFT JOIN {qualified(schema, "phone_zone_sets")} AS zs
        ON zs.zone_set_id = CASE WHEN NOT ok THEN NULL
                                 WHEN ty = {sqlgen.UNKNOWN} THEN 0
                                 WHEN NOT geo THEN country_zone_set_id
                                 ELSE coalesce(l3.zone_set_id, l2.zone_set_id, l1.zone_set_id, 0)
                            END
    """


def normalize_relation(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    target_table: str,
    default_region: str,
    schema: str = "ref",
) -> None:
    """Normalize every distinct ``(raw, region)`` of ``source_sql`` into ``target_table``.

    ``source_sql`` is a SELECT with columns ``raw`` and ``region`` (NULL
    region means ``default_region``). ``target_table`` (optionally
    schema-qualified, used verbatim) is created or replaced with one row per
    distinct pair: raw, region, e164, is_valid, country_code, region_code,
    number_type, time_zones -- each what ``reference.normalize(raw,
    coalesce(region, default_region))`` returns (time_zones as a list, empty
    when unparseable). Installs the metadata tables in ``schema`` if they
    are missing or were built by another phonenumbers version.
    """
    ensure_installed(con, schema)
    catalog = load_catalog(con, schema)
    tag = uuid.uuid4().hex[:12]
    staged, slow = f"_vc_phones_in_{tag}", f"_vc_phones_fb_{tag}"
    try:
        _stage_inputs(con, source_sql, default_region, staged)
        plan = _Plan(con, catalog, staged)
        condition = f"coalesce({plan.fallback_condition()}, FALSE)"
        fallback.materialize(
            con,
            f"SELECT DISTINCT raw, r FROM {quote_ident(staged)} "
            f"WHERE shape <> {EMPTY} AND {condition}",
            slow,
        )
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {target_table} AS
            {_fast_sql(plan, schema, staged, condition)}
            UNION ALL
            SELECT raw, region, NULL::VARCHAR, FALSE, NULL::INTEGER, NULL::VARCHAR,
                   NULL::VARCHAR, []::VARCHAR[]
            FROM {quote_ident(staged)} WHERE shape = {EMPTY}
            UNION ALL
            SELECT s.raw, s.region, f.e164, f.is_valid, f.country_code, f.region_code,
                   f.number_type, f.time_zones
            FROM (
                SELECT raw, region, r FROM {quote_ident(staged)}
                WHERE shape <> {EMPTY} AND {condition}
            ) AS s
            JOIN {quote_ident(slow)} AS f ON f.raw = s.raw AND f.r IS NOT DISTINCT FROM s.r
            """
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(slow)}")
