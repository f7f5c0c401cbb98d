"""Stage the input pairs, route them, and plan the SQL for the fast ones.

Staging materializes the distinct ``(raw, region)`` pairs once, with their
digits, a parse key (see ``derived.ParseKey``) and a route:

* ``FAST``: the fast grammar, handled by the generated SQL (``fastsql``);
* ``FALLBACK``: anything else, or a fast-grammar input whose reading the
  SQL does not replay (a '+' before an unknown country code, national
  input starting with an international dialling prefix, a rule RE2 cannot
  express); normalized by phonenumbers once per distinct pair;
* ``NULL_RESULT``: NULL or empty input, or national input in a region
  phonenumbers does not know -- unparseable, every output empty.

The routing only uses tables, so it is computed during staging. The plan
then reads which parse keys the fast rows use (with counts), so the
regex-bearing SQL covers exactly those metadata entities, most frequent
first.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from voice_compliance.phones import sqlgen
from voice_compliance.phones.catalog import Catalog, Entity
from voice_compliance.phones.derived import MAX_IDD_PREFIXES
from voice_compliance.phones.tables import qualified, quote_ident

NULL_RESULT, FAST, FALLBACK = 0, 1, 9
PLUS_SQL = "contains(raw, '+')"
DIGITS_SQL = "coalesce(dp, CASE WHEN starts_with(raw, '+') THEN substr(raw, 2) ELSE raw END)"


def r_sql(default_region: str | None) -> str:
    """The effective region of a staged row."""
    return f"coalesce(region, {sqlgen.lit(default_region)})"


_PUNCT = r"[ ().\-]"
# At least 3 digits keeps every fast input "viable" in phonenumbers' sense;
# at most 24 bounds the input (a national number is at most 17 digits, and
# prefixes never add up to 7 more). Longer or shorter inputs fall back.
_PLUS_OR_DIGITS = r"\+?[0-9]{3,24}"
_PUNCTUATED = rf"{_PUNCT}*(?:\+{_PUNCT}*)?[0-9](?:{_PUNCT}*[0-9]){{2,23}}{_PUNCT}*"
_MAX_INPUT = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH


def _strip_punctuation(expr: str) -> str:
    for char in "+ ()-.":
        expr = f"replace({expr}, '{char}', '')"
    return expr


def stage_inputs(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    default_region: str | None,
    table: str,
    schema: str,
) -> None:
    """Create temp table ``table``: distinct raw, region, dp (digits of
    punctuated input), kid (parse key id) and route. The effective region,
    whether a '+' was read and the digits of unpunctuated input are
    recomputed where needed (see ``r_sql``, ``PLUS_SQL``, ``DIGITS_SQL``):
    cheaper than storing them."""
    keys = qualified(schema, "phone_parse_keys")
    idd = " OR ".join(f"starts_with(s.d, k.idd_{n})" for n in range(MAX_IDD_PREFIXES))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
        WITH pairs AS (
            SELECT DISTINCT CAST(raw AS VARCHAR) AS raw, CAST(region AS VARCHAR) AS region
            FROM ({source_sql}) AS src
        ),
        shaped AS (
            SELECT raw, region, coalesce(region, {sqlgen.lit(default_region)}) AS r,
                   CASE WHEN raw IS NULL OR raw = '' THEN 0
                        WHEN regexp_full_match(raw, {sqlgen.lit(_PLUS_OR_DIGITS)}) THEN 1
                        WHEN length(raw) <= {_MAX_INPUT}
                             AND regexp_full_match(raw, {sqlgen.lit(_PUNCTUATED)}) THEN 2
                        ELSE 9 END AS shape
            FROM pairs
        ),
        s AS (
            -- The grammar allows only '+ ( ) - . space' besides digits, and
            -- plain replace() beats a regex replacement here.
            SELECT raw, region, r, shape, contains(raw, '+') AS plus,
                   CASE WHEN shape = 2 THEN {_strip_punctuation("raw")}
                        WHEN shape = 1 AND starts_with(raw, '+') THEN substr(raw, 2)
                        WHEN shape = 1 THEN raw END AS d
            FROM shaped
        )
        SELECT s.raw, s.region, CASE WHEN s.shape = 2 THEN s.d END AS dp, k.key_id AS kid,
               CAST(CASE WHEN s.shape = 0 THEN {NULL_RESULT}
                         WHEN s.shape = 9 THEN {FALLBACK}
                         -- '+' then an unknown country code: the library
                         -- retries the digits as a national number.
                         WHEN s.plus AND k.key_id IS NULL THEN {FALLBACK}
                         -- No '+' and an unknown default region: unparseable.
                         WHEN k.key_id IS NULL THEN {NULL_RESULT}
                         WHEN NOT k.sql_ok THEN {FALLBACK}
                         -- National input starting with the international
                         -- dialling prefix: a country code may follow.
                         WHEN NOT s.plus AND coalesce({idd}, FALSE) THEN {FALLBACK}
                         ELSE {FAST} END AS TINYINT) AS route
        FROM s LEFT JOIN {keys} AS k
            ON k.parse_key = CASE WHEN s.shape IN (1, 2)
                                  THEN (CASE WHEN s.plus THEN left(s.d, 3) ELSE s.r END) END
            -- A region spelled in digits must not hit a '+' key.
            AND k.after_plus = s.plus
        """
    )


