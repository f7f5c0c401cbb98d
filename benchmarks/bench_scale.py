"""Scale benchmark: the whole pipeline against DuckDB's bare scan of the same files.

Run from the repository root (``make bench-scale`` runs the default size)::

    .venv/bin/python benchmarks/bench_scale.py [--size small|250k|1M|national|tiny]
        [--out DIR] [--seed 7] [--keep] [--stages generate,scan,calls,...]
    .venv/bin/python benchmarks/bench_scale.py --report   # docs/performance.md + chart

Steps, each in its own child process measured with ``os.wait4`` (CPU of the
whole process tree, largest single process) and psutil polling of the
process tree every 0.2 s (peak RSS of the tree, summed over processes):

1. ``generate``: :mod:`scale_landing` writes the landing zone (the sample
   generator's planted world plus a compliant bulk background).
2. ``scan``: DuckDB's bare scan of the same files: every call file parsed
   into a table (list pages unnested, JSON lines, CSV), every export and
   registry line read into a table; per group (calls, exports, registries).
3. the pipeline, one DAG at a time through Airflow
   (:func:`voice_compliance.airflow_runner.run_dag`, i.e. ``airflow dags
   test``), against a fresh warehouse and Airflow home under ``--out``;
4. ``incremental``: one more day of calls (2026-11-01), its exports and a
   us_national change list are landed, then every DAG runs again.

After the full run and after the incremental run the warehouse's
``compliance.policy_violations`` is compared with the planted world's
expected set (``_generator/planted.json``). Results go to
``benchmarks/results/<size>.json``; ``--report`` rewrites the generated part
of ``docs/performance.md`` and ``docs/performance-stages.svg`` from them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
if str(REPO / "plugins") not in sys.path:
    sys.path.insert(0, str(REPO / "plugins"))

RESULTS = BENCH / "results"
DOC = REPO / "docs" / "performance.md"
CHART = REPO / "docs" / "performance-stages.svg"
# In --out: the generate step's measurement, for later runs on the same landing zone
GENERATED = "generate.json"
BEGIN, END = "<!-- BEGIN bench_scale --report -->", "<!-- END bench_scale --report -->"

ALL_STAGES = ("generate", "scan", "calls", "exports", "registries", "transform", "validate",
              "incremental")
DAG_STAGE = {
    "vc_ingest_calls": "calls",
    "vc_ingest_exports": "exports",
    "vc_ingest_registries": "registries",
    "vc_transform": "transform",
    "vc_validate": "validate",
}
SCAN_GROUPS = ("calls", "exports", "registries")
POLL_S = 0.2


# ---------------------------------------------------------------- measuring


def measure(command: Sequence[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``command``; wall, CPU (user+sys of the tree), peak RSS, exit code, stdout."""
    import psutil

    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as err:
        proc = subprocess.Popen(list(command), env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=err, stdin=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        # Drain stdout in a thread so a chatty child never blocks on a full pipe.
        import threading

        chunks: list[str] = []
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: chunks.append(stdout.read()))
        reader.start()
        peak_tree = 0
        root = psutil.Process(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            except psutil.Error:
                pass
            peak_tree = max(peak_tree, total)
            time.sleep(POLL_S)
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join()
    wall = time.monotonic() - started
    max_single = usage.ru_maxrss * 1024  # kB on Linux
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(max(peak_tree, max_single) / 2**20, 1),
        "max_process_rss_mb": round(max_single / 2**20, 1),
        "exit_code": proc.returncode,
        "stdout": "".join(chunks),
        "log": str(log),
    }


def child_env(out: Path) -> dict[str, str]:
    """This environment minus the developer's pipeline settings, isolated under ``out``.

    ``VC_DUCKDB_*`` (memory limit, threads, temp directory) pass through.
    """
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("VC_", "AIRFLOW")) and not k.startswith("VC_DUCKDB_"))}
    env.update({
        "VC_LANDING": str(out / "landing"),
        "VC_WAREHOUSE": str(out / "warehouse.duckdb"),
        "VC_DATA_DIR": str(out / "data"),
        "VC_AIRFLOW_HOME": str(out / "airflow"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"),
                                       *filter(None, [os.environ.get("PYTHONPATH")])]),
    })
    return env


