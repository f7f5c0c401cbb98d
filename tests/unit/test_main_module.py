"""``python -m voice_compliance`` runs the command line; Airflow's plugin loader does not.

Airflow's plugin loader runs every ``.py`` file of a plugins folder under its
file's stem: a copy of ``plugins/`` without its ``.airflowignore`` ran
``__main__.py`` as ``__main__``, and the command line took the scheduler's
arguments and exited the scheduler.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from voice_compliance.config import REPO_ROOT

pytestmark = pytest.mark.quick

MAIN = REPO_ROOT / "plugins" / "voice_compliance" / "__main__.py"


def test_loaded_as_airflow_loads_a_plugin_file_it_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["airflow", "scheduler"])
    spec = importlib.util.spec_from_file_location("__main__", MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)

    spec.loader.exec_module(module)  # raised SystemExit(2) before

    assert not hasattr(module, "main")


def test_python_dash_m_still_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voice_compliance", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m voice_compliance")
