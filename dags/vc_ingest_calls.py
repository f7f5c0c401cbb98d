"""Airflow DAG ``vc_ingest_calls``: land Twilio call records into ``raw.calls``.

The work is done by ``voice_compliance.ingest``; this file only wires it into
Airflow. Nothing runs at import time: the package's loaders are imported
inside the task.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Param, dag, task

from voice_compliance.assets import raw_asset

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
    dag_id="vc_ingest_calls",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
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

    **Params**: `landing` (folder or `s3://bucket/prefix`) and `warehouse`
    (DuckDB file); leave them empty to use `VC_LANDING` / `VC_WAREHOUSE` or
    the embedded defaults.

    **Run it**: `python -m voice_compliance run --landing ... --warehouse ...`
    runs this DAG with the others through `airflow dags test`.
    """

    @task(task_id="load_calls", outlets=[raw_asset("calls")], multiple_outputs=False)
    def load_calls(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Load new or changed call files; return the load summary."""
        from voice_compliance.ingest import ingest_source

        settings = _settings(params)
        summary = asdict(ingest_source(settings, "calls"))
        log.info("Loaded calls from %s into %s: %s", settings.landing, settings.warehouse, summary)
        return summary

    load_calls()


vc_ingest_calls()
