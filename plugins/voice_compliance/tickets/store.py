"""Ticket state in the DuckDB warehouse: the ticket and event tables.

Two tables, both in the ``compliance`` schema:

* ``tickets``: one row per ``(clause_id, account_sid, month)``, keyed by a
  stable fingerprint, holding its current state (and the tracker's key);
* ``ticket_events``: what happened to a ticket in which run, unique per
  ``(fingerprint, run_id, event)`` so a retried run writes nothing twice.

This module only speaks SQL to those tables; the rules live in
:mod:`voice_compliance.tickets.lifecycle`, the evidence read from the marts
in :mod:`voice_compliance.tickets.evidence`, the outbox of the HTTP sinks in
:mod:`voice_compliance.tickets.deliveries` (:func:`ensure_ticket_tables`
creates it too, so one call prepares every ticket table).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import duckdb

from voice_compliance.sanitize import outbound
from voice_compliance.tickets.deliveries import ensure_deliveries_table
from voice_compliance.warehouse import table_exists

TicketKey = tuple[str, str | None, str]
"""``(clause_id, account_sid or None, month)``: what one ticket stands for."""

TICKETS = "compliance.tickets"
EVENTS = "compliance.ticket_events"

DATA_QUALITY_PREFIX = "dq."
"""Ticket ``clause_id`` values starting with this are data-quality checks."""

TICKET_COLUMNS = (
    "fingerprint",
    "clause_id",
    "account_sid",
    "month",
    "severity",
    "owner",
    "status",
    "title",
    "violation_count",
    "example_subjects",
    "evidence_query",
    "dbt_docs_url",
    "data_docs_url",
    "report_url",
    "suite",
    "expectation",
    "first_seen_at",
    "last_seen_at",
    "opened_at",
    "resolved_at",
    "reopen_count",
    "last_run_id",
    "external_key",
    "updated_at",
)

_DDL = (
    f"""
    create table if not exists {TICKETS} (
        fingerprint varchar primary key,
        clause_id varchar not null,
        account_sid varchar,
        month varchar not null,
        severity varchar not null,
        owner varchar not null,
        status varchar not null,
        title varchar not null,
        violation_count integer not null,
        example_subjects json not null,
        evidence_query varchar not null,
        dbt_docs_url varchar,
        data_docs_url varchar,
        suite varchar,
        expectation varchar,
        first_seen_at timestamptz not null,
        last_seen_at timestamptz not null,
        opened_at timestamptz not null,
        resolved_at timestamptz,
        reopen_count integer not null default 0,
        last_run_id varchar not null,
        external_key varchar,
        updated_at timestamptz not null,
        report_url varchar
    )
    """,
    # Tables created before the monthly report existed get its link column.
    f"alter table {TICKETS} add column if not exists report_url varchar",
    # "at" is a DuckDB keyword (AT TIME ZONE): readers must quote it too.
    f"""
    create table if not exists {EVENTS} (
        fingerprint varchar not null,
        run_id varchar not null,
        event varchar not null,
        "at" timestamptz not null,
        violation_count integer not null,
        primary key (fingerprint, run_id, event)
    )
    """,
)


def ensure_ticket_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``compliance`` schema and every ticket table if missing (idempotent):
    tickets, events and the deliveries outbox."""
    con.execute("create schema if not exists compliance")
    for ddl in _DDL:
        con.execute(ddl)
    ensure_deliveries_table(con)


def fingerprint(clause_id: str, account_sid: str | None, month: str) -> str:
    """The ticket's stable id: ``vc-`` and 16 hex digits of sha256(clause|account|month).

    Deterministic across runs and machines, so a re-run finds the same ticket
    and an external tracker can be searched by it.
    """
    raw = f"{clause_id}|{account_sid or ''}|{month}".encode()
    return "vc-" + hashlib.sha256(raw).hexdigest()[:16]


def is_data_quality(clause_id: str) -> bool:
    """Whether a ticket stands for a data-quality check rather than a clause."""
    return clause_id.startswith(DATA_QUALITY_PREFIX)


