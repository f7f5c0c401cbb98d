"""``vc_transform``: what Airflow parses with and without the dbt manifest, and
one run through ``airflow dags test``.

As in ``test_dagbag``, the DagBag is loaded in a child process whose
environment (``airflow_env``) points at a temporary data folder; the child
reports what it parsed as JSON. The manifest comes from a real ``dbt parse``
of the project (tests marked ``dbt``).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dag_probe import parse_dags
from voice_compliance import assets, dbt_runner
from voice_compliance.airflow_runner import (
    INGESTION_DAGS,
    PIPELINE_DAGS,
    WRITER_POOL,
    DagRunFailed,
    ensure_airflow,
    run_dag,
)
from voice_compliance.config import Settings

DAG_ID = "vc_transform"

PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag

started = time.monotonic()
bag = DagBag(dag_folder=sys.argv[1], known_pools={"default_pool", sys.argv[2]})
elapsed = time.monotonic() - started
dag = bag.dags.get("vc_transform")
report = {
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "warnings": {str(k): list(v) for k, v in bag.captured_warnings.items()},
    "parse_seconds": elapsed,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in {"dbt", "duckdb", "pandas"}),
}
if dag is not None:
    report["dag"] = {
        "doc_md": dag.doc_md,
        "tags": sorted(dag.tags),
        "schedule": sorted(a.name for a in dag.schedule),
        "params": sorted(dag.params.keys()),
        "max_active_runs": dag.max_active_runs,
        "catchup": dag.catchup,
        "tasks": {
            t.task_id: {
                "type": type(t).__name__,
                "pool": t.pool,
                "retries": t.retries,
                "outlets": [getattr(o, "name", None) for o in t.outlets],
                "upstream": sorted(t.upstream_task_ids),
                "downstream": sorted(t.downstream_task_ids),
                "select": getattr(t, "select", None),
                "env": getattr(t, "env", None),
                "vars": getattr(t, "vars", None),
            }
            for t in dag.tasks
        },
    }
print(json.dumps(report, default=str))
"""


def make_settings(tmp: Path) -> Settings:
    return Settings(
        landing=str(tmp / "landing"),
        warehouse=tmp / "wh.duckdb",
        data_dir=tmp / "data",
        airflow_home=tmp / "airflow",
    )


@pytest.fixture(scope="module")
def without_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return parse_dags(PROBE, make_settings(tmp_path_factory.mktemp("no_manifest")))


@pytest.fixture(scope="module")
def with_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Parse after a real ``dbt parse``; also return the manifest it rendered from."""
    settings = make_settings(tmp_path_factory.mktemp("manifest"))
    manifest = json.loads(dbt_runner.dbt_parse(settings).read_text())
    return {**parse_dags(PROBE, settings), "manifest": manifest}


# --- no manifest yet: the single-task fallback --------------------------------


@pytest.mark.quick
def test_transform_runs_right_after_ingestion() -> None:
    assert PIPELINE_DAGS.index(DAG_ID) == len(INGESTION_DAGS)


@pytest.mark.quick
def test_without_manifest_one_dbt_build_task(without_manifest: dict[str, Any]) -> None:
    assert without_manifest["import_errors"] == {}
    assert without_manifest["warnings"] == {}
    dag = without_manifest["dag"]
    assert set(dag["tasks"]) == {"dbt_build", "dbt_docs_generate"}
    assert dag["tasks"]["dbt_docs_generate"]["upstream"] == ["dbt_build"]
    assert "**Manifest now**: none at" in dag["doc_md"]


@pytest.mark.quick
def test_dag_settings(without_manifest: dict[str, Any]) -> None:
    dag = without_manifest["dag"]
    assert {"voice-compliance", "transformation"} <= set(dag["tags"])
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["params"] == ["warehouse"]
    expected = sorted(a.name for a in assets.INGESTION_ASSETS)
    assert dag["schedule"] == expected
    assert "raw.registry_us_national" in expected and "raw.calls" in expected


@pytest.mark.quick
def test_docs_task_emits_the_marts_asset(without_manifest: dict[str, Any]) -> None:
    tasks = without_manifest["dag"]["tasks"]
    assert tasks["dbt_docs_generate"]["outlets"] == [assets.MARTS_ASSET.name]
    assert all(t["outlets"] == [] for name, t in tasks.items() if name != "dbt_docs_generate")
    assert assets.MARTS_ASSET.uri == "x-voice-compliance://warehouse/marts/compliance"


@pytest.mark.quick
def test_parsing_imports_no_dbt(without_manifest: dict[str, Any]) -> None:
    assert without_manifest["modules"] == []


# --- with the manifest: one Cosmos task per dbt node ---------------------------


def rendered_nodes(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Models and seeds of our project, by name."""
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] in {"model", "seed", "snapshot"}
        and node["package_name"] == "voice_compliance"
        and node["config"].get("materialized") != "ephemeral"
    }


@pytest.mark.dbt
def test_manifest_parse_is_clean_and_fast(with_manifest: dict[str, Any]) -> None:
    assert with_manifest["import_errors"] == {}
    assert with_manifest["warnings"] == {}
    assert with_manifest["modules"] == [], "parsing the DAG imported dbt, duckdb or pandas"
    # Generous: the machine is shared; dbt ls at parse time would take much longer.
    assert with_manifest["parse_seconds"] < 20
    assert "up to date" in with_manifest["dag"]["doc_md"]


