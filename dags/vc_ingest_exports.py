"""Airflow DAG ``vc_ingest_exports``: land the CSV exports into their raw tables.

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

from voice_compliance.assets import EXPORT_SOURCES, raw_asset

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
    dag_id="vc_ingest_exports",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["voice-compliance", "ingestion", "exports"],
)
def vc_ingest_exports() -> None:
    """
    ### Ingest the CSV exports

    One task per export of the landing zone, each loading its folder into the
    raw table of the same name:

    | task | landing folder | raw table |
    |---|---|---|
    | `load_call_metadata` | `call_metadata/` | `raw.call_metadata` |
    | `load_campaigns` | `campaigns/` | `raw.campaigns` |
    | `load_numbers` | `numbers/` | `raw.numbers` |
    | `load_accounts` | `accounts/` | `raw.accounts` |
    | `load_consent` | `consent/` | `raw.consent` |
    | `load_optouts` | `optouts/` | `raw.optouts` |
    | `load_disclosures` | `disclosures/` | `raw.disclosures` |
    | `load_complaints` | `complaints/` | `raw.complaints` |
    | `load_dnc_internal` | `dnc/internal/` | `raw.dnc_internal` |

    * Every landed file gets one row in `compliance.load_manifest`; files
      already loaded with the same checksum are skipped (re-runs are no-ops).
    * Rows that fail parsing or typing go to `compliance.quarantine`.
    * The tasks are independent (one failing export does not stop the
      others) and share the one-slot pool `duckdb_writer`, so they write one
      at a time. Each updates its Asset `raw.<source>`.

    **Params**: `landing` and `warehouse`; empty means `VC_LANDING` /
    `VC_WAREHOUSE` or the embedded defaults.
    """

    def load_task(source: str) -> Any:
        """Build the loading task of one export source."""

        @task(task_id=f"load_{source}", outlets=[raw_asset(source)], multiple_outputs=False)
        def load(params: dict[str, Any] | None = None) -> dict[str, Any]:
            """Load new or changed files of this export; return the load summary."""
            from voice_compliance.ingest import ingest_source

            settings = _settings(params)
            summary = asdict(ingest_source(settings, source))
            log.info("Loaded %s into %s: %s", source, settings.warehouse, summary)
            return summary

        return load()

    for source in EXPORT_SOURCES:
        load_task(source)


vc_ingest_exports()
