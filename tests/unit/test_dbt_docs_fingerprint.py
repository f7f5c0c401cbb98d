"""Unit tests for the dbt docs site's fingerprint (``docs_site.dbt_docs``).

The transform DAG keeps the current docs site when the fingerprint of the
build it follows equals the one recorded with the site: these tests pin what
changes it (the project's sources, docs and macros, the policy vars, the
warehouse's columns) and what does not (run timestamps and ids, the
compiled SQL, whose first-build form differs from the later runs').
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from voice_compliance.docs_site import (
    DBT_DOCS_FILES,
    docs_are_current,
    docs_fingerprint,
    record_docs_fingerprint,
)

pytestmark = pytest.mark.quick

POLICY = {"complaints_min_count": 3, "acd_min_seconds": 30}
COLUMNS = [("compliance", "clause_summary", "clause_id", "VARCHAR")]

MANIFEST: dict[str, Any] = {
    "metadata": {"generated_at": "2026-12-01T00:00:00Z", "invocation_id": "a", "dbt_version": "1"},
    "macros": {"macro.p.vc_window": {"macro_sql": "{% macro vc_window() %}7{% endmacro %}"}},
    "nodes": {
        "model.p.clause_summary": {
            "resource_type": "model",
            "schema": "compliance",
            "alias": "clause_summary",
            "config": {"materialized": "table"},
            "raw_code": "select * from {{ ref('int_x') }}",
            "compiled_code": "select * from intermediate.int_x",
            "description": "One row per clause.",
            "created_at": 1.0,
        },
        "model.p.int_x": {
            "resource_type": "model",
            "schema": "intermediate",
            "alias": "int_x",
            "config": {"materialized": "incremental"},
            "raw_code": "select 1 {% if is_incremental() %} where d > 0 {% endif %}",
            "compiled_code": "select 1",
            "created_at": 2.0,
        },
    },
}


def fingerprint(
    tmp_path: Path,
    manifest: dict[str, Any],
    columns: list[tuple[str, ...]] = COLUMNS,
    policy: dict[str, Any] = POLICY,
) -> str | None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return docs_fingerprint(path, columns, policy)


def changed(edit: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(MANIFEST)
    edit(manifest)
    return manifest


def test_a_new_run_of_the_same_project_has_the_same_fingerprint(tmp_path: Path) -> None:
    def next_run(manifest: dict[str, Any]) -> None:
        manifest["metadata"].update(generated_at="2026-12-02T00:00:00Z", invocation_id="b")
        for node in manifest["nodes"].values():
            node["created_at"] += 100
        # An incremental model compiles to its changed-days form after the first build.
        manifest["nodes"]["model.p.int_x"]["compiled_code"] = "select 1 where d > 0"
        manifest["nodes"]["model.p.clause_summary"]["compiled_code"] = "select * from i.int_x"

    assert fingerprint(tmp_path, MANIFEST) == fingerprint(tmp_path, changed(next_run))


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["nodes"]["model.p.clause_summary"].update(description="Per clause."),
        lambda m: m["macros"]["macro.p.vc_window"].update(macro_sql="{% macro vc_window() %}8"),
        lambda m: m["nodes"]["model.p.int_x"].update(raw_code="select 2"),
        lambda m: m["metadata"].update(dbt_version="2"),
        lambda m: m["nodes"].pop("model.p.int_x"),
    ],
    ids=["description", "macro", "model-source", "dbt-version", "model-removed"],
)
def test_a_project_change_changes_the_fingerprint(tmp_path: Path, edit: Any) -> None:
    assert fingerprint(tmp_path, MANIFEST) != fingerprint(tmp_path, changed(edit))


def test_the_policy_and_the_columns_change_the_fingerprint(tmp_path: Path) -> None:
    base = fingerprint(tmp_path, MANIFEST)
    stricter = {**POLICY, "acd_min_seconds": 45}
    new_column = [*COLUMNS, ("compliance", "clause_summary", "owner", "VARCHAR")]
    retyped = [("compliance", "clause_summary", "clause_id", "INTEGER")]

    assert fingerprint(tmp_path, MANIFEST, policy=stricter) != base
    assert fingerprint(tmp_path, MANIFEST, columns=new_column) != base
    assert fingerprint(tmp_path, MANIFEST, columns=retyped) != base


def test_relations_the_project_does_not_declare_do_not_count(tmp_path: Path) -> None:
    # Tables written after the build (validation results, tickets) are not
    # in the catalog either.
    later = [*COLUMNS, ("compliance", "validation_results", "suite", "VARCHAR")]

    assert fingerprint(tmp_path, MANIFEST, columns=later) == fingerprint(tmp_path, MANIFEST)


def test_no_manifest_no_fingerprint(tmp_path: Path) -> None:
    assert docs_fingerprint(tmp_path / "manifest.json", COLUMNS, POLICY) is None


def test_docs_are_current_only_with_every_file_and_the_recorded_fingerprint(
    tmp_path: Path,
) -> None:
    site = tmp_path / "target"
    site.mkdir()
    recorded = fingerprint(tmp_path, MANIFEST)
    assert recorded is not None

    assert not docs_are_current(site, recorded)  # nothing generated yet
    for name in DBT_DOCS_FILES:
        (site / name).write_text("x")
    assert not docs_are_current(site, recorded)  # generated, never recorded
    record_docs_fingerprint(site, recorded)
    assert docs_are_current(site, recorded)
    assert not docs_are_current(site, "another")
    assert not docs_are_current(site, None)
    (site / DBT_DOCS_FILES[0]).unlink()
    assert not docs_are_current(site, recorded)  # the site itself is gone
