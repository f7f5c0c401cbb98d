"""Run our DAGs through Airflow itself, without a scheduler.

The embedded default has no Airflow services running: every DAG runs as
``airflow dags test <dag_id>`` in a child process, against a SQLite metadata
database under ``settings.airflow_home``. ``airflow dags test`` runs the
tasks in dependency order in that one process and fails when the DAG run
ends failed, so a failing task surfaces here as ``DagRunFailed``.

A sequence of DAGs (``run_dags``, the whole pipeline) runs Airflow's own
``dags test`` command for each DAG in turn in *one* child interpreter
(``_SEQUENCE_SCRIPT``): importing Airflow and starting its in-process
Execution API cost about 17 s per process, once per pipeline run instead of
once per DAG (decision 0022). The sequence stops at the first failed DAG.

Airflow reads its configuration when it is first imported, so this module
never imports Airflow: it only builds the child's environment and runs the
venv's own ``airflow`` binary.

Every child runs in its own session (process group) under a small guardian
process, so that stopping a run stops everything it started (see
``_GUARD_SCRIPT`` and ``stop_process_tree``): no ``airflow dags test`` or
``dbt build`` is left writing the warehouse after the CLI is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from voice_compliance import retention

# Declared in airflow_names; re-exported because the CLI and tests read them here.
from voice_compliance.airflow_names import INGESTION_DAGS as INGESTION_DAGS
from voice_compliance.airflow_names import PIPELINE_DAGS as PIPELINE_DAGS
from voice_compliance.airflow_names import TRANSFORM_DAG as TRANSFORM_DAG
from voice_compliance.airflow_names import VALIDATION_DAG as VALIDATION_DAG
from voice_compliance.airflow_names import WRITER_POOL, WRITER_POOL_SLOTS
from voice_compliance.config import REPO_ROOT, Settings

DAGS_FOLDER = REPO_ROOT / "dags"
PACKAGE_PATH = REPO_ROOT / "plugins"
"""The folder holding the ``voice_compliance`` package (put on ``PYTHONPATH``)."""
VENV_BIN = Path(sys.executable).parent
"""The running interpreter's ``bin``: Airflow is installed next to it."""

_READY_MARKER = ".voice_compliance_ready.json"

# ``airflow db migrate`` then ``airflow pools set``, in one process: each CLI
# call spends most of its ~10 s importing Airflow.
_SETUP_SCRIPT = """
import sys
from airflow.cli import cli_parser
args = cli_parser.get_parser().parse_args(["db", "migrate"])
args.func(args)
from airflow.models.pool import Pool
pool, slots = sys.argv[1], int(sys.argv[2])
Pool.create_or_update_pool(pool, slots, "Serializes DuckDB writers", include_deferred=False)
print(f"Pool {pool} has {slots} slot(s)")
"""
_LOG_TAIL_LINES = 40

# ``airflow dags test`` for each DAG of a sequence, in one interpreter: the
# same CLI function (``dag_command.dag_test``) the ``airflow`` binary calls,
# so the DAG runs exactly as ``airflow dags test`` runs it. Around each DAG a
# ``VC_PROGRESS`` event (kind ``dag``) marks where it starts and how it ended;
# the parent splits the log and reports the failed DAG from them.
_SEQUENCE_SCRIPT = """# voice_compliance: airflow dags test, DAG after DAG, in one interpreter
import json, sys, time, traceback
from airflow.cli import cli_parser
from airflow.configuration import write_default_airflow_configuration_if_needed

write_default_airflow_configuration_if_needed()
parser = cli_parser.get_parser()


def mark(dag_id, state, **more):
    event = {"kind": "dag", "dag_id": dag_id, "state": state, **more}
    print("VC_PROGRESS " + json.dumps(event), flush=True)


for dag_id, conf in json.loads(sys.argv[1]):
    mark(dag_id, "running")
    started = time.monotonic()
    args = parser.parse_args(["dags", "test", dag_id, "--conf", json.dumps(conf)])
    try:
        args.func(args)
        failed = False
    except SystemExit as stop:  # "DagRun failed", as the airflow binary prints it
        failed = stop.code not in (None, 0)
        if failed:
            print(stop.code, file=sys.stderr)
    except Exception:
        traceback.print_exc()
        failed = True
    sys.stderr.flush()
    mark(dag_id, "failed" if failed else "success", seconds=round(time.monotonic() - started, 3))
    if failed:
        sys.exit(1)
"""

