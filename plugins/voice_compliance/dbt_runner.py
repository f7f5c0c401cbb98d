"""Run the dbt project (``dbt_project/``) with the policy as vars.

Every invocation is the venv's ``dbt`` in a child process::

    dbt <command> --project-dir dbt_project --profiles-dir dbt_project --target local
        --target-path <data_dir>/dbt/target --log-path <data_dir>/dbt/logs
        --vars '<policy.yml as JSON>'

with ``VC_WAREHOUSE`` (read by ``profiles.yml``) and the other settings in its
environment. A child process rather than ``dbtRunner`` in this process: dbt
keeps global state (adapters, logging, flags) between in-process calls, and
the command line and the Airflow DAG processor must not import dbt at all.
This serves the command line, tests and ``vc_transform``'s ``dbt_build``
task, whose report tasks check each clause with ``build_outcomes`` and
``check_group``; the DAG's docs task runs dbt through Cosmos and hands its
docs to ``collect_docs``.

**Target path**: ``<data_dir>/dbt/target``, next to the warehouse, not
``dbt_project/target``: the repository stays clean, each deployment (and each
test's temporary data folder) has its own artifacts, and concurrent runs on
different warehouses do not share partial-parse state.

**Manifest**: after a successful command the target's ``manifest.json`` is
*published* to ``<data_dir>/dbt/manifest.json`` (copy, then atomic rename),
so readers never see a half-written one. The published file's
modification time is the moment dbt *started* reading the project, so
``manifest_is_current`` detects an edit made while dbt was parsing.
``vc_transform`` renders from another one, ``PROJECT_MANIFEST``
(``dbt_project/target/manifest.json``): a build artifact of the project that
``make setup`` (``voice-compliance init``, ``dbt_parse_project``) and CI
write, the same for every deployment (decision 0017).

On failure ``DbtCommandFailed`` names the failing nodes from
``run_results.json`` (or the last lines of dbt's output when dbt stopped
before running any node, e.g. on a compilation error).

This module imports neither dbt nor duckdb: DAG files use its path helpers at
parse time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voice_compliance import atomic_files, docs_site
from voice_compliance.config import Settings
from voice_compliance.docs_site import dbt_docs_index, keep_dbt_docs
from voice_compliance.policy import policy_vars
from voice_compliance.progress import Throttle, emit

log = logging.getLogger(__name__)

PROFILE_TARGET = "local"
VENV_BIN = Path(sys.executable).parent

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
"""``run_results.json`` statuses that fail the command (``warn`` does not)."""

PROJECT_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md", ".py", ".jinja"})
"""Files whose change changes the manifest."""
_SKIPPED_DIRS = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
_OUTPUT_TAIL_LINES = 25


def project_manifest(settings: Settings) -> Path:
    """The manifest ``make setup`` writes (``dbt_parse_project``): ``vc_transform``'s graph."""
    return settings.dbt_project_dir / "target" / "manifest.json"


def __getattr__(name: str) -> Path:
    """``DBT_PROJECT_DIR`` (= ``PROFILES_DIR``: ``profiles.yml`` lives in the
    project) and ``PROJECT_MANIFEST`` of the settings in force
    (``VC_DBT_PROJECT_DIR`` points at another copy), read when asked, not at import."""
    if name in {"DBT_PROJECT_DIR", "PROFILES_DIR"}:
        return Settings.section_from_env("paths").dbt_project_dir
    if name == "PROJECT_MANIFEST":
        return Settings.section_from_env("paths").dbt_project_dir / "target" / "manifest.json"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DbtCommandFailed(RuntimeError):
    """A dbt command exited non-zero; ``failures`` are its failing nodes, if any ran."""

    def __init__(
        self, command: str, returncode: int, failures: list[NodeFailure], output_tail: str
    ) -> None:
        self.command = command
        self.returncode = returncode
        self.failures = failures
        self.output_tail = output_tail
        if failures:
            detail = "\n".join(f"  - {failure}" for failure in failures)
            message = f"dbt {command} failed: {len(failures)} failing node(s):\n{detail}"
        else:
            message = f"dbt {command} failed (exit code {returncode}):\n{output_tail}"
        super().__init__(message)


