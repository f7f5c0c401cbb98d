"""The runtime stays free of the tooling package (issue 12).

The sample generator and the fake Twilio live in ``vc_sample``, beside the
runtime package ``voice_compliance``. No DAG may load them: the DagBag is
parsed in a fresh child process (as Airflow's DAG processor does) and the
child reports which tooling modules ended up in ``sys.modules``. A static
check adds that no runtime module imports the tooling at all, except the
command line inside the commands that exist to run it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import voice_compliance
from dag_probe import parse_dags_in

pytestmark = pytest.mark.quick

TOOLING = "vc_sample"
OLD_TOOLING = ("voice_compliance.generate", "voice_compliance.twilio.fake_server")
"""Where the tooling lived before: nothing may bring those names back."""
LAZY_TOOLING_IMPORTERS = {"cli.py"}
"""Runtime modules allowed to import the tooling, inside a function only."""

PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1], known_pools={"default_pool", sys.argv[2]})
print(json.dumps({
    "dags": sorted(bag.dags),
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "modules": sorted(m for m in sys.modules
                      if m.split(".")[0] in {"vc_sample", "voice_compliance"}),
}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a fresh Airflow imports while parsing ``dags/``."""
    return parse_dags_in(PROBE, tmp_path_factory.mktemp("runtime_imports"))


def _is_tooling(module: str) -> bool:
    return module.split(".")[0] == TOOLING or module.startswith(OLD_TOOLING)


def test_dags_parse(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert parsed["dags"], "no DAG parsed: the check below would prove nothing"
    assert "voice_compliance" in parsed["modules"]


def test_no_dag_imports_the_tooling(parsed: dict[str, Any]) -> None:
    assert [m for m in parsed["modules"] if _is_tooling(m)] == []


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Every imported module name of ``tree`` with the node importing it."""
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node))
            found += [(f"{node.module}.{alias.name}", node) for alias in node.names]
    return found


def test_runtime_modules_do_not_import_the_tooling() -> None:
    """Only the command line imports ``vc_sample``, and only inside its commands."""
    package = Path(voice_compliance.__file__).parent
    offenders: list[str] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top_level = {id(node) for node in tree.body}
        rel = path.relative_to(package).as_posix()
        for name, node in _imports(tree):
            if not _is_tooling(name):
                continue
            if rel in LAZY_TOOLING_IMPORTERS and id(node) not in top_level:
                continue
            offenders.append(f"{rel}:{node.lineno}: {name}")
    assert offenders == []


def test_tooling_package_sits_beside_the_runtime() -> None:
    import vc_sample

    runtime = Path(voice_compliance.__file__).parent
    tooling = Path(vc_sample.__file__).parent
    assert tooling.parent == runtime.parent
    assert not (runtime / "generate").exists()
    assert not (runtime / "twilio" / "fake_server.py").exists()
