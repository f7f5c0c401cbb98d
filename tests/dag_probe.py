"""Parse ``dags/`` in a fresh Airflow and report what it saw.

Airflow reads its configuration when it is first imported, so the DagBag is
loaded in a child process whose environment (``airflow_env``) points at the
given settings' temporary folders; the child prints a JSON report (its last
line), written by the calling test module's probe script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from voice_compliance.airflow_runner import DAGS_FOLDER, WRITER_POOL, airflow_env
from voice_compliance.config import Settings

__all__ = ["parse_dags", "parse_dags_in"]


def parse_dags(probe: str, settings: Settings) -> dict[str, Any]:
    """Run ``probe`` (argv: the DAGs folder, the writer pool) and return its JSON report."""
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(DAGS_FOLDER), WRITER_POOL],
        env=airflow_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def parse_dags_in(probe: str, tmp: Path) -> dict[str, Any]:
    """:func:`parse_dags` with the landing zone, data, warehouse and Airflow home under ``tmp``."""
    settings = Settings(
        landing=str(tmp / "landing"),
        warehouse=tmp / "data" / "warehouse.duckdb",
        data_dir=tmp / "data",
        airflow_home=tmp / "airflow",
    )
    return parse_dags(probe, settings)