def ticket_scope(clause_id: str, account_sid: str | None) -> str:
    """Whom a ticket is about, for a reader, never "all accounts": ``account
    AC…``, else what its clause's subjects are (the monthly report's wording),
    e.g. ``registry-wide (a do-not-call registry, used for every account)``."""
    from voice_compliance.report.clauses import account_label

    if account_sid:
        return f"account {account_sid}"
    label, why = account_label(clause_id)
    return f"{label} ({why})"


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_tickets(
    con: duckdb.DuckDBPyConnection, fingerprints: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Ticket rows by fingerprint (all of them when ``fingerprints`` is None)."""
    columns = ", ".join(TICKET_COLUMNS)
    if fingerprints is None:
        cursor = con.execute(f"select {columns} from {TICKETS}")
    else:
        cursor = con.execute(
            f"select {columns} from {TICKETS} where fingerprint in (select unnest(?::varchar[]))",
            [list(fingerprints)],
        )
    return {row["fingerprint"]: row for row in _records(cursor)}


def open_tickets(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every ticket whose status is ``open``, ordered by fingerprint."""
    columns = ", ".join(TICKET_COLUMNS)
    return _records(
        con.execute(f"select {columns} from {TICKETS} where status = 'open' order by fingerprint")
    )


def insert_ticket(con: duckdb.DuckDBPyConnection, values: Mapping[str, Any]) -> None:
    """Insert one ticket row; ``example_subjects`` is given as a list."""
    row = _db_values(values)
    names = list(row)
    placeholders = ", ".join("?::json" if n == "example_subjects" else "?" for n in names)
    con.execute(
        f"insert into {TICKETS} ({', '.join(names)}) values ({placeholders})",
        list(row.values()),
    )


def update_ticket(
    con: duckdb.DuckDBPyConnection, fingerprint_: str, values: Mapping[str, Any]
) -> None:
    """Set ``values`` (column -> value) on one ticket."""
    row = _db_values(values)
    assignments = ", ".join(
        f"{n} = ?::json" if n == "example_subjects" else f"{n} = ?" for n in row
    )
    con.execute(
        f"update {TICKETS} set {assignments} where fingerprint = ?",
        [*row.values(), fingerprint_],
    )


def _db_values(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(TICKET_COLUMNS)
    if unknown:
        raise ValueError(f"not ticket columns: {sorted(unknown)}")
    row = dict(values)
    if "example_subjects" in row:
        row["example_subjects"] = json.dumps(list(row["example_subjects"]))
    return row


def record_event(
    con: duckdb.DuckDBPyConnection,
    fingerprint_: str,
    *,
    run_id: str,
    event: str,
    at: datetime,
    violation_count: int,
) -> None:
    """Record that ``event`` happened to a ticket in ``run_id``; a repeat keeps one row."""
    con.execute(
        f"""
        insert into {EVENTS} (fingerprint, run_id, event, "at", violation_count)
        values (?, ?, ?, ?, ?)
        on conflict (fingerprint, run_id, event) do update
            set "at" = excluded."at", violation_count = excluded.violation_count
        """,
        [fingerprint_, run_id, event, at, violation_count],
    )


def external_key(con: duckdb.DuckDBPyConnection, fingerprint_: str) -> str | None:
    """The tracker's issue key stored for a ticket, if any."""
    row = con.execute(
        f"select external_key from {TICKETS} where fingerprint = ?", [fingerprint_]
    ).fetchone()
    return row[0] if row else None


def set_external_key(
    con: duckdb.DuckDBPyConnection, fingerprint_: str, key: str, at: datetime
) -> None:
    """Remember the tracker's issue key for a ticket."""
    con.execute(
        f"update {TICKETS} set external_key = ?, updated_at = ? where fingerprint = ?",
        [key, at, fingerprint_],
    )


def count_open(con: duckdb.DuckDBPyConnection) -> int:
    """How many tickets are open."""
    row = con.execute(f"select count(*) from {TICKETS} where status = 'open'").fetchone()
    return int(row[0]) if row else 0


def ticket_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Open and resolved tickets per clause: ``{clause_id: {"open": n, "resolved": m}}``.

    Empty when no ticket table exists yet (nothing has been validated).
    """
    if not table_exists(con, "compliance", "tickets"):
        return {}
    rows = con.execute(
        f"""
        select
            clause_id,
            count(*) filter (where status = 'open') as open,
            count(*) filter (where status = 'resolved') as resolved
        from {TICKETS}
        group by clause_id
        order by clause_id
        """
    ).fetchall()
    return {clause_id: {"open": int(o), "resolved": int(r)} for clause_id, o, r in rows}


def public_ticket(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ticket row as JSON-ready, outbound values: masked, formulas neutralised
    (``voice_compliance.sanitize``), timestamps in ISO 8601."""
    ticket: dict[str, Any] = {}
    for name in TICKET_COLUMNS:
        value = row.get(name)
        if name == "example_subjects" and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        ticket[name] = value
    safe: dict[str, Any] = outbound(ticket)
    return safe
