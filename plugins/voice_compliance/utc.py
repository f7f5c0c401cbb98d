"""The pipeline's one rule for times without a zone: they are UTC.

Everything it stores and exchanges is UTC, but some sources give a time
without saying so (an HTTP date, a GX run time, a naive value passed in).
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its zone; a zone-less ``moment`` is taken as UTC (not converted)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
