"""The SQL that reads a ticket's evidence from the marts.

A ticket carries a query that selects exactly its evidence (its rows of
``compliance.policy_violations``, or for a data-quality check its failing
``compliance.validation_results``), a link to the model in the dbt docs, and
a few example subjects, read here in one windowed query per sync. Every
value read is outbound (masked, formulas neutralised) before it reaches a
ticket. The ticket rows themselves live in :mod:`voice_compliance.tickets.store`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import duckdb

from voice_compliance.display import display_pairs
from voice_compliance.docs_site.data_docs import suite_url
from voice_compliance.docs_site.dbt_docs import model_url
from voice_compliance.report.clauses import model_name
from voice_compliance.sanitize import outbound_text
from voice_compliance.tickets.store import TicketKey, is_data_quality
from voice_compliance.warehouse import table_exists

VIOLATIONS = "compliance.policy_violations"
VALIDATION_RESULTS = "compliance.validation_results"



def sql_literal(value: str | None) -> str:
    """``value`` as a SQL string literal (``null`` for ``None``), quotes doubled."""
    if value is None:
        return "null"
    return "'" + value.replace("'", "''") + "'"


def _in_ticket_month(month_sql: str) -> str:
    """SQL: a validation result belongs to a data-quality ticket of ``month_sql``:
    a monthly result of that month, or a whole-warehouse result since it (its
    ticket stays open across months)."""
    return (
        f"(month = {month_sql} or (month is null\n"
        f"    and strftime(validated_at at time zone 'UTC', '%Y-%m') >= {month_sql}))"
    )


def evidence_query(clause_id: str, account_sid: str | None, month: str) -> str:
    """SQL that selects exactly this ticket's evidence: its rows of
    ``compliance.policy_violations``, or for a data-quality check its failing
    results (newest first; ``unexpected_keys`` names the rows to fix): those
    of the ticket's month, or for a check over the whole warehouse, whose
    ticket stays open across months, those since its month."""
    if is_data_quality(clause_id):
        return (
            f"select * from {VALIDATION_RESULTS}\n"
            f"where check_id = {sql_literal(clause_id)} and not success\n"
            f"  and {_in_ticket_month(sql_literal(month))}\n"
            "order by validated_at desc"
        )
    return (
        f"select * from {VIOLATIONS}\n"
        f"where clause_id = {sql_literal(clause_id)}\n"
        f"  and account_sid is not distinct from {sql_literal(account_sid)}\n"
        f"  and strftime(period_start, '%Y-%m') = {sql_literal(month)}\n"
        "order by subject_id"
    )


def dbt_docs_url(base: str, clause_id: str) -> str | None:
    """Where in the dbt docs site ``base`` a ticket's reader starts: its clause's
    mart (the rule, its columns and lineage back to the landed files); for a
    data-quality check, the site's front page (the clause map)."""
    if not base:
        return None
    if is_data_quality(clause_id):
        return base.split("#", 1)[0]
    return model_url(base, model_name(clause_id))


def data_docs_url(base: str, suite: str | None) -> str | None:
    """The page of the ticket's expectation suite in the Data Docs site ``base``
    (its rules, with the links to its validation results), else the site."""
    if not base:
        return None
    return suite_url(base, suite) if suite else base


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
            where check_id = $check_id and not success and {_in_ticket_month("$month")}
            order by validated_at desc, expectation_id
            limit 1
            """,
            {"check_id": check_id, "month": month},
        ).fetchone()
        if row is None:
            continue
        failing = json.loads(row[0] or "[]") if isinstance(row[0], str) else (row[0] or [])
        lines = [
            ", ".join(display_pairs(item)) if isinstance(item, dict) else str(item)
            for item in failing[:limit]
        ]
        if not lines and row[1] is not None:
            lines = [f"observed {row[1]}"]
        result[key] = [outbound_text(line) for line in lines]
    return result
