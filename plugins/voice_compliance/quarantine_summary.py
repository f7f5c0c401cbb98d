"""What the loads quarantined between two validation runs, told in a few lines.

A load never fails on a bad row or file: the row (or the whole file, when it
cannot be read or is outside the layout) goes to ``compliance.quarantine``
with its reason, and the task stays green. Those rows are not checked by any
clause: a quarantined opt-out is an opt-out nobody honours in the results.
So the run's Slack message says what was quarantined since the last run
whose message was sent, per source and reason (the reason's first words:
its values, which may hold a phone number, stay in the table). A run whose
message never went out (its tickets failed) leaves its records to the next
one: ``compliance.quarantine_notices`` records how far each message told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from voice_compliance import warehouse
from voice_compliance.display import counted
from voice_compliance.masking import mask_text

MAX_REASONS = 4
"""Reasons named per source (the rest are counted together)."""

NOTICES = "compliance.quarantine_notices"

_NOTICES_DDL = f"""
create table if not exists {NOTICES} (
    run_id varchar primary key,
    through timestamptz not null,
    noticed_at timestamptz not null
)
"""

_SINCE_NOTICE = f"select max(through) from {NOTICES} where through < ?"

_SINCE_RUN = """
select max(validated_at) from compliance.validation_runs where validated_at < ?
"""

_WINDOW = "quarantined_at <= ? and (?::timestamptz is null or quarantined_at > ?::timestamptz)"

_BY_SOURCE = f"""
select
    source,
    count(*) as records,
    count(*) filter (where line_number is null) as whole_files,
    count(distinct source_uri) as files
from compliance.quarantine
where {_WINDOW}
group by source
order by records desc, source
"""

_BY_REASON = f"""
select source, trim(split_part(reason, ':', 1)) as reason_head, count(*) as records
from compliance.quarantine
where {_WINDOW}
group by all
order by source, records desc, reason_head
"""


@dataclass(frozen=True)
class Quarantined:
    """Records quarantined in a window: their count and one line per source."""

    records: int = 0
    lines: tuple[str, ...] = ()


def quarantined_since_previous_run(
    con: duckdb.DuckDBPyConnection, validated_at: datetime
) -> Quarantined:
    """The records quarantined after the validation run before the one
    validated at ``validated_at`` (all of them, for the first run): one line
    per source, most records first, e.g. ``optouts: 12 records quarantined
    from 2 files: unparseable requested_at 10, missing phone_number 2``
    (masked)."""
    if not warehouse.table_exists(con, "compliance", "quarantine"):
        return Quarantined()
    since = _since(con, validated_at)
    window = [validated_at, since, since]
    reasons: dict[str, list[tuple[str, int]]] = {}
    for source, reason, records in con.execute(_BY_REASON, window).fetchall():
        reasons.setdefault(str(source), []).append((str(reason), int(records)))
    sources = con.execute(_BY_SOURCE, window).fetchall()
    return Quarantined(
        records=sum(int(records) for _, records, _, _ in sources),
        lines=tuple(
            _line(str(source), int(records), int(whole), int(files), reasons.get(str(source), []))
            for source, records, whole, files in sources
        ),
    )


def _since(con: duckdb.DuckDBPyConnection, validated_at: datetime) -> datetime | None:
    """Where the window starts: the last message sent before this run (its run's
    validation time); before any was recorded, the previous validation run."""
    if warehouse.table_exists(con, "compliance", "quarantine_notices"):
        row = con.execute(_SINCE_NOTICE, [validated_at]).fetchone()
        if row and row[0] is not None:
            return row[0]  # type: ignore[no-any-return]
        if con.execute(f"select count(*) from {NOTICES}").fetchone() != (0,):
            return None  # messages were sent, none before this run: everything
    row = con.execute(_SINCE_RUN, [validated_at]).fetchone()
    return row[0] if row else None


def record_notice(
    con: duckdb.DuckDBPyConnection, run_id: str, validated_at: datetime, at: datetime
) -> None:
    """Record that the message of ``run_id`` told what was quarantined up to its
    validation (idempotent: a retried message records the same)."""
    con.execute("create schema if not exists compliance")
    con.execute(_NOTICES_DDL)
    con.execute(f"insert or replace into {NOTICES} values (?, ?, ?)", [run_id, validated_at, at])


def _line(source: str, records: int, whole: int, files: int, reasons: list[tuple[str, int]]) -> str:
    named = [f"{reason} {count:,}" for reason, count in reasons[:MAX_REASONS]]
    rest = sum(count for _, count in reasons[MAX_REASONS:])
    if rest:
        named.append(f"other reasons {rest:,}")
    text = f"{source}: {counted(records, 'record')} quarantined from {counted(files, 'file')}"
    if whole:
        text += f" ({counted(whole, 'whole file')} not loaded)"
    return mask_text(f"{text}: {', '.join(named)}")
