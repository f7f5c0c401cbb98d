"""Airflow DAG ``vc_ingest_registries``: land do-not-call registry files, then
rebuild the registry state.

The work is done by ``voice_compliance.ingest``; this file only wires it into
Airflow. Nothing runs at import time: the package's loaders are imported
inside the tasks.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Param, dag, task

from voice_compliance.assets import REGISTRY_SOURCES, REGISTRY_STATE_ASSET, raw_asset

if TYPE_CHECKING:
    from voice_compliance.config import Settings

log = logging.getLogger(__name__)

WRITER_POOL = "duckdb_writer"
"""Pool of one slot: DuckDB allows a single writer process per file."""

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "pool": WRITER_POOL,
}

PARAMS: dict[str, Param] = {
    "landing": Param(
        None,
        type=["null", "string"],
        description="Landing zone: a folder or s3://bucket/prefix. Empty: VC_LANDING or default.",
    ),
    "warehouse": Param(
        None,
        type=["null", "string"],
        description="DuckDB warehouse file. Empty: VC_WAREHOUSE or the default file.",
    ),
}


def _settings(params: dict[str, Any] | None) -> Settings:
    """Settings from the environment, overridden by the run's params."""
    from voice_compliance.config import Settings

    params = params or {}
    return Settings.from_env(landing=params.get("landing"), warehouse=params.get("warehouse"))


@dag(
    dag_id="vc_ingest_registries",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["voice-compliance", "ingestion", "dnc-registries"],
)
def vc_ingest_registries() -> None:
    """
    ### Ingest the do-not-call registries

    One task per registry (`us_national`, `uk_tps`, `uk_ctps`, `ca_dncl`)
    loads its full snapshots (`dnc/<registry>/full/<date>/`) and change lists
    (`dnc/<registry>/changes/<date>/`) into the raw layer (`raw.registry_entries`),
    with the effective date from the folder. Then **`build_registry_state`**
    replays snapshots and changes in date order into registry membership over
    time (schema `registry`), which the DNC clauses join calls against.

    * Every landed file gets one row in `compliance.load_manifest`; unchanged
      files are skipped on re-runs. Unparseable lines go to
      `compliance.quarantine`.
    * All tasks share the one-slot pool `duckdb_writer`. The state is rebuilt
      only when every registry loaded, so it never mixes old and new lists.
    * Assets: `raw.registry_<registry>` per registry, `registry.state`.

    **Params**: `landing` and `warehouse`; empty means `VC_LANDING` /
    `VC_WAREHOUSE` or the embedded defaults.
    """

    def load_task(source: str) -> Any:
        """Build the loading task of one registry source."""

        @task(task_id=f"load_{source}", outlets=[raw_asset(source)], multiple_outputs=False)
        def load(params: dict[str, Any] | None = None) -> dict[str, Any]:
            """Load new or changed files of this registry; return the load summary."""
            from voice_compliance.ingest import ingest_source

            settings = _settings(params)
            summary = asdict(ingest_source(settings, source))
            log.info("Loaded %s into %s: %s", source, settings.warehouse, summary)
            return summary

        return load()

    @task(outlets=[REGISTRY_STATE_ASSET], multiple_outputs=False)
    def build_registry_state(params: dict[str, Any] | None = None) -> dict[str, int]:
        """Rebuild registry membership from the raw registry rows; return its counts."""
        from voice_compliance.ingest import build_registry_state as build_state

        settings = _settings(params)
        counts = build_state(settings)
        log.info("Registry state rebuilt in %s: %s", settings.warehouse, counts)
        return dict(counts)

    [load_task(source) for source in REGISTRY_SOURCES] >> build_registry_state()


vc_ingest_registries()
