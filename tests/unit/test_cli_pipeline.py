"""``run`` and ``demo`` prepare what the DAGs need before running them."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from voice_compliance import cli
from voice_compliance.config import REPO_ROOT, Settings


@pytest.mark.parametrize("manifest_there", [False, True])
def test_a_missing_project_manifest_is_written_before_the_dags_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest_there: bool
) -> None:
    # `make clean` removes dbt_project/target; vc_transform is built from its
    # manifest and could not be found in the middle of the run.
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target"))
    if manifest_there:
        (project / "target").mkdir()
        (project / "target" / "manifest.json").write_text("{}")
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
        paths={"dbt_project_dir": project},
    )
    order: list[str] = []
    monkeypatch.setattr(cli, "ensure_airflow", lambda s: order.append("airflow"))
    monkeypatch.setattr(cli, "dbt_parse_project", lambda s: order.append("parse"))

    def run_dags(runs: list[Any], s: Settings, on_progress: Any = None) -> Any:
        order.append("dags")
        return SimpleNamespace(log_path=tmp_path / "run.log")

    monkeypatch.setattr(cli, "run_dags", run_dags)

    cli._run_pipeline(settings)

    assert order == (["airflow", "dags"] if manifest_there else ["airflow", "parse", "dags"])
