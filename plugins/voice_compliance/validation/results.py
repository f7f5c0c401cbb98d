"""Validation results in the warehouse: ``compliance.validation_results`` and
``compliance.validation_runs``.

One row per expectation, frame (suite and month) and run: suite, expectation,
clause_id (or data-quality check_id), success, observed value, failing keys,
run id and interval. A run's rows are replaced as a whole, in one
transaction, so an Airflow retry of the same run never doubles them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from voice_compliance.masking import mask_value
from voice_compliance.validation.findings import FailingGroup
from voice_compliance.validation.spec import NO_ACCOUNT, ExpectationSpec, SuiteSpec
from voice_compliance.warehouse import table_exists

if TYPE_CHECKING:
    import duckdb

_DDL = (
    """
    create table if not exists compliance.validation_results (
        run_id varchar not null,
        dag_id varchar not null,
        validated_at timestamptz not null,
        interval_start date,
        interval_end date,
        month varchar,
        suite varchar not null,
        suite_kind varchar not null,
        expectation_id varchar not null,
        expectation_type varchar not null,
        column_name varchar,
        clause_id varchar,
        check_id varchar,
        severity varchar,
        owner varchar,
        ticketing boolean not null,
        success boolean not null,
        element_count bigint,
        unexpected_count bigint,
        observed_value json,
        unexpected_keys json,
        exception varchar,
        description varchar
    )
    """,
    """
    create table if not exists compliance.validation_runs (
        run_id varchar primary key,
        dag_id varchar not null,
        validated_at timestamptz not null,
        interval_start date,
        interval_end date,
        months json not null,
        suites integer not null,
        expectations integer not null,
        failed integer not null,
        data_docs varchar
    )
    """,
)


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result on one frame, as stored in the warehouse."""

    suite: SuiteSpec
    spec: ExpectationSpec
    month: str | None
    success: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: Any
    unexpected_keys: list[dict[str, Any]]
    exception: str | None

    @classmethod
    def errored(
        cls, suite: SuiteSpec, spec: ExpectationSpec, month: str | None, error: str
    ) -> ExpectationOutcome:
        """A failed outcome for an expectation that could not run (its frame failed)."""
        return cls(suite, spec, month, False, None, None, None, [], error)


