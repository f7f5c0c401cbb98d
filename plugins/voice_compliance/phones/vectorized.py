"""Bulk phone normalization in DuckDB SQL, agreeing exactly with phonenumbers.

Design. Each distinct ``(raw, region)`` pair is classified by shape:

* ``+`` then digits, or digits only, or digits with ``( ) - . space`` and at
  most one leading ``+``: the *fast grammar*. For it, phonenumbers' parse
  reduces to digit arithmetic, the metadata's prefix rules (country-code
  reading, national-prefix stripping and transform rules, possible-length
  tests) and prefix lookups derived from its patterns (region and number
  type, time zones) -- one SQL statement generated from the tables
  ``install`` writes (see ``fastsql``).
* anything else (letters, extensions, several ``+``, other characters,
  national input starting with the region's international dialling prefix,
  ``+`` followed by an unknown country code, fewer than 3 digits): the
  *fallback*, which calls ``reference.normalize`` once per distinct pair.

The regex-bearing parts of the SQL are generated only for the default
regions and country codes present in the input, most frequent first.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from voice_compliance.phones import fallback
from voice_compliance.phones.catalog import load_catalog
from voice_compliance.phones.fastsql import fast_sql
from voice_compliance.phones.plan import (
    FALLBACK,
    FAST,
    NULL_RESULT,
    PLUS_SQL,
    Plan,
    r_sql,
    stage_inputs,
)
from voice_compliance.phones.registry import registry_e164_sql
from voice_compliance.phones.tables import ensure_installed, install, quote_ident, type_levels

__all__ = ["describe_routes", "install", "normalize_relation", "registry_e164_sql"]

_log = logging.getLogger(__name__)


@contextmanager
def _staged(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    default_region: str | None,
    schema: str,
    cache_dir: Path | None = None,
) -> Iterator[tuple[str, Plan]]:
    """Stage and route the distinct pairs, plan the SQL; drops the temp table on exit."""
    ensure_installed(con, schema, cache_dir)
    catalog = load_catalog(con, schema)
    staged = f"_vc_phones_in_{uuid.uuid4().hex[:12]}"
    try:
        stage_inputs(con, source_sql, default_region, staged, schema)
        yield staged, Plan(con, catalog, staged)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(staged)}")


def normalize_relation(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    target_table: str,
    default_region: str,
    schema: str = "ref",
    cache_dir: Path | None = None,
) -> None:
    """Normalize every distinct ``(raw, region)`` of ``source_sql`` into ``target_table``.

    ``source_sql`` is a SELECT with columns ``raw`` and ``region`` (NULL
    region means ``default_region``). ``target_table`` (optionally
    schema-qualified, used verbatim) is created or replaced with one row per
    distinct pair: raw, region, e164, is_valid, country_code, region_code,
    number_type, time_zones -- each what ``reference.normalize(raw,
    coalesce(region, default_region))`` returns (time_zones as a list, empty
    when unparseable). Installs the metadata tables in ``schema`` if they
    are missing or stale (from the cache in ``cache_dir``, if given).
    """
    with _staged(con, source_sql, default_region, schema, cache_dir) as (staged, plan):
        slow = f"{staged}_fb"
        try:
            count = fallback.materialize(
                con,
                f"SELECT DISTINCT raw, {r_sql(default_region)} AS r FROM {quote_ident(staged)} "
                f"WHERE route = {FALLBACK}",
                slow,
            )
            _log.debug("phones: %d distinct pairs went through the fallback", count)
            con.execute(
                f"""
                CREATE OR REPLACE TABLE {target_table} AS
                {fast_sql(plan, schema, staged, type_levels(con, schema), default_region)}
                UNION ALL
                SELECT raw, region, NULL::VARCHAR, FALSE, NULL::INTEGER, NULL::VARCHAR,
                       NULL::VARCHAR, []::VARCHAR[]
                FROM {quote_ident(staged)} WHERE route = {NULL_RESULT}
                UNION ALL
                SELECT s.raw, s.region, f.e164, f.is_valid, f.country_code, f.region_code,
                       f.number_type, f.time_zones
                FROM (
                    SELECT raw, region, {r_sql(default_region)} AS r FROM {quote_ident(staged)}
                    WHERE route = {FALLBACK}
                ) AS s
                JOIN {quote_ident(slow)} AS f ON f.raw = s.raw AND f.r IS NOT DISTINCT FROM s.r
                """
            )
        finally:
            con.execute(f"DROP TABLE IF EXISTS {quote_ident(slow)}")


def describe_routes(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    default_region: str,
    schema: str = "ref",
    cache_dir: Path | None = None,
) -> dict[str, int]:
    """How normalize_relation would route the distinct pairs of ``source_sql``.

    Counts per route: ``sql_plus`` and ``sql_national`` (the vectorized
    path, after a '+' or not), ``empty`` (unparseable without looking
    further: NULL or empty raw, unknown default region) and ``fallback``
    (phonenumbers once per distinct pair). For monitoring the fallback
    share; normalizes nothing.
    """
    with _staged(con, source_sql, default_region, schema, cache_dir) as (staged, _):
        rows = con.execute(
            f"""
            SELECT CASE WHEN route = {NULL_RESULT} THEN 'empty'
                        WHEN route = {FALLBACK} THEN 'fallback'
                        WHEN route = {FAST} AND {PLUS_SQL} THEN 'sql_plus'
                        ELSE 'sql_national' END AS route,
                   count(*)
            FROM {quote_ident(staged)} GROUP BY 1
            """
        ).fetchall()
    counts = dict.fromkeys(("sql_plus", "sql_national", "empty", "fallback"), 0)
    counts.update({str(k): int(v) for k, v in rows})
    return counts
