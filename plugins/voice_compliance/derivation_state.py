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
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from voice_compliance import warehouse

if TYPE_CHECKING:
    from voice_compliance.config import Settings

STATE_TABLE = "compliance.derivation_state"
FINGERPRINTED_FOLDERS = ("models", "macros", "seeds", "snapshots")
FINGERPRINTED_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv"})
DERIVED_MARKER = ("intermediate", "int_days_changed")
"""A relation every incremental build writes: present = the warehouse holds derived rows."""
_VERSIONED_DISTRIBUTIONS = ("dbt-core", "dbt-duckdb", "duckdb")


def project_files(project_dir: Path) -> list[Path]:
    """The project files the fingerprint reads, in a stable order."""
    files = [project_dir / "dbt_project.yml"]
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


def project_fingerprint(project_dir: Path) -> str:
    """A digest of what decides the derived rows (module docstring)."""
    digest = hashlib.sha256()
    for distribution in _VERSIONED_DISTRIBUTIONS:
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{distribution}=={version}\n".encode())
    for path in project_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def refresh_reason(settings: Settings, fingerprint: str) -> str | None:
    """Why the warehouse's derived rows must be derived again: they came from
    another project than ``fingerprint``, or from an unrecorded one.

    ``None`` for a warehouse with nothing derived yet (its first build derives
    everything anyway) and for one last derived by this project.
    """
    if not settings.warehouse.exists():
        return None
    with warehouse.open_warehouse(settings, read_only=True) as con:
        if not warehouse.table_exists(con, *DERIVED_MARKER):
            return None
        schema, table = STATE_TABLE.split(".")
        recorded = (
            con.execute(f"select project_fingerprint from {STATE_TABLE}").fetchone()
            if warehouse.table_exists(con, schema, table)
            else None
        )
    if recorded is None:
        return (
            "the warehouse was derived before the dbt project's fingerprint was recorded:"
            " re-deriving everything once (--full-refresh)"
        )
    if recorded[0] != fingerprint:
        return (
            f"the dbt project changed since the warehouse was last derived"
            f" ({recorded[0][:12]} -> {fingerprint[:12]}): re-deriving everything"
            " once (--full-refresh)"
        )
    return None


def record(settings: Settings, fingerprint: str, *, full_refresh: bool) -> None:
    """Remember that the warehouse's derived rows are now ``fingerprint``'s."""
    if not settings.warehouse.exists():
        return
    with warehouse.open_warehouse(settings) as con:
        con.execute("create schema if not exists compliance")
        con.execute(
            f"create table if not exists {STATE_TABLE} ("
            " project_fingerprint varchar not null,"
            " derived_at timestamptz not null,"
            " full_refresh boolean not null)"
        )
        con.execute("begin transaction")
        con.execute(f"delete from {STATE_TABLE}")
        con.execute(
            f"insert into {STATE_TABLE} values (?, ?, ?)",
            [fingerprint, datetime.now(UTC), full_refresh],
        )
        con.execute("commit")
