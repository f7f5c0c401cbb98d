"""Airflow DAG ``vc_pull_twilio``: pull call records from Twilio into the landing zone.

The work is done by ``voice_compliance.twilio`` (imported inside the tasks);
this file only wires it into Airflow: one mapped task per home region of the
``vc_twilio`` connection, then one task that publishes the Asset
``landing.twilio_calls`` on which ``vc_ingest_calls`` is scheduled.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Param, dag, task

from voice_compliance.assets import TWILIO_PULL_ASSET
from voice_compliance.dag_support import (
    LANDING_PARAM,
    PULL_CRON,
    START_DATE,
    check_settings_task,
    default_args,
)

log = logging.getLogger(__name__)
_DAY = r"^\d{4}-\d{2}-\d{2}$"


def _day_param(description: str) -> Param:
    return Param(None, type=["null", "string"], pattern=_DAY, description=description)


def _days(params: dict[str, Any] | None) -> tuple[Any, Any]:
    """``(start, end)`` of a backfill, or ``None``s; a day that is not a date
    (``2026-02-30``) or an end not after the start fails the task at once,
    without retries, naming the param (it would fail every region alike)."""
    from datetime import date

    from airflow.sdk.exceptions import AirflowFailException

    params = params or {}
    found: dict[str, Any] = {}
    for name in ("start", "end"):
        value = params.get(name)
        try:
            found[name] = date.fromisoformat(value) if value else None
        except ValueError:
            raise AirflowFailException(
                f"param {name}: {value!r} is not a day (YYYY-MM-DD)"
            ) from None
    start, end = found["start"], found["end"]
    if start is not None and end is not None and end <= start:
        raise AirflowFailException(
            f"param end {end} must be after start {start} (end is exclusive)"
        )
    return start, end


@dag(
    dag_id="vc_pull_twilio",
    schedule=PULL_CRON,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    # Pulling writes only the landing zone: no DuckDB writer slot is needed.
    default_args=default_args(retries=2, retry_delay_s=60, pool="default_pool"),
    params={
        "landing": LANDING_PARAM,
        "start": _day_param("Backfill: first UTC day (YYYY-MM-DD). Empty: incremental."),
        "end": _day_param("Backfill: day after the last (exclusive). Empty: today (UTC)."),
    },
    tags=["voice-compliance", "ingestion", "twilio"],
)
def vc_pull_twilio() -> None:
    """
    ### Pull call records from Twilio

    Fetches the Call resources of the main account and every subaccount of
    the Airflow connection **`vc_twilio`** (or the one `VC_TWILIO_CONN_ID`
    names), from every home region it lists (`us1`, `ie1`, `au1`, each on its
    own regional host with its own credentials), and writes one file per
    account, region and UTC day into the landing zone:
    `calls/region=<region>/twilio_<account>_<day>.jsonl.gz`, which
    `vc_ingest_calls` loads unchanged.

    * **Sources**: the REST Calls list (`StartTime` filters, `PageSize`
      1000, `next_page_uri` to the end); in US1 the BulkExport daily file
      instead, where the connection enables it and the day exists.
    * **Incremental**: a watermark per account and region under
      `_twilio/state/` in the landing zone; each run pulls again the last
      `lookback_days` (default 3) days, so late status, duration and
      `date_updated` changes arrive. A day whose content changed replaces its
      file; an unchanged day is not rewritten.
    * **Faults**: 429 waits for `Retry-After`, 5xx, timeouts and broken
      connections are retried with backoff; a day that did not arrive whole
      is not written, its watermark does not move, and the task fails naming
      it (never a silent gap).
    * One mapped task per region (they run in parallel); the accounts of a
      region are pulled one after the other. `publish` updates the Asset
      `landing.twilio_calls`, on which `vc_ingest_calls` is scheduled.

    **Params**: `landing` (folder or `s3://bucket/prefix`; empty:
    `VC_LANDING`), `start` / `end` (a backfill, end exclusive; empty:
    incremental up to yesterday). Setup: `docs/twilio.md`.
    """

    @task
    def plan_regions(params: dict[str, Any] | None = None) -> list[str]:
        """The home regions of the connection, and the backfill's days (validated
        here, before any region: one clear error line)."""
        from voice_compliance.twilio.config import load_config

        _days(params)
        config = load_config()
        log.info(
            "Twilio accounts %s in regions %s",
            ", ".join(config.accounts)
            + (" and every subaccount" if config.discovers_subaccounts else ""),
            ", ".join(config.regions),
        )
        return list(config.regions)

    @task(max_active_tis_per_dagrun=3)
    def pull_region(region: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Pull every account of one region; fail naming any day not pulled whole."""
        from voice_compliance.dag_support import settings_from_params
        from voice_compliance.twilio.puller import pull

        start, end = _days(params)
        summary = pull(settings_from_params(params), start=start, end=end, regions=[region])
        return {"region": region, **summary.as_dict()}

    @task(outlets=[TWILIO_PULL_ASSET])
    def publish(results: list[dict[str, Any]]) -> dict[str, Any]:
        """Sum up the regions' pulls; updating the Asset starts ``vc_ingest_calls``."""
        totals: dict[str, Any] = {"regions": [r["region"] for r in results]}
        for key in ("days", "written", "replaced", "unchanged", "calls", "pages", "retries"):
            totals[key] = sum(int(r.get(key) or 0) for r in results)
        log.info("Twilio pull: %s", totals)
        return totals

    # The pull may fill an empty landing folder; it needs the Twilio connection.
    regions = plan_regions()
    check_settings_task(landing_must_exist=False, twilio=True) >> regions
    publish(pull_region.expand(region=regions))


vc_pull_twilio()