@dataclass(frozen=True)
class RunRecord:
    """What identifies one validation run and the interval it covered."""

    run_id: str
    dag_id: str
    validated_at: datetime
    months: Sequence[str]
    interval_start: date | None
    interval_end: date | None
    data_docs: str


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the results tables when missing."""
    con.execute("create schema if not exists compliance")
    for ddl in _DDL:
        con.execute(ddl)


def store(
    con: duckdb.DuckDBPyConnection, run: RunRecord, outcomes: Iterable[ExpectationOutcome]
) -> int:
    """Replace the run's results by ``outcomes``; return how many rows were written."""
    ensure_tables(con)
    outcomes = list(outcomes)
    rows = [_row(run, outcome) for outcome in outcomes]
    suites = {outcome.suite.name for outcome in outcomes}
    failed = sum(1 for outcome in outcomes if not outcome.success)
    con.execute("begin transaction")
    try:
        con.execute("delete from compliance.validation_results where run_id = ?", [run.run_id])
        con.execute("delete from compliance.validation_runs where run_id = ?", [run.run_id])
        if rows:
            con.executemany(
                "insert into compliance.validation_results values"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        con.execute(
            "insert into compliance.validation_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id,
                run.dag_id,
                run.validated_at,
                run.interval_start,
                run.interval_end,
                json.dumps(list(run.months)),
                len(suites),
                len(rows),
                failed,
                run.data_docs,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(rows)


def _row(run: RunRecord, outcome: ExpectationOutcome) -> list[Any]:
    spec, suite = outcome.spec, outcome.suite
    return [
        run.run_id,
        run.dag_id,
        run.validated_at,
        run.interval_start,
        run.interval_end,
        outcome.month,
        suite.name,
        suite.kind,
        spec.expectation_id,
        spec.type,
        spec.column,
        spec.meta.get("clause_id"),
        spec.meta.get("check_id"),
        spec.meta.get("severity"),
        spec.meta.get("owner"),
        spec.ticketing,
        outcome.success,
        outcome.element_count,
        outcome.unexpected_count,
        json.dumps(mask_value(outcome.observed_value)),
        json.dumps(mask_value(outcome.unexpected_keys)),
        outcome.exception,
        spec.description,
    ]


def validated_pairs(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str]]:
    """``(clause_id, month)`` whose ticketing expectation ran without error in ``run_id``."""
    rows = con.execute(
        """
        select distinct clause_id, month from compliance.validation_results
        where run_id = ? and ticketing and exception is null and month is not null
        order by all
        """,
        [run_id],
    ).fetchall()
    return [(clause_id, month) for clause_id, month in rows]


def failing_keys(con: duckdb.DuckDBPyConnection, run_id: str) -> list[FailingGroup]:
    """The failing ``(clause_id, account, month)`` groups of ``run_id``, violations summed."""
    rows = con.execute(
        """
        select clause_id, severity, owner, suite, expectation_id, unexpected_keys
        from compliance.validation_results
        where run_id = ? and ticketing and not success and exception is null
        order by suite, month
        """,
        [run_id],
    ).fetchall()
    totals: dict[tuple[str, str | None, str], int] = defaultdict(int)
    routing: dict[tuple[str, str | None, str], tuple[str, str, str, str]] = {}
    for clause_id, severity, owner, suite, expectation_id, keys_json in rows:
        for key in json.loads(keys_json or "[]"):
            account = key.get("account_key")
            ident = (clause_id, None if account in (None, NO_ACCOUNT) else account, key["month"])
            totals[ident] += int(key.get("violations") or 0)
            routing[ident] = (severity, owner, suite, expectation_id)
    return [
        FailingGroup(clause_id, account, month, count, *routing[(clause_id, account, month)])
        for (clause_id, account, month), count in sorted(totals.items(), key=_sort_key)
    ]


_CHECK_MONTH = "coalesce(r.month, o.month, strftime(r.validated_at at time zone 'UTC', '%Y-%m'))"
"""The month a data-quality result stands for: its frame's month; for a check
over the whole warehouse, the month of the check's open ticket (a finding that
persists keeps its ticket across the turn of a month), else the month it was
validated in."""


def _open_check_tickets(con: duckdb.DuckDBPyConnection) -> str:
    """SQL of ``(clause_id, month)``: every open data-quality ticket."""
    if not table_exists(con, "compliance", "tickets"):
        return "select null::varchar as clause_id, null::varchar as month where false"
    return """select clause_id, month from compliance.tickets
        where status = 'open' and account_sid is null and clause_id like 'dq.%'"""


def _with_open_checks(con: duckdb.DuckDBPyConnection) -> str:
    """The ``open_tickets`` and ``open_checks`` (oldest open month per check) CTEs."""
    return f"""with open_tickets as ({_open_check_tickets(con)}),
        open_checks as (select clause_id, min(month) as month from open_tickets group by 1)"""


def validated_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str]]:
    """``(check_id, month)`` of the data-quality checks that ran without error in ``run_id``.

    A check over the whole warehouse also validates every month of its open
    tickets, so a ticket of an earlier month resolves once the check passes.
    """
    rows = con.execute(
        f"""
        {_with_open_checks(con)},
        ran as (
            select distinct check_id, month, validated_at from compliance.validation_results
            where run_id = ? and suite_kind = 'data_quality' and check_id is not null
              and exception is null
        )
        select check_id, coalesce(month, strftime(validated_at at time zone 'UTC', '%Y-%m'))
        from ran
        union
        select t.clause_id, t.month from open_tickets as t
        semi join ran as r on r.month is null and r.check_id = t.clause_id
        order by all
        """,
        [run_id],
    ).fetchall()
    return [(check_id, month) for check_id, month in rows]


def failing_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[FailingGroup]:
    """The failing data-quality checks of ``run_id``: one group per ``(check_id, month)``.

    A data-quality failure is a finding like a violation: it opens (and, once
    the check passes, resolves) a ticket of its own, with no account. Its
    count is the number of failing frame rows (1 for a table-level check).
    """
    rows = con.execute(
        f"""
        {_with_open_checks(con)}
        select r.check_id, {_CHECK_MONTH} as month,
            sum(greatest(coalesce(r.unexpected_count, 0), 1)) as violations,
            min(r.severity), min(r.owner), min(r.suite), string_agg(distinct r.expectation_id, ', ')
        from compliance.validation_results as r
        left join open_checks as o on r.month is null and o.clause_id = r.check_id
        where r.run_id = ? and r.suite_kind = 'data_quality' and r.check_id is not null
          and not r.success and r.exception is null
        group by 1, 2
        order by 1, 2
        """,
        [run_id],
    ).fetchall()
    return [
        FailingGroup(check_id, None, month, int(count), severity, owner, suite, expectation)
        for check_id, month, count, severity, owner, suite, expectation in rows
    ]


def _sort_key(item: tuple[tuple[str, str | None, str], int]) -> tuple[str, str, str]:
    (clause_id, account, month), _ = item
    return clause_id, account or "", month
