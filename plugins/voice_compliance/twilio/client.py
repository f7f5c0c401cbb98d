"""HTTP to Twilio's regional hosts: the Calls list and BulkExport days, retried.

Plain ``requests`` retried through ``voice_compliance.retry`` (tenacity)
rather than the ``twilio`` library (decision 0014): the puller must keep the
Call resources exactly as the API returns them, point any host at another
base URL (paging links included), and retry one page, not a whole listing,
on every kind of fault:

* HTTP 429 and 503 wait what ``Retry-After`` says (capped), else back off;
* other 5xx, timeouts, refused or dropped connections, a body shorter than
  its ``Content-Length``, a JSON page or gzip file that does not parse: back
  off exponentially with jitter and try the same URL again;
* other 4xx (bad credentials, unknown account) fail at once: retrying
  cannot help.

After ``max_attempts`` the last error propagates and the caller gives the
day up: a day is written whole or not at all.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from voice_compliance.masking import mask_text
from voice_compliance.retry import (
    RetryCallState,
    TransientError,
    backoff,
    is_transient_status,
    retrying,
    transient_http_error,
)
from voice_compliance.twilio.config import TwilioConfig

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
USER_AGENT = "voice-compliance-puller/1.0"
T = TypeVar("T")


class TwilioRequestError(Exception):
    """A request Twilio refused for good (4xx other than 429), or one retried in vain."""


@dataclass
class PullStats:
    """Counters of one pull, shared by every worker thread."""

    requests: int = 0
    pages: int = 0
    calls: int = 0
    bytes: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters (thread-safe)."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def retried(self, reason: str) -> None:
        """Count one retry for ``reason`` (``429``, ``500``, ``timeout``...)."""
        with self._lock:
            self.retries[reason] += 1

    def as_dict(self) -> dict[str, Any]:
        """The counters as plain data (for XCom and the command line)."""
        with self._lock:
            return {
                "requests": self.requests,
                "pages": self.pages,
                "calls": self.calls,
                "bytes": self.bytes,
                "retries": sum(self.retries.values()),
                "retries_by_reason": dict(sorted(self.retries.items())),
            }


_RETRYABLE: tuple[type[BaseException], ...] = (
    TransientError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
"""Faults worth another attempt; every other exception fails the request at once."""


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, TransientError):
        return exc.reason.split(":", 1)[0]
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "truncated"
    if isinstance(exc, requests.ConnectionError):
        return "connection"
    return type(exc).__name__


class RegionClient:
    """Requests to one home region's hosts with that region's credentials."""

    def __init__(
        self,
        config: TwilioConfig,
        region: str,
        stats: PullStats,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.region = region
        self.stats = stats
        self.api_base = config.api_base(region)
        self.bulk_base = config.bulkexports_base(region)
        self.session = session or requests.Session()
        self.session.auth = config.credentials(region)  # type: ignore[assignment]
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        # Redirect targets (BulkExport files on signed storage URLs) get no credentials.
        self.files = requests.Session()
        self.files.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep

    def close(self) -> None:
        """Close both HTTP sessions."""
        self.session.close()
        self.files.close()

    # -- retries ---------------------------------------------------------

    def _before_sleep(self, what: str) -> Callable[[RetryCallState], None]:
        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = _reason(exc)
            self.stats.retried(reason)
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s %s: attempt %d failed (%s), retrying in %.1f s",
                self.region,
                what,
                state.attempt_number,
                mask_text(str(exc))[:200],
                wait,
            )

        return note

    def _retrying(self, what: str, attempt: Callable[[], T]) -> T:
        retry = retrying(
            retry_on=_RETRYABLE,
            attempts=self.config.max_attempts,
            wait=backoff(
                self.config.backoff_s,
                self.config.backoff_max_s,
                jitter=True,
                retry_after_cap=self.config.retry_after_max_s,
            ),
            before_sleep=self._before_sleep(what),
            sleep=self._sleep,
        )
        try:
            return retry(attempt)
        except TwilioRequestError:
            raise
        except Exception as exc:
            raise TwilioRequestError(
                f"{self.region} {what}: gave up after {self.config.max_attempts} attempts "
                f"({_reason(exc)}: {mask_text(str(exc))[:200]})"
            ) from exc

    # -- one request -----------------------------------------------------

    def _get(
        self,
        session: requests.Session,
        url: str,
        params: dict[str, str] | None,
        *,
        redirects: bool = True,
    ) -> requests.Response:
        self.stats.add(requests=1)
        response = session.get(
            url, params=params, timeout=self.config.timeout_s, allow_redirects=redirects
        )
        if is_transient_status(response.status_code):
            response.close()
            raise transient_http_error(response.status_code, response.headers)
        if response.status_code >= 400:
            raise TwilioRequestError(
                f"{self.region} GET {urlsplit(url).path}: HTTP {response.status_code}: "
                f"{_twilio_message(response)}"
            )
        # Reading the body here (inside the retried attempt) turns a dropped or
        # short body into ChunkedEncodingError, retried like any other fault.
        _ = response.content
        self.stats.add(bytes=len(response.content))
        return response

    def get_json(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON object, retried; the parsed body."""

        def attempt() -> dict[str, Any]:
            response = self._get(self.session, url, params)
            try:
                body = response.json()
            except ValueError:
                raise TransientError("malformed: body is not complete JSON") from None
            if not isinstance(body, dict):
                raise TransientError("malformed: body is not a JSON object")
            return body

        return self._retrying(f"GET {urlsplit(url).path}", attempt)

    # -- the Calls list --------------------------------------------------

    def _absolute(self, base: str, link: str) -> str:
        """A paging link on ``base``: Twilio's host is replaced, path and query kept."""
        parts = urlsplit(link)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return base + path

    def calls_pages(self, account: str, day: date) -> Iterator[list[dict[str, Any]]]:
        """Every page of the account's calls that started on UTC ``day``, in order."""
        url = f"{self.api_base}/{API_VERSION}/Accounts/{account}/Calls.json"
        # The twilio library's "start_time_after"/"before" send these keys:
        # on or after the first day, before the next.
        params: dict[str, str] | None = {
            "StartTime>": day.isoformat(),
            "StartTime<": (day + timedelta(days=1)).isoformat(),
            "PageSize": str(self.config.page_size),
        }
        for calls in self._list_pages(url, params, "calls"):
            self.stats.add(pages=1, calls=len(calls))
            yield calls

    def _list_pages(self, url: str, params: dict[str, str] | None, key: str) -> Iterator[list[Any]]:
        """The ``key`` list of every page of a 2010-04-01 list resource, in
        order, following ``next_page_uri`` on this region's host."""
        while True:
            body = self.get_json(url, params)
            items = body.get(key)
            if not isinstance(items, list):
                raise TwilioRequestError(f"{self.region} {url}: the page has no '{key}' list")
            yield items
            next_uri = body.get("next_page_uri")
            if not next_uri:
                return
            url, params = self._absolute(self.api_base, str(next_uri)), None

    # -- the Accounts list -----------------------------------------------

    def accounts_list(self) -> list[dict[str, Any]]:
        """Every Account resource the credentials may list (every page): the
        main account and its subaccounts. Needs a Main API key or the auth
        token; a Standard key is refused (HTTP 401/403)."""
        url = f"{self.api_base}/{API_VERSION}/Accounts.json"
        pages = self._list_pages(url, {"PageSize": "1000"}, "accounts")
        return [item for page in pages for item in page if isinstance(item, dict)]

    # -- BulkExport ------------------------------------------------------

    def export_days(self) -> set[date]:
        """The days with a BulkExport Calls file (``/v1/Exports/Calls/Days``)."""
        if not self.bulk_base:
            return set()
        url: str | None = f"{self.bulk_base}/v1/Exports/Calls/Days"
        params: dict[str, str] | None = {"PageSize": "1000"}
        days: set[date] = set()
        while url:
            body = self.get_json(url, params)
            for item in body.get("days") or ():
                try:
                    days.add(date.fromisoformat(str(item["day"])))
                except (KeyError, ValueError):
                    log.warning(
                        "%s BulkExport: ignoring a day entry without a valid 'day'", self.region
                    )
            meta = body.get("meta") or {}
            link = meta.get("next_page_url")
            url, params = (
                (self._absolute(self.bulk_base, str(link)), None) if link else (None, None)
            )
        return days

    def export_day(self, day: date) -> list[dict[str, Any]]:
        """The Call records of one BulkExport day (redirect to a gzipped JSON-lines file)."""
        assert self.bulk_base
        url = f"{self.bulk_base}/v1/Exports/Calls/Days/{day.isoformat()}"

        def attempt() -> list[dict[str, Any]]:
            first = self._get(self.session, url, None, redirects=False)
            location = first.headers.get("Location")
            if first.is_redirect and location:
                file = self._get(self.files, location, None)
                data = file.content
            else:  # a server that answers with the file itself
                data = first.content
            try:
                text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            except (EOFError, OSError, zlib.error):
                raise TransientError("truncated: the gzip file is incomplete") from None
            records = []
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise TransientError(f"malformed: line {number} is not JSON") from None
                records.append(record)
            self.stats.add(pages=1, calls=len(records))
            return records

        return self._retrying(f"BulkExport day {day}", attempt)


def _twilio_message(response: requests.Response) -> str:
    """Twilio's error code and message (masked), or the start of the body."""
    try:
        body = response.json()
        text = f"{body.get('code')}: {body.get('message')}"
    except ValueError:
        text = response.text[:200]
    return mask_text(text)
