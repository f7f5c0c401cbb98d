"""``voice_compliance.derivation_state``: which dbt project derived the
warehouse, and when a whole build must re-derive everything (decision 0033).

The fingerprint is read from a copy of the real project; the record lives in a
real DuckDB warehouse. ``tests/dbt/test_dbt_runner.py`` runs the whole thing
with dbt: an upgraded model that adds a column builds where a plain
incremental run fails.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from voice_compliance import dbt_runner, derivation_state
from voice_compliance.config import Settings

pytestmark = pytest.mark.quick


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        dbt_runner.DBT_PROJECT_DIR,
        copy,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    return copy


@pytest.fixture
def settings(tmp_path: Path, project: Path) -> Settings:
    return Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
        dbt_project_dir=project,
    )


def _derive_something(settings: Settings, marker: int = 0) -> None:
    """What a build leaves: a relation that marks derived rows."""
    schema, table = derivation_state.DERIVED_MARKERS[marker]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {schema}.{table} (call_date date)")


def _recorded(settings: Settings) -> tuple[str, bool] | None:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        last = derivation_state.recorded(con)
    return (last.project_fingerprint, last.full_refresh) if last else None


def test_the_fingerprint_follows_what_decides_the_rows(project: Path) -> None:
    first = derivation_state.project_fingerprint(project)
    assert derivation_state.project_fingerprint(project) == first

    # documentation and the policy file change no derived row through this
    # fingerprint (an edited policy is re-derived by the project itself)
    (project / "docs" / "overview.md").write_text("edited\n")
    (project / "policy.yml").write_text((project / "policy.yml").read_text() + "\n# edited\n")
    assert derivation_state.project_fingerprint(project) == first

    macro = project / "macros" / "time.sql"
    macro.write_text(macro.read_text() + "\n")
    after_macro = derivation_state.project_fingerprint(project)
    assert after_macro != first

    model = project / "models" / "staging" / "stg_twilio__calls.sql"
    model.write_text(model.read_text() + "\n")
    assert derivation_state.project_fingerprint(project) not in {first, after_macro}

    # a model moved to another folder is another project
    moved = derivation_state.project_fingerprint(project)
    model.rename(project / "models" / "intermediate" / model.name)
    assert derivation_state.project_fingerprint(project) != moved


def test_a_new_warehouse_needs_no_refresh(settings: Settings) -> None:
    fingerprint = derivation_state.project_fingerprint(settings.dbt_project_dir)
    assert derivation_state.refresh_reason(settings, fingerprint) is None

    # nor one with raw rows but nothing derived yet
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.calls (sid varchar)")
    assert derivation_state.refresh_reason(settings, fingerprint) is None

    # and recording needs a warehouse: none is created for it
    settings.warehouse.unlink()
    derivation_state.record(settings, fingerprint, full_refresh=False)
    assert not settings.warehouse.exists()


def test_a_warehouse_derived_by_another_project_is_refreshed_once(settings: Settings) -> None:
    _derive_something(settings)
    old = derivation_state.project_fingerprint(settings.dbt_project_dir)

    unrecorded = derivation_state.refresh_reason(settings, old)
    assert unrecorded is not None and "before the dbt project's fingerprint" in unrecorded

    derivation_state.record(settings, old, full_refresh=True)
    assert derivation_state.refresh_reason(settings, old) is None

    model = settings.dbt_project_dir / "models" / "marts" / "compliance" / "policy_violations.sql"
    model.write_text(model.read_text() + "\n-- upgraded\n")
    new = derivation_state.project_fingerprint(settings.dbt_project_dir)
    changed = derivation_state.refresh_reason(settings, new)
    assert changed is not None and f"{old[:12]} -> {new[:12]}" in changed

    derivation_state.record(settings, new, full_refresh=True)
    derivation_state.record(settings, new, full_refresh=False)
    assert derivation_state.refresh_reason(settings, new) is None
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute("select count(*) from compliance.derivation_state").fetchall()
    assert rows == [(1,)], "one row: the latest build's"
    assert _recorded(settings) == (new, False)


def test_a_selected_build_alone_also_counts_as_derived(settings: Settings) -> None:
    """A warehouse that only ever had `dbt build --select ...` (no changed-days
    model) still holds incremental rows an upgrade must not keep."""
    _derive_something(settings, marker=1)
    fingerprint = derivation_state.project_fingerprint(settings.dbt_project_dir)
    assert derivation_state.refresh_reason(settings, fingerprint) is not None


def test_the_fingerprint_follows_dbt_and_duckdb_versions(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = derivation_state.project_fingerprint(project)
    installed = derivation_state.versions()
    assert set(installed) == {"dbt-core", "dbt-duckdb", "duckdb"}
    assert "absent" not in installed.values()

    monkeypatch.setattr(derivation_state, "versions", lambda: {**installed, "duckdb": "9.9.9"})
    assert derivation_state.project_fingerprint(project) != before


def test_a_busy_warehouse_only_costs_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The build succeeded; another process holding the warehouse when it
    ends must not fail the task (the record is only skipped)."""
    _derive_something(settings)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(settings.warehouse)!r})\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = settings.replace(warehouse_open_timeout=0)
        with caplog.at_level(logging.WARNING, logger=derivation_state.__name__):
            assert derivation_state.record(busy, "f" * 64, full_refresh=False) is False
    finally:
        holder.kill()
        holder.wait()
    assert "could not record" in caplog.text
    assert "locked by another process" in caplog.text
