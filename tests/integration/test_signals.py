"""Stopping ``python -m voice_compliance run`` mid-way, and two runs at once.

Real CLI processes on a small generated landing zone, nothing mocked:

- a clean run (``clean``) starts first and, while it holds the warehouse's
  run lock, a second run on the same warehouse starts and must give up with
  one clear line (``VC_RUN_LOCK_TIMEOUT`` is short for it);
- meanwhile, on a second warehouse of the same landing zone (``victim``), a
  run is stopped with SIGTERM during ingestion, the next with SIGTERM while
  ``dbt build`` (a grandchild of the CLI) writes the warehouse, the next
  with SIGKILL during ingestion. Each time: the exit code, the one-line
  message, and no process of the run left behind. Then a run to completion
  must give the clean run's outputs (manifest, violations, tickets).

The clean run goes on in the background while the victim is stopped and
re-run, so the module costs about one full run plus one re-run of wall time.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from pipeline_fixture import PIPELINE_SEED, child_env, cli
from voice_compliance import airflow_runner, warehouse
from voice_compliance.config import REPO_ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

CALLS = 100
"""Background calls: the generator's planted scenarios add the bulk anyway."""
RUN_TIMEOUT_S = 900
RESUME_HINT = "re-run to resume — loads are idempotent"


@dataclass
class Run:
    """One ``python -m voice_compliance run`` started in the background."""

    home: Path
    warehouse: Path
    landing: Path
    env: dict[str, str]
    process: subprocess.Popen[str] = field(init=False)
    started: float = field(init=False)

    def start(self, **extra_env: str) -> Run:
        self.stderr_path = self.home / f"run-{time.monotonic_ns()}.err"
        self.stdout_path = self.stderr_path.with_suffix(".out")
        self.started = time.time()
        with self.stderr_path.open("w") as err, self.stdout_path.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "voice_compliance",
                    "run",
                    "--landing",
                    str(self.landing),
                    "--warehouse",
                    str(self.warehouse),
                ],
                env={**self.env, **extra_env},
                cwd=REPO_ROOT,
                stdout=out,
                stderr=err,
                text=True,
            )
        return self

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout)

    def newest_log(self, name: str) -> str:
        """This run's newest log named ``name`` ('' until it exists): ``pipeline``
        for ``run``'s DAGs (one log for the sequence), else a DAG id."""
        logs = [
            p
            for p in (self.home / "data" / "logs").glob(f"{name}.*.log")
            if p.stat().st_mtime >= self.started
        ]
        return max(logs, key=lambda p: p.stat().st_mtime).read_text() if logs else ""

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, f"the run ended before {what}:\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.stderr}"
            time.sleep(0.2)

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


def runs(program: str, processes: list[psutil.Process]) -> bool:
    """True when one of ``processes`` runs ``program`` (by its executable's name)."""
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            if any(Path(arg).name == program for arg in proc.cmdline()[:3]):
                return True
    return False


def runs_dbt(processes: list[psutil.Process]) -> bool:
    return runs("dbt", processes)


def runs_airflow(processes: list[psutil.Process]) -> bool:
    """True when one of ``processes`` is Airflow running the pipeline's DAGs.

    ``run`` runs them in one interpreter (``airflow_runner._SEQUENCE_SCRIPT``);
    ``airflow`` itself where a command runs the binary.
    """
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            if proc.cmdline()[1:3] == ["-c", airflow_runner._SEQUENCE_SCRIPT]:
                return True
    return runs("airflow", processes)


def alive(processes: list[psutil.Process]) -> list[str]:
    """Those still running (a zombie waiting for init to reap it is dead)."""
    left = []
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
    return left


