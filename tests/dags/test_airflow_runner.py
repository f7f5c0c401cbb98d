"""The pieces that run our DAGs through Airflow, without running Airflow."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

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
