"""Airflow DAG ``vc_ingest_registries``: land do-not-call registry files.

The work is done by ``voice_compliance.ingest`` (tasks built by
``voice_compliance.dag_support``); this file only wires it into Airflow.
Nothing runs at import time: the loaders are imported inside the tasks.
"""

from __future__ import annotations

from airflow.sdk import dag

from voice_compliance.assets import REGISTRY_SOURCES
from voice_compliance.dag_support import (
    INGESTION_CRON,
    START_DATE,
    check_settings_task,
    default_args,
    ingest_task,
    ingestion_params,
)


@dag(
    dag_id="vc_ingest_registries",
    schedule=INGESTION_CRON,
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
    with the effective date from the folder. `vc_transform` (dbt) replays
    snapshots and changes in date order into point-in-time membership of the
    called numbers, which the DNC clauses join calls against.

    * Every landed file gets one row in `compliance.load_manifest`; unchanged
      files are skipped on re-runs. Unparseable lines go to
      `compliance.quarantine`.
    * All tasks share the one-slot pool `duckdb_writer`.
    * Assets: `raw.registry_<registry>` per registry; `vc_transform` waits
      for all of them, so it never mixes old and new lists.

    **Params**: `landing` and `warehouse`; empty means `VC_LANDING` /
    `VC_WAREHOUSE` or the embedded defaults.
    """

    check = check_settings_task()
    for source in REGISTRY_SOURCES:
        check >> ingest_task(source)


vc_ingest_registries()
