"""Progress of long work, from the tasks in ``airflow dags test`` to the terminal.

The DAGs run in a child process, so progress travels through the child's log:
a task logs one line ``VC_PROGRESS {json}`` (``emit``) per step worth telling,
``airflow_runner.run_dag`` follows the log file as it grows (``LogFollower``)
and hands each event to a ``Renderer``: bars (rich) where the output is a
terminal, plain lines otherwise. Events:

- ``load``: ``source``, ``files``/``files_total`` done so far, ``rows``
  loaded, ``quarantined``, ``unchanged`` (files already loaded);
- ``dbt``: ``done``/``total`` nodes finished, the ``slowest`` so far
  (``node``, ``seconds``) and ``failed``;
- ``validate``: ``done``/``total`` suites, ``suite`` just finished, ``failed``
  suites so far.

Emitters throttle themselves (``Throttle``): a few lines a second at most in
the task log. No phone number goes into an event: only source, node and
suite names and counts are sent, never a file key or a value (and the task
log's own masking applies to these lines too). This module is
imported by the loaders and dbt runner inside tasks: it stays light (rich is
imported by the renderer only).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from voice_compliance.masking import grouped

PREFIX = "VC_PROGRESS "
log = logging.getLogger(__name__)

Event = dict[str, Any]


# A number of seven digits or more in a task log is masked as a phone number
# (``masking``): 1,049,314 rows would reach the CLI as ``***9314``, which is
# not JSON. Such numbers travel as strings grouped with ``_`` (``"1_049_314"``,
# ``masking.grouped``) and floats with at most three decimals; ``parse`` turns
# them back into numbers.
_GROUPED = re.compile(r"-?\d{1,3}(?:_\d{3})+(?:\.\d{1,3})?")


def _decode(value: Any) -> Any:
    if isinstance(value, str) and _GROUPED.fullmatch(value):
        number = value.replace("_", "")
        return float(number) if "." in number else int(number)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def emit(kind: str, **fields: Any) -> None:
    """Log one progress event (``VC_PROGRESS {"kind": ..., ...}``) for the CLI."""
    event = grouped({"kind": kind, **fields})
    log.info("%s%s", PREFIX, json.dumps(event, separators=(",", ":"), default=str))


def parse(line: str) -> Event | None:
    """The event in a log line, or None (the JSON may be followed by log fields)."""
    start = line.find(PREFIX)
    if start < 0:
        return None
    try:
        event, _ = json.JSONDecoder().raw_decode(line, start + len(PREFIX))
    except ValueError:
        return None
    return _decode(event) if isinstance(event, dict) and "kind" in event else None


class Throttle:
    """``due()`` is True at most once per ``seconds`` (the first call always)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: float | None = None

    def due(self) -> bool:
        """True when ``seconds`` passed since the last True (or never was)."""
        now = time.monotonic()
        if self._last is not None and now - self._last < self.seconds:
            return False
        self._last = now
        return True


