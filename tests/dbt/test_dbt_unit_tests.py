"""dbt's unit tests: every one runs, and passes, here.

The pipeline's ``dbt build`` leaves unit tests out (they check the SQL
against fixed inputs, not the data: decision 0022), so this is where they
run. dbt needs the models' parents to exist to learn their columns: an
empty raw layer (every loader on an empty landing zone) and ``dbt build
--empty`` give it that in seconds.
"""

from __future__ import annotations

import json

import pytest

from voice_compliance import dbt_runner, ingest
from voice_compliance.config import Settings

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A warehouse with every raw table and every model, all empty."""
    root = tmp_path_factory.mktemp("unit_tests")
    landing = root / "landing"
    landing.mkdir()
    settings = Settings.from_env(
        landing=str(landing), warehouse=str(root / "wh.duckdb"), data_dir=root / "data"
    )
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    dbt_runner.run_dbt(settings, ["build", "--empty", "--exclude-resource-type", "test"])
    return settings


def _run_results(settings: Settings) -> list[dict[str, str]]:
    run = json.loads((dbt_runner.target_dir(settings) / "run_results.json").read_text())
    return list(run["results"])


def _unit_tests_run(settings: Settings) -> set[str]:
    return {r["unique_id"] for r in _run_results(settings) if r["unique_id"].startswith("unit_")}


def test_every_unit_test_of_the_project_passes(empty_project: Settings) -> None:
    manifest = json.loads(dbt_runner.manifest_path(empty_project).read_text())
    declared = set(manifest["unit_tests"])
    assert len(declared) >= 40

    result = dbt_runner.run_dbt(empty_project, ["test", "--select", "test_type:unit"])

    passed = {r["unique_id"] for r in _run_results(empty_project) if r["status"] == "pass"}
    assert passed == declared, sorted(declared - passed)[:5]
    assert result.statuses.get("pass") == len(declared)
    assert not {"fail", "error"} & set(result.statuses)


def test_the_pipeline_build_leaves_unit_tests_out_unless_asked(empty_project: Settings) -> None:
    model = "clause_unanswered__volume"

    dbt_runner.dbt_build(empty_project, select=model)
    assert _unit_tests_run(empty_project) == set()

    dbt_runner.dbt_build(empty_project, select=model, unit_tests=True)
    ran = _unit_tests_run(empty_project)
    assert ran and all(u.startswith(f"unit_test.voice_compliance.{model}.") for u in ran)
