"""One way to retry: exponential backoff with jitter that honours ``Retry-After``.

Every retry loop of the package (Twilio pages, Slack posts, resumed S3 body
reads, opening a warehouse another process holds) goes through
:func:`retrying`, a thin layer over ``tenacity`` (decision 0014), so the
waits, the caps and the way a server's ``Retry-After`` wins over our own
backoff are written once:

* :func:`backoff` waits ``base * 2**(n-1)`` before retry ``n`` (capped), with
  optional jitter; a :class:`TransientError` that carries ``retry_after``
  (HTTP 429/503 ``Retry-After``, see :func:`transient_http_error`) waits
  what the server asked instead, capped too;
* :func:`retrying` stops after ``attempts`` tries or before a wait would
  pass ``within`` seconds, and re-raises the last error unchanged.

Callers inject ``sleep`` so tests can run without waiting. Imports only the
standard library and ``tenacity``: it sits at the bottom of the package.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    stop_before_delay,
    stop_never,
)

from voice_compliance.utc import as_utc

__all__ = [
    "RETRY_AFTER_MAX_S",
    "RetryCallState",
    "TransientError",
    "backoff",
    "is_transient_status",
    "parse_retry_after",
    "retrying",
    "transient_http_error",
]

T = TypeVar("T")

RETRY_AFTER_MAX_S = 60.0
"""Longest wait a server's ``Retry-After`` may impose unless the caller says otherwise."""


class TransientError(Exception):
    """A failure worth retrying; ``retry_after`` is the server's wish, in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (as_utc(when) - datetime.now(UTC)).total_seconds())


def is_transient_status(status: int) -> bool:
    """True for HTTP answers worth another try: 429 (throttled) and 5xx."""
    return status == 429 or status >= 500


def transient_http_error(
    status: int, headers: Mapping[str, Any] | None, detail: str | None = None
) -> TransientError:
    """The :class:`TransientError` for a 429/5xx answer, with its ``Retry-After``.

    The reason starts with the status code (``"503: ..."``), which is how
    callers count retries by cause. ``headers`` may be any mapping; the
    header name is matched case-insensitively.
    """
    value = None
    for name, header in (headers or {}).items():
        if name.lower() == "retry-after":
            # Some clients keep every value of a repeated header in a list.
            value = header[0] if isinstance(header, list | tuple) and header else header
            break
    return TransientError(
        f"{status}: {detail or f'HTTP {status}'}", parse_retry_after(str(value) if value else None)
    )


def backoff(
    base: float,
    cap: float | None = None,
    *,
    jitter: bool = False,
    retry_after_cap: float = RETRY_AFTER_MAX_S,
) -> Callable[[RetryCallState], float]:
    """The wait before retry ``n`` (from 1): ``base * 2**(n-1)``, at most ``cap``.

    With ``jitter`` the wait is drawn from ``[w/2, w]`` so many clients do not
    retry in step. A :class:`TransientError` with ``retry_after`` waits that
    long instead (at most ``retry_after_cap``): the server knows best.
    """

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, retry_after_cap)
        delay = base * 2 ** (state.attempt_number - 1)
        if cap is not None:
            delay = min(cap, delay)
        return delay * random.uniform(0.5, 1.0) if jitter else delay

    return wait


def retrying(
    *,
    retry_on: type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], bool],
    wait: Callable[[RetryCallState], float],
    attempts: int | None = None,
    within: float | None = None,
    before_sleep: Callable[[RetryCallState], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """A ``tenacity.Retrying``: call it with a function to run that function with retries.

    ``retry_on`` names the exceptions worth another try (a class, a tuple of
    classes or a predicate); any other exception propagates at once.
    ``attempts`` bounds the tries (first one included); ``within`` stops
    before a wait would end more than ``within`` seconds after the first try.
    When retries run out the last exception is re-raised as it was.
    ``before_sleep`` sees each failed attempt before its wait (logs, counters).
    """
    if callable(retry_on) and not isinstance(retry_on, type):
        predicate = retry_on
    else:
        classes = retry_on

        def predicate(exc: BaseException) -> bool:
            return isinstance(exc, classes)

    stops = []
    if attempts is not None:
        stops.append(stop_after_attempt(attempts))
    if within is not None:
        stops.append(stop_before_delay(within))
    stop = stop_any(*stops) if stops else stop_never
    return Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(predicate),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
