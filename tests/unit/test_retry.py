"""The shared retry helper: waits, caps, ``Retry-After``, when to stop."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.webhook import WebhookResponse

from voice_compliance.notify import slack
from voice_compliance.retry import (
    TransientError,
    backoff,
    parse_retry_after,
    retrying,
    transient_http_error,
)

pytestmark = pytest.mark.quick


class Flaky:
    """Fails with the given exceptions, one per call, then returns ``"done"``."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 30


def test_transient_http_error_reads_retry_after_whatever_its_case() -> None:
    error = transient_http_error(429, {"retry-after": "4"})
    assert (error.reason, error.retry_after) == ("429: HTTP 429", 4.0)
    assert transient_http_error(503, {"Retry-After": ["2"]}, "busy").retry_after == 2.0
    assert transient_http_error(500, {}).retry_after is None


def test_backoff_doubles_up_to_the_cap_and_retry_after_wins() -> None:
    # Arrange: five failures, the fourth carrying a Retry-After above its cap
    sleeps: list[float] = []
    flaky = Flaky(
        OSError("a"), OSError("b"), OSError("c"), TransientError("503", 99.0), OSError("d")
    )
    retry = retrying(
        retry_on=(OSError, TransientError),
        attempts=6,
        wait=backoff(1.0, 5.0, retry_after_cap=10.0),
        sleep=sleeps.append,
    )
    # Act
    assert retry(flaky) == "done"
    # Assert: 1, 2, 4, then the server's wish (capped), then the cap
    assert sleeps == [1.0, 2.0, 4.0, 10.0, 5.0]


def test_jitter_stays_between_half_and_the_full_wait() -> None:
    sleeps: list[float] = []
    retry = retrying(
        retry_on=OSError, attempts=4, wait=backoff(2.0, jitter=True), sleep=sleeps.append
    )
    retry(Flaky(OSError(), OSError(), OSError()))
    assert [1.0 <= sleeps[0] <= 2.0, 2.0 <= sleeps[1] <= 4.0, 4.0 <= sleeps[2] <= 8.0] == [True] * 3


def test_gives_up_after_attempts_with_the_last_error_and_never_retries_others() -> None:
    retry = retrying(retry_on=OSError, attempts=3, wait=backoff(0.0), sleep=lambda _: None)
    flaky = Flaky(OSError("1"), OSError("2"), OSError("3"), OSError("4"))
    with pytest.raises(OSError, match="3"):
        retry(flaky)
    assert flaky.calls == 3

    refused = Flaky(ValueError("bad request"))
    with pytest.raises(ValueError):
        retry(refused)
    assert refused.calls == 1


def test_within_stops_before_a_wait_would_overrun_the_budget() -> None:
    retry = retrying(retry_on=OSError, within=0.35, wait=backoff(0.1))
    flaky = Flaky(*[OSError(str(n)) for n in range(10)])
    started = time.monotonic()
    with pytest.raises(OSError):
        retry(flaky)
    # 0.1 + 0.2 fit in 0.35 s; the next wait (0.4) would not.
    assert flaky.calls == 3
    assert time.monotonic() - started < 1.0


class FakeWebhook:
    """A Slack webhook client answering from a script of (status, headers)."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.posted = 0

    def send_dict(self, body: dict[str, Any]) -> WebhookResponse:
        self.posted += 1
        status, headers = self.answers.pop(0)
        return WebhookResponse(url="http://hook", status_code=status, body="x", headers=headers)


def _notify_settings(tmp_path: Path, backoff_s: float) -> slack.NotifySettings:
    return slack.NotifySettings(
        conn_id="vc_slack",
        outbox=tmp_path / "outbox.jsonl",
        sent_log=tmp_path / "sent.jsonl",
        retries=2,
        backoff_s=backoff_s,
    )


def test_slack_waits_what_retry_after_says_not_its_own_backoff(tmp_path: Path) -> None:
    # Arrange: a 429 asking for no wait, although our backoff would wait 60 s
    client = FakeWebhook((429, {"Retry-After": "0"}), (200, {}))
    started = time.monotonic()
    # Act
    slack._deliver(client, {"text": "hi"}, _notify_settings(tmp_path, backoff_s=60.0))  # type: ignore[arg-type]
    # Assert
    assert client.posted == 2
    assert time.monotonic() - started < 5


def test_slack_does_not_retry_a_refusal(tmp_path: Path) -> None:
    client = FakeWebhook((400, {}), (200, {}))
    with pytest.raises(slack._Permanent, match="HTTP 400"):
        slack._deliver(client, {"text": "hi"}, _notify_settings(tmp_path, backoff_s=0.0))  # type: ignore[arg-type]
    assert client.posted == 1
