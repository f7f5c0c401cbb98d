"""Airflow DAG ``vc_ingest_calls``: land Twilio call records into ``raw.calls``.

The work is done by ``voice_compliance.ingest`` (tasks built by
``voice_compliance.dag_support``); this file only wires it into Airflow.
Nothing runs at import time: the loaders are imported inside the tasks.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag

from voice_compliance.assets import CALL_SOURCES, TWILIO_PULL_ASSET
from voice_compliance.dag_support import (
    INGESTION_CRON,
    START_DATE,
    check_settings_task,
    default_args,
    ingest_task,
    ingestion_params,
)


@dag(
    dag_id="vc_ingest_calls",
    # Daily, and also as soon as vc_pull_twilio has landed new call records.
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(INGESTION_CRON, timezone="UTC"), assets=TWILIO_PULL_ASSET
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params=ingestion_params(),
    tags=["voice-compliance", "ingestion", "calls"],
)
def vc_ingest_calls() -> None:
    """
    ### Ingest call records

    Loads the Twilio Call resources under `calls/region=<region>/` of the
    landing zone (Calls list pages `*.json`, `*.jsonl` or `*.csv`, optionally
    gzip-compressed, as the landing-zone contract describes) into
    **`raw.calls`**. The region folder becomes the call's home region.

    * Every landed file gets one row in `compliance.load_manifest`; a file
      whose checksum is already recorded is skipped, so re-runs load nothing
      twice.
    * Rows that cannot be parsed go to `compliance.quarantine` with file,
      line number, raw text and reason. Rows read = loaded + quarantined.
    * The task runs in the one-slot pool `duckdb_writer` (DuckDB allows one
      writer) and updates the Asset `raw.calls`, which downstream DAGs
      schedule on.

    **Schedule**: daily at 01:00 UTC (an hour after `vc_pull_twilio`, like
    the other ingestion DAGs, so the pulled calls are in the same cycle), and
    whenever `vc_pull_twilio` updates the Asset `landing.twilio_calls`.

    **Params**: `landing` (folder or `s3://bucket/prefix`) and `warehouse`
    (DuckDB file); leave them empty to use `VC_LANDING` / `VC_WAREHOUSE` or
    the embedded defaults.

    **Run it**: `python -m voice_compliance run --landing ... --warehouse ...`
    runs this DAG with the others through `airflow dags test`.
    """

    check = check_settings_task()
    for source in CALL_SOURCES:
        check >> ingest_task(source)


vc_ingest_calls()
