"""A cache of the phone metadata tables on disk, shared by every warehouse of a machine.

Deriving the tables from phonenumbers' metadata (``tables.install``) takes a
few seconds of Python in each new process, and every new warehouse needs
them: a first run, each test's warehouse, each benchmark. Once derived, they
are written here as Parquet files, one per table, and a later install copies
them in (about 0.1 s).

A cache folder is named by everything the tables depend on: the
phonenumbers version, the tables' layout version, the source of the modules
that derive them, and the Python and DuckDB versions (the derivation reads
Python's regular-expression parser and runs SQL). An upgrade of any of them
never reads an older derivation; older folders stay (about 2 MB each) and
are safe to delete. A folder is written under a temporary name and renamed
when complete, so a reader never sees half of one; two processes writing it
at once both succeed and one copy is kept. A cache that cannot be read or
written, for any reason, is skipped with a warning: the tables are derived
as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb

_log = logging.getLogger(__name__)

FOLDER = "phone-metadata"
DERIVING_MODULES = ("derived", "metadata", "patterns", "tables", "typetrie")
"""The modules of this package whose code decides the tables' contents."""
_PACKAGE_DIR = Path(__file__).resolve().parent
_STALE_PARTIAL_SECONDS = 24 * 3600


def _source_digest() -> str:
    digest = hashlib.sha256()
    for name in DERIVING_MODULES:
        digest.update(name.encode() + b"\0" + (_PACKAGE_DIR / f"{name}.py").read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def folder(cache_dir: Path, stamp: str) -> Path:
    """The cache folder of the tables ``stamp`` describes (see ``tables.stamp``)."""
    parts = (
        stamp,
        _source_digest(),
        f"python {sys.version_info.major}.{sys.version_info.minor}",
        f"duckdb {duckdb.__version__}",
    )
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return cache_dir / FOLDER / key


def load(con: duckdb.DuckDBPyConnection, targets: Sequence[tuple[str, str]], at: Path) -> bool:
    """Create each target table (``(name, qualified SQL name)``) from the cache
    folder ``at``, in order (``tables.install`` puts its stamp table last: an
    interrupted copy leaves no stamp, and the next install starts again).

    Returns False, having created nothing, when the folder is missing. An
    incomplete or unreadable folder is removed, with a warning, so that the
    derivation that follows writes it again; False then too.
    """
    files = [at / f"{name}.parquet" for name, _ in targets]
    try:
        if not at.is_dir():
            return False
        complete = all(path.is_file() for path in files)
        if complete:
            for (_, target), path in zip(targets, files, strict=True):
                con.execute(
                    f"create or replace table {target} as select * from read_parquet(?)",
                    [str(path)],
                )
            return True
        problem = "incomplete"
    except (OSError, duckdb.Error) as exc:
        problem = f"unreadable ({exc})"
    _log.warning("phones: metadata cache %s %s; deriving the tables", at, problem)
    shutil.rmtree(at, ignore_errors=True)
    return False


def save(con: duckdb.DuckDBPyConnection, targets: Sequence[tuple[str, str]], at: Path) -> None:
    """Write the target tables to the cache folder ``at`` (if not there yet)."""
    partial = at.parent / f".{at.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        if at.is_dir():
            return
        partial.mkdir(parents=True)
        for name, target in targets:
            con.execute(f"copy {target} to ? (format parquet)", [str(partial / f"{name}.parquet")])
        try:
            partial.rename(at)
        except OSError:
            if not at.is_dir():  # not another process's copy: a real failure
                raise
        _remove_stale_partials(at.parent)
    except (OSError, duckdb.Error) as exc:
        _log.warning("phones: could not write the metadata cache %s (%s)", at, exc)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _remove_stale_partials(parent: Path) -> None:
    """Temporary folders that killed writers left behind more than a day ago."""
    cutoff = time.time() - _STALE_PARTIAL_SECONDS
    for path in parent.glob(".*.tmp"):
        try:
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