# Why a guardian process, and not only PR_SET_PDEATHSIG on the Airflow child:
# the parent-death signal is a per-process attribute that fork() clears, so it
# would kill ``airflow dags test`` when the CLI dies, but not the ``dbt build``
# that process starts (vc_transform runs dbt as a grandchild writing the
# warehouse), which would be re-parented to init and go on writing. Polling
# for the orphan from inside the task code would need every task's
# cooperation. Instead every child command runs under this guardian: it leads
# its own session (start_new_session), the kernel sends it SIGUSR1 the moment
# the CLI dies, however it dies, SIGKILL included (prctl(PR_SET_PDEATHSIG),
# set between fork and exec, so there is no window), and it then SIGKILLs its
# whole process group: Airflow and everything Airflow started (subprocess.Popen
# keeps the group). The getppid() check covers a CLI that died before the
# prctl took effect. The guardian ignores SIGTERM/SIGINT/SIGHUP (the CLI's
# orderly stop signals the whole group; the command handles them itself) and
# its command gets PR_SET_PDEATHSIG(SIGKILL) too, so even a guardian killed on
# its own takes the command with it. Linux only; elsewhere the command runs in
# its own session without the guardian, and only the CLI's orderly stop
# (stop_process_tree) applies. Limits: the kernel sends the parent-death
# signal when the *thread* that started the child ends, so run_dag must be
# called from a thread that outlives the child (the CLI's main thread does); a
# process that moves itself to another session (setsid) escapes the guardian's
# killpg, though stop_process_tree still finds it through psutil.
_PARENT_DEATH_SIGNAL = signal.SIGUSR1
_GUARD_SCRIPT = """# voice_compliance guardian: kills its process group when the CLI dies
import ctypes, os, signal, subprocess, sys

def kill_group(*_):
    os.killpg(0, signal.SIGKILL)

signal.signal(signal.SIGUSR1, kill_group)
if os.getppid() != int(sys.argv[1]):
    kill_group()
for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, lambda *_: None)
prctl = ctypes.CDLL(None, use_errno=True).prctl
child = subprocess.Popen(sys.argv[2:], preexec_fn=lambda: prctl(1, signal.SIGKILL, 0, 0, 0))
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
"""
_PR_SET_PDEATHSIG = 1
_LIBC_PRCTL = None
if sys.platform.startswith("linux"):
    try:
        _LIBC_PRCTL = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc
        _LIBC_PRCTL = None

_RUNNING: dict[int, Callable[[], str]] = {}
"""Child processes running now: pid -> what it is now (for the CLI's stop message)."""


class AirflowRunError(RuntimeError):
    """Running Airflow for the pipeline failed."""

    def __init__(self, message: str, log_path: Path, log_tail: str) -> None:
        super().__init__(message)
        self.log_path = log_path
        self.log_tail = log_tail


class AirflowSetupFailed(AirflowRunError):
    """``airflow db migrate`` or the pool creation failed."""


class DagRunFailed(AirflowRunError):
    """A DAG run ended failed (a task failed after its retries) or could not start.

    ``reason`` names the failed tasks and the last exception in the log.
    """

    def __init__(self, dag_id: str, log_path: Path, log_tail: str, reason: str) -> None:
        super().__init__(f"DAG {dag_id} failed: {reason}; log: {log_path}", log_path, log_tail)
        self.dag_id = dag_id
        self.reason = reason


