"""Progress events: emitted as ``VC_PROGRESS`` log lines, followed in a growing log
file, rendered as plain lines (not a terminal) or rich bars (a terminal)."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pytest

from voice_compliance import progress
from voice_compliance.dbt_runner import _NodeProgress
from voice_compliance.masking import MaskingFilter, mask_text

pytestmark = pytest.mark.quick

LOAD = {"kind": "load", "source": "calls", "files": 0, "files_total": 353, "rows": 0}
LOADED = {
    "kind": "load",
    "source": "calls",
    "files": 353,
    "files_total": 353,
    "rows": 50227,
    "quarantined": 6,
    "unchanged": 0,
}
DBT = {"kind": "dbt", "done": 548, "total": 548, "failed": 0}
DBT["slowest"] = {"node": "marts.policy_violations", "seconds": 3.25}
SUITE = {"kind": "validate", "done": 14, "total": 14, "suite": "dq.calls", "failed": 2}


def test_emitted_lines_parse_back_even_inside_a_log_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="voice_compliance.progress"):
        progress.emit("dbt", done=1, total=2, slowest={"node": "a [b]", "seconds": 1.0})

    line = caplog.records[0].getMessage()
    record = f"2026-12-03T02:58:46Z [info     ] {line} [voice_compliance.progress] loc=x.py:1"
    assert progress.parse(record) == {
        "kind": "dbt",
        "done": 1,
        "total": 2,
        "slowest": {"node": "a [b]", "seconds": 1.0},
    }
    assert progress.parse("VC_PROGRESS {not json") is None
    assert progress.parse("an ordinary line") is None


def test_counts_and_seconds_of_seven_digits_survive_the_log_masking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Task logs mask any run of seven digits as a phone number; progress past
    a million rows (or a DAG of 1,000 s) must still reach the CLI as numbers."""
    caplog.handler.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="voice_compliance.progress"):
        progress.emit("load", source="calls", rows=1_049_314, quarantined=7, files=1200)
        progress.emit("dbt", done=3, slowest={"node": "m", "seconds": 1052.1234})

    lines = [r.getMessage() for r in caplog.records]
    assert not any("***" in line for line in lines)  # nothing looked like a phone number
    assert [progress.parse(line) for line in lines] == [
        {"kind": "load", "source": "calls", "rows": 1_049_314, "quarantined": 7, "files": 1200},
        {"kind": "dbt", "done": 3, "slowest": {"node": "m", "seconds": 1052.123}},
    ]
    # A phone number in an event would still be masked: only numbers are grouped.
    assert mask_text(progress.PREFIX + '{"kind":"x","n":"+14155550123"}').endswith('"***0123"}')


def test_plain_lines_first_last_and_throttled_between() -> None:
    out = io.StringIO()
    renderer = progress.Renderer(out, tty=False, interval=60)

    renderer.start("vc_ingest_calls")
    renderer.event(LOAD)
    renderer.event({**LOAD, "files": 100, "rows": 9000})  # within the interval: held
    renderer.event(LOADED)
    renderer.finish()
    renderer.start("vc_transform")
    renderer.event({**DBT, "done": 10, "slowest": {"node": "stg.a", "seconds": 0.5}})
    renderer.event({**DBT, "done": 20, "slowest": {"node": "stg.b", "seconds": 0.7}})
    renderer.finish()  # the held latest state is printed at the end
    renderer.start("vc_validate")
    renderer.event(SUITE)
    renderer.finish()

    assert out.getvalue().splitlines() == [
        "vc_ingest_calls: calls: 0/353 files, 0 rows loaded",
        "vc_ingest_calls: calls: 353/353 files, 50,227 rows loaded (6 rows quarantined)",
        "vc_transform: dbt 10/548 nodes, slowest stg.a (0.5 s)",
        "vc_transform: dbt 20/548 nodes, slowest stg.b (0.7 s)",
        "vc_validate: validation 14/14 suites, last dq.calls (2 with failures)",
    ]


def test_terminal_bars() -> None:
    out = io.StringIO()
    renderer = progress.Renderer(out, tty=True)

    renderer.start("vc_transform")
    renderer.event({**DBT, "done": 274})
    renderer.event(DBT)
    renderer.event({"kind": "unknown"})
    renderer.finish()

    text = out.getvalue()
    assert "\x1b[" in text  # a terminal: ANSI control, redrawn in place
    assert "548/548" in text
    assert "slowest marts.policy_violations (3.2 s)" in text
    assert "vc_transform" in text


def test_follower_reads_only_new_complete_lines(tmp_path: Path) -> None:
    log = tmp_path / "dag.log"
    log.write_text('VC_PROGRESS {"kind": "load", "files": 0}\n')  # an earlier run's line
    seen: list[dict[str, object]] = []
    follower = progress.LogFollower(log, seen.append, interval=0.01).start()

    with log.open("a") as handle:
        handle.write('x [info] VC_PROGRESS {"kind": "dbt", "done": 1, "total": 2} [l]\n')
        handle.write('VC_PROGRESS {"kind": "dbt", "done": 2,')  # not complete yet
        handle.flush()
        time.sleep(0.1)
        assert seen == [{"kind": "dbt", "done": 1, "total": 2}]
        handle.write(' "total": 2}\nplain line\n')
    follower.stop()

    assert seen == [{"kind": "dbt", "done": 1, "total": 2}, {"kind": "dbt", "done": 2, "total": 2}]


def test_dbt_result_lines_become_node_progress(caplog: pytest.LogCaptureFixture) -> None:
    lines = [
        "02:59:43  Found 58 models, 1 seed",
        "02:59:43  1 of 3 START sql view model staging.stg_a ....... [RUN]",
        "02:59:44  1 of 3 OK created sql view model staging.stg_a ....... [OK in 0.17s]",
        "02:59:44  3 of 3 FAIL 1 not_null_stg_a_id ................. [FAIL 1 in 2.50s]",
        "02:59:44  2 of 3 SKIP relation main.clause_summary ............ [SKIP]",
        "02:59:45  1 of 1 START hook: voice_compliance.on-run-end.0 ........ [RUN]",
        "02:59:45  1 of 1 OK hook: voice_compliance.on-run-end.0 ........... [OK in 9.05s]",
    ]
    # dbt's "of N" may count selected nodes it never runs: "Done." ends at done/done.
    lines = [line.replace(" of 3 ", " of 5 ") for line in lines]
    lines.append("02:59:45  Done. PASS=1 WARN=0 ERROR=1 SKIP=1 NO-OP=0 TOTAL=4")
    tracker = _NodeProgress()
    with caplog.at_level(logging.INFO, logger="voice_compliance.progress"):
        for line in lines:
            tracker.line(line)
        tracker.finish()

    events = [progress.parse(r.getMessage()) for r in caplog.records]
    assert events[0] == {
        "kind": "dbt",
        "done": 1,
        "total": 5,
        "failed": 0,
        "slowest": {"node": "staging.stg_a", "seconds": 0.17},
    }
    assert events[-1] == {
        "kind": "dbt",
        "done": 3,
        "total": 3,
        "failed": 1,
        "slowest": {"node": "not_null_stg_a_id", "seconds": 2.5},
    }
