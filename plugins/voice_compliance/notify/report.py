"""What one validation run tells Slack: counts per clause, tickets, data quality, links.

Plain frozen dataclasses so the validation DAG can build a report from
whatever it computed (GX results, the ticket sink's counts) without this
package importing Great Expectations or Airflow.

``route_run`` splits a report by owner (decision 0016): the whole run goes to
the default destination under ``RunReport.key``; every other Slack
connection that ``policy.yml``'s ``routing`` names gets the part about the
owners routed to it, under ``<key>:to:<conn_id>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voice_compliance.policy import Policy

TICKET_EVENTS: tuple[str, ...] = ("opened", "reopened", "updated", "resolved")
DATA_QUALITY_PREFIX = "dq."
"""The ``clause_id`` prefix of data-quality tickets (``tickets.store``)."""


@dataclass(frozen=True)
class ClauseLine:
    """One clause's outcome in a validation run."""

    clause_id: str
    severity: str
    subjects_checked: int
    violations: int
    failed_expectations: int
    tickets_open: int

    @property
    def failing(self) -> bool:
        """True when the clause has violations or a failed expectation."""
        return self.violations > 0 or self.failed_expectations > 0


@dataclass(frozen=True)
class RunReport:
    """The summary of one validation run, rendered as one Slack message.

    ``period`` is free text (``"2026-09 to 2026-10"``); links may be
    ``http(s)://`` URLs or local ``file://`` paths (the embedded default).
    """

    dag_id: str
    run_id: str
    period: str
    validated_at: datetime
    clauses: Sequence[ClauseLine]
    data_quality_failures: Sequence[str]
    tickets_opened: int
    tickets_reopened: int
    tickets_updated: int
    tickets_resolved: int
    tickets_open_total: int
    data_docs_url: str
    dbt_docs_url: str
    tickets_location: str
    ticket_events_by_clause: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """The run's ticket events per clause (``{clause_id: {event: count}}``): what
    an owner's part of the run counts."""
    audience: str | None = None
    """Whose part of the run this is (owners, comma-separated); ``None`` = the whole run."""
    quarantined: Sequence[str] = ()
    """Records the loads quarantined since the previous validation run, one line
    per source (``quarantine_summary``): rows no clause could check."""
    quarantined_records: int = 0
    """How many records those lines count."""

    @property
    def title(self) -> str:
        """The message's name: "Voice compliance", with the audience of an owner's part."""
        return f"Voice compliance for {self.audience}" if self.audience else "Voice compliance"

    report_url: str = ""
    """The monthly compliance report of the run's last month (``""``: none)."""
    report_month: str = ""
    """That month (``YYYY-MM``): the link says which month it opens, as a run
    may cover several."""

    @property
    def total_violations(self) -> int:
        """Violations summed over every clause."""
        return sum(line.violations for line in self.clauses)

    @property
    def key(self) -> str:
        """The idempotency key for ``notify``: one message per DAG run.

        An Airflow retry of the notifying task re-sends under the same key,
        which the outbox turns into a no-op.
        """
        return f"run:{self.dag_id}:{self.run_id}"

    def for_owners(self, owners: Iterable[str], policy: Policy) -> RunReport:
        """The part of this run about ``owners``' clauses (and data quality, when
        one of them owns it), with their ticket counts."""
        chosen = set(owners)
        lines = [
            c
            for c in self.clauses
            if c.clause_id in policy.clauses and policy.clause_owner(c.clause_id) in chosen
        ]
        ids = {c.clause_id for c in lines}
        if policy.data_quality.owner in chosen:
            # Data-quality tickets carry their check id (dq.*) as clause_id.
            ids |= {k for k in self.ticket_events_by_clause if k.startswith(DATA_QUALITY_PREFIX)}
        events = {
            event: sum(
                int(counts.get(event, 0))
                for clause_id, counts in self.ticket_events_by_clause.items()
                if clause_id in ids
            )
            for event in TICKET_EVENTS
        }
        return replace(
            self,
            clauses=lines,
            data_quality_failures=(
                self.data_quality_failures if policy.data_quality.owner in chosen else []
            ),
            # What the loads could not read is the data-quality owner's to see.
            quarantined=self.quarantined if policy.data_quality.owner in chosen else (),
            quarantined_records=(
                self.quarantined_records if policy.data_quality.owner in chosen else 0
            ),
            tickets_opened=events["opened"],
            tickets_reopened=events["reopened"],
            tickets_updated=events["updated"],
            tickets_resolved=events["resolved"],
            tickets_open_total=sum(c.tickets_open for c in lines),
            ticket_events_by_clause={
                k: v for k, v in self.ticket_events_by_clause.items() if k in ids
            },
            audience=", ".join(sorted(chosen)),
        )


@dataclass(frozen=True)
class RoutedReport:
    """One Slack message of a run: its outbox key, connection and content.

    ``conn_id`` ``None`` means the notifier's default connection.
    """

    key: str
    conn_id: str | None
    report: RunReport


def route_run(report: RunReport, policy: Policy, default_conn_id: str) -> list[RoutedReport]:
    """The messages of one run, one per destination (decision 0016).

    The default destination (``routing.default.slack_conn_id``, else
    ``default_conn_id``) gets the whole run under ``report.key``, as before
    routing existed. Each other connection named by an owner's route gets
    the part about the owners routed there, under ``<key>:to:<conn_id>``, so
    a retry re-queues nothing. Owners routed to the default destination, or
    not routed at all, are covered by the whole run.
    """
    default = policy.routing.default.slack_conn_id or default_conn_id
    messages = [RoutedReport(report.key, None if default == default_conn_id else default, report)]
    by_destination: dict[str, list[str]] = {}
    for owner in policy.owners:
        conn_id = policy.route(owner).slack_conn_id or default_conn_id
        if conn_id != default:
            by_destination.setdefault(conn_id, []).append(owner)
    for conn_id, owners in sorted(by_destination.items()):
        messages.append(
            RoutedReport(f"{report.key}:to:{conn_id}", conn_id, report.for_owners(owners, policy))
        )
    return messages
