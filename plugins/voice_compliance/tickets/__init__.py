"""Tickets for failing expectations: one per ``(clause_id, account_sid, month)``.

* :mod:`.store` -- ticket state: the ``compliance.tickets`` and
  ``ticket_events`` tables (DDL, reads, writes, fingerprints).
* :mod:`.evidence` -- the SQL that reads a ticket's evidence from the marts
  (evidence query, example subjects, dbt docs link).
* :mod:`.deliveries` -- the outbox: ``compliance.ticket_deliveries``, queued
  per event and sink, and its retry state (attempts, last error).
* :mod:`.lifecycle` -- ``sync_tickets``: open, update, resolve, reopen from
  one validation run, in one transaction.
* :mod:`.sinks` -- ``deliver_pending``: the outbox to a webhook or Jira.
* :mod:`.settings` -- ``TicketSinkSettings.from_env()``; secrets come from an
  Airflow connection.
"""

from voice_compliance.tickets.evidence import evidence_query
from voice_compliance.tickets.lifecycle import (
    FailingGroup,
    TicketChanges,
    TicketLinks,
    sync_tickets,
    ticket_title,
)
from voice_compliance.tickets.settings import (
    SINKS,
    SinkConfigError,
    SinkConnection,
    TicketSinkSettings,
    resolve_connection,
)
from voice_compliance.tickets.sinks import DeliveryReport, deliver_pending
from voice_compliance.tickets.store import (
    ensure_ticket_tables,
    fingerprint,
    ticket_counts,
)

__all__ = [
    "SINKS",
    "DeliveryReport",
    "FailingGroup",
    "SinkConfigError",
    "SinkConnection",
    "TicketChanges",
    "TicketLinks",
    "TicketSinkSettings",
    "deliver_pending",
    "ensure_ticket_tables",
    "evidence_query",
    "fingerprint",
    "resolve_connection",
    "sync_tickets",
    "ticket_counts",
    "ticket_title",
]
