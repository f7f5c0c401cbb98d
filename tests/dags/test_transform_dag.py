"""``vc_transform``: what Airflow parses (a static graph: one ``dbt build``, one
report task per policy clause, the docs), and runs through ``airflow dags test``:
the marts and docs of a generated warehouse, and a broken model and a failing
data test failing exactly their clauses' tasks.

As in ``test_dagbag``, the DagBag is loaded in a child process whose
environment (``airflow_env``) points at a temporary data folder; the child
reports what it parsed as JSON.
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
from voice_compliance.policy import CLAUSE_IDS, policy_vars

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
                "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule),
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
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh deployment: no dbt artifacts at all (the graph needs none)."""
    return parse_dags(PROBE, make_settings(tmp_path_factory.mktemp("parse")))


CLAUSE_TASKS = [f"clause.{clause_id}" for clause_id in CLAUSE_IDS]
REPORT_TASKS = ["foundation", *CLAUSE_TASKS, "compliance"]


@pytest.mark.quick
def test_transform_runs_right_after_ingestion() -> None:
    assert PIPELINE_DAGS.index(DAG_ID) == len(INGESTION_DAGS)


@pytest.mark.quick
def test_parse_is_clean_fast_and_imports_no_dbt(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert parsed["warnings"] == {}
    assert parsed["modules"] == [], "parsing the DAG imported dbt, duckdb or pandas"
    assert parsed["parse_seconds"] < 20  # generous: the machine is shared


@pytest.mark.quick
def test_dag_settings(parsed: dict[str, Any]) -> None:
    dag = parsed["dag"]
    assert {"voice-compliance", "transformation"} <= set(dag["tags"])
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["params"] == ["full_refresh", "warehouse"]
    expected = sorted(a.name for a in assets.INGESTION_ASSETS)
    assert dag["schedule"] == expected
    assert "raw.calls" in expected


@pytest.mark.quick
def test_one_build_then_one_report_per_clause_then_docs(parsed: dict[str, Any]) -> None:
    tasks = parsed["dag"]["tasks"]

    assert set(tasks) == {"check_settings", "dbt_build", *REPORT_TASKS, "dbt_docs_generate"}
    assert list(policy_vars()["clauses"]) == list(CLAUSE_IDS)
    assert tasks["check_settings"]["upstream"] == []
    assert tasks["check_settings"]["downstream"] == ["dbt_build"]
    assert tasks["dbt_build"]["upstream"] == ["check_settings"]
    assert sorted(tasks["dbt_build"]["downstream"]) == sorted(REPORT_TASKS)
    for name in REPORT_TASKS:
        # They run whatever the build's outcome, to say which clause broke.
        assert tasks[name]["upstream"] == ["dbt_build"], name
        assert tasks[name]["trigger_rule"] == "all_done", name
        assert tasks[name]["retries"] == 0, name  # they only read the build's results
    assert tasks["dbt_docs_generate"]["upstream"] == sorted(REPORT_TASKS)
    assert tasks["dbt_docs_generate"]["trigger_rule"] == "all_success"


@pytest.mark.quick
def test_every_task_in_the_writer_pool(parsed: dict[str, Any]) -> None:
    tasks = parsed["dag"]["tasks"]
    for task_id, task in tasks.items():
        # The settings check writes nothing: it never waits for the writer slot.
        expected = "default_pool" if task_id == "check_settings" else WRITER_POOL
        assert task["pool"] == expected, task_id
    # A lock held by another DuckDB process is transient: the dbt tasks retry.
    assert tasks["dbt_build"]["retries"] >= 1
    assert tasks["dbt_docs_generate"]["retries"] >= 1


@pytest.mark.quick
def test_docs_task_gets_policy_vars_settings_and_emits_the_marts(parsed: dict[str, Any]) -> None:
    tasks = parsed["dag"]["tasks"]
    docs = tasks["dbt_docs_generate"]

    assert docs["type"] == "DbtDocsLocalOperator"
    assert docs["vars"] == policy_vars()
    for name in ("VC_WAREHOUSE", "VC_DUCKDB_MEMORY_LIMIT", "VC_DUCKDB_THREADS"):
        assert docs["env"][name] == f"{{{{ vc_env(params, '{name}') }}}}"
    assert docs["outlets"] == [assets.MARTS_ASSET.name]
    assert all(t["outlets"] == [] for name, t in tasks.items() if name != "dbt_docs_generate")
    assert assets.MARTS_ASSET.uri == "x-voice-compliance://warehouse/marts/compliance"


# --- runs through Airflow -------------------------------------------------------


def task_states(settings: Settings) -> dict[str, str]:
    """Task id -> state of the latest vc_transform run in the Airflow database."""
    with sqlite3.connect(settings.airflow_home / "airflow.db") as con:
        rows = con.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id ="
            " (select run_id from dag_run where dag_id = ? order by id desc limit 1)",
            (DAG_ID, DAG_ID),
        ).fetchall()
    return {str(task_id): str(state) for task_id, state in rows}


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
def test_airflow_run_reports_every_clause_green(transformed: Settings) -> None:
    states = task_states(transformed)

    tasks = ["check_settings", "dbt_build", *REPORT_TASKS, "dbt_docs_generate"]
    assert states == dict.fromkeys(tasks, "success")


