"""Imports run downward only: every module of ``voice_compliance`` has a layer,
and no module imports one of a higher layer.

The layers, bottom to top, are declared below (``LAYERS``). A module's layer is
that of the longest declared name it starts with, so ``docs_site.links`` can
sit above ``docs_site``. Every import counts: at module level, inside a
function (lazy), or under ``TYPE_CHECKING``; a lazy import is still a
dependency. Modules of one layer may import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.quick

PACKAGE = "voice_compliance"
ROOT = Path(__file__).resolve().parents[2] / "plugins" / PACKAGE

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Names, settings and helpers that import nothing of the package (or only each other).
    (
        "basics",
        (
            "airflow_names",
            "atomic_files",
            "config",
            "display",
            "masking",
            "phones",
            "progress",
            "retention",
            "retry",
            "utc",
        ),
    ),
    # The policy file; outbound text made safe.
    ("rules", ("policy", "sanitize")),
    # Where data lives: the warehouse (and which dbt project derived it), the
    # landing zone, the docs sites' files, Assets.
    ("storage", ("assets", "derivation_state", "docs_site", "landing", "warehouse")),
    # What moves data: loaders, the Twilio puller, dbt, Airflow in a child
    # process, Slack delivery.
    ("engines", ("airflow_runner", "dbt_runner", "loading", "notify", "twilio")),
    # Great Expectations suites and their results.
    ("validation", ("validation",)),
    # What people read: the docs sites' links (they ask dbt_runner and
    # validation where the sites are), the monthly report, what the loads
    # quarantined.
    ("publishing", ("docs_site.links", "quarantine_summary", "report")),
    # Tickets link to the report and act on validation's findings.
    ("tickets", ("tickets",)),
    # Jobs the DAGs and the CLI run.
    ("jobs", ("alerting", "checks", "ingest", "reporting")),
    # Entry points: DAG support (and the transform DAG's docs operator), the
    # command line (and its report subcommand).
    ("entry", ("__init__", "__main__", "cli", "dag_support", "dbt_docs_task", "report.command")),
)


def _layer_of() -> dict[str, int]:
    return {f"{PACKAGE}.{name}": rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def layer(module: str) -> int | None:
    """The layer rank of ``module`` (a dotted name), or None if undeclared."""
    declared = _layer_of()
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        rank = declared.get(".".join(parts[:end]))
        if rank is not None:
            return rank
    return None


def module_name(path: Path) -> str:
    """``plugins/voice_compliance/a/b.py`` -> ``voice_compliance.a.b`` (a package's
    ``__init__.py`` is the package itself, the top one ``voice_compliance.__init__``)."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def imported_modules(source: str, importer: str) -> list[tuple[str, int]]:
    """The package modules ``source`` imports, with line numbers.

    ``from voice_compliance.a import b`` names ``voice_compliance.a.b`` when
    that is a module, else ``voice_compliance.a``. A relative import fails
    (absolute imports only).
    """
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # the house style: absolute imports only
                raise AssertionError(f"{importer}:{node.lineno}: relative import")
            base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((candidate if _is_module(candidate) else base, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] == PACKAGE]


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def upward_imports(importer: str, source: str) -> list[str]:
    """Every import in ``source`` (of module ``importer``) that goes up a layer."""
    own = layer(importer)
    problems = []
    for target, line in imported_modules(source, importer):
        rank = layer(target)
        if own is not None and rank is not None and rank > own:
            problems.append(
                f"{importer}:{line} imports {target} "
                f"({LAYERS[own][0]} -> {LAYERS[rank][0]}, upward)"
            )
    return problems


def test_every_module_has_a_declared_layer() -> None:
    """A new module must be placed in ``LAYERS`` (its place is a design decision)."""
    undeclared = [module_name(p) for p in _modules() if layer(module_name(p)) is None]
    assert undeclared == [], f"add these to LAYERS in {__file__}: {undeclared}"


def test_no_module_imports_a_higher_layer() -> None:
    problems = []
    for path in _modules():
        problems += upward_imports(module_name(path), path.read_text(encoding="utf-8"))
    assert problems == [], "\n".join(problems)


def test_every_imported_module_exists_and_has_a_layer() -> None:
    """Imports of the package name real modules, each with a layer (no stale paths)."""
    missing = []
    for path in _modules():
        importer = module_name(path)
        for target, line in imported_modules(path.read_text(encoding="utf-8"), importer):
            if target != PACKAGE and (not _is_module(target) or layer(target) is None):
                missing.append(f"{importer}:{line} imports {target}")
    assert missing == [], "\n".join(missing)


@pytest.mark.parametrize(
    ("importer", "source", "upward"),
    [
        ("validation.results", "from voice_compliance.tickets import x", True),
        ("landing.s3", "import voice_compliance.cli", True),
        ("config", "def f():\n    from voice_compliance import warehouse", True),
        ("docs_site.data_docs", "from voice_compliance.docs_site import links", True),
        ("tickets.lifecycle", "from voice_compliance.validation import findings", False),
        ("report.command", "from voice_compliance.cli import CommandError", False),
    ],
)
def test_the_check_catches_upward_imports(importer: str, source: str, upward: bool) -> None:
    """The checker itself: lazy and aliased imports count; same or lower layers pass."""
    assert bool(upward_imports(f"{PACKAGE}.{importer}", source)) is upward
