"""Frames to validate, computed in DuckDB: one per suite and month (or one in all).

The warehouse is opened read-only only by callers that hold the writer pool,
so frames never race a loader; each frame is an aggregate (see ``spec``).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING

from voice_compliance.policy import Policy
from voice_compliance.validation.spec import SuiteSpec
from voice_compliance.warehouse import table_exists

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

log = logging.getLogger(__name__)
_PARAMETER = re.compile(r"\$([a-z_]+)")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class FrameError(RuntimeError):
    """A suite's frame query failed (a mart is missing, a column was renamed...)."""


def month_bounds(month: str) -> tuple[date, date]:
    """``[first day, first day of the next month)`` of ``YYYY-MM``."""
    if not _MONTH.match(month):
        raise ValueError(f"expected a month as YYYY-MM, got {month!r}")
    year, number = int(month[:4]), int(month[5:])
    start = date(year, number, 1)
    end = date(year + number // 12, number % 12 + 1, 1)
    return start, end


def months_in_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every month (``YYYY-MM``) in which some clause checked a subject."""
    rows = con.execute(
        "select distinct strftime(period_start, '%Y-%m') from compliance.clause_outcomes order by 1"
    ).fetchall()
    return [row[0] for row in rows]


def months_to_validate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The months in the marts, and the months of open tickets.

    A month whose data are gone (a corrected export emptied it) is still
    validated while a ticket of it is open: its frames are empty, its checks
    pass, and the ticket resolves instead of staying open for ever.
    """
    months = set(months_in_marts(con))
    if table_exists(con, "compliance", "tickets"):
        rows = con.execute(
            "select distinct month from compliance.tickets where status = 'open'"
        ).fetchall()
        months |= {m for (m,) in rows if isinstance(m, str)}
    # A month that is not YYYY-MM (a year past 9999) cannot have been loaded
    # (validate.EVENT_RANGE); if one shows up, the others are still validated.
    usable = {m for m in months if isinstance(m, str) and _MONTH.match(m) and m < "9999-12"}
    for month in sorted(months - usable, key=str):
        log.error("not validated: %r is not a month this pipeline can date", month)
    return sorted(usable)


def compute_frame(
    con: duckdb.DuckDBPyConnection, suite: SuiteSpec, policy: Policy, month: str | None
) -> pd.DataFrame:
    """The suite's frame for ``month`` (``None`` for a ``whole`` suite)."""
    values: dict[str, object] = {"outbound_directions": list(policy.outbound_directions)}
    if month is not None:
        values["month_start"], values["month_end"] = month_bounds(month)
    wanted = set(_PARAMETER.findall(suite.frame_sql))
    missing = wanted - set(values)
    if missing:
        raise FrameError(f"{suite.name}: no value for query parameter(s) {sorted(missing)}")
    try:
        return con.execute(suite.frame_sql, {k: values[k] for k in wanted}).df()
    except Exception as exc:  # duckdb raises several unrelated classes
        raise FrameError(f"{suite.name}: frame query failed: {exc}") from exc
