"""The ticket outbox: deliveries queued for an HTTP sink and their retry state.

``compliance.ticket_deliveries`` holds one row per ticket event and sink,
``pending`` until a sink (:mod:`voice_compliance.tickets.sinks`) delivers it;
a failed attempt keeps it pending with one more attempt and the masked error,
so the next run retries it. Rows are unique per ``(fingerprint, run_id,
event, sink)``: a retried validation run queues nothing twice.

This module only speaks SQL to the outbox; what goes in it is decided by
:mod:`voice_compliance.tickets.lifecycle`, how it is sent by the sinks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from voice_compliance.masking import mask_text
from voice_compliance.sanitize import outbound

DELIVERIES = "compliance.ticket_deliveries"

_DDL = (
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


def ensure_deliveries_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``compliance`` schema and the outbox table if missing (idempotent)."""
    con.execute("create schema if not exists compliance")
    for ddl in _DDL:
        con.execute(ddl)


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
    cursor = con.execute(
        f"""
        select delivery_id, fingerprint, run_id, event, sink, payload, attempts
        from {DELIVERIES}
        where status = 'pending'
        order by delivery_id
        """
    )
    names = [column[0] for column in cursor.description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
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
