"""Command line: ``python -m voice_compliance <command>``.

- ``generate``: write a synthetic landing zone with planted violations.
- ``run``: run the whole pipeline through Airflow on a landing zone and
  warehouse, then print what landed.
- ``pull``: pull call records from Twilio (the ``vc_twilio`` connection)
  into a landing zone, incrementally or over ``--start``/``--end``.
- ``demo``: the embedded default end to end: generate, run, summary.
- ``summary``: print what the warehouse holds.
- ``verify-warehouse``: read every block of every table, checking checksums.
- ``init``: prepare Airflow's home (metadata database, the writer pool) and
  write the dbt manifest ``vc_transform`` is built from (``make setup`` runs it).
- ``check``: check the settings (landing zone, warehouse, regions, policy,
  Airflow connections); every problem on one ``error:`` line, exit code 2.
  ``run`` and ``demo`` run the same check before any data moves.

While a DAG runs, ``run`` and ``demo`` show its progress (files and rows
per source, dbt nodes done of total with the slowest, validation suites):
bars on a terminal, plain lines on stdout otherwise (``progress``).

Each command is one small function; heavy modules (the generator, the
loaders) are imported inside them so ``--help`` stays instant. Failures
print one ``error:`` line and exit non-zero (``VC_DEBUG=1`` adds the
traceback).

SIGTERM, SIGINT and SIGHUP stop a command cleanly: its child processes
(``airflow dags test`` and whatever they started) are stopped and waited
for, one ``stopped by SIG...`` line says what was running, and the exit
code is 128 + the signal number. ``run`` and ``demo`` hold the warehouse's
run lock (``warehouse.run_lock``) from start to end, so a second run on the
same warehouse waits for the first (``VC_RUN_LOCK_TIMEOUT`` seconds) or
fails with one clear line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from voice_compliance import airflow_runner
from voice_compliance.airflow_runner import (
    PIPELINE_DAGS,
    TRANSFORM_DAG,
    AirflowRunError,
    default_conf,
    ensure_airflow,
    run_dag,
    run_dags,
)
from voice_compliance.config import Settings
from voice_compliance.dbt_runner import DbtCommandFailed, dbt_parse_project, project_manifest
from voice_compliance.masking import install_log_masking

if TYPE_CHECKING:
    from voice_compliance.checks import Scope

DEMO_SEED = 7


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
RESUME_HINT = "re-run to resume — loads are idempotent"
EXIT_INVALID_SETTINGS = 2
"""Exit code when the settings check fails (usage error, as argparse's)."""


class CommandError(Exception):
    """A user-facing error: printed as one line, no traceback."""


class Stopped(BaseException):
    """A stop signal arrived (raised by the signal handler in the main thread).

    A ``BaseException``, like ``KeyboardInterrupt``, so no ``except
    Exception`` on the way swallows it; the Airflow runner stops its child
    process tree as it passes.
    """

    def __init__(self, signum: int, running: str) -> None:
        self.signum = signum
        self.running = running
        super().__init__(f"stopped by {signal.Signals(signum).name}: {running}")


_doing = "starting"
"""What the command is doing now, for the stop message when no child runs."""


def _set_doing(what: str) -> None:
    global _doing
    _doing = what


def cmd_init(args: argparse.Namespace) -> int:
    """Prepare Airflow's home once (database, pool) and write the dbt manifest
    vc_transform is built from (``dbt_runner.PROJECT_MANIFEST``);
    ``--manifest-only``: the manifest alone (an existing Airflow's image
    build, after every change of the dbt project)."""
    settings = Settings.from_env()
    if not args.manifest_only:
        ensure_airflow(settings)
    dbt_parse_project(settings)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate a synthetic landing zone into ``--out`` (``--clean``: without violations)."""
    _generate(Path(args.out), args.seed, args.calls, violations=not args.clean)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check the settings a ``run`` would use; list every problem (exit code 2)."""
    settings = _checked_settings(landing=args.landing, warehouse=args.warehouse)
    print(
        f"settings ok: landing {settings.landing}, warehouse {settings.warehouse}, "
        f"default region {settings.default_region} (as in the policy file)"
    )
    return 0


def _checked_settings(scope: Scope | None = None, **overrides: object) -> Settings:
    """Settings from the environment and ``overrides``, checked (``checks.check``).

    Raises ``checks.SettingsInvalid`` (every problem, exit code 2) before any
    data moves. Default scope: a ``run`` (the landing folder must exist).
    """
    from voice_compliance import checks

    _set_doing("checking the settings")
    try:
        settings = Settings.from_env(**overrides)
    except ValueError as exc:  # an unparsable VC_* number: nothing else can be checked
        raise checks.SettingsInvalid(getattr(exc, "problems", None) or [str(exc)]) from None
    scope = scope or checks.Scope(airflow_home=True)
    checks.check(settings, scope, checks.cli_lookup(settings))
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    """Run every pipeline DAG through Airflow on the given landing zone."""
    settings = _checked_settings(landing=args.landing, warehouse=args.warehouse)
    with _warehouse_lock(settings):
        _run_pipeline(settings, full_refresh=args.full_refresh)
        _print_summary(settings)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the sample landing zone, run the pipeline on it, summarize."""
    from voice_compliance.checks import Scope

    # The landing folder is generated (or pulled) below: it need not exist yet.
    settings = _checked_settings(Scope(landing_must_exist=False, airflow_home=True))
    if settings.is_s3:
        raise CommandError(f"demo writes to a local folder, but VC_LANDING is {settings.landing}")
    with _warehouse_lock(settings):
        if args.twilio_fake:
            _pull_from_fake_twilio(settings, args.calls)
        else:
            _generate(Path(settings.landing), DEMO_SEED, args.calls)
        _run_pipeline(settings)
        _print_summary(settings)
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    """Pull Twilio call records into the landing zone (docs/twilio.md)."""
    from datetime import date

    from voice_compliance.twilio.config import TwilioConfigError
    from voice_compliance.twilio.puller import PullFailed, pull

    settings = Settings.from_env(landing=args.landing)
    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None
        regions = args.regions.split(",") if args.regions else None
        _set_doing(f"pulling from Twilio into {settings.landing}")
        summary = pull(settings, start=start, end=end, regions=regions)
    except (TwilioConfigError, PullFailed, ValueError) as exc:
        raise CommandError(str(exc)) from None
    print(summary.line())
    return 0


def _pull_from_fake_twilio(settings: Settings, calls: int | None) -> None:
    """Demo without a Twilio account: generate a sample, serve its calls from a
    local fake Twilio, and let ``vc_pull_twilio`` pull them into the landing zone
    (beside the sample's other exports)."""
    import json

    from vc_sample.fake_twilio import FakeTwilio, copy_exports

    sample = settings.data_dir / "twilio_sample"
    _generate(sample, DEMO_SEED, calls)
    copy_exports(sample, Path(settings.landing))
    _set_doing("preparing Airflow's home")
    ensure_airflow(settings)
    with FakeTwilio(sample) as fake:
        first, end = fake.day_range()
        _progress(f"fake Twilio on {fake.url}: {fake.call_count():,} calls, {first}..{end}")
        saved = {k: os.environ.get(k) for k in ("AIRFLOW_CONN_VC_TWILIO_FAKE",)}
        os.environ["AIRFLOW_CONN_VC_TWILIO_FAKE"] = json.dumps(fake.connection())
        settings = settings.replace(twilio={"conn_id": "vc_twilio_fake"})
        try:
            started = time.monotonic()
            _set_doing("DAG vc_pull_twilio")
            conf = {"landing": settings.landing, "start": str(first), "end": str(end)}
            log_path = run_dag("vc_pull_twilio", settings, conf)
            _progress(
                f"vc_pull_twilio: success ({time.monotonic() - started:.1f} s, log {log_path})"
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the files and rows per source recorded in the warehouse."""
    _print_summary(Settings.from_env(warehouse=args.warehouse))
    return 0


def cmd_verify_warehouse(args: argparse.Namespace) -> int:
    """Read every block of every table; fail naming each table that does not read."""
    from voice_compliance import warehouse

    settings = Settings.from_env(warehouse=args.warehouse)
    if not Path(settings.warehouse).is_file():
        raise CommandError(f"no warehouse at {settings.warehouse}")
    started = time.monotonic()
    with _warehouse_lock(settings):
        _set_doing(f"verifying {settings.warehouse}")
        checks = warehouse.verify(settings)
    width = max((len(c.table) for c in checks), default=0)
    for check in checks:
        state = (
            f"{check.rows:>10} rows  ok" if check.ok else f"{'':>10}       FAILED: {check.error}"
        )
        print(f"{check.table:<{width}}  {state}")
    failed = [c for c in checks if not c.ok]
    if failed:
        names = ", ".join(c.table for c in failed)
        raise CommandError(
            warehouse.corrupt_message(
                settings.warehouse,
                f"{len(failed)} table(s) failed to read: {names}: {failed[0].error}",
            )
        )
    print(
        f"warehouse {settings.warehouse}: {len(checks)} tables read in full, every block "
        f"passed its checksum ({time.monotonic() - started:.1f} s)"
    )
    return 0


@contextmanager
def _warehouse_lock(settings: Settings) -> Iterator[None]:
    """Hold the warehouse's run lock (waiting up to ``settings.run_lock_timeout``)."""
    from voice_compliance import warehouse

    _set_doing(f"waiting for the run lock of {settings.warehouse}")
    with warehouse.run_lock(settings.warehouse, settings.run_lock_timeout, on_wait=_progress):
        yield


def _generate(out: Path, seed: int, calls: int | None, violations: bool = True) -> None:
    from vc_sample.generate import generate

    started = time.monotonic()
    if calls is None:
        report = generate(out, seed, violations=violations)
    else:
        report = generate(out, seed, calls, violations=violations)
    # Clean mode says how many earlier files it emptied: those drop their rows on reload.
    clean = "" if violations else f"clean, {len(report.emptied)} earlier files emptied, "
    print(
        f"generated {_count(report.files)} files, {_count(report.calls)} calls, "
        f"{_count(report.planted)} planted violations into {report.out} "
        f"({clean}seed {seed}, {time.monotonic() - started:.1f} s)"
    )


def _run_pipeline(settings: Settings, *, full_refresh: bool = False) -> None:
    """Prepare Airflow, then run ``PIPELINE_DAGS`` in order; stop at the first failure.

    ``full_refresh`` makes the transform re-derive every incremental model.
    """
    _progress(f"airflow home {settings.airflow_home}; warehouse {settings.warehouse}")
    started = time.monotonic()
    _set_doing("preparing Airflow's home")
    ensure_airflow(settings)
    if not project_manifest(settings).is_file():
        # vc_transform is built from it; `make clean` removes it with the
        # rest of dbt's target folder (`make setup` writes it back).
        _set_doing("parsing the dbt project")
        dbt_parse_project(settings)
    _progress(f"airflow ready ({time.monotonic() - started:.1f} s)")
    from voice_compliance.progress import Renderer

    # Files and rows per source, dbt nodes, validation suites as the tasks go:
    # bars on a terminal, plain lines on stdout otherwise.
    renderer = Renderer()
    runs: list[tuple[str, dict[str, object]]] = []
    for dag_id in PIPELINE_DAGS:
        conf = default_conf(settings)
        if dag_id == TRANSFORM_DAG and full_refresh:
            conf["full_refresh"] = True
        runs.append((dag_id, conf))

    def on_event(event: dict[str, Any]) -> None:
        if event.get("kind") != "dag":
            renderer.event(event)
        elif event.get("state") == "running":
            _set_doing(f"DAG {event['dag_id']}")
            renderer.start(str(event["dag_id"]))
        else:
            renderer.finish()
            if event.get("state") == "success":
                _progress(f"{event['dag_id']}: success ({float(event['seconds']):.1f} s)")

    # One Airflow process for the whole sequence (airflow_runner.run_dags).
    _set_doing(f"DAG {PIPELINE_DAGS[0]}")
    try:
        done = run_dags(runs, settings, on_progress=on_event)
    finally:
        renderer.finish()
    _progress(f"pipeline: success ({time.monotonic() - started:.1f} s, log {done.log_path})")


def _print_summary(settings: Settings) -> None:
    from voice_compliance.ingest import landing_summary
    from voice_compliance.reporting import clause_report, output_locations

    _set_doing("printing the summary")
    print(landing_summary(settings))
    print()
    print(clause_report(settings))
    print()
    print(output_locations(settings))


def _count(value: object) -> object:
    """A number for the one-line reports: a collection's size; for a mapping,
    the sum of its values' sizes (or of its numeric values)."""
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return _size(value)


def _size(value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple | set | frozenset | dict):
        return len(value)
    return 1


def _progress(message: str) -> None:
    print(f"[voice-compliance] {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m voice_compliance`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m voice_compliance",
        description="Twilio voice-compliance pipeline: landing zone -> Airflow -> DuckDB.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="write a synthetic landing zone")
    gen.add_argument("--out", required=True, help="landing folder to (re)write")
    gen.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed (default 7)")
    gen.add_argument(
        "--calls", type=int, default=None, help="number of calls (default: generator's)"
    )
    gen.add_argument(
        "--clean",
        action="store_true",
        help=(
            "clean mode: the same accounts, numbers and consented callees, fresh background "
            "traffic, no policy violation at all (malformed inputs stay). Meant to be "
            "written over the folder that held the planted data: contract files it no "
            "longer produces are rewritten empty, so a re-run on the same warehouse drops "
            "their rows and resolves the tickets"
        ),
    )
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="run the pipeline through Airflow")
    run.add_argument("--landing", help="folder or s3://bucket/prefix (default: VC_LANDING)")
    run.add_argument("--warehouse", help="DuckDB file (default: VC_WAREHOUSE)")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="re-derive every dbt model from the whole raw layer (default: only changed days)",
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="generate sample data, run everything, summarize")
    demo.add_argument(
        "--calls", type=int, default=None, help="number of calls (default: generator's)"
    )
    demo.add_argument(
        "--twilio-fake",
        action="store_true",
        help=(
            "serve the sample's calls from a local fake Twilio and pull them with "
            "vc_pull_twilio (no Twilio account needed)"
        ),
    )
    demo.set_defaults(func=cmd_demo)

    pull = sub.add_parser(
        "pull", help="pull call records from Twilio into a landing zone (docs/twilio.md)"
    )
    pull.add_argument("--landing", help="folder or s3://bucket/prefix (default: VC_LANDING)")
    pull.add_argument("--start", help="first UTC day YYYY-MM-DD (default: from the watermark)")
    pull.add_argument("--end", help="day after the last, exclusive (default: today, UTC)")
    pull.add_argument("--regions", help="comma-separated home regions (default: all configured)")
    pull.set_defaults(func=cmd_pull)

    summary = sub.add_parser("summary", help="print what the warehouse holds")
    summary.add_argument("--warehouse", help="DuckDB file (default: VC_WAREHOUSE)")
    summary.set_defaults(func=cmd_summary)

    verify = sub.add_parser(
        "verify-warehouse",
        help="read every block of every table; fail naming any table that fails its checksum",
    )
    verify.add_argument("--warehouse", help="DuckDB file (default: VC_WAREHOUSE)")
    verify.set_defaults(func=cmd_verify_warehouse)

    check = sub.add_parser(
        "check",
        help="check the settings (landing, warehouse, regions, policy, connections); exit 2",
    )
    check.add_argument("--landing", help="folder or s3://bucket/prefix (default: VC_LANDING)")
    check.add_argument("--warehouse", help="DuckDB file (default: VC_WAREHOUSE)")
    check.set_defaults(func=cmd_check)

    report = sub.add_parser(
        "report", help="write the monthly compliance report, one HTML file per month"
    )
    from voice_compliance.report.command import add_arguments as report_arguments

    report_arguments(report)

    init = sub.add_parser(
        "init", help="prepare Airflow's home and write the dbt manifest (idempotent)"
    )
    init.add_argument(
        "--manifest-only",
        action="store_true",
        help="only write the dbt manifest vc_transform is built from (an existing Airflow)",
    )
    init.set_defaults(func=cmd_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command; return the process exit code."""
    install_log_masking()  # before anything logs: no full phone number in any log line
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func
    try:
        with _stop_on_signals():
            return command(args)
    except _settings_invalid() as exc:
        for problem in exc.problems:
            _error(problem)
        return EXIT_INVALID_SETTINGS
    except Stopped as stop:
        hint = f"; {RESUME_HINT}" if args.command in ("run", "demo") else ""
        print(f"{stop}{hint}", file=sys.stderr, flush=True)
        return 128 + stop.signum
    except (AirflowRunError, CommandError, DbtCommandFailed) as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        _error("interrupted")
    except Exception as exc:
        if _is_warehouse_error(exc):
            _error(str(exc))
            return 1
        if os.environ.get("VC_DEBUG"):
            raise
        _error(f"{type(exc).__name__}: {exc} (set VC_DEBUG=1 for a traceback)")
    return 1


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM, SIGINT and SIGHUP into ``Stopped`` while the command runs.

    The handler raises in the main thread wherever it is; on its way out the
    Airflow runner stops the child process tree (``airflow_runner._run_logged``)
    and ``main`` prints the stop line. Further signals while that happens are
    ignored (the runner escalates to SIGKILL after ``VC_STOP_GRACE`` seconds
    anyway). The previous handlers come back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise Stopped(signum, "; ".join(airflow_runner.running()) or _doing)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _settings_invalid() -> type[Exception]:
    from voice_compliance.checks import SettingsInvalid

    return SettingsInvalid


def _is_warehouse_error(exc: BaseException) -> bool:
    # warehouse imports DuckDB: only look it up when it was imported already.
    module = sys.modules.get("voice_compliance.warehouse")
    return module is not None and isinstance(exc, module.WarehouseError)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
