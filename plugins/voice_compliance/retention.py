"""How long the files of past runs stay: the cutoff, and removing what is older.

A pipeline that runs every day writes files every day: a log per command
line run, and GX validation results with their Data Docs pages (about
2 MB a run at ``1M``). ``VC_HISTORY_DAYS`` (``history.keep_days``) bounds
them; what a run removes is what was written before ``cutoff``. The
warehouse's tables (findings, tickets, validation results) are not files of
a run and are kept whatever the setting says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)


def cutoff(keep_days: int, now: datetime | None = None) -> datetime | None:
    """The moment before which a run's files go; ``None`` when ``keep_days`` is 0 (keep all)."""
    if keep_days <= 0:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=keep_days)


def remove_files(paths: Iterable[Path], stop: Path) -> int:
    """Remove ``paths`` (missing ones are skipped), then the folders they leave
    empty, up to ``stop`` (kept). Returns how many files were removed."""
    removed = 0
    folders: set[Path] = set()
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
        folders.add(path.parent)
    remove_empty_folders(folders, stop)
    return removed


def remove_empty_folders(folders: Iterable[Path], stop: Path) -> None:
    """Remove each of ``folders`` that is empty, and then its parents that are
    left empty, up to ``stop`` (kept; folders outside it are not touched)."""
    stop = stop.resolve()
    # Deepest first, so a parent is tried after its emptied children.
    for folder in sorted({f.resolve() for f in folders}, key=lambda f: len(f.parts), reverse=True):
        current = folder
        while current != stop and stop in current.parents:
            try:
                current.rmdir()
            except OSError:  # not empty, or already gone
                break
            current = current.parent


def remove_older(folder: Path, pattern: str, before: datetime | None) -> int:
    """Remove the files of ``folder`` matching ``pattern`` last written before
    ``before`` (``None``: none). Returns how many were removed."""
    if before is None or not folder.is_dir():
        return 0
    limit = before.timestamp()
    old = [p for p in folder.glob(pattern) if p.is_file() and p.stat().st_mtime < limit]
    removed = remove_files(old, folder)
    if removed:
        log.info("Removed %d file(s) older than %s from %s", removed, before.date(), folder)
    return removed
