"""Airflow's own task logger (structlog, configured as in a task process) is masked
once a DAG file imports ``dag_support``, including loggers bound before that."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

FULL_NUMBER = re.compile(r"\d{7,}")

_AIRFLOW_TASK_PROCESS = textwrap.dedent(
    """
    import io, logging, structlog
    from airflow._shared.logging.structlog import configure_logging

    out = io.BytesIO()
    configure_logging(json_output=True, output=out, log_level="INFO")  # as a task process
    task_log = structlog.get_logger("task")
    task_log.info("bound before the DAG file is parsed")
    import voice_compliance.dag_support  # what every DAG file imports

    try:
        raise ValueError("cannot load calls/export_+14155550199.csv")
    except ValueError:
        task_log.exception("Task failed with exception")
        logging.getLogger("voice_compliance.loading.loader").exception("loaded %s", "x+14155550198")
    print(out.getvalue().decode())
    """
)


def test_airflow_task_logs_are_masked_once_a_dag_file_imports_dag_support(tmp_path: Path) -> None:
    # Arrange: a separate process, so Airflow's logging setup stays out of this one
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "plugins"),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }

    # Act
    done = subprocess.run(
        [sys.executable, "-c", _AIRFLOW_TASK_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Assert
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    failed = next(line for line in lines if line["event"] == "Task failed with exception")
    assert failed["exception"][0]["exc_value"] == "cannot load calls/export_***0199.csv"
    assert any(line["event"] == "loaded x***0198" for line in lines)
    assert FULL_NUMBER.search(done.stdout) is None