# The DAGs in one Airflow process, as ``python -m voice_compliance run`` runs
# them (airflow_runner.run_dags); prints each DAG's wall seconds as JSON.
_RUN_DAGS = """
import json, sys
from voice_compliance.airflow_runner import default_conf, run_dags
from voice_compliance.config import Settings
settings = Settings.from_env()
print(json.dumps(run_dags([(d, default_conf(settings)) for d in sys.argv[1:]], settings).seconds))
"""
_SETUP = """
from voice_compliance.airflow_runner import ensure_airflow
from voice_compliance.config import Settings
ensure_airflow(Settings.from_env())
"""


# ---------------------------------------------------------------- bare scan


def bare_scan(landing: Path, group: str) -> dict[str, int]:
    """DuckDB reads every file of ``group`` into in-memory tables; rows per table."""
    import duckdb

    skip = set()
    planted = landing / "_generator" / "planted.json"
    if planted.exists():  # deliberately broken files (a few lines) are not scanned
        skip = {m["path"] for m in json.loads(planted.read_text())["malformed"]}

    def files(prefix: str, *suffixes: str) -> list[str]:
        found = []
        for p in sorted((landing / prefix).rglob("*")):
            rel = p.relative_to(landing).as_posix()
            if p.is_file() and rel not in skip and rel.endswith(suffixes):
                found.append(str(p))
        return found

    con = duckdb.connect()
    rows: dict[str, int] = {}

    def load(table: str, select: str) -> None:
        con.execute(f"create table {table} as {select}")
        rows[table] = con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]

    def quoted(paths: list[str]) -> str:
        return "[" + ", ".join(f"'{p}'" for p in paths) + "]"

    if group == "calls":
        pages = files("calls", ".json", ".json.gz")
        lines = files("calls", ".jsonl", ".jsonl.gz")
        csvs = files("calls", ".csv", ".csv.gz")
        if pages:
            load("calls_pages", f"select unnest(calls, recursive := true) from read_json("
                 f"{quoted(pages)}, union_by_name = true, maximum_object_size = 1073741824)")
        if lines:
            load("calls_jsonl", f"select * from read_json({quoted(lines)}, "
                 "format = 'newline_delimited', union_by_name = true)")
        if csvs:
            load("calls_csv", f"select * from read_csv({quoted(csvs)}, union_by_name = true)")
    elif group == "exports":
        for folder in ("call_metadata", "campaigns", "numbers", "accounts", "consent", "optouts",
                       "disclosures", "complaints", "dnc/internal"):
            paths = files(folder, ".csv", ".csv.gz")
            if paths:
                load(folder.replace("/", "_"),
                     f"select * from read_csv({quoted(paths)}, union_by_name = true)")
    else:
        for registry in ("us_national", "uk_tps", "uk_ctps", "ca_dncl"):
            paths = files(f"dnc/{registry}", ".txt", ".txt.gz")
            if paths:
                load(registry, f"select * from read_csv({quoted(paths)}, header = false, "
                     "columns = {'line': 'VARCHAR'}, delim = '\\t', quote = '', escape = '', "
                     "filename = true)")
    con.close()
    return rows


# ---------------------------------------------------------------- warehouse facts


def warehouse_facts(warehouse: Path) -> dict[str, Any]:
    """Rows read per source group, violations per clause, tickets."""
    import duckdb

    from voice_compliance import ingest

    if not warehouse.exists():
        return {}
    groups = {"calls": ingest.CALL_SOURCES, "exports": ingest.EXPORT_SOURCES,
              "registries": ingest.REGISTRY_SOURCES}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        facts: dict[str, Any] = {}
        if "compliance.load_manifest" in tables:
            by_source = dict(con.execute(
                "select source, sum(rows_read) from compliance.load_manifest group by 1"
            ).fetchall())
            facts["rows_read"] = {g: int(sum(by_source.get(s, 0) or 0 for s in sources))
                                  for g, sources in groups.items()}
        if "compliance.policy_violations" in tables:
            found: dict[str, list[str]] = {}
            for clause, subject in con.execute(
                    "select clause_id, subject_id from compliance.policy_violations").fetchall():
                found.setdefault(clause, []).append(subject)
            facts["violations"] = {c: sorted(s) for c, s in found.items()}
        if "compliance.tickets" in tables:
            facts["tickets"] = int(con.execute(
                "select count(*) from compliance.tickets").fetchone()[0])  # type: ignore[index]
        return facts
    finally:
        con.close()


