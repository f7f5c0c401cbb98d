"""The pieces that run our DAGs through Airflow, without running Airflow."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from voice_compliance import airflow_runner, cli
from voice_compliance.airflow_runner import (
    DAGS_FOLDER,
    INGESTION_DAGS,
    PACKAGE_PATH,
    PIPELINE_DAGS,
    DagRunFailed,
    _failure_reason,
    airflow_env,
)
from voice_compliance.config import Settings

pytestmark = pytest.mark.quick


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
    )


def test_airflow_env_points_airflow_at_our_folders(settings: Settings) -> None:
    env = airflow_env(settings, base={"PATH": "/usr/bin", "PYTHONPATH": "/elsewhere"})

    home = settings.airflow_home.resolve()
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_FOLDER)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["PYTHONPATH"].split(os.pathsep) == [str(PACKAGE_PATH), "/elsewhere"]
    assert env["PATH"].split(os.pathsep)[0] == str(airflow_runner.VENV_BIN)
    # The plugin manager must not execute our package's modules.
    assert Path(env["AIRFLOW__CORE__PLUGINS_FOLDER"]) != PACKAGE_PATH


def test_airflow_env_carries_the_settings(settings: Settings) -> None:
    env = airflow_env(settings, base={})

    for key, value in settings.to_env().items():
        assert env[key] == value


def test_pipeline_starts_with_ingestion_in_order() -> None:
    assert PIPELINE_DAGS[: len(INGESTION_DAGS)] == (
        "vc_ingest_calls",
        "vc_ingest_exports",
        "vc_ingest_registries",
    )


def test_failure_reason_names_task_and_exception() -> None:
    log = "\n".join(
        [
            "T00Z [error] Task failed with exception [task]",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in <module>',
            "ValueError: first try",
            "T01Z [info] [DAG TEST] end task task_id=load_consent map_index=-1",
            "T02Z [error] Task failed with exception [task]",
            "voice_compliance.loading.LoadError: bad header in consent/a.csv",
            "T03Z [info] [DAG TEST] end task task_id=load_consent map_index=-1",
            "DagRun failed",
        ]
    )

    assert _failure_reason(log) == (
        "task load_consent: voice_compliance.loading.LoadError: bad header in consent/a.csv"
    )


def test_failure_reason_falls_back_to_the_last_error_record() -> None:
    log = (
        "T0 [error    ] Database migration required. Please run `airflow db migrate`."
        " [airflow.utils.db] loc=db.py:997\n"
    )

    assert _failure_reason(log) == "Database migration required. Please run `airflow db migrate`."


def test_failure_reason_without_details() -> None:
    assert _failure_reason("DagRun failed\n") == "see the log"


def test_cli_parses_run_arguments() -> None:
    args = cli.build_parser().parse_args(
        ["run", "--landing", "s3://bucket/prefix", "--warehouse", "w.duckdb"]
    )

    assert args.func is cli.cmd_run
    assert (args.landing, args.warehouse) == ("s3://bucket/prefix", "w.duckdb")


def test_cli_reports_a_failed_dag_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log_path = tmp_path / "vc_ingest_calls.log"

    def failing_run(args: argparse.Namespace) -> int:
        raise DagRunFailed("vc_ingest_calls", log_path, "tail", "task load_calls: OSError: disk")

    monkeypatch.setattr(cli, "cmd_run", failing_run)

    assert cli.main(["run"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: DAG vc_ingest_calls failed: task load_calls: OSError: disk; log: {log_path}"
    ]


def test_cli_reports_unexpected_errors_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise FileNotFoundError("no such landing folder: /nope")

    monkeypatch.setattr(cli, "cmd_summary", broken)
    monkeypatch.delenv("VC_DEBUG", raising=False)

    assert cli.main(["summary"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: FileNotFoundError: no such landing folder: /nope")
    assert "Traceback" not in err


# A child that starts a grandchild (the way vc_transform starts ``dbt build``),
# writes both pids to argv[1] and sleeps. With "stubborn" in argv[2], both
# ignore SIGTERM and the grandchild leaves the process group (setsid).
FAMILY = """
import os, signal, subprocess, sys, time
stubborn = sys.argv[2] == "stubborn"
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
sleeper = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
grandchild = subprocess.Popen(
    [sys.executable, "-c", sleeper if stubborn else "import time; time.sleep(120)"],
    start_new_session=stubborn,
)
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(f"{os.getpid()} {grandchild.pid}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
"""

# Plays the CLI: runs FAMILY through the runner, which the test then SIGKILLs.
FAKE_CLI = """
import sys
from pathlib import Path
from voice_compliance import airflow_runner
command = [sys.executable, "-c", sys.argv[1], sys.argv[2], "meek"]
airflow_runner._run_logged(command, {}, Path(sys.argv[3]), "probe", 5.0)
"""


def wait_for_pids(path: Path, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the probe family did not start"
        time.sleep(0.05)
    return [int(pid) for pid in path.read_text().split()]


def all_gone(pids: list[int], timeout: float) -> bool:
    """True once none of ``pids`` runs (zombies waiting for init count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.05)


def test_a_sigkilled_cli_takes_its_children_and_grandchildren_along(tmp_path: Path) -> None:
    """The guardian: nothing the runner started outlives the CLI, even on SIGKILL."""
    pids_file = tmp_path / "pids"
    cli_process = subprocess.Popen(
        [sys.executable, "-c", FAKE_CLI, FAMILY, str(pids_file), str(tmp_path / "probe.log")],
        env={**os.environ, "PYTHONPATH": str(PACKAGE_PATH)},
    )
    try:
        family = wait_for_pids(pids_file)
        guardian = psutil.Process(cli_process.pid).children()
        assert len(guardian) == 1 and "voice_compliance guardian" in " ".join(guardian[0].cmdline())
        assert os.getpgid(family[1]) == guardian[0].pid  # own session, led by the guardian
    finally:
        cli_process.kill()
        cli_process.wait()

    assert all_gone([guardian[0].pid, *family], timeout=10)


def test_stop_process_tree_escalates_to_sigkill(tmp_path: Path) -> None:
    """Children that ignore SIGTERM, one outside the process group, are SIGKILLed
    after the grace period, and the stop waits for them."""
    pids_file = tmp_path / "pids"
    with (tmp_path / "probe.log").open("w") as log:
        process = airflow_runner._start(
            [sys.executable, "-c", FAMILY, str(pids_file), "stubborn"], dict(os.environ), log
        )
        family = wait_for_pids(pids_file)
        started = time.monotonic()
        how = airflow_runner.stop_process_tree(process, grace=0.5)

    assert "SIGKILL after 0.5 s" in how
    assert time.monotonic() - started < 10
    assert process.returncode is not None
    assert all_gone(family, timeout=2)


def test_stop_process_tree_lets_a_child_exit_on_sigterm(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    with (tmp_path / "probe.log").open("w") as log:
        process = airflow_runner._start(
            [sys.executable, "-c", FAMILY, str(pids_file), "meek"], dict(os.environ), log
        )
        family = wait_for_pids(pids_file)
        how = airflow_runner.stop_process_tree(process, grace=10)

    assert how.startswith("SIGTERM; the process tree exited in")
    assert all_gone(family, timeout=2)
