"""Airflow DAG ``vc_ingest_registries``: land do-not-call registry files, then
rebuild the registry state.

The work is done by ``voice_compliance.ingest`` (tasks built by
``voice_compliance.dag_support``); this file only wires it into Airflow.
Nothing runs at import time: the loaders are imported inside the tasks.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import dag, task

from voice_compliance.assets import REGISTRY_SOURCES, REGISTRY_STATE_ASSET
from voice_compliance.dag_support import (
    START_DATE,
    default_args,
    ingest_task,
    ingestion_params,
    settings_from_params,
)

log = logging.getLogger(__name__)


@dag(
    dag_id="vc_ingest_registries",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params=ingestion_params(),
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

    @task(outlets=[REGISTRY_STATE_ASSET], multiple_outputs=False)
    def build_registry_state(params: dict[str, Any] | None = None) -> dict[str, int]:
        """Rebuild registry membership from the raw registry rows; return its counts."""
        from voice_compliance.ingest import build_registry_state as build_state

        settings = settings_from_params(params)
        counts = build_state(settings)
        log.info("Registry state rebuilt in %s: %s", settings.warehouse, counts)
        return dict(counts)

    [ingest_task(source) for source in REGISTRY_SOURCES] >> build_registry_state()


vc_ingest_registries()
