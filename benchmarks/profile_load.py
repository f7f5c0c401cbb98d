"""Where one source's load spends its time: every DuckDB statement, timed.

Run from the repository root, on a landing zone (a kept ``bench_scale``
work folder has one)::

    .venv/bin/python benchmarks/profile_load.py registry_us_national \\
        --landing /tmp/vc-bench-1M/landing

It loads the source into a new warehouse under ``--out`` (deleted first), as
``ingest_source`` does in the pipeline, with the settings of the
environment (``VC_DUCKDB_MEMORY_LIMIT`` and friends), and prints the load's
result, its wall time, the time spent inside DuckDB, and the statements that
took longest, grouped by the start and end of their SQL (the same statement
run once per batch adds up). The statement times come from wrapping
``DuckDBPyConnection.execute``; nothing else is changed. Not a test: a tool
to find what to make faster, next to the whole-pipeline numbers of
``bench_scale.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

import duckdb

from voice_compliance.config import Settings
from voice_compliance.ingest import ALL_SOURCES, ingest_source


def _key(sql: object) -> str:
    text = " ".join(str(sql).split())
    return text if len(text) <= 140 else f"{text[:65]} ... {text[-70:]}"


def _timed(execute: Callable[..., Any], totals: dict[str, list[float]]) -> Callable[..., Any]:
    def wrapper(self: duckdb.DuckDBPyConnection, query: object, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(self, query, *args, **kwargs)
        finally:
            entry = totals.setdefault(_key(query), [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    return wrapper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", choices=sorted(ALL_SOURCES), help="the source to load")
    parser.add_argument("--landing", required=True, help="the landing zone (a folder)")
    parser.add_argument(
        "--out", default="/tmp/vc-profile-load", help="scratch folder (deleted first)"
    )
    parser.add_argument("--top", type=int, default=25, help="how many statements to show")
    args = parser.parse_args(argv)

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    settings = Settings.from_env(
        landing=args.landing, warehouse=str(out / "warehouse.duckdb"), data_dir=out / "data"
    )
    totals: dict[str, list[float]] = {}
    original = duckdb.DuckDBPyConnection.execute
    duckdb.DuckDBPyConnection.execute = _timed(original, totals)  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        result = ingest_source(settings, args.source)
        wall = time.perf_counter() - start
    finally:
        duckdb.DuckDBPyConnection.execute = original  # type: ignore[method-assign]

    print(result)
    print(f"wall {wall:.1f} s, in DuckDB statements {sum(t for _, t in totals.values()):.1f} s")
    print(f"{'seconds':>8} {'runs':>5}  statement")
    for key, (runs, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1])[: args.top]:
        print(f"{seconds:8.2f} {int(runs):5d}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