@pytest.mark.dbt
def test_one_build_task_per_model_and_seed(with_manifest: dict[str, Any]) -> None:
    tasks = with_manifest["dag"]["tasks"]
    nodes = rendered_nodes(with_manifest["manifest"])

    assert nodes, "the project has no models"
    for name, node in nodes.items():
        task = tasks[f"dbt.{name}_{node['resource_type']}_build"]
        assert task["type"] == "DbtBuildLocalOperator"
        assert task["select"] == f"fqn:{'.'.join(node['fqn'])}"
    assert "dbt_build" not in tasks


@pytest.mark.dbt
def test_every_task_in_the_writer_pool_with_retries(with_manifest: dict[str, Any]) -> None:
    for task_id, task in with_manifest["dag"]["tasks"].items():
        assert task["pool"] == WRITER_POOL, task_id
        assert task["retries"] >= 1, task_id


@pytest.mark.dbt
def test_dbt_tasks_get_policy_vars_and_warehouse(with_manifest: dict[str, Any]) -> None:
    from voice_compliance.policy import policy_vars

    for task_id, task in with_manifest["dag"]["tasks"].items():
        if task["type"].startswith("Dbt"):
            assert task["vars"] == policy_vars(), task_id
            assert task["env"]["VC_WAREHOUSE"] == "{{ vc_warehouse(params) }}", task_id


@pytest.mark.dbt
def test_docs_run_last_and_emit_the_marts(with_manifest: dict[str, Any]) -> None:
    tasks = with_manifest["dag"]["tasks"]
    docs = tasks["dbt_docs_generate"]
    leaves = {name for name, t in tasks.items() if not t["downstream"]} - {"dbt_docs_generate"}

    assert leaves == set(), f"tasks not upstream of the docs: {sorted(leaves)}"
    assert docs["outlets"] == [assets.MARTS_ASSET.name]
    assert docs["type"] == "DbtDocsLocalOperator"


@pytest.mark.dbt
def test_every_data_test_runs_somewhere(with_manifest: dict[str, Any]) -> None:
    """Cosmos runs a test inside its model's `dbt build`, or (several parents)
    in a detached task; a test on sources only would never run."""
    manifest, tasks = with_manifest["manifest"], with_manifest["dag"]["tasks"]
    nodes = manifest["nodes"]
    orphans = []
    for test in (n for n in nodes.values() if n["resource_type"] == "test"):
        parents = [p for p in test["depends_on"]["nodes"] if p in nodes]
        if len(parents) == 1:
            continue
        if len(parents) > 1 and any(
            t["select"] in (test["name"], [test["name"]]) for t in tasks.values()
        ):
            continue
        orphans.append(test["unique_id"])
    assert orphans == []


# --- a run through Airflow ------------------------------------------------------


@pytest.fixture(scope="module")
def transformed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small generated warehouse (ingested without Airflow), then vc_transform."""
    from voice_compliance import ingest
    from voice_compliance.generate import generate

    settings = make_settings(tmp_path_factory.mktemp("transform_run"))
    generate(Path(settings.landing), 7, 500)
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    ensure_airflow(settings)
    run_dag(DAG_ID, settings)
    return settings


@pytest.mark.airflow
def test_airflow_run_builds_the_models_and_docs(transformed: Settings) -> None:
    import duckdb

    manifest = json.loads(dbt_runner.manifest_path(transformed).read_text())
    expected = {
        (n["schema"], n["alias"])
        for n in manifest["nodes"].values()
        if n["resource_type"] in {"model", "seed"} and n["config"]["materialized"] != "ephemeral"
    }
    with duckdb.connect(str(transformed.warehouse), read_only=True) as con:
        relations = set(
            con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        )

    assert expected <= relations
    assert dbt_runner.docs_index(transformed).stat().st_size > 100_000


@pytest.mark.airflow
def test_airflow_run_records_the_marts_asset_event(transformed: Settings) -> None:
    database = transformed.airflow_home / "airflow.db"
    with sqlite3.connect(database) as con:
        events = con.execute(
            "select count(*) from asset_event e join asset a on a.id = e.asset_id where a.name = ?",
            (assets.MARTS_ASSET.name,),
        ).fetchone()

    assert events is not None and events[0] >= 1


BROKEN_PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: voice_compliance\n",
    "models/ok.sql": "select {{ var('complaints_min_count') }} as threshold",
    "models/broken.sql": "select no_such_column from {{ ref('ok') }}",
}


@pytest.mark.airflow
def test_a_failing_model_fails_the_run_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "tiny"
    for name, text in BROKEN_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    (project / "profiles.yml").write_text((dbt_runner.PROFILES_DIR / "profiles.yml").read_text())
    monkeypatch.setenv("VC_DBT_PROJECT_DIR", str(project))  # the Airflow child's
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", project)  # run_dag's dbt parse
    monkeypatch.setattr(dbt_runner, "PROFILES_DIR", project)
    settings = make_settings(tmp_path)
    ensure_airflow(settings)

    with pytest.raises(DagRunFailed) as failed:
        run_dag(DAG_ID, settings)

    assert failed.value.reason.startswith("task dbt.broken_model_build: ")
    assert "Runtime Error in model broken (models/broken.sql)" in failed.value.reason
    assert 'column "no_such_column" not found' in failed.value.log_path.read_text()
    assert not dbt_runner.docs_index(settings).exists()
