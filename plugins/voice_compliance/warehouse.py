"""The DuckDB warehouse: connections and the tables every job shares.

DuckDB allows one writing process per file (stack.md), so callers open a
connection for one unit of work and close it at once; Airflow serializes the
writers with the ``duckdb_writer`` pool. Across runs, ``run_lock`` keeps two
``python -m voice_compliance run`` off one warehouse at once.

Problems with the file itself come out as ``WarehouseError``s with one clear
message: ``WarehouseBusy`` (another process holds it) and ``WarehouseCorrupt``
(a block failed its checksum, the file is truncated or is not a DuckDB file;
``verify`` reads every block of every table to find those before a query
does).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from voice_compliance.retry import backoff, retrying

if TYPE_CHECKING:
    from voice_compliance.config import Settings

SCHEMAS = ("raw", "compliance", "registry", "ref")

_SHARED_DDL = (
    """
    create table if not exists compliance.load_manifest (
        file_id varchar primary key,
        source varchar not null,
        source_uri varchar not null,
        landing_key varchar not null,
        partition_info json,
        size_bytes bigint not null,
        checksum varchar,
        fingerprint varchar not null,
        status varchar not null,
        error varchar,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        load_count integer not null,
        loaded_at timestamptz not null
    )
    """,
    """
    create table if not exists compliance.quarantine (
        file_id varchar not null,
        source varchar not null,
        source_uri varchar not null,
        line_number bigint,
        raw_text varchar,
        reason varchar not null,
        quarantined_at timestamptz not null
    )
    """,
)


class WarehouseError(RuntimeError):
    """A problem with the warehouse file itself, told in one line."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse (DuckDB's file lock or the run lock)."""


class WarehouseCorrupt(WarehouseError):
    """The warehouse file is damaged: restore it or rebuild it from the landing zone."""


_LOCK_CONFLICT = "Could not set lock on file"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
_CORRUPTION = re.compile(
    r"Corrupt database file|does not match stored checksum|not a valid DuckDB database file"
    r"|Could not read enough bytes from file",
    re.IGNORECASE,
)
_QUOTED_FILE = re.compile(r'file "([^"]+)"')


def open_warehouse(
    settings: Settings, *, read_only: bool = False
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """``connect`` to the settings' warehouse with their DuckDB resource bounds.

    While another process holds DuckDB's lock on the file, retries for
    ``settings.warehouse_open_timeout`` seconds, then raises ``WarehouseBusy``.
    """
    return connect(
        settings.warehouse,
        read_only=read_only,
        config=settings.duckdb_config(),
        busy_timeout=settings.warehouse_open_timeout,
    )


@contextmanager
def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    config: Mapping[str, str] | None = None,
    busy_timeout: float = 0.0,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating its folder), in UTC, and close it on exit.

    ``config`` carries DuckDB settings such as ``memory_limit``, ``threads``
    and ``temp_directory`` (``Settings.duckdb_config``). Writers also get the
    shared schemas and the manifest and quarantine tables, so every job can
    assume they exist.

    When another process holds the file, retries for ``busy_timeout`` seconds
    and then raises ``WarehouseBusy`` naming the file and the holder. A
    damaged file (at open, or in any query made inside the ``with``) raises
    ``WarehouseCorrupt``, which says how to recover.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_retrying(path, read_only, dict(config or {}), busy_timeout)
    try:
        # Every timestamp in the warehouse is UTC (policy-rules.md conventions).
        con.execute("set TimeZone = 'UTC'")
        # Task logs are files: no terminal progress bars in them.
        con.execute("set enable_progress_bar = false")
        if not read_only:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            for ddl in _SHARED_DDL:
                con.execute(ddl)
        yield con
    except duckdb.Error as exc:
        if _is_corruption(exc, path):
            raise WarehouseCorrupt(corrupt_message(path, exc)) from exc
        raise
    finally:
        con.close()


class _Locked(Exception):
    """Another process holds the file (the cause is DuckDB's error): worth waiting."""


