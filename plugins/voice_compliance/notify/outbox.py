"""JSON-lines files for Slack messages: the outbox (pending) and the sent log.

One JSON object per line: ``{"key", "created_at", "attempts", "last_error",
"payload"}`` (the sent log adds ``sent_at``), every string in it masked and
formula-neutralised (``voice_compliance.sanitize.outbound``) as it is
written. Appends go to the end of the file; the outbox is rewritten whole
through a temporary file and a rename, so a crash leaves either the old or
the new outbox, never half of one.

Several Airflow task processes may notify at once (failure callbacks of
parallel tasks), so every read-modify-write holds an exclusive ``flock`` on a
``.lock`` file beside the outbox.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from voice_compliance import atomic_files
from voice_compliance.sanitize import outbound

log = logging.getLogger(__name__)

Entry = dict[str, Any]
"""One outbox or sent-log line, decoded."""


def _dumps(entry: Entry) -> str:
    # Every line written to the outbox or the sent log passes here: the one
    # place where a message leaves for a file, so the one place it is made
    # outbound (masked, formulas neutralised), whoever queued it.
    # ensure_ascii=False keeps emoji and "…" readable in the embedded
    # default, where people read the outbox file itself.
    return json.dumps(outbound(entry), ensure_ascii=False, default=str)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` (on ``<path>.lock``) for the block.

    The lock is released when the block ends or the process dies, so a
    killed task never leaves the outbox locked.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_entries(path: Path) -> list[Entry]:
    """The entries of a JSON-lines file, oldest first; ``[]`` when it does not exist.

    A line that is not a JSON object (a write cut short by a crash) is
    skipped with a warning rather than blocking every later message.
    """
    if not path.exists():
        return []
    entries: list[Entry] = []
    skipped = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if isinstance(entry, dict) and "key" in entry:
                entries.append(entry)
            else:
                skipped += 1
    if skipped:
        log.warning("Skipped %d unreadable line(s) in %s", skipped, path)
    return entries


def read_keys(path: Path) -> set[str]:
    """The ``key`` of every entry in a JSON-lines file."""
    return {str(entry["key"]) for entry in read_entries(path)}


def append_entries(path: Path, entries: Iterable[Entry]) -> None:
    """Append entries to a JSON-lines file, created if missing, and sync it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(_dumps(entry) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def rewrite(path: Path, entries: Iterable[Entry]) -> None:
    """Replace a JSON-lines file by ``entries`` atomically and durably (temp file + rename)."""
    with atomic_files.replacing(path, durable=True) as handle:
        for entry in entries:
            handle.write((_dumps(entry) + "\n").encode("utf-8"))
