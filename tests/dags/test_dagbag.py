"""The DAG folder parses cleanly and every DAG follows the house rules.

Airflow reads its configuration when it is first imported, so the DagBag is
loaded in a child process whose environment points ``AIRFLOW_HOME`` at a
temporary folder; the child reports what it parsed as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dag_probe import parse_dags_in
from voice_compliance import assets, ingest
from voice_compliance.airflow_runner import PIPELINE_DAGS, WRITER_POOL
from voice_compliance.dag_support import CHECK_TASK_ID, INGESTION_CRON, PULL_CRON, TASK_TIMEOUT

pytestmark = pytest.mark.quick

INGESTION_DAG_IDS = {"vc_ingest_calls", "vc_ingest_exports", "vc_ingest_registries"}
HEAVY_MODULES = (
    "duckdb",
    "voice_compliance.ingest",
    "voice_compliance.loading",
    "voice_compliance.warehouse",
    "great_expectations",
    "dbt",
    "pandas",
)

PROBE = """
import json, os, sys, time
from airflow.dag_processing.dagbag import DagBag

started = time.monotonic()
bag = DagBag(dag_folder=sys.argv[1], known_pools={"default_pool", sys.argv[2]})
elapsed = time.monotonic() - started


def outlet(o):
    kind = type(o).__name__
    return {"type": kind, "name": getattr(o, "name", None), "uri": getattr(o, "uri", None)}


dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "fileloc": dag.fileloc,
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md,
        "schedule": str(dag.schedule),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "params": sorted(dag.params.keys()),
        "param_defaults": {k: dag.params[k] for k in dag.params.keys()},
        "tasks": {
            t.task_id: {
                "retries": t.retries,
                "retry_delay_s": t.retry_delay.total_seconds(),
                "timeout_s": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                "pool": t.pool,
                "outlets": [outlet(o) for o in t.outlets],
                "upstream": sorted(t.upstream_task_ids),
                "doc": t.doc_md or t.doc,
            }
            for t in dag.tasks
        },
    }
