"""Ticket lifecycle: open, update, resolve and reopen from one validation run.

One ticket stands for one ``(clause_id, account_sid, month)``; a failing
data-quality check is a ticket too, with its ``check_id`` (``dq.*``) as
``clause_id`` and no account. The rules:

* a failing key without a ticket opens one;
* a failing key whose ticket is resolved reopens it (``reopen_count + 1``);
* a failing key whose ticket is open is refreshed; it counts as *updated*
  only when its violation count changed;
* an open ticket whose ``(clause_id, month)`` was validated in this run but
  did not fail is resolved; a ticket whose month was not validated is left
  alone, because no evidence about it was looked at;
* with an HTTP sink, an open ticket that sink never received (opened before
  it was configured) is queued for it as ``opened``.

Everything happens in one transaction, and events are unique per
``(fingerprint, run_id, event)``, so a retried run applies nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from voice_compliance.sanitize import outbound_text
from voice_compliance.tickets import deliveries, evidence, store
from voice_compliance.tickets.settings import SINKS
from voice_compliance.tickets.store import TicketKey
from voice_compliance.utc import as_utc
from voice_compliance.validation.findings import FailingGroup

EVENTS = ("opened", "reopened", "updated", "resolved")
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class TicketLinks:
    """Where a ticket reader finds the model docs, the validation results and
    the monthly compliance report (``report``: the reports' base URL, ``""``
    for none)."""

    dbt_docs: str
    data_docs: str
    report: str = ""

    def report_url(self, clause_id: str, month: str) -> str | None:
        """The month's report at the clause's section (``None`` without a base)."""
        from voice_compliance.report.links import month_report_url

        return month_report_url(self.report, month, clause_id) if self.report else None


@dataclass
class TicketChanges:
    """What one sync did: changed tickets (outbound dicts: masked, formulas neutralised)
    and totals."""

    opened: list[dict[str, Any]] = field(default_factory=list)
    reopened: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    open_total: int = 0

    def counts(self) -> dict[str, int]:
        """How many tickets each outcome touched, plus the open tickets after the sync."""
        return {
            "opened": len(self.opened),
            "reopened": len(self.reopened),
            "updated": len(self.updated),
            "resolved": len(self.resolved),
            "unchanged": self.unchanged,
            "open_total": self.open_total,
        }

    @property
    def changed(self) -> bool:
        """True when any ticket was opened, reopened, updated or resolved."""
        return bool(self.opened or self.reopened or self.updated or self.resolved)


def ticket_title(clause_id: str, account_sid: str | None, month: str, violations: int) -> str:
    """A one-line summary, e.g. ``consent.prior_consent: 4 violations, account AC…, 2026-10``."""
    if store.is_data_quality(clause_id):  # a data-quality check: failing frame rows
        noun = "finding" if violations == 1 else "findings"
    else:
        noun = "violation" if violations == 1 else "violations"
    account = f", account {account_sid}" if account_sid else ""
    return outbound_text(f"{clause_id}: {violations} {noun}{account}, {month}")


def _merge(failing: Iterable[FailingGroup]) -> dict[TicketKey, FailingGroup]:
    """One group per key. Several failing expectations of one suite may report the
    same key; their subjects overlap, so the largest count is kept (not the sum),
    with the most severe severity and every expectation named."""
    merged: dict[TicketKey, FailingGroup] = {}
    for group in failing:
        seen = merged.get(group.key)
        if seen is None:
            merged[group.key] = group
            continue
        severity = min(
            (seen.severity, group.severity),
            key=lambda s: _SEVERITY_RANK.get(s, len(_SEVERITY_RANK)),
        )
        expectations = sorted({*seen.expectation.split(", "), group.expectation})
        merged[group.key] = FailingGroup(
            clause_id=seen.clause_id,
            account_sid=seen.account_sid or None,
            month=seen.month,
            violations=max(seen.violations, group.violations),
            severity=severity,
            owner=seen.owner,
            suite=seen.suite,
            expectation=", ".join(expectations),
        )
    return merged


def _refreshed(
    group: FailingGroup, examples: list[str], links: TicketLinks, now: datetime, run_id: str
) -> dict[str, Any]:
    """The columns a failing run sets on its ticket, whatever its state."""
    clause_id, account_sid, month = group.key
    return {
        "severity": group.severity,
        "owner": group.owner,
        "title": ticket_title(clause_id, account_sid, month, group.violations),
        "violation_count": group.violations,
        "example_subjects": examples,
        "evidence_query": evidence.evidence_query(clause_id, account_sid, month),
        "dbt_docs_url": evidence.dbt_docs_url(links.dbt_docs, clause_id),
        "data_docs_url": evidence.data_docs_url(links.data_docs, group.suite),
        "report_url": links.report_url(clause_id, month),
        "suite": group.suite,
        "expectation": group.expectation,
        "last_seen_at": now,
        "last_run_id": run_id,
        "updated_at": now,
    }


def sync_tickets(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    now: datetime,
    validated: Iterable[tuple[str, str]],
    failing: Iterable[FailingGroup],
    links: TicketLinks,
    examples_per_ticket: int = 5,
    sink: str = "table",
) -> TicketChanges:
    """Bring ``compliance.tickets`` in line with one validation run, atomically.

    ``validated`` holds the ``(clause_id, month)`` pairs whose suite ran;
    ``failing`` the groups that failed. When ``sink`` is not ``"table"``,
    every event is also queued in ``compliance.ticket_deliveries``
    (:mod:`~voice_compliance.tickets.deliveries`) for
    :func:`voice_compliance.tickets.sinks.deliver_pending`. Re-running the
    same ``run_id`` with the same input changes nothing and records no event.
    The connection must not be inside a transaction already.
    """
    if sink not in SINKS:
        # A typo here would queue deliveries that no sink ever sends.
        raise ValueError(f"unknown ticket sink {sink!r}; expected one of {SINKS}")
    now = as_utc(now).astimezone(UTC)
    groups = _merge(failing)
    validated_pairs = {(clause_id, month) for clause_id, month in validated}
    changes = TicketChanges()

    store.ensure_ticket_tables(con)
    con.begin()
    try:
        _apply(
            con,
            changes,
            groups=groups,
            validated_pairs=validated_pairs,
            run_id=run_id,
            now=now,
            links=links,
            examples_per_ticket=examples_per_ticket,
            sink=sink,
        )
        changes.open_total = store.count_open(con)
        con.commit()
    except BaseException:
        # Nothing of a crashed sync may survive: the retry starts from the same state.
        con.rollback()
        raise
    return changes


def _apply(
    con: duckdb.DuckDBPyConnection,
    changes: TicketChanges,
    *,
    groups: dict[TicketKey, FailingGroup],
    validated_pairs: set[tuple[str, str]],
    run_id: str,
    now: datetime,
    links: TicketLinks,
    examples_per_ticket: int,
    sink: str,
) -> None:
    examples = evidence.example_subjects(con, groups, examples_per_ticket)
    fingerprints = {key: store.fingerprint(*key) for key in groups}
    existing = store.load_tickets(con, list(fingerprints.values()))

    def emit(fp: str, event: str, violation_count: int, bucket: list[dict[str, Any]]) -> None:
        ticket = store.public_ticket(store.load_tickets(con, [fp])[fp])
        bucket.append(ticket)
        store.record_event(
            con, fp, run_id=run_id, event=event, at=now, violation_count=violation_count
        )
        if sink != "table":
            payload = {"event": event, "ticket": ticket, "run_id": run_id}
            deliveries.enqueue_delivery(
                con, fp, run_id=run_id, event=event, sink=sink, payload=payload, at=now
            )

    for key in sorted(groups, key=lambda k: (k[0], k[1] or "", k[2])):
        group, fp = groups[key], fingerprints[key]
        values = _refreshed(group, examples[key], links, now, run_id)
        current = existing.get(fp)
        if current is None:
            clause_id, account_sid, month = key
            store.insert_ticket(
                con,
                {
                    "fingerprint": fp,
                    "clause_id": clause_id,
                    "account_sid": account_sid,
                    "month": month,
                    "status": "open",
                    "first_seen_at": now,
                    "opened_at": now,
                    "resolved_at": None,
                    "reopen_count": 0,
                    "external_key": None,
                    **values,
                },
            )
            emit(fp, "opened", group.violations, changes.opened)
        elif current["status"] != "open":
            store.update_ticket(
                con,
                fp,
                {
                    **values,
                    "status": "open",
                    "opened_at": now,
                    "resolved_at": None,
                    "reopen_count": int(current["reopen_count"]) + 1,
                },
            )
            emit(fp, "reopened", group.violations, changes.reopened)
        elif int(current["violation_count"]) != group.violations:
            store.update_ticket(con, fp, values)
            emit(fp, "updated", group.violations, changes.updated)
        else:
            # Same count: no event, but the ticket still shows it was seen in this run.
            store.update_ticket(con, fp, values)
            changes.unchanged += 1

    failing_fps = set(fingerprints.values())
    for ticket in store.open_tickets(con):
        fp = ticket["fingerprint"]
        if fp in failing_fps or (ticket["clause_id"], ticket["month"]) not in validated_pairs:
            continue
        # The ticket keeps its last failing count and examples as history;
        # the event records that zero violations remain.
        store.update_ticket(
            con,
            fp,
            {"status": "resolved", "resolved_at": now, "last_run_id": run_id, "updated_at": now},
        )
        emit(fp, "resolved", 0, changes.resolved)

    if sink != "table":
        _announce_to_new_sink(con, sink=sink, run_id=run_id, now=now)


def _announce_to_new_sink(
    con: duckdb.DuckDBPyConnection, *, sink: str, run_id: str, now: datetime
) -> None:
    """Queue an ``opened`` delivery for every open ticket ``sink`` never received.

    Deliveries are queued on events, so tickets opened while another sink (or
    none) was configured would reach a newly configured tracker only once
    their count changed; a steady finding never would.
    """
    unseen = con.execute(
        f"""
        select fingerprint from compliance.tickets as t
        where status = 'open' and not exists (
            select 1 from {deliveries.DELIVERIES} as d
            where d.fingerprint = t.fingerprint and d.sink = ?)
        order by fingerprint
        """,
        [sink],
    ).fetchall()
    loaded = store.load_tickets(con, [fp for (fp,) in unseen])
    for (fp,) in unseen:
        ticket = store.public_ticket(loaded[fp])
        payload = {"event": "opened", "ticket": ticket, "run_id": run_id}
        deliveries.enqueue_delivery(
            con, fp, run_id=run_id, event="opened", sink=sink, payload=payload, at=now
        )