def compare(landing: Path, violations: dict[str, list[str]]) -> dict[str, Any]:
    """The warehouse's violations against the planted world's expected set."""
    planted = json.loads((landing / "_generator" / "planted.json").read_text())
    expected = {c: set(spec["subjects"]) for c, spec in planted["clauses"].items()}
    diff = {}
    for clause in sorted(set(expected) | set(violations)):
        got, want = set(violations.get(clause, [])), expected.get(clause, set())
        if got != want:
            diff[clause] = {"unexpected": sorted(got - want)[:5], "missing": sorted(want - got)[:5]}
    return {"match": not diff, "expected": sum(len(s) for s in expected.values()),
            "found": sum(len(s) for s in violations.values()), "diff": diff}


# ---------------------------------------------------------------- the run


def _mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def run(size: str, out: Path, seed: int, stages: Sequence[str], keep: bool) -> dict[str, Any]:
    from scale_landing import SIZES  # type: ignore[import-not-found]
    from voice_compliance.airflow_runner import PIPELINE_DAGS

    scale = SIZES[size]
    landing, warehouse = out / "landing", out / "warehouse.duckdb"
    env = child_env(out)
    logs = out / "bench-logs"
    py = sys.executable
    result: dict[str, Any] = {
        "size": size, "seed": seed, "scale": scale.__dict__,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(), "stages_requested": list(stages),
        "generate": None, "scan": [], "pipeline": [], "incremental": [], "checks": {},
    }

    def step(name: str, command: list[str]) -> dict[str, Any]:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        m = measure(command, env, logs / f"{name.replace(' ', '_')}.log")
        print(f"[bench] {name}: {m['wall_s']} s wall, {m['cpu_s']} s CPU, "
              f"{m['peak_rss_mb']} MB peak (exit {m['exit_code']})", file=sys.stderr, flush=True)
        if m["exit_code"] != 0:
            tail = Path(m["log"]).read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} failed (exit {m['exit_code']}); log {m['log']}:\n{tail}")
        return m

    if "generate" in stages:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        m = step("generate", [py, str(BENCH / "scale_landing.py"), "--size", size,
                              "--out", str(landing), "--seed", str(seed)])
        m.pop("stdout")
        meta = json.loads((landing / "_bench" / "scale.json").read_text())
        meta.pop("area_codes", None)
        files = [p for p in landing.rglob("*") if p.is_file() and "/_" not in str(p)]
        result["generate"] = {**m, "meta": meta, "landing_mb": _mb(landing),
                              "landing_files": len(files)}
        (out / GENERATED).write_text(json.dumps(result["generate"]))
    if not landing.exists():
        raise SystemExit(f"no landing zone at {landing}: include the generate stage")
    if result["generate"] is None and (out / GENERATED).exists():
        # A landing zone generated by an earlier run with --keep (e.g. `--stages generate`
        # first, the rest later): its measurement, marked as taken then.
        result["generate"] = {**json.loads((out / GENERATED).read_text()), "earlier_run": True}

    scan_wall: dict[str, float] = {}
    if "scan" in stages:
        for group in SCAN_GROUPS:
            m = step(f"scan {group}", [py, str(Path(__file__)), "--_scan", group,
                                       "--landing", str(landing)])
            rows = json.loads(m.pop("stdout"))
            result["scan"].append({"stage": group, **m, "rows": sum(rows.values()),
                                   "tables": rows})
            scan_wall[group] = m["wall_s"]

    pipeline_stages = [s for s in stages if s in DAG_STAGE.values()]
    if pipeline_stages or "incremental" in stages:
        step("airflow setup", [py, "-c", _SETUP])

    def pipeline(key: str, only: Sequence[str] | None) -> None:
        """The DAGs as one measured step; per DAG its wall seconds from the runner."""
        dag_ids = [d for d in PIPELINE_DAGS if only is None or DAG_STAGE.get(d, d) in only]
        before = warehouse_facts(warehouse).get("rows_read", {})
        m = step(f"{'incr ' if key == 'incremental' else ''}pipeline",
                 [py, "-c", _RUN_DAGS, *dag_ids])
        seconds = json.loads(m.pop("stdout").strip().splitlines()[-1])
        result[f"{key}_total"] = m
        facts = warehouse_facts(warehouse)
        after = facts.get("rows_read", {})
        for dag_id in dag_ids:
            stage = DAG_STAGE.get(dag_id, dag_id)
            if stage in SCAN_GROUPS:
                rows: int | None = after.get(stage, 0) - before.get(stage, 0)
            elif stage == "transform":
                rows = sum(len(v) for v in facts.get("violations", {}).values())
            else:
                rows = facts.get("tickets")
            result[key].append({"stage": stage, "dag_id": dag_id, "wall_s": seconds[dag_id],
                                "cpu_s": None, "peak_rss_mb": None, "rows": rows})

    if pipeline_stages:
        pipeline("pipeline", pipeline_stages)
        facts = warehouse_facts(warehouse)
        if "violations" in facts and "transform" in pipeline_stages:
            result["checks"]["full"] = compare(landing, facts["violations"])
    if "incremental" in stages:
        m = step("land next day", [py, str(BENCH / "scale_landing.py"), "--next-day",
                                   "--out", str(landing)])
        meta = json.loads(m.pop("stdout"))
        result["incremental"].append({"stage": "land day", **m,
                                      "rows": meta["next_day"]["rows"].get("calls")})
        pipeline("incremental", None)
        facts = warehouse_facts(warehouse)
        if "violations" in facts:
            result["checks"]["incremental"] = compare(landing, facts["violations"])

    if warehouse.exists():
        result["warehouse_mb"] = round(warehouse.stat().st_size / 2**20, 1)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _add_ratios(result, scan_wall)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return result


