"""A cache of the phone metadata tables on disk, shared by every warehouse of a machine.

Deriving the tables from phonenumbers' metadata (``tables.install``) takes a
few seconds of Python in each new process, and every new warehouse needs
them: a first run, each test's warehouse, each benchmark. Once derived, they
are written here as Parquet files, one per table, and a later install copies
them in (about 0.1 s).

A cache folder is named by everything the tables depend on: the
phonenumbers version, the tables' layout version and a digest of this
package's source, so an upgrade of either never reads an older derivation.
It is written under a temporary name and renamed when complete, so a reader
never sees half of one; two processes writing it at once both succeed and
one copy is kept. A cache that cannot be read or written is skipped with a
warning: the tables are derived as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb

_log = logging.getLogger(__name__)

FOLDER = "phone-metadata"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def folder(cache_dir: Path, stamp: str) -> Path:
    """The cache folder of the tables ``stamp`` describes (see ``tables.stamp``)."""
    key = hashlib.sha256(f"{stamp}\0{_source_digest()}".encode()).hexdigest()[:16]
    return cache_dir / FOLDER / key


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def load(con: duckdb.DuckDBPyConnection, schema: str, tables: Sequence[str], at: Path) -> bool:
    """Create ``tables`` in ``schema`` from the cache folder ``at``, in order
    (``tables.install`` puts its stamp table last: an interrupted copy leaves
    no stamp, and the next install starts again).

    Returns False, having created nothing, when the folder is missing or
    incomplete; False with a warning when a file cannot be read, having
    removed the folder so that the derivation that follows writes it again.
    """
    files = [at / f"{table}.parquet" for table in tables]
    if not all(path.is_file() for path in files):
        return False
    try:
        for table, path in zip(tables, files, strict=True):
            con.execute(
                f"create or replace table {_quote(schema)}.{_quote(table)} as "
                f"select * from read_parquet({_sql_path(path)})"
            )
    except duckdb.Error as exc:
        _log.warning("phones: metadata cache %s unreadable (%s); deriving the tables", at, exc)
        shutil.rmtree(at, ignore_errors=True)  # the derivation writes it again
        return False
    return True


def save(con: duckdb.DuckDBPyConnection, schema: str, tables: Sequence[str], at: Path) -> None:
    """Write ``tables`` of ``schema`` to the cache folder ``at`` (if not there yet).

    Other folders of the cache (older derivations) are removed.
    """
    if at.is_dir():
        return
    partial = at.parent / f".{at.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        partial.mkdir(parents=True)
        for table in tables:
            con.execute(
                f"copy {_quote(schema)}.{_quote(table)} "
                f"to {_sql_path(partial / f'{table}.parquet')} (format parquet)"
            )
        try:
            partial.rename(at)
        except OSError:
            if not at.is_dir():  # not another process's copy: a real failure
                raise
    except (OSError, duckdb.Error) as exc:
        _log.warning("phones: could not write the metadata cache %s (%s)", at, exc)
        return
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    for other in at.parent.iterdir():
        if other != at and not other.name.startswith("."):
            shutil.rmtree(other, ignore_errors=True)
