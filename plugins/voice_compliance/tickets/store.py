"""The ticket tables in the DuckDB warehouse: DDL, reads and writes.

Three tables, all in the ``compliance`` schema:

* ``tickets``: one row per ``(clause_id, account_sid, month)``, keyed by a
  stable fingerprint, holding its current state;
* ``ticket_events``: what happened to a ticket in which run, unique per
  ``(fingerprint, run_id, event)`` so a retried run writes nothing twice;
* ``ticket_deliveries``: the outbox of an HTTP sink, one row per event and
  sink, delivered (or retried) later by :mod:`voice_compliance.tickets.sinks`.

This module only speaks SQL; the rules live in
:mod:`voice_compliance.tickets.lifecycle`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import duckdb

from voice_compliance.masking import mask_text
from voice_compliance.sanitize import outbound, outbound_text
from voice_compliance.warehouse import table_exists

TicketKey = tuple[str, str | None, str]
"""``(clause_id, account_sid or None, month)``: what one ticket stands for."""

TICKETS = "compliance.tickets"
EVENTS = "compliance.ticket_events"
DELIVERIES = "compliance.ticket_deliveries"
VIOLATIONS = "compliance.policy_violations"

DBT_DOCS_FRAGMENT = "#!/model/model.voice_compliance.policy_violations"
"""Where the dbt docs site shows the model the evidence comes from."""

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
    # A sequence, not created_at, orders the outbox: every event of one run
    # shares the same timestamp, and Jira needs create before comment.
    "create sequence if not exists compliance.ticket_delivery_seq",
    f"""
    create table if not exists {DELIVERIES} (
        delivery_id bigint primary key default nextval('compliance.ticket_delivery_seq'),
        fingerprint varchar not null,
        run_id varchar not null,
        event varchar not null,
        sink varchar not null,
        payload json not null,
        status varchar not null,
        attempts integer not null default 0,
        last_error varchar,
        created_at timestamptz not null,
        delivered_at timestamptz,
        unique (fingerprint, run_id, event, sink)
    )
    """,
)


def ensure_ticket_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``compliance`` schema and the ticket tables if missing (idempotent)."""
    con.execute("create schema if not exists compliance")
    for ddl in _DDL:
        con.execute(ddl)


def fingerprint(clause_id: str, account_sid: str | None, month: str) -> str:
    """The ticket's stable id: ``vc-`` and 16 hex digits of sha256(clause|account|month).

    Deterministic across runs and machines, so a re-run finds the same ticket
    and an external tracker can be searched by it.
    """
    raw = f"{clause_id}|{account_sid or ''}|{month}".encode()
    return "vc-" + hashlib.sha256(raw).hexdigest()[:16]


def sql_literal(value: str | None) -> str:
    """``value`` as a SQL string literal (``null`` for ``None``), quotes doubled."""
    if value is None:
        return "null"
    return "'" + value.replace("'", "''") + "'"


DATA_QUALITY_PREFIX = "dq."
"""Ticket ``clause_id`` values starting with this are data-quality checks."""
VALIDATION_RESULTS = "compliance.validation_results"


def is_data_quality(clause_id: str) -> bool:
    """Whether a ticket stands for a data-quality check rather than a clause."""
    return clause_id.startswith(DATA_QUALITY_PREFIX)


def evidence_query(clause_id: str, account_sid: str | None, month: str) -> str:
    """SQL that selects exactly this ticket's evidence: its rows of
    ``compliance.policy_violations``, or for a data-quality check its failing
    results (newest first; ``unexpected_keys`` names the rows to fix)."""
    if is_data_quality(clause_id):
        return (
            f"select * from {VALIDATION_RESULTS}\n"
            f"where check_id = {sql_literal(clause_id)} and not success\n"
            "  and coalesce(month, strftime(validated_at at time zone 'UTC', '%Y-%m'))"
            f" = {sql_literal(month)}\n"
            "order by validated_at desc"
        )
    return (
        f"select * from {VIOLATIONS}\n"
        f"where clause_id = {sql_literal(clause_id)}\n"
        f"  and account_sid is not distinct from {sql_literal(account_sid)}\n"
        f"  and strftime(period_start, '%Y-%m') = {sql_literal(month)}\n"
        "order by subject_id"
    )


def dbt_docs_url(base: str) -> str | None:
    """``base`` (the dbt docs site) pointing at the ``policy_violations`` model."""
    if not base:
        return None
    return base.split("#", 1)[0] + DBT_DOCS_FRAGMENT