def _add_ratios(result: dict[str, Any], scan_wall: dict[str, float]) -> None:
    total = sum(scan_wall.values())
    for row in [*result["pipeline"], *result["incremental"]]:
        if row["stage"] == "land day":
            continue
        base = scan_wall.get(row["stage"]) or total
        row["scan_ratio"] = round(row["wall_s"] / base, 1) if base else None


def _machine() -> dict[str, Any]:
    import duckdb
    import psutil

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True, check=False).stdout.strip()
    if not commit and (REPO / ".bench-commit").exists():
        # A snapshot made with `git archive` (see docs/performance.md) records its commit here.
        commit = (REPO / ".bench-commit").read_text().strip()
    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "platform": platform.platform(), "commit": commit,
            "duckdb_settings": {k: v for k, v in os.environ.items()
                                if k.startswith("VC_DUCKDB_")}}


# ---------------------------------------------------------------- tables and report


def _fmt_rows(n: Any) -> str:
    if n is None:
        return ""
    n = int(n)
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 10_000:
        return f"{n / 1e3:.0f} k"
    return str(n)


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """One row per measured step: stage, wall, CPU, peak RSS, rows, ratio to the bare scan."""
    rows: list[list[str]] = []
    gen = result.get("generate")
    if gen:
        bulk_rows = sum(gen["meta"]["bulk"]["rows"].values())
        label = "generate landing zone" + (" (an earlier run)" if gen.get("earlier_run") else "")
        rows.append([label, f"{gen['wall_s']:.1f}", f"{gen['cpu_s']:.1f}",
                     f"{gen['peak_rss_mb']:.0f}", _fmt_rows(bulk_rows), ""])
    for s in result.get("scan", []):
        rows.append([f"bare scan: {s['stage']}", f"{s['wall_s']:.1f}", f"{s['cpu_s']:.1f}",
                     f"{s['peak_rss_mb']:.0f}", _fmt_rows(s["rows"]), "1.0"])
    scan_wall = {s["stage"]: s["wall_s"] for s in result.get("scan", [])}
    for label, key in (("", "pipeline"), ("incremental: ", "incremental")):
        steps = result.get(key, [])
        for s in steps:
            base = scan_wall.get(s["stage"]) or sum(scan_wall.values())
            ratio = f"{s['wall_s'] / base:.1f}" if base and s["stage"] != "land day" else ""
            name = s.get("dag_id") or s["stage"]
            rows.append([f"{label}{name}", f"{s['wall_s']:.1f}", _fmt(s["cpu_s"], 1),
                         _fmt(s["peak_rss_mb"], 0), _fmt_rows(s.get("rows")), ratio])
        total = pipeline_total(result, key)
        if total:
            # Against the whole bare scan only when every DAG ran (not e.g. a
            # registry load alone on a size the machine cannot carry further).
            whole = sum(scan_wall.values()) if whole_run(result, key) else 0
            rows.append([f"{label}pipeline total", f"{total['wall_s']:.1f}",
                         _fmt(total["cpu_s"], 1), _fmt(total["peak_rss_mb"], 0), "",
                         f"{total['wall_s'] / whole:.1f}" if whole else ""])
    return rows


