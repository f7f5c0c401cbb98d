"""Throughput of phone normalization: phonenumbers per row vs the DuckDB bulk path.

Run from the repository root::

    .venv/bin/python benchmarks/bench_phones.py [--n 2000000] [--sample 100000] [--check]

The input is mostly distinct and mixes the shapes the pipeline sees: E.164
numbers of a dozen countries, US national formats with punctuation, UK
national format, and do-not-call registry lines. The per-row baseline is
``reference.normalize`` (parse, E.164, validity, region, type and time zones:
the same columns the bulk path produces) on a sample of the same rows; a
lighter parse + E.164 + is_valid loop is shown too. The target is a bulk
path at least 100x faster per number, wall clock. Rates per CPU-second are
printed as well: they are far less sensitive to other load on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

import duckdb
import phonenumbers

from voice_compliance.phones import (
    install,
    normalize,
    normalize_relation,
    registry_e164_sql,
)
from voice_compliance.phones.vectorized import describe_routes

TARGET_RATIO = 100.0
_E164_REGIONS = ("US", "CA", "GB", "FR", "DE", "AU", "MX", "BR", "IN", "JP", "IT", "ES")
_US_AREAS = (201, 212, 213, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 718, 720, 917)


def _templates() -> list[tuple[str, int]]:
    """(E.164 head, digits to randomize) from phonenumbers' example numbers."""
    out = []
    for region in _E164_REGIONS:
        for num_type in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.MOBILE,
        ):
            number = phonenumbers.example_number_for_type(region, num_type)
            if number is None:
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            out.append((e164[:-6], 6))
    return out


def build_input(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """Create table ``bench_input(raw, region)`` with ``n`` mostly distinct rows."""
    heads = _templates()
    con.execute("SELECT setseed(0.42)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE heads AS "
        "SELECT unnest($1::VARCHAR[]) AS head, unnest(range($2)) AS k",
        [[h for h, _ in heads], len(heads)],
    )
    areas = ", ".join(str(a) for a in _US_AREAS)
    # Shapes are interleaved by row number so that any prefix of the table
    # (the phonenumbers sample) has the same mix as the whole.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE bench_input AS
        WITH g AS (
            SELECT i, i % 10 AS shape,
                   lpad(CAST(floor(random() * 1000000) AS BIGINT)::VARCHAR, 6, '0') AS r6,
                   lpad(CAST(floor(random() * 10000) AS BIGINT)::VARCHAR, 4, '0') AS r4,
                   CAST(200 + floor(random() * 800) AS BIGINT)::VARCHAR AS nxx,
                   [{areas}][1 + CAST(floor(random() * {len(_US_AREAS)}) AS INTEGER)]::VARCHAR
                       AS area,
                   CAST(floor(random() * {len(heads)}) AS INTEGER) AS k
            FROM range({n}) AS t(i)
        )
        SELECT
            CASE
                WHEN shape < 5 THEN h.head || r6
                WHEN shape = 5 THEN '(' || area || ') ' || nxx || '-' || r4
                WHEN shape = 6 AND i % 3 = 0 THEN area || '-' || nxx || '-' || r4
                WHEN shape = 6 AND i % 3 = 1 THEN '1-' || area || '-' || nxx || '-' || r4
                WHEN shape = 6 THEN '+1 ' || area || ' ' || nxx || ' ' || r4
                WHEN shape = 7 THEN '020 7' || substr(r6, 1, 3) || ' ' || r4
                WHEN shape = 8 THEN area || nxx || r4
                ELSE '0' || substr(nxx, 1, 1) || r4 || r6
            END AS raw,
            CASE WHEN shape IN (7, 9) THEN 'GB' WHEN shape = 8 THEN 'US' END AS region
        FROM g JOIN heads AS h USING (k)
        """
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


def bench_phonenumbers(
    con: duckdb.DuckDBPyConnection, sample: int, default_region: str
) -> tuple[float, float, float]:
    """Rows per second (wall, CPU) for reference.normalize one row at a time,
    and wall rows per second for the lighter parse + E.164 + is_valid."""
    rows = con.execute(
        f"SELECT raw, coalesce(region, '{default_region}') FROM bench_input LIMIT {sample}"
    ).fetchall()
    start, cpu = time.perf_counter(), _cpu()
    for raw, region in rows:
        normalize(raw, region)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    start = time.perf_counter()
    for raw, region in rows:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        phonenumbers.is_valid_number(number)
    light = time.perf_counter() - start
    return len(rows) / wall, len(rows) / cpu, len(rows) / light


def bench_vectorized(
    con: duckdb.DuckDBPyConnection, n: int, default_region: str, repeat: int
) -> tuple[float, float]:
    """Rows per second (wall, CPU) for normalize_relation over the whole input,
    best of ``repeat`` runs (after install)."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        normalize_relation(
            con, "SELECT raw, region FROM bench_input", "bench_output", default_region
        )
        best_wall = min(best_wall, time.perf_counter() - start)
        best_cpu = min(best_cpu, _cpu() - cpu)
    produced = con.execute("SELECT count(*) FROM bench_output").fetchone()
    print(
        f"  normalize_relation: {n:,} rows -> {produced[0] if produced else 0:,} distinct "
        f"pairs, best of {repeat}: {best_wall:.2f} s wall, {best_cpu:.2f} s CPU"
    )
    return n / best_wall, n / best_cpu


