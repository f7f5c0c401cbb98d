"""Airflow DAG ``vc_validate``: the policy as Great Expectations suites, then
tickets and a Slack message.

The work is done by ``voice_compliance.validation`` (suites from
``expectations/``) and ``voice_compliance.alerting``; this file only wires
them into Airflow. GX, DuckDB and the Slack client are imported inside the
tasks, never when the file is parsed.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from voice_compliance.assets import MARTS_ASSET, VALIDATION_ASSET
from voice_compliance.dag_support import (
    START_DATE,
    WAREHOUSE_PARAM,
    check_settings_task,
    default_args,
    settings_from_params,
)

log = logging.getLogger(__name__)

MONTHS_PARAM = Param(
    [],
    type="array",
    items={"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
    description="Months to validate (YYYY-MM). Empty: every month in the marts or of an open"
    " ticket.",
)


def _run_id() -> str:
    """This DAG run's id: the key of its results, ticket events and Slack message."""
    return str(get_current_context()["run_id"])


@dag(
    dag_id="vc_validate",
    schedule=[MARTS_ASSET],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=1, retry_delay_s=15),
    params={"warehouse": WAREHOUSE_PARAM, "months": MONTHS_PARAM},
    tags=["voice-compliance", "validation", "great-expectations", "alerting"],
)
def vc_validate() -> None:
    """
    ### Validate: expectation suites, tickets, Slack

    Runs after every `vc_transform` (scheduled on the Asset
    **`marts.compliance`**):

    1. **`validate_marts`**: one Great Expectations suite per policy clause
       (`clause.<clause_id>`) and the data-quality suites (`dq.*`), defined in
       `expectations/` from `dbt_project/policy.yml`. Each suite validates a
       frame computed in DuckDB per month (aggregates per account, number,
       registry or day: never a raw table). Every expectation's outcome goes
       to `compliance.validation_results` (suite, expectation, clause_id,
       success, observed value, failing keys, run id, months); the GX Data
       Docs are rebuilt under `<data_dir>/gx/`. Updates the Asset
       `validation.results`.
    2. **`raise_tickets`**: one ticket per failing `(clause_id, account,
       month)` in `compliance.tickets` (opened, updated, reopened; resolved
       when the month validates clean), then delivery to the configured
       HTTP sink (`VC_TICKET_SINK`: webhook or Jira), retried on later runs
       when it fails.
    3. **`notify_slack`**: one Block Kit message for the run through the
       Slack webhook connection `vc_slack` (`VC_SLACK_CONN_ID`), or the
       outbox `<data_dir>/notifications/slack_outbox.jsonl` without one. It
       never fails the run: undelivered messages wait for the next run.

    4. **`build_report`** (beside `notify_slack`, after `raise_tickets`):
       the monthly compliance report of each validated month,
       `<data_dir>/reports/compliance-<YYYY-MM>.html`, one self-contained
       file (violations per clause and trend, top numbers and accounts,
       distributions against thresholds, registries, tickets, the clauses'
       policy sentences). Tickets and the Slack message link to it
       (`VC_REPORT_URL` when published).

    Failed suites do not fail the DAG: they are the findings. A task fails
    only when it cannot do its job (no marts, a broken suite module); every
    task failure also alerts Slack. Re-running a run id is harmless: its
    results are replaced, tickets are not duplicated, the message is sent
    once. Tasks share the one-slot pool `duckdb_writer`.

    **Params**: `warehouse` (DuckDB file; empty = `VC_WAREHOUSE` or the
    default) and `months` (`["2026-10"]`; empty = every month in the marts or of an
    open ticket).
    """

    @task(outlets=[VALIDATION_ASSET])
    def validate_marts(params: dict[str, Any] | None = None) -> dict[str, object]:
        """Run every suite on the chosen months; store the results; build the Data Docs."""
        from voice_compliance.validation.run import validate

        settings = settings_from_params(params)
        months = (params or {}).get("months") or None
        return validate(settings, run_id=_run_id(), months=months).as_dict()

    @task
    def raise_tickets(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Open, update, reopen or resolve tickets from the run's failures; deliver them."""
        from voice_compliance.alerting import raise_tickets as sync

        return sync(settings_from_params(params), run_id=_run_id())

    @task
    def build_report(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the monthly compliance report of each validated month (HTML)."""
        from voice_compliance.report.build import build_run_reports

        return build_run_reports(settings_from_params(params), run_id=_run_id())

    @task
    def notify_slack(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send the run's Slack message (or keep it in the outbox)."""
        from voice_compliance.alerting import notify_run

        return notify_run(settings_from_params(params), run_id=_run_id())

    check = check_settings_task(landing=False)
    tickets = check >> validate_marts() >> raise_tickets()
    tickets >> [build_report(), notify_slack()]


vc_validate()
