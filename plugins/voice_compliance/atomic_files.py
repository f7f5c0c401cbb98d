"""Replace a file all at once: a reader, or a crash, sees the old file or the new one.

Why not a library: decision 0029.

Every writer here writes a hidden temporary file beside the target (the same
folder, so the rename stays on one file system), then renames it over the
target with ``os.replace``, which is atomic on POSIX. If writing fails, the
temporary file is removed and the target is left as it was.

``durable=True`` also flushes the data to disk (``fsync``) before the rename.
Use it for state that must survive a power cut, such as the pull's cursors
and the notification outbox. Pages and reports that the next run rebuilds
skip it, because a Data Docs build writes hundreds of pages.

The file gets mode ``0o644`` (``tempfile`` creates ``0o600``), like a file
written in place under the usual umask. ``mtime`` sets its modification time
before the rename, so no reader sees the file with another time.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o644


@contextlib.contextmanager
def replacing(
    path: Path, *, durable: bool = False, mtime: float | None = None
) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``path`` when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace ``path`` by ``data`` atomically."""
    with replacing(path, durable=durable) as handle:
        handle.write(data)


def write_text(path: Path, text: str, *, durable: bool = False) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically."""
    write_bytes(path, text.encode("utf-8"), durable=durable)
