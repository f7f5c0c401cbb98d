"""``make airflow`` / ``make airflow-stop``: Airflow standalone with the pipeline's DAGs.

``start`` prepares Airflow's home exactly as the command line does
(``ensure_airflow``: metadata database, the ``duckdb_writer`` pool), then runs
``airflow standalone`` (API server and UI, scheduler, DAG processor,
triggerer) in the background, in its own session, with
``airflow_runner.standalone_env``: the repository's ``dags/``, no example
DAGs, the ``VC_*`` settings and the ``AIRFLOW_CONN_*`` connections of this
environment. It waits until the UI answers and prints its URL and the admin
login (the password standalone generated). ``stop`` stops the whole process
group and any descendant that left it.

The pid file and the log are in ``AIRFLOW_HOME`` (``.airflow/`` by default).
The browser test (``tests/browser/test_airflow_ui.py``) imports this module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from voice_compliance.airflow_runner import (
    STANDALONE_PORT,
    VENV_BIN,
    ensure_airflow,
    standalone_env,
)
from voice_compliance.config import REPO_ROOT, Settings

PID_FILE = "standalone.pid"
LOG_FILE = "standalone.log"
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
START_TIMEOUT_S = 240.0
STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class Standalone:
    """A running ``airflow standalone``."""

    pid: int
    url: str
    username: str
    password: str
    log: Path


def start(
    settings: Settings,
    port: int = STANDALONE_PORT,
    timeout: float = START_TIMEOUT_S,
    *,
    base: Mapping[str, str] | None = None,
) -> Standalone:
    """Start ``airflow standalone`` in the background; return once its UI answers.

    ``base`` is the environment to start from (default: this process's).
    """
    home = settings.airflow_home.resolve()
    running = _read_pid(home)
    if running is not None:
        raise SystemExit(
            f"Airflow standalone already runs (pid {running}); make airflow-stop first"
        )
    ensure_airflow(settings)
    log = home / LOG_FILE
    env = standalone_env(settings, port, base=base)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "airflow"), "standalone"],
            env=env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own session: stop() signals the group, workers included.
            start_new_session=True,
        )
    (home / PID_FILE).write_text(str(process.pid))
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            (home / PID_FILE).unlink(missing_ok=True)
            raise SystemExit(f"airflow standalone exited ({process.returncode}); log: {log}")
        if _healthy(url) and (home / PASSWORD_FILE).is_file():
            break
        if time.monotonic() > deadline:
            stop(settings)
            raise SystemExit(f"Airflow did not answer on {url} within {timeout:.0f} s; log: {log}")
        time.sleep(1)
    passwords = json.loads((home / PASSWORD_FILE).read_text())
    return Standalone(process.pid, url, "admin", passwords["admin"], log)


def stop(settings: Settings, grace: float = STOP_GRACE_S) -> str:
    """Stop the standalone started from ``settings.airflow_home`` and every child."""
    import psutil

    home = settings.airflow_home.resolve()
    pid = _read_pid(home)
    if pid is None:
        return "Airflow standalone is not running"
    try:
        leader = psutil.Process(pid)
        tree = [leader, *leader.children(recursive=True)]
    except psutil.Error:
        tree = []
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signum)
        _, alive = psutil.wait_procs(tree, timeout=grace if signum == signal.SIGTERM else 5)
        if not alive and not _group_alive(pid):
            break
    (home / PID_FILE).unlink(missing_ok=True)
    return f"Airflow standalone stopped (pid {pid} and its {len(tree) - 1} descendants)"


def _read_pid(home: Path) -> int | None:
    """The pid in the pid file while that process runs; else None (stale file removed)."""
    path = home / PID_FILE
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return None
    return pid


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    """``start [--port N]`` or ``stop``."""
    parser = argparse.ArgumentParser(prog="airflow_standalone", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start_cmd = sub.add_parser("start")
    start_cmd.add_argument("--port", type=int, default=STANDALONE_PORT)
    sub.add_parser("stop")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "stop":
        print(stop(settings))
        return 0
    server = start(settings, args.port)
    print(
        f"Airflow is up: {server.url}\n"
        f"  login: {server.username} / {server.password}"
        f"  (from {settings.airflow_home.resolve() / PASSWORD_FILE})\n"
        f"  DAGs from {REPO_ROOT / 'dags'}; new DAGs start paused: unpause them in the UI\n"
        f"  log: {server.log}\n"
        "  stop it with: make airflow-stop"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
