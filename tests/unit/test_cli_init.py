"""``init --manifest-only`` writes the dbt manifest vc_transform is built from,
and touches no Airflow home: what an existing Airflow's image build runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voice_compliance.config import REPO_ROOT

pytestmark = pytest.mark.quick


def test_init_manifest_only_writes_the_manifest_and_no_airflow_home(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(
        REPO_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs")
    )
    airflow_home = tmp_path / "airflow"
    env = {
        **os.environ,
        "VC_DBT_PROJECT_DIR": str(project),
        "VC_AIRFLOW_HOME": str(airflow_home),
        "VC_DATA_DIR": str(tmp_path / "data"),
    }

    done = subprocess.run(
        [sys.executable, "-m", "voice_compliance", "init", "--manifest-only"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert "model.voice_compliance.clause_dnc__registry" in manifest["nodes"]
    assert not airflow_home.exists()