class LogFollower:
    """Follow a log file that a child process appends to; parse progress lines.

    ``start()`` begins at the file's current end (earlier runs' lines are not
    this run's), a background thread polls for new complete lines and calls
    ``on_event`` for each progress event; ``stop()`` reads what is left and
    joins. The child writes the file directly, so a slow terminal never slows
    the pipeline down.
    """

    def __init__(
        self, path: Path, on_event: Callable[[Event], None], interval: float = 0.2
    ) -> None:
        self.path = path
        self.on_event = on_event
        self.interval = interval
        self._offset = path.stat().st_size if path.exists() else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vc-progress", daemon=True)
        self._partial = b""

    def start(self) -> LogFollower:
        """Start following in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Read the rest of the file, then stop."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()
        self._read()

    def _read(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            event = parse(raw.decode("utf-8", errors="replace"))
            if event is not None:
                try:
                    self.on_event(event)
                except Exception:  # a rendering problem never stops the run
                    log.debug("progress event not rendered", exc_info=True)


# --- rendering ------------------------------------------------------------------


def describe(event: Mapping[str, Any]) -> tuple[str, str, int, int] | None:
    """``(key, text, done, total)`` of an event: ``key`` names its bar or line."""
    kind = event.get("kind")
    if kind == "load":
        source = str(event.get("source"))
        text = f"{source}: {event.get('files', 0):,}/{event.get('files_total', 0):,} files"
        text += f", {event.get('rows', 0):,} rows loaded"
        extra = []
        if event.get("unchanged"):
            extra.append(f"{event['unchanged']:,} files unchanged")
        if event.get("quarantined"):
            extra.append(f"{event['quarantined']:,} rows quarantined")
        if extra:
            text += f" ({', '.join(extra)})"
        return f"load:{source}", text, int(event.get("files", 0)), int(event.get("files_total", 0))
    if kind == "dbt":
        text = f"dbt {event.get('done', 0)}/{event.get('total', 0)} nodes"
        slowest = event.get("slowest") or {}
        if slowest:
            text += f", slowest {slowest.get('node')} ({float(slowest.get('seconds', 0)):.1f} s)"
        if event.get("failed"):
            text += f", {event['failed']} failed"
        return "dbt", text, int(event.get("done", 0)), int(event.get("total", 0))
    if kind == "validate":
        text = f"validation {event.get('done', 0)}/{event.get('total', 0)} suites"
        if event.get("suite"):
            text += f", last {event['suite']}"
        if event.get("failed"):
            text += f" ({event['failed']} with failures)"
        return "validate", text, int(event.get("done", 0)), int(event.get("total", 0))
    return None


class Renderer:
    """Shows progress events: rich bars on a terminal, plain lines elsewhere.

    Plain mode prints a step's first event, its last (``done == total``) and
    at most one line per ``interval`` seconds in between, prefixed with the
    DAG id: ``vc_transform: dbt 548/548 nodes, slowest ... (3.1 s)``. Call
    ``start(dag_id)`` before a DAG's events and ``finish()`` after them.
    Thread-safe: events arrive from the log follower's thread.
    """

    def __init__(
        self, stream: IO[str] | None = None, tty: bool | None = None, interval: float = 5.0
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self._lock = threading.Lock()
        self._dag = ""
        self._last: dict[str, tuple[float, str]] = {}
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def start(self, dag_id: str) -> None:
        """Begin a DAG: its events are shown under its id."""
        with self._lock:
            self._dag = dag_id
            self._last.clear()
            if self.tty:
                self._bars = self._new_bars()
                self._tasks = {}
                self._bars.start()

    def event(self, event: Mapping[str, Any]) -> None:
        """Show one event (unknown kinds are ignored)."""
        described = describe(event)
        if described is None:
            return
        key, text, done, total = described
        with self._lock:
            if self.tty and self._bars is not None:
                self._bar(key, text, done, total)
            else:
                self._line(key, text, done, total)

    def finish(self) -> None:
        """End the DAG: stop the bars (they stay on screen), flush pending lines."""
        with self._lock:
            if self._bars is not None:
                self._bars.stop()
                self._bars = None
            for key, (_, text) in self._last.items():
                if text:  # the step's latest state was not printed yet
                    self._print(text)
                    self._last[key] = (time.monotonic(), "")

    def _line(self, key: str, text: str, done: int, total: int) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is None or (total and done >= total) or now - last[0] >= self.interval:
            self._print(text)
            self._last[key] = (now, "")
        else:
            self._last[key] = (last[0], text)  # shown by a later line or by finish()

    def _print(self, text: str) -> None:
        prefix = f"{self._dag}: " if self._dag else ""
        print(f"{prefix}{text}", file=self.stream, flush=True)

    def _new_bars(self) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=self.stream, force_terminal=True)
        return Progress(
            TextColumn(f"[bold]{self._dag}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}", markup=False),
            console=console,
            # The child writes its own log file: nothing of ours to redirect.
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _bar(self, key: str, text: str, done: int, total: int) -> None:
        if key not in self._tasks:
            self._tasks[key] = self._bars.add_task(text, total=total or None)
        self._bars.update(self._tasks[key], description=text, completed=done, total=total or None)
