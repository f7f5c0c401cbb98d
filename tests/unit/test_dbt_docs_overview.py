"""The dbt docs front page maps every clause, naming only models that exist."""

from __future__ import annotations

import re

import pytest

from voice_compliance.config import REPO_ROOT
from voice_compliance.policy import CLAUSE_IDS

pytestmark = pytest.mark.quick

PROJECT = REPO_ROOT / "dbt_project"
LIST_HEAD = "The models each mart is built from"


def test_the_clause_map_maps_every_clause_to_models_that_exist() -> None:
    overview = (PROJECT / "docs" / "overview.md").read_text(encoding="utf-8")
    models = {path.stem for path in (PROJECT / "models").rglob("*.sql")}
    table, _, rest = overview.partition(LIST_HEAD)
    built_from = rest.split("\n\n", 2)[1]

    named = re.findall(r"`([^`]+)`", built_from)

    assert named, f"no list under {LIST_HEAD!r}"
    assert sorted(set(named) - models - set(CLAUSE_IDS)) == []
    for clause_id in CLAUSE_IDS:
        assert f"| `{clause_id}` |" in table, clause_id
        assert f"`{clause_id}`" in built_from, clause_id