def _connect_retrying(
    path: Path, read_only: bool, config: dict[str, str], busy_timeout: float
) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting up to ``busy_timeout`` seconds while another process holds it."""

    def attempt() -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            if _is_corruption(exc, path):
                raise WarehouseCorrupt(corrupt_message(path, exc)) from exc
            if _LOCK_CONFLICT not in str(exc):
                raise
            raise _Locked from exc

    retry = retrying(retry_on=_Locked, within=busy_timeout, wait=backoff(0.1, 1.0))
    try:
        return retry(attempt)
    except _Locked as locked:
        exc = locked.__cause__
        raise WarehouseBusy(_busy_message(path, exc, busy_timeout)) from exc


def _busy_message(path: Path, exc: Exception, waited: float) -> str:
    match = _LOCK_HOLDER.search(str(exc))
    holder = f"pid {match['pid']}, {match['program']}" if match else "another process"
    tried = f" for {waited:g} s" if waited > 0 else ""
    return (
        f"warehouse {path} is locked by another process ({holder}): DuckDB lets only one "
        f"process open the file at a time, even to read it; tried{tried} — wait for that "
        "process to finish (or stop it) and try again"
    )


def _is_corruption(exc: BaseException, path: Path) -> bool:
    """True when a DuckDB error says the warehouse file itself is damaged.

    An error that names another file (a truncated landing file read through
    DuckDB, say) is not the warehouse's problem.
    """
    text = str(exc)
    if not _CORRUPTION.search(text):
        return False
    named = _QUOTED_FILE.findall(text)
    if not named:
        return True
    mine = {str(path), str(path.resolve()), f"{path}.wal", f"{path.resolve()}.wal"}
    return any(name in mine for name in named)


def corrupt_message(path: Path | str, detail: BaseException | str) -> str:
    """The one-line ``WarehouseCorrupt`` message: what failed and how to recover."""
    reason = str(detail).splitlines()[0] if str(detail) else type(detail).__name__
    return (
        f"warehouse {path} is damaged ({reason}); restore it from a backup, or rebuild it: "
        f"delete {path} (and {path}.wal if present) and re-run `python -m voice_compliance "
        "run` — the landing zone is the source of truth, so a fresh run reloads everything"
    )


# --- the run lock --------------------------------------------------------------


def lock_path(warehouse: Path | str) -> Path:
    """The run lock file of ``warehouse``: ``<warehouse>.lock`` beside it."""
    return Path(f"{warehouse}.lock")


@contextmanager
def run_lock(
    warehouse: Path | str,
    timeout: float,
    *,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the run lock of ``warehouse`` for the ``with`` block.

    An exclusive ``flock`` on ``<warehouse>.lock``: the kernel drops it when
    this process exits, however it exits (SIGKILL included), so a dead run
    never leaves a stale lock. The lock file records the holder's pid, start
    time and command line. When another process holds it, ``on_wait`` gets
    one line saying who and for how long we wait; after ``timeout`` seconds
    this raises ``WarehouseBusy``. The file descriptor is not inherited by
    child processes.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        if not _try_flock(fd):
            if on_wait is not None:
                on_wait(
                    f"warehouse {warehouse} is in use by another run ({lock_holder(path)}); "
                    f"waiting up to {timeout:g}s"
                )
            deadline = time.monotonic() + timeout
            while not _try_flock(fd):
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"warehouse {warehouse} is still in use by another run "
                        f"({lock_holder(path)}) after waiting {timeout:g}s "
                        "(VC_RUN_LOCK_TIMEOUT); try again when that run has finished"
                    )
                time.sleep(0.2)
        holder = {
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def lock_holder(path: Path) -> str:
    """``pid N, started T`` from a run lock file (whatever is known)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict) or "pid" not in holder:
        return "pid unknown"
    return f"pid {holder['pid']}, started {holder.get('started', 'at an unknown time')}"


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


# --- verification --------------------------------------------------------------


@dataclass(frozen=True)
class TableCheck:
    """One table read end to end by ``verify``: its rows, or the error met."""

    table: str
    rows: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def verify(settings: Settings) -> list[TableCheck]:
    """Read every column of every table of the warehouse; one ``TableCheck`` each.

    Each table is scanned whole with ``count(*), sum(hash(<every column>))``:
    hashing every column makes DuckDB fetch every data block of the table, and
    every block read has its checksum checked, so a flipped bit anywhere in
    the table's data comes out here as that table's error instead of in
    whichever query touches it first. (Blocks of indexes are not scanned.)
    Raises ``WarehouseCorrupt`` when the file cannot even be opened (a
    damaged header or catalog) and ``WarehouseBusy`` when another process
    holds it.
    """
    with open_warehouse(settings, read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where not temporary and database_name = current_database() order by all"
        ).fetchall()
        columns: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database() order by schema_name, table_name, "
            "column_index"
        ).fetchall():
            columns.setdefault((schema, table), []).append(column)
    checks = []
    con = None
    try:
        for schema, table in tables:
            if con is None:
                con = _connect_retrying(
                    Path(settings.warehouse),
                    True,
                    settings.duckdb_config(),
                    settings.warehouse_open_timeout,
                )
            name = f"{_quote(schema)}.{_quote(table)}"
            hashed = ", ".join(_quote(c) for c in columns.get((schema, table), []))
            try:
                row = con.execute(f"select count(*), sum(hash({hashed})) from {name}").fetchone()
            except duckdb.Error as exc:
                checks.append(TableCheck(f"{schema}.{table}", None, str(exc).splitlines()[0]))
                con.close()  # a failed read may leave the database invalidated
                con = None
                continue
            checks.append(TableCheck(f"{schema}.{table}", int(row[0]) if row else 0))
    finally:
        if con is not None:
            con.close()
    return checks


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """True when ``schema.table`` exists in the open warehouse."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])