@dataclass(frozen=True)
class NodeFailure:
    """One node that failed: a model that errored, a test that failed or errored."""

    unique_id: str
    status: str
    message: str

    def __str__(self) -> str:
        first_line = (self.message or "").strip().splitlines()[:1]
        return f"{self.unique_id} [{self.status}]" + (f": {first_line[0]}" if first_line else "")


@dataclass(frozen=True)
class DbtResult:
    """A successful dbt command: node counts by status (``success``, ``pass``, ``warn``...)."""

    command: str
    seconds: float
    statuses: Mapping[str, int] = field(default_factory=dict)
    target_dir: Path | None = None

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "no nodes"
        return f"dbt {self.command}: {counts} ({self.seconds:.1f} s)"


# --- paths (cheap: used by DAG files at parse time) ---------------------------


def dbt_dir(settings: Settings) -> Path:
    """``<data_dir>/dbt``: the artifacts of this deployment's dbt runs."""
    return settings.data_dir / "dbt"


def target_dir(settings: Settings) -> Path:
    """dbt's ``--target-path``: compiled SQL, run results, docs, partial-parse state."""
    return dbt_dir(settings) / "target"


def log_dir(settings: Settings) -> Path:
    """dbt's ``--log-path`` (``dbt.log``)."""
    return dbt_dir(settings) / "logs"


def manifest_path(settings: Settings) -> Path:
    """The manifest of this deployment's last successful dbt command."""
    return dbt_dir(settings) / "manifest.json"


def docs_index(settings: Settings) -> Path:
    """The self-contained docs site (``dbt docs generate --static``)."""
    return dbt_docs_index(target_dir(settings))


def project_mtime(project_dir: Path) -> float:
    """The newest modification time among the project's sources and folders.

    Sub-folders count too, so a deleted model (which changes its folder's
    time) makes the manifest stale; the project folder itself does not, as
    dbt creates ``target/``, ``logs/`` and ``.user.yml`` there. Build output,
    logs and hidden files are ignored.
    """
    newest = 0.0
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
        if Path(root) != project_dir:
            newest = max(newest, os.stat(root).st_mtime)
        for name in files:
            if Path(name).suffix in PROJECT_SUFFIXES and not name.startswith("."):
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
    return newest


def manifest_is_current(settings: Settings, project_dir: Path | None = None) -> bool:
    """True when the published manifest exists and no project file changed since
    dbt started parsing it (the policy file included: it is part of the vars).
    ``project_dir`` defaults to the settings' dbt project."""
    try:
        published = manifest_path(settings).stat().st_mtime
    except FileNotFoundError:
        return False
    return project_mtime(project_dir or settings.dbt_project_dir) <= published


# --- running dbt ---------------------------------------------------------------


def dbt_executable() -> str:
    """The ``dbt`` next to this interpreter, else the one on ``PATH``."""
    local = VENV_BIN / "dbt"
    if local.is_file():
        return str(local)
    found = shutil.which("dbt")
    if found is None:
        raise FileNotFoundError(f"no dbt executable in {VENV_BIN} or on PATH; run `make setup`")
    return found


