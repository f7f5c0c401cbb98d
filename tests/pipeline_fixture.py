"""The whole pipeline once per test session: ``python -m voice_compliance
generate`` then ``run`` (every DAG through Airflow) on a small generated
landing zone, in a temporary folder.

``tests/conftest.py`` star-imports this module. The end-to-end tests
(``tests/integration/test_run_airflow.py``) and the browser tests
(``tests/browser``) read the same run, so the five DAGs run once, not per
module. Tests that change the landing zone or re-run the pipeline live only
in ``test_run_airflow.py`` and run after every reader.

Under pytest-xdist the modules that read ``pipeline_run``
(``PIPELINE_MODULES``) run as one unit, on one worker, in this order
(``tests/scheduling.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voice_compliance.config import REPO_ROOT

__all__ = [
    "PIPELINE_CALLS",
    "PIPELINE_MODULES",
    "PIPELINE_SEED",
    "child_env",
    "cli",
    "pipeline_run",
]

PIPELINE_CALLS = 3000
PIPELINE_SEED = 7
RUN_TIMEOUT_S = 1800
PIPELINE_MODULES = frozenset(
    {
        "tests/browser/test_docs_sites.py",
        "tests/integration/test_progress_output.py",
        "tests/integration/test_run_airflow.py",
    }
)
"""The modules whose tests read ``pipeline_run`` (paths from the repository root)."""


def child_env(tmp: Path) -> dict[str, str]:
    """This environment, minus the developer's pipeline settings, isolated in ``tmp``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VC_", "AIRFLOW")) and not k.lower().endswith("_proxy")
    }
    env["VC_DATA_DIR"] = str(tmp / "data")
    env["VC_AIRFLOW_HOME"] = str(tmp / "airflow")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT / "plugins"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def cli(
    tmp: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m voice_compliance <args>`` in the isolated environment."""
    completed = subprocess.run(
        [sys.executable, "-m", "voice_compliance", *args],
        env=env or child_env(tmp),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, f"{args[0]} failed:\n{completed.stderr[-5000:]}"
    return completed


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Generate a small landing zone and run the whole pipeline on it once."""
    tmp = tmp_path_factory.mktemp("pipeline")
    landing, warehouse = tmp / "landing", tmp / "wh.duckdb"
    cli(
        tmp,
        "generate",
        "--out",
        str(landing),
        "--seed",
        str(PIPELINE_SEED),
        "--calls",
        str(PIPELINE_CALLS),
    )
    started = time.monotonic()
    run = cli(tmp, "run", "--landing", str(landing), "--warehouse", str(warehouse))
    print(f"\nfirst run: {time.monotonic() - started:.1f} s\n{run.stderr}")
    yield {
        "tmp": tmp,
        "landing": landing,
        "warehouse": warehouse,
        "data_dir": tmp / "data",
        "stdout": run.stdout,
    }
