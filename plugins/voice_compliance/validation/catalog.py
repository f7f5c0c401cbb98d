"""The suite catalog: every suite of ``expectations/``, built from the policy.

``expectations/`` sits at the top of the repository, next to ``dags/`` and
``dbt_project/``, so compliance officers find the suites where the README
says they are. Its modules are loaded by path (they are not an installed
package); each exposes ``suites(policy) -> list[SuiteSpec]``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from voice_compliance.config import Settings
from voice_compliance.policy import Policy, load_policy
from voice_compliance.validation.spec import SuiteSpec

SUITE_MODULES: tuple[str, ...] = ("clause_suites", "data_quality_suites")
"""The modules of ``expectations/``, in the order their suites run."""


class CatalogError(RuntimeError):
    """A suite module is missing, broken, or defines a suite twice."""


def _load_module(name: str, directory: Path) -> ModuleType:
    path = directory / f"{name}.py"
    qualified = f"vc_expectations.{name}"
    spec = importlib.util.spec_from_file_location(qualified, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise CatalogError(f"suite module not found: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "suites", None)):
        raise CatalogError(f"{path} defines no suites(policy) function")
    return module


def load_suites(policy: Policy | None = None, directory: Path | None = None) -> list[SuiteSpec]:
    """Every suite, built from ``policy`` (default: the policy file in force), defined
    in ``directory`` (default: ``settings.expectations_dir``, ``$VC_EXPECTATIONS_DIR``
    else ``expectations/``)."""
    policy = policy or load_policy()
    directory = directory or Settings.section_from_env("paths").expectations_dir
    suites: list[SuiteSpec] = []
    for name in SUITE_MODULES:
        suites.extend(_load_module(name, directory).suites(policy))
    names = [suite.name for suite in suites]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CatalogError(f"suite names defined twice: {', '.join(repeated)}")
    return suites