@pytest.mark.airflow
def test_airflow_run_records_the_marts_asset_event(transformed: Settings) -> None:
    database = transformed.airflow_home / "airflow.db"
    with sqlite3.connect(database) as con:
        events = con.execute(
            "select count(*) from asset_event e join asset a on a.id = e.asset_id where a.name = ?",
            (assets.MARTS_ASSET.name,),
        ).fetchone()

    assert events is not None and events[0] >= 1


# A project whose clauses are two of the policy's: one with a model that does
# not compile against the warehouse, one whose data test fails; a third clause
# is fine, and a compliance mart depends on the failing test's model.
BROKEN_PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: voice_compliance\n",
    "models/base.sql": "select {{ var('complaints_min_count') }} as threshold",
    "models/clause_dnc__registry.sql": "select no_such_column from {{ ref('base') }}",
    "models/clause_complaints__rate.sql": "select threshold from {{ ref('base') }}",
    "models/clause_optout__mechanism.sql": "select 1 as ok",
    "models/clause_summary.sql": "select * from {{ ref('clause_complaints__rate') }}",
    "models/schema.yml": """version: 2
models:
  - name: clause_dnc__registry
    config: {tags: ["dnc.registry"]}
  - name: clause_complaints__rate
    config: {tags: ["complaints.rate"]}
    columns:
      - name: threshold
        data_tests:
          - accepted_values:
              arguments: {values: [99]}
  - name: clause_optout__mechanism
    config: {tags: ["optout.mechanism"]}
  - name: clause_summary
    config: {tags: ["compliance"]}
""",
}


@pytest.mark.airflow
def test_failing_model_and_test_fail_their_clauses_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "tiny"
    for name, text in BROKEN_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    (project / "profiles.yml").write_text((dbt_runner.PROFILES_DIR / "profiles.yml").read_text())
    monkeypatch.setenv("VC_DBT_PROJECT_DIR", str(project))  # the Airflow child's
    settings = make_settings(tmp_path)
    ensure_airflow(settings)

    with pytest.raises(DagRunFailed) as failed:
        run_dag(DAG_ID, settings)

    states = task_states(settings)
    log = failed.value.log_path.read_text()
    assert states["dbt_build"] == "failed"
    assert states["clause.dnc.registry"] == "failed"
    assert states["clause.complaints.rate"] == "failed"
    assert states["compliance"] == "failed"  # clause_summary: skipped after the failed test
    assert states["clause.optout.mechanism"] == "success"
    assert states["foundation"] == "success"  # base and its (no) tests passed
    # Clauses with no node in this project have nothing to fail.
    assert states["clause.cps.multi_region"] == "success"
    assert states["dbt_docs_generate"] == "upstream_failed"
    assert 'column "no_such_column" not found' in log
    assert "model.tiny.clause_dnc__registry [error]" in log
    assert "test.tiny.accepted_values_clause_complaints__rate_threshold__99." in log
    assert "model.tiny.clause_summary [skipped: an upstream node failed]" in log
    assert "task dbt_build" in failed.value.reason
    assert not dbt_runner.docs_index(settings).exists()
