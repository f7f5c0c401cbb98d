"""End to end through Airflow: ``python -m voice_compliance run`` on a
generated landing zone, checked against the warehouse contract, twice.

Everything lives in a temporary folder (landing zone, warehouse, Airflow home,
logs), so the developer's ``.airflow`` and ``data/`` are never touched.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from voice_compliance import assets
from voice_compliance.airflow_runner import DagRunFailed, ensure_airflow, run_dag
from voice_compliance.config import REPO_ROOT, Settings

pytestmark = pytest.mark.airflow

CALLS = 3000
SEED = 7
RUN_TIMEOUT_S = 1800

CONTRACT_PATHS = re.compile(
    r"""(
        calls/region=[^/]+/[^/]+\.(json|jsonl|csv)
      | (call_metadata|campaigns|numbers|accounts|consent|optouts|disclosures|complaints)/[^/]+\.csv
      | dnc/internal/[^/]+\.csv
      | dnc/(us_national|uk_tps|uk_ctps|ca_dncl)/(full|changes)/\d{4}-\d{2}-\d{2}/[^/]+\.txt
    )(\.gz)?""",
    re.VERBOSE,
)

PROBE_DAGS = '''"""Probe DAGs (airflow dag) for the runner tests: one passes, one fails."""
import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2025, 1, 1, tz="UTC")


@dag(dag_id="vc_probe_ok", schedule=None, start_date=START, catchup=False)
def vc_probe_ok():
    @task(retries=0)
    def echo(params=None):
        seen = {"params": dict(params or {}), "data_dir": os.environ.get("VC_DATA_DIR")}
        Path(params["warehouse"]).write_text(json.dumps(seen))

    echo()


@dag(dag_id="vc_probe_fail", schedule=None, start_date=START, catchup=False)
def vc_probe_fail():
    @task(retries=0)
    def fine():
        return 1

    @task(retries=0)
    def boom():
        raise ValueError("boom from the probe")

    fine()
    boom()


vc_probe_ok()
vc_probe_fail()
'''


def child_env(tmp: Path) -> dict[str, str]:
    """This environment, minus the developer's pipeline settings, isolated in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VC_", "AIRFLOW"))}
    env["VC_DATA_DIR"] = str(tmp / "data")
    env["VC_AIRFLOW_HOME"] = str(tmp / "airflow")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT / "plugins"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m voice_compliance <args>`` in the isolated environment."""
    completed = subprocess.run(
        [sys.executable, "-m", "voice_compliance", *args],
        env=child_env(tmp),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, f"{args[0]} failed:\n{completed.stderr[-5000:]}"
    return completed


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run_airflow")


def landing_files(landing: Path) -> dict[str, Path]:
    """The landing files under the contract's prefixes, by relative path."""
    files = (p for p in landing.rglob("*") if p.is_file())
    by_key = {p.relative_to(landing).as_posix(): p for p in files}
    return {key: path for key, path in by_key.items() if CONTRACT_PATHS.fullmatch(key)}


def snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Full sorted contents of every raw table, the manifest and the quarantine."""
    with closing_connection(warehouse) as con:
        tables = [
            f"raw.{name}"
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' order by table_name"
            ).fetchall()
        ]
        tables += ["compliance.load_manifest", "compliance.quarantine"]
        return {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}


class closing_connection:
    """A read-only DuckDB connection, closed at once (DuckDB locks the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con = duckdb.connect(str(self.path), read_only=True)
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


@pytest.fixture(scope="module")
def first_run(tmp: Path) -> Iterator[dict[str, Any]]:
    """Generate a small landing zone and run the pipeline on it once."""
    landing, warehouse = tmp / "landing", tmp / "wh.duckdb"
    cli(tmp, "generate", "--out", str(landing), "--seed", str(SEED), "--calls", str(CALLS))
    started = time.monotonic()
    run = cli(tmp, "run", "--landing", str(landing), "--warehouse", str(warehouse))
    elapsed = time.monotonic() - started
    print(f"\nfirst run: {elapsed:.1f} s\n{run.stderr}")
    yield {"landing": landing, "warehouse": warehouse, "stdout": run.stdout}


def test_run_prints_the_landing_summary(first_run: dict[str, Any]) -> None:
    assert first_run["stdout"].strip()


def test_manifest_has_one_row_per_landing_file(first_run: dict[str, Any]) -> None:
    files = landing_files(first_run["landing"])
    with closing_connection(first_run["warehouse"]) as con:
        rows = con.execute(
            "select source_uri, size_bytes, checksum, rows_read, rows_loaded, rows_quarantined,"
            " loaded_at from compliance.load_manifest"
        ).fetchall()

    assert files, "the generator wrote no contract files"
    assert len(rows) == len(files)
    for key, path in files.items():
        matches = [r for r in rows if r[0] == key or r[0].endswith("/" + key)]
        assert len(matches) == 1, key
        _, size_bytes, checksum, *_ = matches[0]
        assert size_bytes == path.stat().st_size, key
        assert checksum, key


def test_rows_read_are_loaded_or_quarantined(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        broken = con.execute(
            "select source_uri, rows_read, rows_loaded, rows_quarantined"
            " from compliance.load_manifest"
            " where rows_read is distinct from rows_loaded + rows_quarantined"
        ).fetchall()
        quarantined = con.execute(
            "select (select sum(rows_quarantined) from compliance.load_manifest),"
            " (select count(*) from compliance.quarantine)"
        ).fetchone()

    assert broken == []
    assert quarantined is not None and quarantined[0] == quarantined[1]


def test_every_source_has_a_raw_table_and_calls_landed(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        raw_tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        calls = con.execute("select count(*) from raw.calls").fetchone()

    # Registry sources share the raw registry table(s); the others have their own.
    assert set(assets.CALL_SOURCES + assets.EXPORT_SOURCES) <= raw_tables
    assert any(name.startswith("registry") for name in raw_tables)
    assert calls is not None and calls[0] > 0


def test_quarantine_explains_each_row(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        rows = con.execute(
            "select source_uri, line_number, raw_text, reason from compliance.quarantine"
        ).fetchall()

    assert rows, "the generator plants malformed rows; none were quarantined"
    assert all(source_uri and reason for source_uri, _, _, reason in rows)


def test_second_run_changes_nothing(tmp: Path, first_run: dict[str, Any]) -> None:
    landing, warehouse = first_run["landing"], first_run["warehouse"]
    before = snapshot(warehouse)
    started = time.monotonic()
    cli(tmp, "run", "--landing", str(landing), "--warehouse", str(warehouse))
    print(f"\nsecond run: {time.monotonic() - started:.1f} s")
    after = snapshot(warehouse)

    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"{table} changed on a re-run"


def test_run_dag_passes_conf_and_raises_when_a_task_fails(tmp_path: Path) -> None:
    """A failing task makes ``run_dag`` raise ``DagRunFailed`` naming task and error."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "vc_probe.py").write_text(PROBE_DAGS)
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "echo.json",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
    )
    ensure_airflow(settings)
    started = time.monotonic()
    ensure_airflow(settings)
    assert time.monotonic() - started < 1, "ensure_airflow is not a no-op when already done"

    run_dag("vc_probe_ok", settings, dags_folder=dags)
    echoed = (tmp_path / "echo.json").read_text()
    assert str(tmp_path / "landing") in echoed
    assert str(tmp_path / "data") in echoed

    with pytest.raises(DagRunFailed) as failed:
        run_dag("vc_probe_fail", settings, dags_folder=dags)
    assert failed.value.dag_id == "vc_probe_fail"
    assert failed.value.reason == "task boom: ValueError: boom from the probe"
    assert failed.value.log_path.is_file()
    assert failed.value.log_path.parent == settings.data_dir / "logs"
