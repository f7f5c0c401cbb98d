"""What loading one landing file produced, shared by the per-file and batch paths."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileResult:
    """The outcome of loading one landing file."""

    key: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    skipped: bool = False


class ReconciliationError(RuntimeError):
    """Rows read did not equal rows loaded plus rows quarantined."""