print(json.dumps({
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "warnings": {str(k): list(v) for k, v in bag.captured_warnings.items()},
    "dags": dags,
    "parse_seconds": elapsed,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in {"duckdb", "voice_compliance",
        "great_expectations", "dbt", "pandas"}),
    "warehouse_exists": os.path.exists(os.environ["VC_WAREHOUSE"]),
    "data_dir_exists": os.path.exists(os.environ["VC_DATA_DIR"]),
}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a fresh Airflow parses from ``dags/`` (one child process per module)."""
    return parse_dags_in(PROBE, tmp_path_factory.mktemp("dagbag"))


def ingestion_tasks(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task of the ingestion DAGs, keyed ``dag_id.task_id``."""
    return {
        f"{dag_id}.{task_id}": task
        for dag_id in INGESTION_DAG_IDS
        for task_id, task in parsed["dags"][dag_id]["tasks"].items()
    }


def test_no_import_errors_or_warnings(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert parsed["warnings"] == {}


def test_expected_dags_are_present(parsed: dict[str, Any]) -> None:
    assert set(parsed["dags"]) >= INGESTION_DAG_IDS
    assert set(PIPELINE_DAGS) <= set(parsed["dags"])


def test_one_dag_per_file_named_after_it(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert Path(dag["fileloc"]).stem == dag_id


def test_dags_are_documented_and_tagged(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert dag["doc_md"] and len(dag["doc_md"]) > 200, dag_id
        assert "voice-compliance" in dag["tags"], dag_id
        # A blank line inside a table ends it: the rows after it show as text.
        lines = [line.strip() for line in dag["doc_md"].splitlines()]
        for before, blank, row in zip(lines, lines[1:], lines[2:], strict=False):
            assert not (before.startswith("|") and not blank and row.startswith("|")), (
                f"{dag_id}: a blank line splits the table before {row!r}"
            )


def test_ingestion_runs_an_hour_after_the_twilio_pull(parsed: dict[str, Any]) -> None:
    """On the same minute, the calls the pull lands after the ingestion cron
    ran waited a whole day for the next cycle's exports and registries."""
    dags = parsed["dags"]
    assert (PULL_CRON, INGESTION_CRON) == ("0 0 * * *", "0 1 * * *")
    assert dags["vc_pull_twilio"]["schedule"] == PULL_CRON
    assert dags["vc_ingest_exports"]["schedule"] == INGESTION_CRON
    assert dags["vc_ingest_registries"]["schedule"] == INGESTION_CRON
    assert f"expression='{INGESTION_CRON}'" in dags["vc_ingest_calls"]["schedule"]


def test_ingestion_dags_settings(parsed: dict[str, Any]) -> None:
    for dag_id in INGESTION_DAG_IDS:
        dag = parsed["dags"][dag_id]
        assert "ingestion" in dag["tags"]
        assert dag["catchup"] is False
        assert dag["max_active_runs"] == 1
        assert {"landing", "warehouse"} <= set(dag["params"])
        assert dag["param_defaults"]["landing"] is None
        assert dag["param_defaults"]["warehouse"] is None


def _reports_build_results(dag_id: str, task_id: str) -> bool:
    """vc_transform's per-clause tasks only read the build's results: a retry changes nothing."""
    return dag_id == "vc_transform" and (
        task_id in ("foundation", "compliance") or task_id.startswith("clause.")
    )


def test_every_task_retries(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            if _reports_build_results(dag_id, task_id):
                assert task["retries"] == 0, f"{dag_id}.{task_id}"
            else:
                assert task["retries"] >= 1, f"{dag_id}.{task_id}"


def test_every_task_has_a_timeout(parsed: dict[str, Any]) -> None:
    """A stuck task would hold the one-slot writer pool with no alert."""
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["timeout_s"] == TASK_TIMEOUT.total_seconds(), f"{dag_id}.{task_id}"


def test_loading_tasks_use_the_writer_pool(parsed: dict[str, Any]) -> None:
    for name, task in ingestion_tasks(parsed).items():
        if name.endswith(f".{CHECK_TASK_ID}"):
            continue  # writes nothing: it never waits for the writer slot
        assert task["pool"] == WRITER_POOL, name


def test_every_dag_checks_its_settings_first(parsed: dict[str, Any]) -> None:
    """``check_settings`` is upstream of every other task, in every DAG."""
    for dag_id, dag in parsed["dags"].items():
        tasks = dag["tasks"]
        assert CHECK_TASK_ID in tasks, dag_id
        assert tasks[CHECK_TASK_ID]["upstream"] == [], dag_id
        assert tasks[CHECK_TASK_ID]["pool"] == "default_pool", dag_id
        roots = [t for t, task in tasks.items() if not task["upstream"]]
        assert roots == [CHECK_TASK_ID], dag_id


def test_one_loading_task_per_source(parsed: dict[str, Any]) -> None:
    tasks = ingestion_tasks(parsed)
    expected = {f"vc_ingest_calls.load_{s}" for s in assets.CALL_SOURCES}
    expected |= {f"vc_ingest_exports.load_{s}" for s in assets.EXPORT_SOURCES}
    expected |= {f"vc_ingest_registries.load_{s}" for s in assets.REGISTRY_SOURCES}
    # Files outside every source folder still get a manifest row.
    expected |= {"vc_ingest_exports.record_unassigned_files"}
    expected |= {f"{dag_id}.{CHECK_TASK_ID}" for dag_id in INGESTION_DAG_IDS}
    assert set(tasks) == expected


def test_outlets_are_our_assets(parsed: dict[str, Any]) -> None:
    for name, task in ingestion_tasks(parsed).items():
        task_id = name.split(".", 1)[1]
        if not task_id.startswith("load_"):
            continue
        expected = assets.raw_asset(task_id.removeprefix("load_"))
        assert task["outlets"] == [{"type": "Asset", "name": expected.name, "uri": expected.uri}]


def test_parsing_does_no_work(parsed: dict[str, Any]) -> None:
    """DAG files import no loaders, open no warehouse, create no data folder."""
    heavy = [m for m in parsed["modules"] if m.startswith(HEAVY_MODULES)]
    assert heavy == []
    assert not parsed["warehouse_exists"]
    assert not parsed["data_dir_exists"]


def test_parsing_is_fast(parsed: dict[str, Any]) -> None:
    # Generous: the machine is shared; a DAG file doing real work takes longer.
    assert parsed["parse_seconds"] < 20


def test_asset_sources_match_ingest() -> None:
    """``assets`` repeats the source names (to stay light); they must agree."""
    assert assets.CALL_SOURCES == ingest.CALL_SOURCES
    assert assets.EXPORT_SOURCES == ingest.EXPORT_SOURCES
    assert assets.REGISTRY_SOURCES == ingest.REGISTRY_SOURCES
    assert assets.ALL_SOURCES == ingest.ALL_SOURCES


def test_asset_names_and_uris_are_unique_and_stable() -> None:
    all_assets = [*assets.RAW_ASSETS.values(), assets.MARTS_ASSET, assets.VALIDATION_ASSET]
    assert len({a.name for a in all_assets}) == len(all_assets)
    assert len({a.uri for a in all_assets}) == len(all_assets)
    assert assets.raw_asset("calls").name == "raw.calls"
    assert assets.raw_asset("calls").uri == "x-voice-compliance://warehouse/raw/calls"
    with pytest.raises(KeyError, match="unknown landing source"):
        assets.raw_asset("nope")
