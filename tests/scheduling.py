"""How ``make test`` spreads the test modules over pytest-xdist workers.

``make test`` runs ``pytest -n TEST_WORKERS --dist loadfile
--no-loadscope-reorder``: one test module per work unit, so a module's
fixtures are built once, on one worker.
Two refinements, here:

* :class:`ModuleScheduling` puts the modules that read the session's
  ``pipeline_run`` (``PIPELINE_MODULES``) in one unit: one worker, one run,
  their tests in collection order (readers first, re-runs last). A test
  elsewhere that asks for ``pipeline_run`` is a collection error.
* The slowest modules (``SLOW_FIRST``) are collected first, so they start
  first and the run does not end with one worker busy on a long module
  while the other idles. ``--no-loadscope-reorder`` keeps that order: by
  default xdist hands out the units with the most tests first, which put
  the long one-test modules (the README, the hostile corpus) last.

xdist's ``loadgroup`` marks would express the first point, but with pytest
9.2 they are silently ignored (pytest-dev/pytest-xdist#1386). The order of
the tests inside a module never changes. ``tests/conftest.py`` star-imports
this module.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

from pipeline_fixture import PIPELINE_MODULES

__all__ = [
    "SLOW_FIRST",
    "ModuleScheduling",
    "pytest_collection_modifyitems",
    "pytest_xdist_make_scheduler",
]

PIPELINE_UNIT = "pipeline_run"
SLOW_FIRST = (
    # longest first (pytest --durations): the pipeline run and its readers,
    # the README on a fresh clone, the hostile corpus, signals, incremental
    PIPELINE_MODULES,
    {"tests/integration/test_readme_commands.py"},
    {"tests/integration/test_hostile_pipeline.py"},
    {"tests/integration/test_signals.py"},
    {"tests/dbt/test_incremental.py"},
    {"tests/browser/test_airflow_ui.py"},
    {"tests/dags/test_transform_dag.py"},
    {"tests/unit/test_phones_differential.py"},
)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class ModuleScheduling(LoadFileScheduling):
    """``--dist loadfile``, with every module of ``PIPELINE_MODULES`` in one unit."""

    def _split_scope(self, nodeid: str) -> str:
        module = _module(nodeid)
        return PIPELINE_UNIT if module in PIPELINE_MODULES else module


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    """xdist's scheduler for ``--dist loadfile``: :class:`ModuleScheduling`."""
    if config.getvalue("dist") == "loadfile":
        return ModuleScheduling(config, log)
    return None


def _rank(item: pytest.Item) -> int:
    module = _module(item.nodeid)
    return next((i for i, modules in enumerate(SLOW_FIRST) if module in modules), len(SLOW_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first (a stable sort); a stray ``pipeline_run`` reader fails."""
    strays = sorted(
        item.nodeid
        for item in items
        if "pipeline_run" in getattr(item, "fixturenames", ())
        and _module(item.nodeid) not in PIPELINE_MODULES
    )
    if strays:
        raise pytest.UsageError(
            "tests outside PIPELINE_MODULES (tests/pipeline_fixture.py) read pipeline_run; "
            f"add their module there: {', '.join(strays)}"
        )
    items.sort(key=_rank)