def _by_weight(keys: Counter[str]) -> list[str]:
    return sorted(keys, key=lambda k: (-keys[k], k))


class Plan:
    """Which metadata entities the fast rows need, most frequent first."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalog: Catalog, table: str) -> None:
        self.catalog = catalog
        counts = con.execute(
            f"SELECT kid, count(*) FROM {quote_ident(table)} WHERE route = {FAST} GROUP BY kid"
        ).fetchall()
        regions: Counter[str] = Counter()
        strip: Counter[str] = Counter()
        codes: set[int] = set()
        for kid, n in counts:
            key = catalog.parse_keys[kid]
            codes.add(key.country_code)
            strip[key.md_key] += n
            strip[key.main_md_key] += 0
            if key.is_region:
                regions[key.parse_key] += n
        self.regions = _by_weight(regions)
        self.strip_keys = _by_weight(strip)
        self.codes = sorted(codes)

    def entity(self, key: str) -> Entity:
        """The entity behind a metadata key."""
        return self.catalog.entities[key]

    def national_cc_stripped(self) -> str:
        """For national input starting with the region's own country code: the
        rest, national prefix stripped with the region's metadata (``p2``)."""
        return sqlgen.case_of(
            "r",
            {
                sqlgen.lit(r): sqlgen.strip_national_prefix(self.entity(r), "rest")
                for r in self.regions
            },
        )

    def national_cc_check(self) -> str:
        """Whether ``_maybe_extract_country_code`` keeps that code stripped:
        when it makes the number viable, or when the whole input is too long."""
        branches = {}
        for r in self.regions:
            ent = self.entity(r)
            branches[sqlgen.lit(r)] = (
                f"((NOT {sqlgen.pattern_match(ent, 'd')} AND {sqlgen.pattern_match(ent, 'p2')})"
                f" OR {sqlgen.too_long(ent, 'length(d)')})"
            )
        return sqlgen.case_of("r", branches, "FALSE")

    def strip_prefix(self, column: str) -> str:
        """parse()'s own national-prefix stripping with the chosen metadata ``md``."""
        return sqlgen.case_of(
            "md",
            {
                str(self.entity(k).md_id): sqlgen.strip_national_prefix(self.entity(k), column)
                for k in self.strip_keys
            },
        )

    def keeps_stripped(self, length: str) -> str:
        """Whether parse() keeps the stripped number (its possible-length test)."""
        return sqlgen.case_of(
            "md",
            {
                str(self.entity(k).md_id): sqlgen.keeps_stripped(self.entity(k), length)
                for k in self.strip_keys
            },
            "FALSE",
        )
