"""From a stored validation run to tickets and a Slack message.

The validation DAG's second and third tasks call these. Both read what the
first task stored (``compliance.validation_results`` of the run id), never
GX objects, so each can be retried on its own:

* ``raise_tickets``: the failing ``(clause_id, account, month)`` groups of
  the run's ticketing expectations, and the failing ``(check_id, month)``
  of its data-quality checks, open, update or reopen tickets; open tickets
  of the clause-months and checks the run validated and found clean are
  resolved. Then pending deliveries to a configured HTTP sink are sent.
* ``notify_run``: one Slack message for the run (counts per clause, ticket
  events of the run, data-quality failures, the records the loads
  quarantined since the previous run, links), or the outbox.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from voice_compliance import warehouse
from voice_compliance.airflow_names import VALIDATION_DAG
from voice_compliance.config import Settings
from voice_compliance.display import display_value, present_items
from voice_compliance.docs_site.links import docs_links
from voice_compliance.masking import mask_text
from voice_compliance.quarantine_summary import quarantined_since_previous_run, record_notice
from voice_compliance.report.links import report_link, reports_base_url
from voice_compliance.validation import results

log = logging.getLogger(__name__)


def report_links(settings: Settings) -> str:
    """The monthly reports' base link (``VC_REPORT_URL``, else the local folder's
    ``file://`` URI); a month's report is ``compliance-<YYYY-MM>.html`` below it."""
    return reports_base_url(settings)


