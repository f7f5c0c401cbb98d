"""Airflow DAG ``vc_ingest_exports``: land the CSV exports into their raw tables.

The work is done by ``voice_compliance.ingest`` (tasks built by
``voice_compliance.dag_support``); this file only wires it into Airflow.
Nothing runs at import time: the loaders are imported inside the tasks.
"""

from __future__ import annotations

from airflow.sdk import dag

from voice_compliance.assets import EXPORT_SOURCES
from voice_compliance.dag_support import (
    INGESTION_CRON,
    START_DATE,
    check_settings_task,
    default_args,
    ingest_task,
    ingestion_params,
    unassigned_task,
)


@dag(
    dag_id="vc_ingest_exports",
    schedule=INGESTION_CRON,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params=ingestion_params(),
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
    | `record_unassigned_files` | anywhere else | none: a manifest row `unrecognized` |

    * Every landed file gets one row in `compliance.load_manifest`; files
      already loaded with the same checksum are skipped (re-runs are no-ops).
      A file outside every folder above (source `unassigned`) is recorded as
      `unrecognized`, with the reason, and never read.
    * Rows that fail parsing or typing go to `compliance.quarantine`.
    * The tasks are independent (one failing export does not stop the
      others) and share the one-slot pool `duckdb_writer`, so they write one
      at a time. Each updates its Asset `raw.<source>`.

    **Params**: `landing` and `warehouse`; empty means `VC_LANDING` /
    `VC_WAREHOUSE` or the embedded defaults.
    """

    check = check_settings_task()
    for source in EXPORT_SOURCES:
        check >> ingest_task(source)
    check >> unassigned_task()


vc_ingest_exports()
