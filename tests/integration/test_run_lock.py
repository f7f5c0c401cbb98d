"""The warehouse's run lock and DuckDB's file lock, with real processes.

A helper process holds ``<warehouse>.lock`` (``warehouse.run_lock``) the
way a ``run`` does; the CLI started next to it must wait, say for whom, and
give up after ``VC_RUN_LOCK_TIMEOUT`` with one clear line, or go on as soon
as the holder is gone, even when the holder was SIGKILLed (the kernel drops
an ``flock`` with its process: no stale lock). Two whole pipeline runs at
once are in ``test_signals.py`` (they share its clean run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_fixture import child_env
from voice_compliance import warehouse
from voice_compliance.config import REPO_ROOT, Settings

pytestmark = pytest.mark.quick

HOLD_RUN_LOCK = """
import sys, time
from voice_compliance.warehouse import run_lock
with run_lock(sys.argv[1], 0):
    print("held", flush=True)
    time.sleep(120)
"""

HOLD_DUCKDB = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""


def hold(script: str, path: Path) -> subprocess.Popen[str]:
    """Start a helper that holds ``path`` until killed; return once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "plugins")},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "wh.duckdb"
    with warehouse.connect(path) as con:
        con.execute("create table raw.t as select 1 as x")
    yield path


def start_cli(tmp: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voice_compliance", *args],
        env={**child_env(tmp), **env},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_run_waits_then_fails_clearly(wh: Path, tmp_path: Path) -> None:
    holder = hold(HOLD_RUN_LOCK, wh)
    try:
        started = time.monotonic()
        run = start_cli(
            tmp_path,
            "run",
            "--landing",
            str(tmp_path),
            "--warehouse",
            str(wh),
            VC_RUN_LOCK_TIMEOUT="1.5",
        )
        _out, err = run.communicate(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()

    assert run.returncode == 1, err
    assert 1.5 <= elapsed < 30
    assert f"warehouse {wh} is in use by another run (pid {holder.pid}, started " in err, err
    assert "waiting up to 1.5s" in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert (
        errors
        == [line for line in errors if f"pid {holder.pid}" in line and "still in use" in line]
        and len(errors) == 1
    ), err
    assert "Traceback" not in err
    # It gave up before touching anything: no Airflow home, no log.
    assert not (tmp_path / "airflow").exists()


def test_the_lock_of_a_sigkilled_holder_is_free_at_once(wh: Path, tmp_path: Path) -> None:
    """A waiting command goes on as soon as the holder dies, SIGKILL included."""
    holder = hold(HOLD_RUN_LOCK, wh)
    verify = start_cli(
        tmp_path, "verify-warehouse", "--warehouse", str(wh), VC_RUN_LOCK_TIMEOUT="60"
    )
    assert verify.stderr is not None
    waiting = verify.stderr.readline()
    assert f"is in use by another run (pid {holder.pid}" in waiting
    assert "waiting up to 60s" in waiting
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    out, err = verify.communicate(timeout=60)

    assert verify.returncode == 0, err
    assert "raw.t" in out and "passed its checksum" in out
    # And the lock can be taken again right away, without waiting.
    with warehouse.run_lock(wh, 0):
        pass


def test_sigterm_while_waiting_for_the_lock(wh: Path, tmp_path: Path) -> None:
    holder = hold(HOLD_RUN_LOCK, wh)
    try:
        run = start_cli(
            tmp_path,
            "run",
            "--landing",
            str(tmp_path),
            "--warehouse",
            str(wh),
            VC_RUN_LOCK_TIMEOUT="60",
        )
        assert run.stderr is not None
        assert "is in use by another run" in run.stderr.readline()
        run.send_signal(signal.SIGTERM)
        _out, err = run.communicate(timeout=30)
    finally:
        holder.kill()
        holder.wait()

    assert run.returncode == 128 + signal.SIGTERM
    assert f"stopped by SIGTERM: waiting for the run lock of {wh}; re-run to resume" in err


def test_open_warehouse_names_the_process_holding_duckdbs_lock(wh: Path) -> None:
    holder = hold(HOLD_DUCKDB, wh)
    settings = Settings(
        landing="unused",
        warehouse=wh,
        data_dir=wh.parent / "data",
        airflow_home=wh.parent / "airflow",
        warehouse_open_timeout=0.5,
    )
    try:
        started = time.monotonic()
        with (
            pytest.raises(warehouse.WarehouseBusy) as raised,
            warehouse.open_warehouse(settings, read_only=True),
        ):
            pass
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()

    message = str(raised.value)
    assert f"warehouse {wh} is locked by another process (pid {holder.pid}" in message
    assert "tried for 0.5 s" in message
    assert 0.3 <= elapsed < 10
    # Once the holder is gone, the same call opens the file.
    with warehouse.open_warehouse(settings, read_only=True) as con:
        assert con.execute("select x from raw.t").fetchall() == [(1,)]
