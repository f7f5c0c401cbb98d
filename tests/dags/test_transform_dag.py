"""``vc_transform``: what Airflow parses (a static graph from the manifest
``make setup`` writes: one ``dbt build``, one report task per clause, the
docs; no walk, no YAML at parse time; a clear error without the manifest),
and runs through ``airflow dags test``:
the marts and docs of a generated warehouse, and a broken model and a failing
data test failing exactly their clauses' tasks.

As in ``test_dagbag``, the DagBag is loaded in a child process whose
environment (``airflow_env``) points at a temporary data folder; the child
reports what it parsed as JSON.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dag_probe import parse_dags
from voice_compliance import assets, dbt_runner
from voice_compliance.airflow_runner import (
    DAGS_FOLDER,
    INGESTION_DAGS,
    PIPELINE_DAGS,
    WRITER_POOL,
    DagRunFailed,
    airflow_env,
    default_conf,
    ensure_airflow,
    run_dag,
)
from voice_compliance.config import Settings
from voice_compliance.dag_support import policy_vars_json
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
                "dbt_cmd_flags": getattr(t, "dbt_cmd_flags", None),
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
    """A fresh deployment: no dbt artifacts in its data folder (the graph comes
    from the project's manifest, written by `make setup`)."""
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

    assert set(tasks) == {
        "check_settings",
        "dbt_build",
        *REPORT_TASKS,
        "publish_marts",
        "dbt_docs_generate",
    }
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
    # The Asset validation waits for, and beside it the docs site: a docs
    # failure does not hold back validation, tickets and Slack.
    for name in ("publish_marts", "dbt_docs_generate"):
        assert tasks[name]["upstream"] == sorted(REPORT_TASKS), name
        assert tasks[name]["trigger_rule"] == "all_success", name
        assert tasks[name]["downstream"] == [], name


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
def test_docs_task_gets_policy_vars_and_publish_emits_the_marts(parsed: dict[str, Any]) -> None:
    tasks = parsed["dag"]["tasks"]
    docs = tasks["dbt_docs_generate"]

    assert docs["type"] == "DbtDocsWhenChangedOperator"
    # The policy reaches dbt when the task runs (a macro), not at parse time.
    assert docs["vars"] is None
    assert docs["dbt_cmd_flags"] == ["--static", "--vars", "{{ vc_policy_vars() }}"]
    assert json.loads(policy_vars_json()) == policy_vars()
    for name in ("VC_WAREHOUSE", "VC_DUCKDB_MEMORY_LIMIT", "VC_DUCKDB_THREADS"):
        assert docs["env"][name] == f"{{{{ vc_env(params, '{name}') }}}}"
    assert tasks["publish_marts"]["outlets"] == [assets.MARTS_ASSET.name]
    assert all(t["outlets"] == [] for name, t in tasks.items() if name != "publish_marts")
    assert assets.MARTS_ASSET.uri == "x-voice-compliance://warehouse/marts/compliance"


# Import the DAG file with every directory listing failing and every file
# opened recorded: the heavy modules it imports are loaded first (their own
# import machinery may list folders), then only the DAG module's own work runs.
NO_WALK_PROBE = """
import builtins, io, json, os, runpy, sys
import airflow.sdk
import cosmos.config, cosmos.constants, cosmos.operators.local
import voice_compliance.dbt_docs_task
import voice_compliance.dag_support, voice_compliance.dbt_runner, voice_compliance.assets

opened = []
real_open = io.open


def recording_open(file, *args, **kwargs):
    opened.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else repr(file))
    return real_open(file, *args, **kwargs)


def refuse(name):
    def listing(*args, **kwargs):
        raise AssertionError(f"{name}{args} while parsing vc_transform")
    return listing


for name in ("walk", "scandir", "listdir"):
    setattr(os, name, refuse(name))
builtins.open = io.open = recording_open
try:
    namespace = runpy.run_path(sys.argv[1] + "/vc_transform.py")
    error = None
except BaseException as exc:
    namespace, error = {}, f"{type(exc).__name__}: {exc}"
builtins.open = io.open = real_open
print(json.dumps({"opened": opened, "error": error, "clauses": namespace.get("CLAUSE_IDS")}))
"""


def run_probe(probe: str, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(DAGS_FOLDER)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.quick
def test_parse_reads_the_manifest_only_and_walks_nothing(tmp_path: Path) -> None:
    report = run_probe(NO_WALK_PROBE, airflow_env(make_settings(tmp_path)))

    assert report["error"] is None
    assert report["opened"] == [str(dbt_runner.PROJECT_MANIFEST)]
    assert report["clauses"] == list(CLAUSE_IDS)


MISSING_MANIFEST_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1] + "/vc_transform.py", known_pools={"default_pool"})
print(json.dumps({"errors": list(bag.import_errors.values()), "dags": sorted(bag.dags)}))
"""


@pytest.mark.quick
def test_missing_manifest_is_one_clear_import_error(tmp_path: Path) -> None:
    project = tmp_path / "project"  # a dbt project never parsed: no target/manifest.json
    project.mkdir()
    env = airflow_env(make_settings(tmp_path))
    env["VC_DBT_PROJECT_DIR"] = str(project)

    report = run_probe(MISSING_MANIFEST_PROBE, env)

    assert report["dags"] == []  # no DAG of another shape
    [error] = report["errors"]
    assert "TransformManifestMissing" in error
    assert f"vc_transform needs the dbt manifest {project}/target/manifest.json" in error
    assert "run `make setup`" in error


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
    from vc_sample.generate import generate
    from voice_compliance import ingest

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
def test_the_docs_site_shows_the_build_compiled_sql_without_compiling_again(
    transformed: Settings,
) -> None:
    # The docs task inlines the manifest dbt_build wrote, compiled SQL
    # included, and runs `dbt docs generate --no-compile --no-write-json`.
    first_run = sorted((transformed.data_dir / "logs").glob(f"{DAG_ID}.*.log"))[0]
    docs_command = next(
        line
        for line in first_run.read_text().splitlines()
        if "Running command" in line and "'docs', 'generate'" in line
    )
    manifest = json.loads((dbt_runner.target_dir(transformed) / "manifest.json").read_text())
    site = dbt_runner.docs_index(transformed).read_text()
    mart = manifest["nodes"]["model.voice_compliance.clause_dnc__registry"]

    assert "'--no-compile'" in docs_command and "'--no-write-json'" in docs_command
    assert manifest["metadata"]["invocation_id"] in site
    assert mart["compiled_code"] and json.dumps(mart["compiled_code"])[1:-1] in site


@pytest.mark.airflow
def test_airflow_run_reports_every_clause_green(transformed: Settings) -> None:
    states = task_states(transformed)

    tasks = ["check_settings", "dbt_build", *REPORT_TASKS, "publish_marts", "dbt_docs_generate"]
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


@pytest.mark.airflow
def test_a_rerun_keeps_the_docs_site_and_a_full_refresh_generates_it(
    transformed: Settings,
) -> None:
    """Nothing the site shows changed: the docs task keeps it (and still
    updates the marts Asset); ``full_refresh`` generates it again."""
    index = dbt_runner.docs_index(transformed)
    generated = index.stat().st_mtime_ns

    log = run_dag(DAG_ID, transformed)

    assert index.stat().st_mtime_ns == generated
    assert "dbt docs unchanged (same project, policy and columns): kept" in log.read_text()
    assert task_states(transformed)["dbt_docs_generate"] == "success"

    run_dag(DAG_ID, transformed, {**default_conf(transformed), "full_refresh": True})

    assert index.stat().st_mtime_ns > generated
    assert index.stat().st_size > 100_000


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
    config: {tags: ["dnc.registry"], meta: {clause_id: dnc.registry}}
  - name: clause_complaints__rate
    config: {tags: ["complaints.rate"], meta: {clause_id: complaints.rate}}
    columns:
      - name: threshold
        data_tests:
          - accepted_values:
              arguments: {values: [99]}
  - name: clause_optout__mechanism
    config: {tags: ["optout.mechanism"], meta: {clause_id: optout.mechanism}}
  - name: clause_summary
    config: {tags: ["compliance"]}
""",
}


PARSE_PROJECT = (
    "from voice_compliance import dbt_runner; from voice_compliance.config import Settings; "
    "dbt_runner.dbt_parse_project(Settings.from_env())"
)


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
    # What `make setup` does for the real project: the manifest the DAG is built from.
    subprocess.run(
        [sys.executable, "-c", PARSE_PROJECT],
        env={**airflow_env(settings), "VC_DBT_PROJECT_DIR": str(project)},
        check=True,
        timeout=300,
    )
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
    # The graph has the project's clauses only (its manifest's meta.clause_id).
    assert "clause.cps.multi_region" not in states
    assert states["dbt_docs_generate"] == "upstream_failed"
    assert states["publish_marts"] == "upstream_failed"  # no validation of a broken build
    assert 'column "no_such_column" not found' in log
    assert "model.tiny.clause_dnc__registry [error]" in log
    assert "test.tiny.accepted_values_clause_complaints__rate_threshold__99." in log
    assert "model.tiny.clause_summary [skipped: an upstream node failed]" in log
    assert "task dbt_build" in failed.value.reason
    assert not dbt_runner.docs_index(settings).exists()