def none_left(processes: list[psutil.Process], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def outputs(path: Path) -> dict[str, Any]:
    """What a run must reproduce: manifest (without load times), violations,
    tickets (without times and URLs), raw row counts."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        raw = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'raw' order by 1"
            ).fetchall()
        ]
        return {
            "load_manifest": con.execute(
                "select * exclude (loaded_at) from compliance.load_manifest order by all"
            ).fetchall(),
            "policy_violations": con.execute(
                "select * from compliance.policy_violations order by all"
            ).fetchall(),
            "tickets": con.execute(
                "select fingerprint, clause_id, account_sid, month, status, violation_count,"
                " example_subjects, reopen_count from compliance.tickets order by all"
            ).fetchall(),
            "raw_rows": {t: con.execute(f"select count(*) from raw.{t}").fetchone() for t in raw},
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The landing zone both warehouses load."""
    tmp = tmp_path_factory.mktemp("signals")
    landing = tmp / "landing"
    cli(tmp, "generate", "--out", str(landing), "--seed", str(PIPELINE_SEED), "--calls", str(CALLS))
    return landing


def new_run(landing: Path, name: str) -> Run:
    home = landing.parent / name
    home.mkdir()
    return Run(home, home / "wh.duckdb", landing, child_env(home))


@pytest.fixture(scope="module")
def clean(zone: Path) -> Iterator[dict[str, Any]]:
    """The clean run, started in the background, contested by a second run."""
    first = new_run(zone, "clean").start()
    lock = warehouse.lock_path(first.warehouse)
    first.wait_until(
        "the run lock",
        lambda: (
            lock.exists() and warehouse.lock_holder(lock).startswith(f"pid {first.process.pid},")
        ),
        timeout=120,
    )
    # Same warehouse, same data folder and Airflow home: a second run at once.
    second = Run(first.home, first.warehouse, zone, first.env).start(VC_RUN_LOCK_TIMEOUT="2")
    second_code = second.wait(timeout=120)
    yield {"first": first, "second": second, "second_code": second_code}
    if first.process.poll() is None:
        first.process.terminate()
        first.wait(timeout=60)


@pytest.fixture(scope="module")
def victim(zone: Path) -> Run:
    """The warehouse that gets stopped and re-run (the tests below use it in turn)."""
    return new_run(zone, "victim")


def stop(run: Run, signum: int) -> tuple[int, list[psutil.Process], bool]:
    """Send ``signum`` to the CLI; return its exit code, the processes it had
    and whether one of them was ``dbt``."""
    family = run.descendants()
    assert family, "the run had no child process to stop"
    had_dbt = runs_dbt(family)
    run.process.send_signal(signum)
    return run.wait(timeout=120), family, had_dbt


def test_a_second_run_at_once_fails_clearly_and_leaves_the_first_alone(
    clean: dict[str, Any],
) -> None:
    first, second = clean["first"], clean["second"]
    err = second.stderr

    assert clean["second_code"] == 1, err
    assert (
        f"warehouse {first.warehouse} is in use by another run (pid {first.process.pid}, started"
        in err
    )
    assert "waiting up to 2s" in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "still in use by another run" in errors[0], err
    assert "Traceback" not in err
    assert first.process.poll() is None, "the first run did not survive the second"


def test_sigterm_during_ingestion(victim: Run) -> None:
    run = victim.start()
    run.wait_until(
        "ingestion writing the warehouse",
        lambda: (
            "starting task_id=load_calls" in run.newest_log("pipeline")
            and run.warehouse.exists()
        ),
    )

    code, family, _ = stop(run, signal.SIGTERM)

    assert code == 128 + signal.SIGTERM
    lines = [line for line in run.stderr.splitlines() if line.startswith("stopped by")]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("stopped by SIGTERM: airflow dags test vc_ingest_calls (pid ")
    assert lines[0].endswith(RESUME_HINT)
    assert alive(family) == []  # the CLI waited for them before exiting
    assert "[stopped (Stopped): SIGTERM" in run.newest_log("pipeline")


def test_sigterm_while_dbt_writes_the_warehouse(victim: Run) -> None:
    run = victim.start()
    run.wait_until(
        "dbt build running",
        lambda: "dbt | " in run.newest_log("pipeline") and runs_dbt(run.descendants()),
    )

    code, family, had_dbt = stop(run, signal.SIGTERM)

    assert code == 128 + signal.SIGTERM
    assert "stopped by SIGTERM: airflow dags test vc_transform (pid " in run.stderr
    assert had_dbt
    assert alive(family) == []


def test_sigkill_mid_run_takes_the_children_along(victim: Run) -> None:
    run = victim.start()
    # As soon as `airflow dags test vc_ingest_calls` runs under its guardian
    # (the guardian's grandchildren are in test_airflow_runner.py).
    run.wait_until(
        "airflow dags test running",
        lambda: "airflow ready" in run.stderr and runs_airflow(run.descendants()),
    )

    code, family, _ = stop(run, signal.SIGKILL)

    assert code == -signal.SIGKILL
    assert none_left(family, timeout=10) == []
    # The kernel dropped the dead run's lock: it can be taken at once.
    with warehouse.run_lock(run.warehouse, 0):
        pass


def test_a_rerun_after_the_stops_gives_the_clean_outputs(
    victim: Run, clean: dict[str, Any]
) -> None:
    run = victim.start()
    assert run.wait() == 0, run.stderr[-5000:]
    first = clean["first"]
    assert first.wait() == 0, first.stderr[-5000:]

    got, want = outputs(run.warehouse), outputs(first.warehouse)

    assert got["raw_rows"] == want["raw_rows"]
    assert got["load_manifest"] == want["load_manifest"]
    assert got["policy_violations"] == want["policy_violations"]
    assert len(got["tickets"]) == len(want["tickets"]) > 0
    assert got["tickets"] == want["tickets"]
