"""Pull call records from Twilio into the landing zone, day by day.

For every home region (in parallel, one worker per region: each region has
its own host, credentials and rate limits) and every account of the
connection (one after the other inside the region: serialised per
account-region), the puller takes the UTC days to fetch:

* a backfill: the days of ``[start, end)``;
* otherwise incrementally: from the watermark minus ``lookback_days`` (calls
  change status, duration and ``date_updated`` after they end) up to
  yesterday; a first run takes the last ``initial_days`` days.

Each day is fetched whole (the BulkExport file when the account has one for
that day, else every page of the Calls list), then written as one file in
one step, or left alone when its content did not change. A day that did not
arrive whole (a page still failing after its retries) is not written and
stops that account-region: its watermark stays before the day, the other
regions and accounts carry on, and the pull ends with :class:`PullFailed`
naming every missing day. Never a silent gap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from voice_compliance.config import Settings
from voice_compliance.twilio.client import PullStats, RegionClient, TwilioRequestError
from voice_compliance.twilio.config import TwilioConfig, is_account_sid, load_config
from voice_compliance.twilio.state import (
    Watermark,
    Writer,
    content_of,
    day_key,
    encode_calls,
    gzip_bytes,
    open_writer,
    sha256,
)

log = logging.getLogger(__name__)


class PullFailed(RuntimeError):
    """Some days could not be pulled whole; nothing of them was written."""


@dataclass(frozen=True)
class DayResult:
    """What happened to one (account, region, day)."""

    account: str
    region: str
    day: date
    calls: int
    pages: int
    source: str
    """``calls`` (the Calls list) or ``bulkexport``."""
    outcome: str
    """``written`` (new file), ``replaced`` (content changed), ``unchanged``, ``empty`` (no
    calls and no earlier file: nothing written)."""


@dataclass
class PullSummary:
    """The result of one pull."""

    days: list[DayResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stats: PullStats = field(default_factory=PullStats)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        """Days with ``outcome``."""
        return sum(1 for d in self.days if d.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for XCom, logs and the command line."""
        calls = sum(d.calls for d in self.days)
        return {
            "days": len(self.days),
            "written": self.count("written"),
            "replaced": self.count("replaced"),
            "unchanged": self.count("unchanged"),
            "empty": self.count("empty"),
            "calls": calls,
            "failures": list(self.failures),
            "seconds": round(self.seconds, 2),
            "calls_per_second": round(calls / self.seconds, 1) if self.seconds else None,
            **self.stats.as_dict(),
        }

    def line(self) -> str:
        """One human line."""
        d = self.as_dict()
        return (
            f"pulled {d['calls']:,} calls in {d['pages']:,} pages over {d['days']} days "
            f"({d['written']} written, {d['replaced']} replaced, {d['unchanged']} unchanged, "
            f"{d['empty']} empty) with {d['requests']:,} requests and {d['retries']} retries "
            f"in {d['seconds']} s ({d['calls_per_second']} calls/s)"
        )


def days_to_pull(
    mark: Watermark,
    config: TwilioConfig,
    *,
    start: date | None,
    end: date | None,
    today: date,
) -> list[date]:
    """The UTC days one account-region pulls now (see the module docstring).

    Never ``today`` or later, even for a backfill whose ``end`` lies ahead: a
    day is pulled once it has ended, so the watermark never passes a day
    whose calls are still coming (a watermark in the future made the next
    runs skip the days up to it, without a failure).
    """
    last = min(end or today, today)
    if start is not None:
        first = start
    elif mark.next_day is not None:
        # A watermark past today (an older version moved it there after a
        # backfill into the future) counts as today: the look-back re-pulls.
        first = min(mark.next_day, today) - timedelta(days=config.lookback_days)
    else:
        first = last - timedelta(days=config.initial_days)
    return [first + timedelta(days=i) for i in range((last - first).days)]


def _updated(call: dict[str, Any]) -> float:
    value = call.get("date_updated")
    if not value:
        return float("-inf")
    text = str(value)
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("-inf")


