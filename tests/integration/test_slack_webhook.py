"""Slack delivery end to end: the Airflow connection, the provider's hook and a
real HTTP receiver on 127.0.0.1 standing in for Slack's incoming webhook."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from slack_receiver import WEBHOOK_PATH, Receiver, use_webhook
from voice_compliance.notify import (
    ClauseLine,
    NotifySettings,
    RunReport,
    build_run_message,
    flush_outbox,
    notify,
)

pytestmark = pytest.mark.quick

FULL_NUMBER = re.compile(r"\+\d{10,}")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NotifySettings:
    # slack_sdk honours HTTP(S)_PROXY but not NO_PROXY: a CI proxy would
    # swallow the requests meant for 127.0.0.1.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    return NotifySettings(
        conn_id="vc_slack",
        outbox=tmp_path / "notifications" / "slack_outbox.jsonl",
        sent_log=tmp_path / "notifications" / "slack_sent.jsonl",
        retries=2,
        backoff_s=0.01,
        timeout_s=2.0,
    )


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


def make_report(run_id: str = "scheduled__2026-10-01T00:00:00+00:00") -> RunReport:
    return RunReport(
        dag_id="vc_validate",
        run_id=run_id,
        period="2026-09 to 2026-10",
        validated_at=datetime(2026, 10, 1, 6, 30, tzinfo=UTC),
        clauses=[
            ClauseLine("calling_hours.local_window", "high", 12_000, 321, 1, 3),
            ClauseLine("volume.daily_cap", "medium", 40, 0, 0, 0),
        ],
        data_quality_failures=["number +14155550123 is not E.164 in 3 rows"],
        tickets_opened=1,
        tickets_reopened=0,
        tickets_updated=2,
        tickets_resolved=0,
        tickets_open_total=3,
        data_docs_url="http://127.0.0.1:8080/data_docs/index.html",
        dbt_docs_url="file:///work/main/dbt_project/target/index.html",
        tickets_location="compliance.tickets",
    )


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_receiver_gets_masked_block_kit_message_once(
    receiver: Receiver,
    settings: NotifySettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Arrange
    use_webhook(monkeypatch, receiver.url)
    report = make_report()
    caplog.set_level(logging.DEBUG, logger="voice_compliance")

    # Act
    result = notify(build_run_message(report), key=report.key, settings=settings)
    retried = notify(build_run_message(report), key=report.key, settings=settings)

    # Assert
    assert (result.queued, result.flush.reason, result.flush.delivered) == (True, "ok", 1)
    assert retried.duplicate and retried.flush.delivered == 0
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["blocks"][0]["type"] == "header"
    assert "321 violations in 2026-09 to 2026-10" in body["text"]
    assert "*321 violations* of 12,000 checked" in body["blocks"][1]["text"]["text"]
    assert "1 clause passed" in body["blocks"][1]["text"]["text"]
    assert "***0123" in json.dumps(body)
    assert FULL_NUMBER.search(json.dumps(body)) is None
    assert read_lines(settings.outbox) == []
    sent = read_lines(settings.sent_log)
    assert [(e["key"], e["attempts"]) for e in sent] == [(report.key, 1)]
    assert FULL_NUMBER.search(settings.sent_log.read_text(encoding="utf-8")) is None
    assert all(FULL_NUMBER.search(r.getMessage()) is None for r in caplog.records)
    # The webhook URL is a secret: it must not reach our logs.
    assert all(WEBHOOK_PATH not in r.getMessage() for r in caplog.records)


def test_unreachable_webhook_keeps_message_until_a_later_flush_delivers_it(
    receiver: Receiver,
    settings: NotifySettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Arrange
    use_webhook(monkeypatch, closed_port_url())
    report = make_report()
    caplog.set_level(logging.DEBUG, logger="voice_compliance")

    # Act: Slack is down
    down = notify(build_run_message(report), key=report.key, settings=settings)

    # Assert: the call returned normally, the message waits in the outbox
    assert (down.queued, down.flush.reason) == (True, "delivery_failed")
    assert (down.flush.delivered, down.flush.pending, down.flush.failed) == (0, 1, 1)
    waiting = read_lines(settings.outbox)
    assert [(e["key"], e["attempts"]) for e in waiting] == [(report.key, 1)]
    assert "Connection refused" in waiting[0]["last_error"]
    assert FULL_NUMBER.search(settings.outbox.read_text(encoding="utf-8")) is None
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert all(FULL_NUMBER.search(r.getMessage()) is None for r in caplog.records)

    # Act: Slack is back
    use_webhook(monkeypatch, receiver.url)
    back = flush_outbox(settings)
    again = flush_outbox(settings)

    # Assert: delivered exactly once, the outbox is empty
    assert (back.reason, back.delivered, back.pending) == ("ok", 1, 0)
    assert (again.delivered, again.pending) == (0, 0)
    assert len(receiver.bodies) == 1
    assert read_lines(settings.outbox) == []
    assert [e["attempts"] for e in read_lines(settings.sent_log)] == [2]


def test_server_errors_are_retried_with_backoff_within_one_flush(
    receiver: Receiver, settings: NotifySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: two 503s, then success; settings allow two retries
    use_webhook(monkeypatch, receiver.url)
    receiver.respond = lambda body, n: 503 if n <= 2 else 200
    report = make_report()

    # Act
    result = notify(build_run_message(report), key=report.key, settings=settings)

    # Assert
    assert (result.flush.reason, result.flush.delivered) == ("ok", 1)
    assert len(receiver.bodies) == 3
    assert [e["attempts"] for e in read_lines(settings.sent_log)] == [1]


def test_refused_message_stays_while_the_next_one_is_delivered(
    receiver: Receiver, settings: NotifySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: no connection yet, two messages queue up; Slack will refuse the first
    monkeypatch.delenv("AIRFLOW_CONN_VC_SLACK", raising=False)
    first, second = make_report("run_a"), make_report("run_b")
    notify(build_run_message(first), key=first.key, settings=settings)
    notify(build_run_message(second), key=second.key, settings=settings)
    receiver.respond = lambda body, n: 400 if "run_a" in body["text"] else 200
    use_webhook(monkeypatch, receiver.url)

    # Act
    result = flush_outbox(settings)

    # Assert: a 4xx is not retried and does not block the queue
    assert (result.reason, result.delivered, result.pending, result.failed) == (
        "delivery_failed",
        1,
        1,
        1,
    )
    assert len(receiver.bodies) == 2
    waiting = read_lines(settings.outbox)
    assert [e["key"] for e in waiting] == [first.key]
    assert waiting[0]["attempts"] == 1 and "HTTP 400" in waiting[0]["last_error"]
    assert [e["key"] for e in read_lines(settings.sent_log)] == [second.key]


def test_message_already_in_sent_log_is_dropped_not_posted_again(
    receiver: Receiver, settings: NotifySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: a flush that posted the message died before rewriting the outbox
    monkeypatch.delenv("AIRFLOW_CONN_VC_SLACK", raising=False)
    report = make_report()
    notify(build_run_message(report), key=report.key, settings=settings)
    settings.sent_log.write_text(settings.outbox.read_text(encoding="utf-8"), encoding="utf-8")
    use_webhook(monkeypatch, receiver.url)

    # Act
    result = flush_outbox(settings)

    # Assert
    assert (result.reason, result.delivered, result.pending) == ("ok", 0, 0)
    assert receiver.bodies == []
    assert read_lines(settings.outbox) == []


def test_receiver_gets_a_formula_call_sid_neutralised(
    receiver: Receiver, settings: NotifySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    use_webhook(monkeypatch, receiver.url)
    formula = '=HYPERLINK("http://evil.example/x","sid")'
    report = dataclasses.replace(make_report(), data_quality_failures=[formula])

    # Act
    result = notify(build_run_message(report), key=report.key, settings=settings)

    # Assert
    assert result.flush.delivered == 1
    posted = json.dumps(receiver.bodies[0])
    assert json.dumps("• '" + formula)[1:-1] in posted
    assert re.search(r"(?<!')=HYPERLINK", posted) is None
