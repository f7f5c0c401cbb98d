"""Which dbt project derived the warehouse: re-derive everything when it changed.

An incremental run re-derives only the days that new files touched and keeps
every other row as earlier runs wrote it (decision 0012). Those rows were
written by the project's SQL of that time. After an upgrade of this package,
or an edited model or macro, they may be computed differently, or have other
columns (the incremental models are built with ``on_schema_change='fail'``).
So ``dbt_runner.dbt_build`` records a fingerprint of the project here after
each successful whole build, and compares it before the next one: when it
differs, the build is a full refresh, once (decision 0033).

The fingerprint covers what decides the derived rows: ``dbt_project.yml``,
the models, macros, seeds and snapshots (SQL, YAML, CSV), and the versions
of dbt-core, dbt-duckdb and DuckDB (whose time-zone rules and JSON and text
formatting reach the derived rows). Not the policy file: an edited policy is
re-derived incrementally by the project itself (``vc_policy_fingerprint``).
Nor documentation (``.md``), which changes no row.

The record is one row in ``compliance.derivation_state``, in the warehouse
it describes: a copied or restored warehouse carries its own.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from voice_compliance import warehouse

if TYPE_CHECKING:
    from voice_compliance.config import Settings

log = logging.getLogger(__name__)

STATE_TABLE = ("compliance", "derivation_state")
FINGERPRINTED_FOLDERS = ("models", "macros", "seeds", "snapshots")
FINGERPRINTED_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv"})
DERIVED_MARKERS = (("intermediate", "int_days_changed"), ("staging", "stg_twilio__calls"))
"""Incremental relations a build writes: any of them = the warehouse holds derived rows
(a selected build may have written the second without the first)."""
_VERSIONED_DISTRIBUTIONS = ("dbt-core", "dbt-duckdb", "duckdb")
_STATE = ".".join(STATE_TABLE)


@dataclass(frozen=True)
class Recorded:
    """What the last successful whole build recorded."""

    project_fingerprint: str
    derived_at: datetime
    full_refresh: bool


def project_files(project_dir: Path) -> list[Path]:
    """The project files the fingerprint reads, in a stable order."""
    files = [path for path in [project_dir / "dbt_project.yml"] if path.is_file()]
    for folder in FINGERPRINTED_FOLDERS:
        root = project_dir / folder
        if root.is_dir():
            files += sorted(
                path
                for path in root.rglob("*")
                if path.is_file()
                and path.suffix in FINGERPRINTED_SUFFIXES
                and not path.name.startswith(".")
            )
    return files


def versions() -> dict[str, str]:
    """The installed versions of what runs the derivation (``absent`` if not installed)."""
    found = {}
    for distribution in _VERSIONED_DISTRIBUTIONS:
        try:
            found[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            found[distribution] = "absent"
    return found


def project_fingerprint(project_dir: Path) -> str:
    """A digest of what decides the derived rows (module docstring)."""
    digest = hashlib.sha256()
    for distribution, version in versions().items():
        digest.update(f"{distribution}=={version}\n".encode())
    for path in project_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def recorded(con: duckdb.DuckDBPyConnection) -> Recorded | None:
    """The record in the open warehouse, if any."""
    if not warehouse.table_exists(con, *STATE_TABLE):
        return None
    row = con.execute(
        f"select project_fingerprint, derived_at, full_refresh from {_STATE}"
    ).fetchone()
    return Recorded(str(row[0]), row[1], bool(row[2])) if row else None


def refresh_reason(settings: Settings, fingerprint: str) -> str | None:
    """Why the warehouse's derived rows must be derived again: they came from
    another project than ``fingerprint``, or from an unrecorded one.

    ``None`` for a warehouse with nothing derived yet (its first build derives
    everything anyway) and for one last derived by this project.
    """
    if not settings.warehouse.exists():
        return None
    with warehouse.open_warehouse(settings, read_only=True) as con:
        if not any(warehouse.table_exists(con, *marker) for marker in DERIVED_MARKERS):
            return None
        last = recorded(con)
    if last is None:
        return (
            "the warehouse was derived before the dbt project's fingerprint was recorded:"
            " re-deriving everything once (--full-refresh)"
        )
    if last.project_fingerprint != fingerprint:
        return (
            f"the dbt project changed since the warehouse was last derived"
            f" ({last.project_fingerprint[:12]} -> {fingerprint[:12]}): re-deriving"
            " everything once (--full-refresh)"
        )
    return None


def record(settings: Settings, fingerprint: str, *, full_refresh: bool) -> bool:
    """Remember that the warehouse's derived rows are now ``fingerprint``'s.

    Returns False, with a warning, when the warehouse cannot be written now
    (another process holds it): the build itself succeeded, and the next
    whole build only re-derives everything once more than it needed to.
    """
    if not settings.warehouse.exists():
        return False
    try:
        with warehouse.open_warehouse(settings) as con:
            con.execute(
                f"create or replace table {_STATE} as select"
                " cast(? as varchar) as project_fingerprint,"
                " cast(? as timestamptz) as derived_at,"
                " cast(? as boolean) as full_refresh",
                [fingerprint, datetime.now(UTC), full_refresh],
            )
    except (warehouse.WarehouseError, duckdb.Error) as exc:
        log.warning(
            "could not record which dbt project derived %s (%s): the next build"
            " will re-derive everything once",
            settings.warehouse,
            exc,
        )
        return False
    return True