def dbt_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a dbt child process: ``base`` (default: ours) plus the
    settings (``VC_WAREHOUSE`` is the profile's database file)."""
    env = dict(os.environ if base is None else base)
    env.update(settings.to_env())
    # No tracking calls (there is no internet here) and no colour codes in logs.
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", "NO_COLOR": "1"})
    return env


def dbt_command(
    settings: Settings,
    command: Sequence[str],
    vars: Mapping[str, Any] | None = None,
    target: Path | None = None,
) -> list[str]:
    """The full command line of ``dbt <command>`` for ``settings`` (``target``:
    another ``--target-path`` than ``target_dir(settings)``)."""
    return [
        dbt_executable(),
        *command,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target",
        PROFILE_TARGET,
        "--target-path",
        str(target or target_dir(settings)),
        "--log-path",
        str(log_dir(settings)),
        "--vars",
        json.dumps(dict(policy_vars() if vars is None else vars), separators=(",", ":")),
        "--no-use-colors",
    ]


def run_dbt(
    settings: Settings,
    command: Sequence[str],
    *,
    vars: Mapping[str, Any] | None = None,
    publish_manifest: bool = True,
    target: Path | None = None,
) -> DbtResult:
    """Run ``dbt <command>`` (e.g. ``["build", "--select", "staging"]``) and wait.

    dbt's output goes to this module's logger line by line (an Airflow task
    log shows it). ``vars`` default to the policy file. Raises
    ``DbtCommandFailed`` on a non-zero exit; on success publishes the
    manifest (see the module docstring) and returns the node counts.
    """
    name = " ".join(command[:1])
    full = dbt_command(settings, command, vars, target)
    target = target or target_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    log_dir(settings).mkdir(parents=True, exist_ok=True)
    run_results = target / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report an older command's results
    log.info("Running dbt %s on %s", " ".join(command), settings.warehouse)
    started_wall, started = time.time(), time.monotonic()
    returncode, tail = _stream(full, dbt_env(settings), settings.dbt_project_dir)
    seconds = time.monotonic() - started
    results = _read_results(run_results)
    if returncode != 0:
        raise DbtCommandFailed(name, returncode, _failures(results), "\n".join(tail))
    if publish_manifest:
        _publish_manifest(target / "manifest.json", manifest_path(settings), started_wall)
    statuses = Counter(str(r.get("status")) for r in results)
    result = DbtResult(name, seconds, dict(statuses), target)
    log.info("%s", result)
    return result


def dbt_parse(settings: Settings) -> Path:
    """``dbt parse``: write and publish the manifest; return the published path.

    Cheap after the first call (partial parsing in the target folder). Run it
    before Airflow parses ``vc_transform`` so the DAG matches the project.
    """
    run_dbt(settings, ["parse"])
    return manifest_path(settings)


def dbt_parse_project(settings: Settings) -> Path:
    """``dbt parse`` into the project's own target folder: ``PROJECT_MANIFEST``.

    ``make setup`` runs it (``voice-compliance init``), so CI does before the
    tests: ``vc_transform`` is built from this file at parse time and fails to
    import without it. Nothing is published under the data folder.
    """
    manifest = project_manifest(settings)
    run_dbt(settings, ["parse"], publish_manifest=False, target=manifest.parent)
    return manifest


def dbt_build(
    settings: Settings,
    select: str | Iterable[str] | None = None,
    exclude: str | None = None,
    *,
    full_refresh: bool = False,
    unit_tests: bool = False,
) -> DbtResult:
    """``dbt build`` (seeds, models, snapshots and their data tests, in DAG order).

    ``select``/``exclude`` take dbt selection syntax (a string, or several
    selectors). ``full_refresh`` re-derives the incremental models from the
    whole raw layer instead of the changed days (decision 0012). dbt's unit
    tests check the SQL against fixed inputs, not the data: they run in CI
    (``tests/dbt/test_dbt_unit_tests.py``) and with ``unit_tests=True``, not
    in every pipeline run (decision 0022). Raises ``DbtCommandFailed``
    listing failing models and tests.

    A whole build (no ``select``/``exclude``) is a full refresh when the
    project changed since the warehouse was last derived, and records the
    project's fingerprint when it succeeds (``derivation_state``, decision
    0033): rows kept from an older project's SQL are never mixed with new ones.
    """
    from voice_compliance import derivation_state  # duckdb: not at DAG parse time

    whole = not select and not exclude
    fingerprint = derivation_state.project_fingerprint(settings.dbt_project_dir) if whole else ""
    if whole and not full_refresh:
        reason = derivation_state.refresh_reason(settings, fingerprint)
        if reason:
            log.warning("%s", reason)
            full_refresh = True
    command = ["build", *(["--full-refresh"] if full_refresh else [])]
    if not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    if select:
        command += ["--select", *([select] if isinstance(select, str) else select)]
    if exclude:
        command += ["--exclude", exclude]
    result = run_dbt(settings, command)
    if whole:
        derivation_state.record(settings, fingerprint, full_refresh=full_refresh)
    return result


def dbt_docs_generate(settings: Settings) -> Path:
    """``dbt docs generate --static``: the docs site with the warehouse catalog.

    Returns ``<data_dir>/dbt/target/static_index.html``, one self-contained
    HTML file (manifest and catalog inlined) that opens without a web server;
    ``index.html``, ``manifest.json`` and ``catalog.json`` sit next to it for
    ``dbt docs serve``.
    """
    run_dbt(settings, ["docs", "generate", "--static"])
    return docs_index(settings)


def collect_docs(project_dir: str, context: Mapping[str, Any] | None = None, **_: Any) -> Path:
    """Cosmos callback of the DAG's docs task: keep the docs it generated.

    Cosmos runs dbt in a temporary copy of the project (``project_dir``) that
    it deletes afterwards; this copies the docs files from its ``target/``
    into this deployment's target folder (``docs_site.keep_dbt_docs``)
    and publishes the fresh manifest for the next DAG parse. Returns the
    static index. Settings come from the environment (the task's).
    """
    settings = Settings.from_env()
    source = Path(project_dir) / "target"
    index = keep_dbt_docs(source, target_dir(settings))
    ti = (context or {}).get("ti")
    started = getattr(ti, "start_date", None)
    _publish_manifest(
        source / "manifest.json",
        manifest_path(settings),
        started.timestamp() if started else time.time(),
    )
    return index


def docs_fingerprint(settings: Settings) -> str | None:
    """What the docs site of the last build would show (``docs_site.docs_fingerprint``).

    The build's ``manifest.json`` in the target folder, the policy vars and
    the warehouse's columns (one read-only connection); ``None`` without a
    manifest.
    """
    from voice_compliance import warehouse  # duckdb: not at DAG parse time

    manifest = target_dir(settings) / "manifest.json"
    if not manifest.is_file():
        return None
    with warehouse.open_warehouse(settings, read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    return docs_site.docs_fingerprint(manifest, columns, policy_vars())


def docs_are_current(settings: Settings, fingerprint: str | None) -> bool:
    """True when this deployment's docs site was generated from ``fingerprint``."""
    return docs_site.docs_are_current(target_dir(settings), fingerprint)


def record_docs(settings: Settings, fingerprint: str) -> None:
    """Remember that this deployment's docs site shows ``fingerprint``."""
    docs_site.record_docs_fingerprint(target_dir(settings), fingerprint)


# --- what a build did, per clause (vc_transform's report tasks) ---------------

FOUNDATION_GROUP = "foundation"
"""Nodes of no clause: seeds, staging, shared models such as ``int_calls_enriched``."""
COMPLIANCE_GROUP = "compliance"
"""The cross-clause marts (tag ``compliance``): ``policy_violations``, ``clause_summary``..."""
PASSED_STATUSES = frozenset({"success", "pass", "warn"})
_REPORTED_TYPES = frozenset({"model", "seed", "snapshot", "test", "unit_test"})


def build_outcomes(
    settings: Settings, clause_ids: Iterable[str], *, unit_tests: bool = False
) -> dict[str, dict[str, Any]]:
    """What the last ``dbt build`` did, per group: each clause, foundation, compliance.

    ``unit_tests``: whether that build ran the unit tests (``dbt_build``'s
    argument of the same name); when not, they are not expected in it.

    Reads ``run_results.json`` and the ``manifest.json`` dbt wrote with it in
    the target folder. A node belongs to every clause among its tags; else to
    ``compliance`` when tagged so; a test without such a tag to the groups of
    the node it is declared on (its ``attached_node``: a ``relationships``
    test of a clause model, which also reads a staging model, stays out of
    ``foundation``), else, like a unit test, to its parents' groups; anything
    else to ``foundation``: data tests need no tags in the YAML. Each group
    maps to ``{"nodes": n, "statuses": {status: count}, "problems": [...]}``
    where a problem is a node that failed or errored, was skipped (an
    upstream node failed) or was not run at all (dbt stopped). Plain data:
    an XCom value.
    """
    clauses = list(clause_ids)
    target = target_dir(settings)
    try:
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    results = {str(r.get("unique_id")): r for r in _read_results(target / "run_results.json")}
    project = (manifest.get("metadata") or {}).get("project_name")
    reported = _REPORTED_TYPES if unit_tests else _REPORTED_TYPES - {"unit_test"}
    nodes: dict[str, dict[str, Any]] = {
        uid: node
        for uid, node in {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}.items()
        if node.get("resource_type") in reported
        and node.get("package_name") == project
        and (node.get("config") or {}).get("materialized") != "ephemeral"
    }
    groups: dict[str, dict[str, Any]] = {
        name: {"nodes": 0, "statuses": {}, "problems": []}
        for name in (FOUNDATION_GROUP, *clauses, COMPLIANCE_GROUP)
    }
    for uid, node in sorted(nodes.items()):
        result = results.get(uid)
        status = str(result.get("status")) if result else "not run"
        problem = _problem(uid, status, str((result or {}).get("message") or ""))
        for name in _groups_of(node, nodes, clauses):
            group = groups[name]
            group["nodes"] += 1
            group["statuses"][status] = group["statuses"].get(status, 0) + 1
            if problem:
                group["problems"].append(problem)
    return groups


def _groups_of(
    node: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]], clauses: list[str]
) -> list[str]:
    tags = set(node.get("tags") or ()) | set((node.get("config") or {}).get("tags") or ())
    own = [clause for clause in clauses if clause in tags]
    if own:
        return own
    if COMPLIANCE_GROUP in tags:
        return [COMPLIANCE_GROUP]
    if node.get("resource_type") in {"test", "unit_test"}:
        attached = node.get("attached_node")
        if attached in nodes:
            return _groups_of(nodes[attached], nodes, clauses)
        parents = [p for p in (node.get("depends_on") or {}).get("nodes", ()) if p in nodes]
        inherited = {g for p in parents for g in _groups_of(nodes[p], nodes, clauses)}
        if inherited:
            return sorted(inherited, key=lambda g: (g != FOUNDATION_GROUP, g))
    return [FOUNDATION_GROUP]


