"""What a suite is, as plain data: the frame it reads and the expectations on it.

The suites themselves live in ``expectations/`` (one module per family) and
are built from the policy configuration; this module only declares their
shape, so that the catalog can be read, listed and tested without importing
Great Expectations (about 7 s).

A suite reads one *frame*: a query on the warehouse, computed in DuckDB and
handed to GX as a pandas DataFrame (GX's SQL data source does not work on
DuckDB, stack.md). Frames are aggregates (per account and month, per number
and month, per registry and day, per landed file), never raw tables, so
memory stays bounded whatever the size of the warehouse. A ``monthly`` frame
is computed once per validated month, with the month's bounds bound to the
query's ``$month_start`` and ``$month_end`` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

SuiteKind = Literal["clause", "data_quality"]
FrameScope = Literal["monthly", "whole"]

TICKET_KEY_COLUMNS: tuple[str, ...] = ("account_key", "month")
"""Columns that identify a ticket's ``(account, month)`` in a ticketing frame."""
NO_ACCOUNT = "-"
"""``account_key`` of subjects without an account (registry days)."""


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: a GX expectation class name, its arguments and routing.

    ``meta`` carries ``clause_id`` (or ``check_id`` for data quality),
    ``severity`` and ``owner``. ``ticketing`` marks the expectation whose
    unexpected rows are the failing ``(clause_id, account, month)`` groups:
    one ticket each.
    """

    type: str
    kwargs: Mapping[str, Any]
    meta: Mapping[str, Any]
    description: str
    ticketing: bool = False

    @property
    def column(self) -> str | None:
        """The column the expectation reads, if it reads one."""
        value = self.kwargs.get("column")
        return str(value) if value is not None else None

    @property
    def expectation_id(self) -> str:
        """A stable short id: ``<snake_case type>:<column>`` (unique within a suite)."""
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in self.type).lstrip("_")
        suffix = (
            self.meta.get("expectation_key") or self.meta.get("check_id") or self.column or "table"
        )
        return f"{snake}:{suffix}"


@dataclass(frozen=True)
class SuiteSpec:
    """A suite: its name, what it encodes, the frame it reads and its expectations.

    ``key_columns`` name the rows of the frame in results (GX's
    ``unexpected_index_column_names``): a failing row is reported by these
    columns, never by a phone number in full.
    """

    name: str
    kind: SuiteKind
    description: str
    frame_sql: str
    scope: FrameScope
    key_columns: Sequence[str]
    expectations: Sequence[ExpectationSpec]
    clause_id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def ticketing(self) -> ExpectationSpec | None:
        """The expectation whose failures open tickets, if the suite has one."""
        return next((e for e in self.expectations if e.ticketing), None)