def incremental_share(result: dict[str, Any]) -> str | None:
    """``The one-day incremental run took N % of the full run's wall time.``"""
    full, incremental = pipeline_total(result, "pipeline"), pipeline_total(result, "incremental")
    if not (full and incremental):
        return None
    share = incremental["wall_s"] / full["wall_s"]
    return f"The one-day incremental run took {share:.0%} of the full run's wall time."


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def whole_run(result: dict[str, Any], key: str) -> bool:
    """Did the run (``pipeline`` or ``incremental``) include every DAG?"""
    return set(DAG_STAGE.values()) <= {s["stage"] for s in result.get(key, [])}


def pipeline_total(result: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The whole run (``pipeline``) or the incremental one: wall, CPU, peak RSS.

    Results measured since the DAGs run in one process hold it (``<key>_total``);
    older ones measured each DAG on its own: their sums (the largest peak).
    """
    if result.get(f"{key}_total"):
        return dict(result[f"{key}_total"])
    dags = [s for s in result.get(key, []) if s["stage"] != "land day"]
    if not dags:
        return None
    return {"wall_s": sum(s["wall_s"] for s in dags), "cpu_s": sum(s["cpu_s"] for s in dags),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in dags)}


HEADER = ["stage", "wall s", "CPU s", "peak RSS MB", "rows", "x bare scan"]


def render_text(result: dict[str, Any]) -> str:
    rows = [HEADER, *table_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                               for i, c in enumerate(r)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(result: dict[str, Any]) -> str:
    scale, machine = result["scale"], result["machine"]
    gen = result.get("generate") or {}
    layout = (gen.get("meta") or {}).get("layout", {}) if gen else {}
    lines = [
        f"### `{result['size']}`: {scale['calls']:,} bulk calls, "
        f"{scale['us_registry']:,} extra numbers per US full snapshot",
        "",
        f"Measured {result['started_at'][:10]} at commit `{machine.get('commit')}` on "
        f"{machine['cpus']} cores, {machine['memory_gb']} GB RAM, DuckDB {machine['duckdb']}"
        + (f", {machine['duckdb_settings']}" if machine.get("duckdb_settings") else "")
        + (f"; landing zone {gen['landing_mb']:,} MB in {gen['landing_files']:,} files"
           if gen else "")
        + (f", {layout.get('calls', 0):,} bulk calls in {layout.get('accounts')} background "
           f"accounts" if layout else "")
        + (f"; warehouse {result['warehouse_mb']:,} MB" if result.get("warehouse_mb") else "")
        + ".",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(HEADER) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(result)]
    if share := incremental_share(result):
        lines += ["", share]
    checks = result.get("checks", {})
    if checks:
        lines.append("")
        lines.append("Violations against the planted expected set: " + "; ".join(
            f"{k} run {'match' if v['match'] else 'MISMATCH'} ({v['found']} found, "
            f"{v['expected']} expected)" for k, v in checks.items()) + ".")
    return "\n".join(lines)


def _stage_walls(result: dict[str, Any]) -> dict[str, float]:
    walls = {}
    gen = result.get("generate")
    if gen:
        walls["generate"] = gen["wall_s"]
    scan = result.get("scan", [])
    if scan:
        walls["bare scan (all)"] = sum(s["wall_s"] for s in scan)
    for s in result.get("pipeline", []):
        walls[s["stage"]] = s["wall_s"]
    for key, name in (("pipeline", "whole run"), ("incremental", "incremental (all DAGs)")):
        total = pipeline_total(result, key)
        if total and whole_run(result, key):
            walls[name] = total["wall_s"]
    return walls


_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")


def total_calls(result: dict[str, Any]) -> int:
    """Bulk plus planted calls of a result (the bulk count when it did not generate)."""
    meta = (result.get("generate") or {}).get("meta") or {}
    if not meta:
        return int(result["scale"]["calls"])
    return int(meta["bulk"]["rows"]["calls"]) + int(meta.get("planted_world", {}).get("calls", 0))


def chart_svg(results: list[dict[str, Any]]) -> str:
    """Wall seconds per stage (log scale) against calls (log scale), one line per stage."""
    import math

    pts = [(total_calls(r), _stage_walls(r)) for r in results]
    stages: list[str] = []
    for _, walls in pts:
        stages += [s for s in walls if s not in stages]
    w, h, left, right, top, bottom = 760, 420, 70, 210, 30, 50
    xs = [c for c, _ in pts]
    ys = [v for _, walls in pts for v in walls.values() if v > 0]
    if not xs or not ys:
        return ""
    x0, x1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    if x1 - x0 < 0.5:
        x0, x1 = x0 - 0.5, x1 + 0.5
    y1 = max(y1, y0 + 1)

    def sx(v: float) -> float:
        return left + (math.log10(v) - x0) / (x1 - x0) * (w - left - right)

    def sy(v: float) -> float:
        return h - bottom - (math.log10(v) - y0) / (y1 - y0) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">Wall seconds per stage vs. bulk calls '
           f'(log-log)</text>']
    for e in range(y0, y1 + 1):
        y = sy(10**e)
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{left - 8}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{10**e:g}</text>')
    for r in results:
        x = sx(total_calls(r))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{h - bottom}" stroke="#eee"/>'
                   f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle">'
                   f'{r["size"]} ({_fmt_rows(total_calls(r))})</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">'
               'calls in the landing zone (planted world + bulk)</text>')
    for n, stage in enumerate(stages):
        color = _COLORS[n % len(_COLORS)]
        line = [(sx(c), sy(walls[stage])) for c, walls in pts if walls.get(stage, 0) > 0]
        if len(line) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       'stroke-width="2"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in line]
        ly = top + 10 + n * 18
        out.append(f'<rect x="{w - right + 15}" y="{ly - 9}" width="12" height="12" '
                   f'fill="{color}"/><text x="{w - right + 32}" y="{ly + 1}">{stage}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def load_results() -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    return sorted(found, key=lambda r: r["scale"]["calls"])


def report() -> None:
    """Rewrite the generated section of docs/performance.md and the chart."""
    results = load_results()
    section = "\n\n".join(render_markdown(r) for r in results) or "(no results yet)"
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the markers {BEGIN} / {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n\n{section}\n\n{END}{tail}")
    chartable = [r for r in results if r.get("pipeline")]
    CHART.write_text(chart_svg(chartable))
    print(f"wrote {DOC} ({len(results)} sizes) and {CHART} ({len(chartable)} sizes)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scale benchmark of the whole pipeline.")
    parser.add_argument("--size", default="small",
                        help="tiny, small (default), 250k, 1M or national")
    parser.add_argument("--out", type=Path, help="work folder (default /tmp/vc-bench-<size>)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep landing zone and warehouse")
    parser.add_argument("--stages", default=",".join(ALL_STAGES),
                        help="comma list of " + ",".join(ALL_STAGES) + " (default: all)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of <size>.json")
    parser.add_argument("--report", action="store_true",
                        help="only regenerate docs/performance.md and its chart from results")
    parser.add_argument("--_scan", choices=SCAN_GROUPS, help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._scan:
        print(json.dumps(bare_scan(args.landing, args._scan)))
        return 0
    if args.report:
        report()
        return 0
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}")
    sys.path.insert(0, str(BENCH))
    out = args.out or Path(f"/tmp/vc-bench-{args.size}")
    result = run(args.size, out.resolve(), args.seed, stages, args.keep)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{args.size}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(render_text(result))
    if share := incremental_share(result):
        print(share)
    for name, check in result["checks"].items():
        print(f"{name} run: violations {'match' if check['match'] else 'DO NOT MATCH'} the "
              f"planted set ({check['found']} found, {check['expected']} expected)")
    print(f"results: {path}")
    return 0 if all(c["match"] for c in result["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