def _one_per_sid(calls: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A call listed twice (it changed while we paged) keeps its latest version."""
    latest: dict[str, dict[str, Any]] = {}
    for call in calls:
        sid = str(call.get("sid") or "")
        if sid not in latest or _updated(call) >= _updated(latest[sid]):
            latest[sid] = call
    return list(latest.values())


class _RegionPull:
    """One region's worker: its client, then each account in turn."""

    def __init__(
        self, config: TwilioConfig, region: str, writer: Writer, summary: PullSummary
    ) -> None:
        self.config = config
        self.region = region
        self.writer = writer
        self.summary = summary
        self.client = RegionClient(config, region, summary.stats)
        self._export_days: set[date] | None = None

    def export_days(self) -> set[date]:
        if self._export_days is None:
            self._export_days = self.client.export_days()
            log.info("%s BulkExport: %d day files available", self.region, len(self._export_days))
        return self._export_days

    def run(self, start: date | None, end: date | None, today: date) -> None:
        try:
            for account in self.accounts():
                self.pull_account(account, start, end, today)
        finally:
            self.client.close()

    def accounts(self) -> tuple[str, ...]:
        """The accounts to pull in this region: the configured ones, or with
        ``subaccounts: "all"`` the main account and every subaccount the
        Accounts list gives now (a subaccount created since the last pull is
        pulled from its first run on; a closed one until Twilio deletes it,
        30 days after closing, so its last days and a backfill of its active
        period are not lost). When the list cannot be had, the main account
        is still pulled and the pull fails by name, never a silent gap."""
        if not self.config.discovers_subaccounts:
            return self.config.accounts
        main = self.config.account_sid
        try:
            listed = self.client.accounts_list()
        except TwilioRequestError as exc:
            message = (
                f"{self.region} {main}: the subaccounts could not be listed ({exc}); only the "
                "main account was pulled (listing subaccounts needs a Main API key or the "
                "account's auth token)"
            )
            log.error("%s", message)
            self.summary.failures.append(message)
            return (main,)
        found: set[str] = set()
        closed = 0
        for item in listed:
            sid = item.get("sid")
            if sid == main or not is_account_sid(sid) or item.get("owner_account_sid") != main:
                continue
            found.add(str(sid))
            closed += item.get("status") == "closed"
        log.info(
            "%s %s: %d subaccounts listed (%d of them closed)",
            self.region,
            main,
            len(found),
            closed,
        )
        return (main, *sorted(found))

    def pull_account(self, account: str, start: date | None, end: date | None, today: date) -> None:
        mark = Watermark.load(self.writer, account, self.region)
        days = days_to_pull(mark, self.config, start=start, end=end, today=today)
        if end is not None and end > today:
            log.warning(
                "%s %s: end %s is not over yet; pulling up to %s (the next runs take the rest)",
                self.region,
                account,
                end,
                today - timedelta(days=1),
            )
        if not days:
            return
        log.info(
            "%s %s: pulling %d days %s..%s (watermark %s)",
            self.region,
            account,
            len(days),
            days[0],
            days[-1],
            mark.next_day,
        )
        done: list[date] = []
        try:
            for day in days:
                result, digest = self.pull_day(account, day)
                self.summary.days.append(result)
                if digest is not None:
                    mark.days[day.isoformat()] = digest
                done.append(day)
        except TwilioRequestError as exc:
            missing = days[len(done)]
            message = (
                f"{self.region} {account} {missing}: not all pages arrived, day not "
                f"written ({exc}); {len(days) - len(done)} day(s) left for the next run"
            )
            log.error("%s", message)
            self.summary.failures.append(message)
        finally:
            if done:
                reached = done[-1] + timedelta(days=1)
                # The watermark moves only over days pulled without a gap.
                if mark.next_day is None or days[0] <= mark.next_day:
                    mark.next_day = max(mark.next_day or reached, reached)
            elif mark.next_day is None and start is None:
                # A first incremental run that pulled no day: the next run
                # starts from this window's first day, not from a window
                # that has moved on without it.
                mark.next_day = days[0]
            mark.save(self.writer)

    def pull_day(self, account: str, day: date) -> tuple[DayResult, str | None]:
        use_bulk = self.config.uses_bulk_export(account, self.region)
        pages = 0
        if use_bulk and day in self.export_days():
            source, calls, pages = "bulkexport", self.client.export_day(day), 1
        else:
            source, calls = "calls", []
            for page in self.client.calls_pages(account, day):
                calls.extend(page)
                pages += 1
        calls = _one_per_sid(calls)
        data = encode_calls(calls)
        digest = sha256(data)
        key = day_key(account, self.region, day)
        existing = content_of(self.writer.read(key))
        if existing is None and not calls:
            outcome, digest_kept = "empty", None
        elif existing is not None and sha256(existing) == digest:
            outcome, digest_kept = "unchanged", digest
        else:
            self.writer.write(key, gzip_bytes(data))
            outcome = "written" if existing is None else "replaced"
            digest_kept = digest
        log.info(
            "%s %s %s: %d calls, %d pages (%s): %s",
            self.region,
            account,
            day,
            len(calls),
            pages,
            source,
            outcome,
        )
        return DayResult(account, self.region, day, len(calls), pages, source, outcome), digest_kept


def pull(
    settings: Settings,
    config: TwilioConfig | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    regions: Iterable[str] | None = None,
    today: date | None = None,
    raise_on_failure: bool = True,
) -> PullSummary:
    """Pull Twilio call records into ``settings.landing``; return what was done.

    ``start``/``end`` (end exclusive) pull exactly those days (a backfill);
    without them the pull is incremental from each watermark. ``regions``
    limits the pull to some of the configured regions. Raises
    :class:`PullFailed` after every region has finished when any day could
    not be pulled whole (unless ``raise_on_failure`` is false).
    """
    config = config or load_config()
    today = today or datetime.now(UTC).date()
    if start is not None and end is not None and end <= start:
        raise ValueError(f"end {end} must be after start {start} (end is exclusive)")
    chosen = list(regions) if regions is not None else list(config.regions)
    unknown = [r for r in chosen if r not in config.regions]
    if unknown:
        raise ValueError(f"regions not in the Twilio connection: {', '.join(unknown)}")
    writer = open_writer(settings)
    summary = PullSummary()
    started = time.monotonic()
    workers = [_RegionPull(config, region, writer, summary) for region in chosen]
    with ThreadPoolExecutor(
        max_workers=max(1, len(workers)), thread_name_prefix="twilio-pull"
    ) as pool:
        futures = [pool.submit(w.run, start, end, today) for w in workers]
        for worker, future in zip(workers, futures, strict=True):
            exc = future.exception()
            if exc is not None:
                log.error("%s: the pull stopped: %s", worker.region, exc)
                summary.failures.append(f"{worker.region}: {type(exc).__name__}: {exc}")
    summary.seconds = time.monotonic() - started
    summary.days.sort(key=lambda d: (d.region, d.account, d.day))
    log.info("Twilio pull into %s: %s", writer.root, summary.line())
    if summary.failures and raise_on_failure:
        raise PullFailed(
            f"{len(summary.failures)} account-region(s) incomplete, their missing days were "
            f"not written and their watermarks not moved past them: " + " | ".join(summary.failures)
        )
    return summary