def airflow_env(
    settings: Settings,
    *,
    dags_folder: Path = DAGS_FOLDER,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of an Airflow child process for ``settings``.

    Starts from ``base`` (default: this process's environment) and sets
    Airflow's home, SQLite metadata database, DAG folder, an (empty) plugin
    folder, ``<repo>/plugins`` on ``PYTHONPATH``, quiet logging and 2-core
    parallelism, plus ``settings.to_env()`` so tasks see the same landing
    zone and warehouse. Also suits ``airflow standalone``.
    """
    home = settings.airflow_home.resolve()
    env = dict(os.environ if base is None else base)
    python_path = [str(PACKAGE_PATH)]
    if env.get("PYTHONPATH"):
        python_path.append(env["PYTHONPATH"])
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW_CONFIG": str(home / "airflow.cfg"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder.resolve()),
            # Not <repo>/plugins: Airflow's plugin manager would execute every
            # module of our package (duckdb, GX...) in every Airflow process,
            # under bare names like ``config``. Our package has no Airflow
            # plugin; it is imported through PYTHONPATH instead.
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "PYTHONPATH": os.pathsep.join(python_path),
            "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "NO_COLOR": "1",
            # Cosmos (vc_transform): no usage telemetry (no internet here; each
            # attempt waits for a timeout), and its caches next to our data.
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": str(settings.data_dir.resolve() / "dbt" / "cosmos"),
        }
    )
    env.update(settings.to_env())
    return env


STANDALONE_PORT = 8080
"""Default port of ``airflow standalone``'s API server and UI (``make airflow``)."""


def standalone_env(
    settings: Settings,
    port: int = STANDALONE_PORT,
    *,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``airflow_env`` for ``airflow standalone`` serving the UI on ``port``.

    The task runners talk to the API server's execution API, so its URL must
    follow the port. Connections come from the environment
    (``AIRFLOW_CONN_*``, kept from ``base``). DAGs are created paused, as
    with ``airflow_env``: unpause them in the UI to let the scheduler run the
    ingestion on its schedule and the rest on their Assets. Used by
    ``make airflow`` (``tools/airflow_standalone.py``) and the browser test.
    """
    env = airflow_env(settings, base=base)
    env.update(
        {
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
            # One admin whose generated password standalone writes to
            # simple_auth_manager_passwords.json.generated in AIRFLOW_HOME.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        }
    )
    return env


def ensure_airflow(settings: Settings) -> None:
    """Prepare Airflow's metadata database once; a no-op when already done.

    Runs ``airflow db migrate`` and creates the ``duckdb_writer`` pool (one
    slot), then records the Airflow version in a marker file in
    ``AIRFLOW_HOME``. Later calls return at once while the marker matches
    the installed Airflow and the database file exists.
    """
    home = settings.airflow_home.resolve()
    marker = home / _READY_MARKER
    expected = {"airflow": metadata.version("apache-airflow-core"), "pool": WRITER_POOL}
    if marker.is_file() and (home / "airflow.db").is_file():
        try:
            if json.loads(marker.read_text()) == expected:
                return
        except ValueError:
            pass  # a damaged marker: set up again
    home.mkdir(parents=True, exist_ok=True)
    log_path = _log_path(settings, "airflow-setup")
    command = [sys.executable, "-c", _SETUP_SCRIPT, WRITER_POOL, str(WRITER_POOL_SLOTS)]
    what = "airflow db migrate"
    if _run_logged(command, airflow_env(settings), log_path, what, settings.stop_grace) != 0:
        raise AirflowSetupFailed(
            f"airflow db migrate or pool creation failed; log: {log_path}",
            log_path,
            _tail(log_path),
        )
    marker.write_text(json.dumps(expected))


DagConf = Mapping[str, Any]
"""A DAG run's ``conf`` (its params)."""


@dataclass(frozen=True)
class DagRuns:
    """What ``run_dags`` ran: the log of the sequence and each DAG's wall seconds."""

    log_path: Path
    seconds: dict[str, float]


def default_conf(settings: Settings) -> dict[str, Any]:
    """The params every pipeline DAG takes: the settings' landing zone and warehouse."""
    return {"landing": settings.landing, "warehouse": str(settings.warehouse)}


def run_dag(
    dag_id: str,
    settings: Settings,
    conf: DagConf | None = None,
    *,
    dags_folder: Path = DAGS_FOLDER,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Run one DAG to completion through ``airflow dags test``; return its log.

    ``conf`` defaults to ``default_conf(settings)``. Output goes to a log
    file under ``settings.data_dir / "logs"``, whose path is returned.
    Raises ``DagRunFailed`` (with the log's tail) when the run does not
    succeed. Call ``ensure_airflow`` first.

    ``on_progress`` gets each ``VC_PROGRESS`` event the tasks log, while the
    DAG runs (``progress.LogFollower`` follows the log file the child writes).
    """
    runs = [(dag_id, default_conf(settings) if conf is None else conf)]
    return run_dags(runs, settings, dags_folder=dags_folder, on_progress=on_progress).log_path


def run_dags(
    runs: Sequence[tuple[str, DagConf]],
    settings: Settings,
    *,
    dags_folder: Path = DAGS_FOLDER,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> DagRuns:
    """Run DAGs one after the other, each as ``airflow dags test``, in one child.

    ``runs`` pairs each DAG id with its ``conf``. The sequence stops at the
    first DAG run that fails, which raises ``DagRunFailed`` for that DAG with
    the tail and failure reason of its part of the log. ``on_progress`` also
    gets the ``dag`` events (``state`` running, then success or failed, with
    ``seconds``) that frame each DAG.
    """
    if not runs:
        raise ValueError("run_dags needs at least one DAG")
    log_path = _log_path(settings, runs[0][0] if len(runs) == 1 else "pipeline")
    payload = json.dumps([[dag_id, dict(conf)] for dag_id, conf in runs])
    command = [sys.executable, "-c", _SEQUENCE_SCRIPT, payload]
    env = airflow_env(settings, dags_folder=dags_folder)
    # The log's ``dag`` events: the DAG running now (what a stop names) and
    # how each one that ended did.
    current = [runs[0][0]]
    ended: dict[str, dict[str, Any]] = {}

    def on_event(event: dict[str, Any]) -> None:
        if event.get("kind") == "dag":
            if event.get("state") == "running":
                current[0] = str(event.get("dag_id"))
            else:
                ended[str(event.get("dag_id"))] = event
        if on_progress is not None:
            on_progress(event)

    from voice_compliance.progress import LogFollower

    follower = LogFollower(log_path, on_event).start()
    try:
        returncode = _run_logged(
            command, env, log_path, lambda: f"airflow dags test {current[0]}", settings.stop_grace
        )
    finally:
        follower.stop()
    failed = [dag_id for dag_id, event in ended.items() if event.get("state") != "success"]
    if returncode != 0 or failed:
        # The DAG that ended failed, else the one running when the process died.
        dag_id = failed[0] if failed else current[0]
        part = _dag_part(_read(log_path), dag_id)
        raise DagRunFailed(dag_id, log_path, _tail(part), _failure_reason(part))
    return DagRuns(log_path, {d: float(e.get("seconds", 0.0)) for d, e in ended.items()})


def _dag_part(text: str, dag_id: str) -> str:
    """The log lines of ``dag_id``'s run: from its start marker to the next DAG's."""
    marker = 'VC_PROGRESS {"kind": "dag", "dag_id": ' + json.dumps(dag_id)
    start = text.find(marker + ', "state": "running"')
    if start < 0:
        return text
    following = text.find('VC_PROGRESS {"kind": "dag", "dag_id": ', start + len(marker))
    following = text.find("\n", following) if following >= 0 else -1
    return text[start : following if following >= 0 else len(text)]


def _log_path(settings: Settings, name: str) -> Path:
    """A new log file for this run; the logs of runs older than ``VC_HISTORY_DAYS`` go."""
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    retention.remove_older(log_dir, "*.log", retention.cutoff(settings.history.keep_days))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return log_dir / f"{name}.{stamp}.log"


def running() -> list[str]:
    """What the child processes running now are (empty when none is)."""
    return [describe() for describe in list(_RUNNING.values())]


def _run_logged(
    command: list[str],
    env: Mapping[str, str],
    log_path: Path,
    what: str | Callable[[], str],
    stop_grace: float,
) -> int:
    """Run ``command``, appending its output to ``log_path``; return its exit code.

    The command runs in its own session under the guardian (``_GUARD_SCRIPT``).
    If waiting for it is interrupted (the CLI's signal handler raises, or
    KeyboardInterrupt), the whole process tree is stopped first
    (``stop_process_tree``: SIGTERM, then SIGKILL after ``stop_grace``
    seconds) and the exception goes on.
    """
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        started = time.monotonic()
        process: subprocess.Popen[bytes] | None = None
        try:
            process = _start(command, env, log)
            pid = process.pid
            _RUNNING[pid] = lambda: f"{_text(what)} (pid {pid}, log {log_path})"
            returncode = process.wait()
        except BaseException as exc:
            if process is not None:
                how = stop_process_tree(process, stop_grace)
                log.write(f"\n[stopped ({type(exc).__name__}): {how}]\n")
            raise
        finally:
            if process is not None:
                _RUNNING.pop(process.pid, None)
        log.write(f"\n[exit code {returncode} after {time.monotonic() - started:.1f} s]\n")
    return returncode


def _text(what: str | Callable[[], str]) -> str:
    return what() if callable(what) else what


def _start(command: list[str], env: Mapping[str, str], log: Any) -> subprocess.Popen[bytes]:
    guarded = command
    preexec = None
    if _LIBC_PRCTL is not None:
        guarded = [sys.executable, "-c", _GUARD_SCRIPT, str(os.getpid()), *command]
        preexec = _set_parent_death_signal
    return subprocess.Popen(
        guarded,
        env=dict(env),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=preexec,
    )


def _set_parent_death_signal() -> None:
    """In the forked child, before exec: signal it when this process dies."""
    assert _LIBC_PRCTL is not None
    _LIBC_PRCTL(_PR_SET_PDEATHSIG, int(_PARENT_DEATH_SIGNAL), 0, 0, 0)


def stop_process_tree(process: subprocess.Popen[Any], grace: float) -> str:
    """Stop ``process`` (a session leader) and every process it started; reap it.

    SIGTERM to its process group and to every descendant (psutil finds those
    that left the group), then SIGKILL to whatever is still alive after
    ``grace`` seconds. Returns how it went, for the log.
    """
    import psutil

    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]
    except psutil.Error:
        tree = []
    _signal_tree(process.pid, tree, signal.SIGTERM)
    started = time.monotonic()
    deadline = started + grace
    while time.monotonic() < deadline and _alive(process, tree):
        time.sleep(0.05)
    how = f"SIGTERM; the process tree exited in {time.monotonic() - started:.1f} s"
    if _alive(process, tree):
        # Descendants started after the first snapshot are in the group too.
        _signal_tree(process.pid, tree, signal.SIGKILL)
        how = f"SIGTERM, then SIGKILL after {grace:g} s"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(process, tree):
            time.sleep(0.05)
    process.wait()
    return how


def _signal_tree(pgid: int, tree: list[Any], signum: int) -> None:
    import psutil

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
    for proc in tree:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signum)


def _alive(process: subprocess.Popen[Any], tree: list[Any]) -> bool:
    """True while the child or any descendant found before is still running."""
    import psutil

    if process.poll() is None:
        return True
    for proc in tree[1:]:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            continue
    return False


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Failed|Timeout)\b(?::.*)?$")
_FAILED_TASK_MARK = "Task failed with exception"
_ERROR_RECORD = re.compile(r"\[error\s*\]\s*(.*?)(?:\s+\[[\w.]+\].*)?$")
_END_TASK = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")


def _failure_reason(log_text: str) -> str:
    """``task <ids>: <last exception line>`` from an ``airflow dags test`` log."""
    failed: list[str] = []
    pending = False
    last_exception = last_error = ""
    for line in log_text.splitlines():
        if (match := _ERROR_RECORD.search(line)) and _FAILED_TASK_MARK not in line:
            last_error = match.group(1).strip()
        if _FAILED_TASK_MARK in line:
            pending = True
        elif pending and (match := _END_TASK.search(line)):
            if match.group(1) not in failed:
                failed.append(match.group(1))
            pending = False
        elif _EXCEPTION_LINE.match(line.strip()) and line[:1].strip():
            last_exception = line.strip()
    parts = []
    if failed:
        parts.append("task " + ", ".join(failed))
    parts.append(last_exception or last_error or "see the log")
    return ": ".join(parts)