def _problem(unique_id: str, status: str, message: str) -> str | None:
    if status in PASSED_STATUSES:
        return None
    if status == "skipped":
        return f"{unique_id} [skipped: an upstream node failed]"
    if status == "not run":
        return f"{unique_id} [not run: dbt build stopped before it]"
    return str(NodeFailure(unique_id, status, message))


class GroupFailed(RuntimeError):
    """Nodes of one group (a clause, foundation, compliance) did not pass in the build."""


def check_group(outcomes: Mapping[str, Any] | None, group: str) -> dict[str, int]:
    """The node counts of ``group`` in ``build_outcomes``; ``GroupFailed`` lists its problems."""
    if outcomes is None:
        raise GroupFailed("dbt build reported no node results (it failed before running dbt)")
    if group not in outcomes:
        raise GroupFailed(f"dbt build reported nothing for {group!r}: known {sorted(outcomes)}")
    report = outcomes[group]
    problems: list[str] = list(report["problems"])
    if problems:
        detail = "\n".join(f"  - {p}" for p in problems)
        counts = f"{len(problems)} of {report['nodes']} node(s)"
        raise GroupFailed(f"{group}: {counts} did not pass:\n{detail}")
    log.info("%s: all %d node(s) passed %s", group, report["nodes"], report["statuses"])
    return dict(report["statuses"])