def raise_tickets(
    settings: Settings, *, run_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Sync ``compliance.tickets`` with the run's failures; deliver to the sink; return counts."""
    from voice_compliance.tickets import (
        TicketLinks,
        TicketSinkSettings,
        deliver_pending,
        sync_tickets,
    )

    now = now or datetime.now(UTC)
    from voice_compliance.policy import load_policy

    # The owner of each ticket's clause picks its Jira assignee and component.
    sink = TicketSinkSettings.from_settings(
        settings.tickets, routing=load_policy(settings.policy_file).routing
    )
    dbt_docs, data_docs = docs_links(settings)
    with warehouse.open_warehouse(settings) as con:
        # Clause violations and data-quality findings alike open tickets.
        failing = [*results.failing_keys(con, run_id), *results.failing_checks(con, run_id)]
        validated = [
            *results.validated_pairs(con, run_id),
            *results.validated_checks(con, run_id),
        ]
        changes = sync_tickets(
            con,
            run_id=run_id,
            now=now,
            validated=validated,
            failing=failing,
            links=TicketLinks(
                dbt_docs=dbt_docs, data_docs=data_docs, report=report_links(settings)
            ),
            sink=sink.sink,
        )
        summary: dict[str, Any] = {"tickets": changes.counts(), "sink": sink.sink}
        if sink.sink != "table":
            summary["delivery"] = deliver_pending(con, sink, now=now).counts()
    log.info("Tickets for %s: %s", run_id, summary)
    return summary


def build_report(
    settings: Settings, *, run_id: str, dag_id: str = VALIDATION_DAG
) -> Any:  # a notify.RunReport; typed loosely to keep this module's imports light
    """The Slack report of ``run_id``, read from the warehouse."""
    from voice_compliance.notify import ClauseLine, RunReport
    from voice_compliance.tickets.store import ticket_counts

    dbt_docs, data_docs = docs_links(settings)
    with warehouse.open_warehouse(settings, read_only=True) as con:
        run = con.execute(
            "select validated_at, months from compliance.validation_runs where run_id = ?",
            [run_id],
        ).fetchone()
        if run is None:
            raise LookupError(f"no validation run {run_id!r} in {settings.warehouse}")
        validated_at, months_json = run
        months: list[str] = json.loads(months_json)
        tickets = ticket_counts(con)
        lines = [
            ClauseLine(*row, tickets_open=tickets.get(row[0], {}).get("open", 0))
            for row in con.execute(_CLAUSE_LINES, [run_id, months]).fetchall()
        ]
        dq_failures = [_dq_line(*row) for row in con.execute(_DQ_FAILURES, [run_id]).fetchall()]
        quarantined = quarantined_since_previous_run(con, validated_at)
        events = dict(con.execute(_EVENTS, [run_id]).fetchall()) if _has_events(con) else {}
        by_clause: dict[str, dict[str, int]] = {}
        for clause_id, event, count in (
            con.execute(_EVENTS_BY_CLAUSE, [run_id]).fetchall() if _has_events(con) else []
        ):
            by_clause.setdefault(clause_id, {})[event] = int(count)
    period = f"{months[0]} to {months[-1]}" if len(months) > 1 else (months or ["-"])[0]
    return RunReport(
        dag_id=dag_id,
        run_id=run_id,
        period=period,
        validated_at=validated_at,
        clauses=lines,
        data_quality_failures=dq_failures,
        tickets_opened=int(events.get("opened", 0)),
        tickets_reopened=int(events.get("reopened", 0)),
        tickets_updated=int(events.get("updated", 0)),
        tickets_resolved=int(events.get("resolved", 0)),
        tickets_open_total=sum(counts["open"] for counts in tickets.values()),
        data_docs_url=data_docs,
        dbt_docs_url=dbt_docs,
        tickets_location=f"compliance.tickets in {settings.warehouse}",
        report_url=report_link(settings, months[-1] if months else None),
        report_month=months[-1] if months else "",
        ticket_events_by_clause=by_clause,
        quarantined=quarantined.lines,
        quarantined_records=quarantined.records,
    )


DQ_EXAMPLES = 10
"""Failing rows named per data-quality line of the Slack report (the rest are counted)."""


def _dq_line(
    check_id: str,
    month: str | None,
    description: str,
    column: str | None,
    unexpected_count: int | None,
    keys_json: str | None,
    exception: str | None,
) -> str:
    """One data-quality failure as a report line: the check, what it expects, and
    what failed (the first failing rows by their key columns), phone numbers masked."""
    line = f"{check_id}{f' ({month})' if month else ''}: {description}"
    keys = [k for k in json.loads(keys_json or "[]") if isinstance(k, dict)]
    if exception:
        line += f" [could not run: {exception.splitlines()[0][:200]}]"
    elif keys:
        named = "; ".join(_dq_key(key, column) for key in keys[:DQ_EXAMPLES])
        more = len(keys) - DQ_EXAMPLES
        line += f" Failing: {named}" + (f"; and {more:,} more" if more > 0 else "")
    elif unexpected_count:
        line += f" ({unexpected_count:,} failing row{'s' if unexpected_count != 1 else ''})"
    return mask_text(line)


def _dq_key(key: dict[str, Any], column: str | None) -> str:
    """``first key (other=value, ..., column=value)``: a failing row named by its
    key columns, the checked column's value last."""
    items = present_items(key, last=column)
    if not items:
        return "-"
    (name, first), rest = items[0], items[1:]
    named = ", ".join(f"{k}={display_value(k, v)}" for k, v in rest)
    return display_value(name, first) + (f" ({named})" if rest else "")


def notify_run(settings: Settings, *, run_id: str, dag_id: str = VALIDATION_DAG) -> dict[str, Any]:
    """Send (or queue in the outbox) the run's Slack messages; never raises for delivery.

    The whole run goes to the default connection; each owner routed to another
    connection (``policy.yml`` ``routing``, decision 0016) gets its part there.
    The summary is the default message's, with the others under ``routed``.
    """
    from voice_compliance.notify import NotifySettings, build_run_message, notify, route_run
    from voice_compliance.policy import load_policy

    report = build_report(settings, run_id=run_id, dag_id=dag_id)
    notify_settings = NotifySettings.from_settings(settings.slack, settings.data_dir)
    results = [
        notify(
            build_run_message(routed.report),
            key=routed.key,
            settings=notify_settings,
            conn_id=routed.conn_id,
        )
        for routed in route_run(report, load_policy(), notify_settings.conn_id)
    ]
    # The message (sent or queued in the outbox) told what was quarantined
    # up to this run: the next run's message starts there.
    with warehouse.open_warehouse(settings) as con:
        record_notice(con, run_id, report.validated_at, datetime.now(UTC))
    summary = _as_dict(results[0])
    if len(results) > 1:
        summary["routed"] = [_as_dict(result) for result in results[1:]]
    log.info("Slack message for %s: %s", run_id, summary)
    return summary


def _as_dict(result: object) -> dict[str, Any]:
    """A result dataclass as JSON-ready data (paths and times as text)."""
    return dict(json.loads(json.dumps(asdict(result), default=str)))  # type: ignore[call-overload]


def _has_events(con: Any) -> bool:
    return warehouse.table_exists(con, "compliance", "ticket_events")


_CLAUSE_LINES = """
with expectations as (
    select clause_id, any_value(severity) as severity,
        count(*) filter (where not success) as failed_expectations
    from compliance.validation_results
    where run_id = ? and suite_kind = 'clause'
    group by clause_id
),
checked as (
    select clause_id, sum(subjects_checked) as subjects_checked, sum(violations) as violations
    from compliance.clause_summary
    where month in (select unnest(?::varchar[]))
    group by clause_id
)
select
    expectations.clause_id,
    expectations.severity,
    coalesce(checked.subjects_checked, 0)::bigint,
    coalesce(checked.violations, 0)::bigint,
    expectations.failed_expectations
from expectations
left join checked using (clause_id)
order by expectations.clause_id
"""

_DQ_FAILURES = """
select check_id, month, description, column_name, unexpected_count, unexpected_keys::varchar,
    exception
from compliance.validation_results
where run_id = ? and suite_kind = 'data_quality' and not success
order by check_id, month
"""

_EVENTS = """
select event, count(*) from compliance.ticket_events where run_id = ? group by event
"""

_EVENTS_BY_CLAUSE = """
select tickets.clause_id, events.event, count(*)
from compliance.ticket_events as events
join compliance.tickets as tickets using (fingerprint)
where events.run_id = ?
group by tickets.clause_id, events.event
"""