def example_subjects(
    con: duckdb.DuckDBPyConnection, keys: Iterable[TicketKey], limit: int
) -> dict[TicketKey, list[str]]:
    """The first ``limit`` subject ids (by subject_id, outbound: masked and
    formula-neutralised) of each key's violations.

    Every key gets a list, empty when ``compliance.policy_violations`` does
    not exist (the transform has not run) or holds nothing for it.
    """
    wanted = set(keys)
    result: dict[TicketKey, list[str]] = {key: [] for key in wanted}
    checks = {key for key in wanted if is_data_quality(key[0])}
    result.update(_failing_rows(con, checks, limit))
    wanted -= checks
    if not wanted or limit <= 0 or not table_exists(con, "compliance", "policy_violations"):
        return result
    clause_ids = sorted({key[0] for key in wanted})
    # One windowed query for every key instead of one query per ticket.
    rows = con.execute(
        f"""
        with subjects as (
            select distinct
                clause_id,
                account_sid,
                strftime(period_start, '%Y-%m') as month,
                subject_id
            from {VIOLATIONS}
            where clause_id in (select unnest(?::varchar[]))
        ),
        ranked as (
            select
                *,
                row_number() over (
                    partition by clause_id, account_sid, month order by subject_id
                ) as rank
            from subjects
        )
        select clause_id, account_sid, month, subject_id
        from ranked
        where rank <= ?
        order by clause_id, account_sid, month, subject_id
        """,
        [clause_ids, limit],
    ).fetchall()
    for clause_id, account_sid, month, subject_id in rows:
        key = (clause_id, account_sid or None, month)
        if key in result:
            result[key].append(outbound_text(str(subject_id)))
    return result


def _failing_rows(
    con: duckdb.DuckDBPyConnection, keys: set[TicketKey], limit: int
) -> dict[TicketKey, list[str]]:
    """For data-quality tickets: the failing rows of the newest failing result,
    each rendered ``column=value, ...`` (as stored: masked), outbound."""
    result: dict[TicketKey, list[str]] = {key: [] for key in keys}
    if not keys or limit <= 0 or not table_exists(con, "compliance", "validation_results"):
        return result
    for key in keys:
        check_id, _account, month = key
        row = con.execute(
            f"""
            select unexpected_keys, observed_value from {VALIDATION_RESULTS}
            where check_id = ? and not success
              and coalesce(month, strftime(validated_at at time zone 'UTC', '%Y-%m')) = ?
            order by validated_at desc, expectation_id
            limit 1
            """,
            [check_id, month],
        ).fetchone()
        if row is None:
            continue
        failing = json.loads(row[0] or "[]") if isinstance(row[0], str) else (row[0] or [])
        lines = [
            ", ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
            for item in failing[:limit]
        ]
        if not lines and row[1] is not None:
            lines = [f"observed {row[1]}"]
        result[key] = [outbound_text(line) for line in lines]
    return result


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


def enqueue_delivery(
    con: duckdb.DuckDBPyConnection,
    fingerprint_: str,
    *,
    run_id: str,
    event: str,
    sink: str,
    payload: Mapping[str, Any],
    at: datetime,
) -> None:
    """Queue ``payload`` (made outbound here, once more) for ``sink``; a repeat keeps one row.

    A still-pending repeat takes the newer payload; a delivered one is never
    sent again.
    """
    con.execute(
        f"""
        insert into {DELIVERIES} (fingerprint, run_id, event, sink, payload, status, created_at)
        values (?, ?, ?, ?, ?::json, 'pending', ?)
        on conflict (fingerprint, run_id, event, sink) do update
            set payload = excluded.payload
            where status = 'pending'
        """,
        [fingerprint_, run_id, event, sink, json.dumps(outbound(dict(payload))), at],
    )


def pending_deliveries(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Pending outbox rows of every sink in creation order, payloads parsed."""
    rows = _records(
        con.execute(
            f"""
            select delivery_id, fingerprint, run_id, event, sink, payload, attempts
            from {DELIVERIES}
            where status = 'pending'
            order by delivery_id
            """
        )
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def mark_delivered(con: duckdb.DuckDBPyConnection, delivery_id: int, at: datetime) -> None:
    """Mark one outbox row delivered (one more attempt, error cleared)."""
    con.execute(
        f"""
        update {DELIVERIES}
        set status = 'delivered', attempts = attempts + 1, last_error = null, delivered_at = ?
        where delivery_id = ?
        """,
        [at, delivery_id],
    )


def mark_failed(con: duckdb.DuckDBPyConnection, delivery_id: int, error: str) -> None:
    """Keep one outbox row pending with one more attempt and the (masked) error."""
    con.execute(
        f"update {DELIVERIES} set attempts = attempts + 1, last_error = ? where delivery_id = ?",
        [mask_text(error)[:2000], delivery_id],
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