def _stream(command: list[str], env: Mapping[str, str], cwd: Path) -> tuple[int, list[str]]:
    """Run ``command``, logging each output line; return (exit code, last lines)."""
    tail: deque[str] = deque(maxlen=_OUTPUT_TAIL_LINES)
    with subprocess.Popen(
        command,
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        progress = _NodeProgress()
        for line in process.stdout:
            line = line.rstrip()
            tail.append(line)
            log.info("dbt | %s", line)
            progress.line(line)
        returncode = process.wait()
        progress.finish()
    return returncode, list(tail)


# ``12 of 548 OK created sql table model intermediate.int_x ..... [OK in 0.25s]``,
# ``14 of 548 PASS unit::name .... [PASS in 0.38s]``, ``27 of 548 SKIP relation x ... [SKIP]``
_NODE_DONE = re.compile(
    r"\b(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b(.*?)[\s.]*"
    r"\[[A-Z-]+(?: \d+)?(?: in ([\d.]+)s)?\]\s*$"
)
_FAILED_NODE = frozenset({"ERROR", "FAIL"})
_DBT_DONE = re.compile(r"\bDone\. PASS=\d+ .*TOTAL=\d+")


class _NodeProgress:
    """dbt's result lines as progress events: nodes done of total, the slowest so far."""

    def __init__(self) -> None:
        self.done = self.total = self.failed = 0
        self.slowest: tuple[float, str] | None = None
        self.throttle = Throttle(1.0)

    def line(self, line: str) -> None:
        if _DBT_DONE.search(line) and self.done:
            # dbt's "of N" counts selected nodes it may never run (N above what
            # ran); once dbt is done, every node it ran is finished.
            self.total = self.done
            self._emit()
            return
        match = _NODE_DONE.search(line)
        # on-run-start/end hooks count on their own ("1 of 1 OK hook: ..."): not nodes.
        if match is None or match.group(4).split()[:1] == ["hook:"]:
            return
        self.done += 1
        self.total = max(int(match.group(2)), self.done)
        self.failed += match.group(3) in _FAILED_NODE
        words = match.group(4).split()
        seconds = float(match.group(5) or 0)
        if words and (self.slowest is None or seconds > self.slowest[0]):
            self.slowest = (seconds, words[-1])
        if self.throttle.due() or self.done >= self.total:
            self._emit()

    def finish(self) -> None:
        if self.done and self.done < self.total:
            self._emit()  # dbt stopped early: the last count

    def _emit(self) -> None:
        slowest = {"node": self.slowest[1], "seconds": self.slowest[0]} if self.slowest else None
        emit("dbt", done=self.done, total=self.total, failed=self.failed, slowest=slowest)


def _read_results(path: Path) -> list[dict[str, Any]]:
    try:
        results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError):
        return []
    return [r for r in results if isinstance(r, dict)]


def _failures(results: list[dict[str, Any]]) -> list[NodeFailure]:
    return [
        NodeFailure(str(r.get("unique_id")), str(r.get("status")), str(r.get("message") or ""))
        for r in results
        if r.get("status") in FAILED_STATUSES
    ]


def _publish_manifest(source: Path, published: Path, started_wall: float) -> None:
    """Copy the manifest next to ``published`` then rename it there (atomic)."""
    if not source.is_file():
        return
    with source.open("rb") as data, atomic_files.replacing(published, mtime=started_wall) as out:
        shutil.copyfileobj(data, out)