def bench_registry(con: duckdb.DuckDBPyConnection, n: int, sample: int) -> tuple[float, float]:
    """Lines per second for registry_e164_sql and for phonenumbers per line."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE registry_lines AS
        SELECT CAST(200 + floor(random() * 800) AS BIGINT)::VARCHAR
               || CASE WHEN i % 2 = 0 THEN ',' ELSE '' END
               || lpad(CAST(floor(random() * 10000000) AS BIGINT)::VARCHAR, 7, '0') AS line
        FROM range({n}) AS t(i)
        """
    )
    start = time.perf_counter()
    expr = registry_e164_sql("line", "us_national")
    con.execute(
        f"CREATE OR REPLACE TABLE registry_e164 AS SELECT {expr} AS e164 FROM registry_lines"
    )
    sql_rate = n / (time.perf_counter() - start)
    lines = [
        r[0] for r in con.execute(f"SELECT line FROM registry_lines LIMIT {sample}").fetchall()
    ]
    start = time.perf_counter()
    for line in lines:
        number = phonenumbers.parse(line.replace(",", ""), "US")
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return sql_rate, len(lines) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print rates, ratios and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000, help="rows for the bulk path")
    parser.add_argument("--sample", type=int, default=100_000, help="rows for phonenumbers")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: default)")
    parser.add_argument("--repeat", type=int, default=3, help="bulk runs; the best counts")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the 100x target is not met"
    )
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    print(f"cores: {cores}, load average: {load:.2f}")
    if load > cores / 2:
        print("  warning: the machine is busy; wall-clock rates are pessimistic")
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    start = time.perf_counter()
    install(con)
    print(f"install: {time.perf_counter() - start:.2f} s (first call loads all metadata)")
    build_input(con, args.n)
    routes = describe_routes(con, "SELECT raw, region FROM bench_input", "US")
    total = sum(routes.values()) or 1
    print(
        "routes (distinct pairs): "
        + ", ".join(f"{k} {v:,} ({100 * v / total:.2f}%)" for k, v in routes.items())
    )

    pn_rate, pn_cpu_rate, light_rate = bench_phonenumbers(con, min(args.sample, args.n), "US")
    print(
        f"phonenumbers per row, reference.normalize (same outputs): {pn_rate:,.0f} numbers/s "
        f"(1 core; {pn_cpu_rate:,.0f} per CPU-second)"
    )
    print(f"phonenumbers per row, parse + E.164 + is_valid only: {light_rate:,.0f} numbers/s")
    vec_rate, vec_cpu_rate = bench_vectorized(con, args.n, "US", args.repeat)
    print(
        f"vectorized normalize_relation: {vec_rate:,.0f} numbers/s "
        f"({threads[0] if threads else '?'} DuckDB threads; {vec_cpu_rate:,.0f} per CPU-second)"
    )
    ratio = vec_rate / pn_rate
    print(
        f"ratio (wall clock, same outputs): {ratio:,.1f}x per number -> target >= "
        f"{TARGET_RATIO:.0f}x {'MET' if ratio >= TARGET_RATIO else 'NOT MET'}"
    )
    print(
        f"ratio per CPU-second: {vec_cpu_rate / pn_cpu_rate:,.1f}x; "
        f"vs parse + E.164 + is_valid only: {vec_rate / light_rate:,.1f}x"
    )

    sql_rate, line_rate = bench_registry(con, args.n, min(args.sample, args.n))
    print(
        f"registry_e164_sql: {sql_rate:,.0f} lines/s vs phonenumbers parse+format "
        f"{line_rate:,.0f} lines/s -> {sql_rate / line_rate:,.1f}x"
    )
    # A measurement, not a gate: `make bench` reports NOT MET and succeeds
    # (two busy cores miss the target, decision 0019); --check gates on it.
    return 1 if args.check and ratio < TARGET_RATIO else 0


if __name__ == "__main__":
    raise SystemExit(main())
