"""The Twilio puller against a real local HTTP server (the fake Twilio).

Every fault (429 with Retry-After, 5xx, a slow answer, a body cut short, a
dropped connection) is injected into a pull of the same days; the files it
lands must be byte for byte the files of a pull without faults: nothing
lost, nothing duplicated. A day that keeps failing is not written, its
watermark does not move past it, and the pull fails naming it; the next
pull fills it in.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from twilio_server import (
    config_for,
    day_files,
    landed_calls,
    served_sids,
    settings_for,
)
from vc_sample.fake_twilio import FakeTwilio
from voice_compliance.landing import S3LandingZone
from voice_compliance.twilio.puller import PullFailed, pull
from voice_compliance.twilio.state import Watermark, open_writer

FIRST, END = date(2026, 10, 1), date(2026, 10, 5)
"""A few ordinary days: several pages per account-region-day at PageSize 5."""
SMALL_PAGES = {"page_size": 5}


def _pull(fake: FakeTwilio, root: Path, **extra: object):
    return pull(
        settings_for(root), config_for(fake, **{**SMALL_PAGES, **extra}), start=FIRST, end=END
    )


@pytest.fixture
def baseline(fake_twilio: FakeTwilio, tmp_path: Path) -> dict[str, bytes]:
    """The day files of a pull without any fault."""
    summary = _pull(fake_twilio, tmp_path / "baseline")
    assert summary.failures == [] and summary.stats.retries.total() == 0
    return day_files(tmp_path / "baseline" / "landing")


def test_backfill_lands_every_served_call_once(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    summary = _pull(fake_twilio, tmp_path)

    landing = tmp_path / "landing"
    calls = landed_calls(landing)
    assert set(calls) == served_sids(fake_twilio, FIRST, END)
    assert all(len(copies) == 1 for copies in calls.values())
    assert summary.stats.pages > summary.count("written")  # several pages a day
    sources = {d.source for d in summary.days}
    assert sources == {"calls", "bulkexport"}
    # BulkExport records carry ISO 8601 UTC timestamps; Calls list pages RFC 2822.
    bulk = [d for d in summary.days if d.source == "bulkexport" and d.calls]
    assert bulk
    names = {p.name for p in landing.glob("calls/region=*/*.jsonl.gz")}
    assert all(re.fullmatch(r"twilio_AC[0-9a-f]{32}_2026-10-0[1-4]\.jsonl\.gz", n) for n in names)
    assert not list(landing.rglob(".*.part"))  # no temporary file left behind


def test_a_second_pull_rewrites_nothing(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    _pull(fake_twilio, tmp_path)
    landing = tmp_path / "landing"
    before = {p: p.stat().st_mtime_ns for p in landing.rglob("*.jsonl.gz")}

    again = _pull(fake_twilio, tmp_path)

    assert again.count("written") == again.count("replaced") == 0
    assert again.count("unchanged") == len(before)
    assert {p: p.stat().st_mtime_ns for p in landing.rglob("*.jsonl.gz")} == before


@pytest.mark.parametrize(
    ("kind", "options", "reason"),
    [
        ("500", {"times": 3}, "500"),
        ("503", {"times": 2, "retry_after": 0}, "503"),
        ("drop", {"times": 3}, "connection"),
        ("truncate", {"times": 3}, "truncated"),
    ],
)
def test_faults_on_pages_lose_and_duplicate_nothing(
    fake_twilio: FakeTwilio,
    baseline: dict[str, bytes],
    tmp_path: Path,
    kind: str,
    options: dict[str, float],
    reason: str,
) -> None:
    fake_twilio.inject(kind, match="Page=1", **options)  # second pages of listings

    summary = _pull(fake_twilio, tmp_path)

    assert fake_twilio.injected[kind] == options["times"]
    assert summary.stats.retries[reason] == options["times"]
    assert day_files(tmp_path / "landing") == baseline


def test_429_waits_for_retry_after(
    fake_twilio: FakeTwilio, baseline: dict[str, bytes], tmp_path: Path
) -> None:
    fake_twilio.inject("429", match="/ie1/2010-04-01/", times=2, retry_after=1)

    started = time.monotonic()
    summary = _pull(fake_twilio, tmp_path)

    # One region, so the waits add up; backoff alone would wait ~0.01 s each.
    assert time.monotonic() - started >= 2.0
    assert summary.stats.retries["429"] == 2
    assert day_files(tmp_path / "landing") == baseline


def test_slow_answers_time_out_and_are_retried(
    fake_twilio: FakeTwilio, baseline: dict[str, bytes], tmp_path: Path
) -> None:
    fake_twilio.inject("slow", match="Calls.json", times=2, delay=1.5)

    summary = _pull(fake_twilio, tmp_path, timeout_s=0.5)

    assert summary.stats.retries["timeout"] == 2
    assert day_files(tmp_path / "landing") == baseline


def test_bulkexport_faults_on_the_redirect_and_the_file(
    fake_twilio: FakeTwilio, baseline: dict[str, bytes], tmp_path: Path
) -> None:
    fake_twilio.inject("500", match="/Days/2026-10-02", times=1)
    fake_twilio.inject("truncate", match="/files/", times=2)
    fake_twilio.inject("429", match="/v1/Exports/Calls/Days?", times=1, retry_after=0)

    summary = _pull(fake_twilio, tmp_path)

    assert summary.stats.retries["truncated"] == 2
    assert summary.stats.retries["500"] == 1 and summary.stats.retries["429"] == 1
    assert day_files(tmp_path / "landing") == baseline


def test_a_day_that_keeps_failing_is_not_written_and_fails_the_pull(
    fake_twilio: FakeTwilio, baseline: dict[str, bytes], tmp_path: Path
) -> None:
    # One account-region's second day never arrives whole: its second page fails every time.
    account = next(
        a
        for a in fake_twilio.subaccounts
        if fake_twilio.calls_of("us1", a, *_bounds(date(2026, 10, 2))).__len__() > 5
    )
    day_url = f"Accounts/{account}/Calls.json?PageSize=5&Page=1"
    fake_twilio.inject("500", match=day_url, times=10_000)
    settings = settings_for(tmp_path)
    config = config_for(fake_twilio, **SMALL_PAGES, lookback_days=0)

    with pytest.raises(PullFailed, match=rf"us1 {account} 2026-10-0\d: not all pages arrived"):
        pull(settings, config, start=FIRST, end=END)

    landing = tmp_path / "landing"
    files = day_files(landing)
    mark = Watermark.load(open_writer(settings), account, "us1")
    missing = mark.next_day
    assert missing is not None and FIRST <= missing < END
    key = f"calls/region=us1/twilio_{account}_{missing}.jsonl.gz"
    assert key not in files  # never half a day
    # Every other file is complete and equal to the fault-free pull.
    assert {k: v for k, v in baseline.items() if k != key and k in files} == {
        k: v for k, v in files.items()
    }
    later = [
        k
        for k in baseline
        if k.startswith(f"calls/region=us1/twilio_{account}_")
        and k.split("_")[-1][:10] > missing.isoformat()
    ]
    assert all(k not in files for k in later)  # the account-region stopped at the gap

    # The fault clears: the next incremental pull resumes at the watermark and fills the gap.
    fake_twilio.clear_faults()
    pull(settings, config, today=END)
    assert day_files(landing) == baseline


def _bounds(day: date):
    from datetime import UTC, datetime

    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def test_a_call_updated_after_the_pull_replaces_only_its_day(
    fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    config = config_for(fake_twilio, **SMALL_PAGES, lookback_days=3)
    first = pull(settings, config, start=FIRST, end=END)
    landing = tmp_path / "landing"
    before = day_files(landing)
    # A call of the last day, not from the BulkExport account, changes after it ended.
    day = END - timedelta(days=1)
    region, account, call = next(
        (r, a, c)
        for r in ("ie1", "au1", "us1")
        for a in fake_twilio.subaccounts
        for c in fake_twilio.calls_of(r, a, *_bounds(day))
    )
    fake_twilio.update_call(call["sid"], status="completed", duration="321")

    # The next daily run: watermark END, look-back 3 days re-pulls END-3..END.
    again = pull(settings, config, today=END + timedelta(days=1))

    assert first.count("written") == len(before)
    assert again.count("replaced") == 1
    after = day_files(landing)
    key = f"calls/region={region}/twilio_{account}_{day}.jsonl.gz"
    assert {k for k in before if after[k] != before[k]} == {key}
    assert all(k.endswith(f"_{END}.jsonl.gz") for k in set(after) - set(before))  # a new day
    copies = landed_calls(landing)[call["sid"]]
    assert len(copies) == 1
    assert copies[0]["duration"] == "321" and copies[0]["status"] == "completed"
    assert {d.day for d in again.days} == {END - timedelta(days=3 - i) for i in range(4)}


def test_incremental_runs_follow_the_watermark(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    config = config_for(fake_twilio, lookback_days=2, initial_days=4)

    first = pull(settings, config, today=END)
    second = pull(settings, config, today=END + timedelta(days=1))

    assert {d.day for d in first.days} == {FIRST + timedelta(days=i) for i in range(4)}
    assert {d.day for d in second.days} == {END - timedelta(days=2 - i) for i in range(3)}
    state = json.loads(
        (tmp_path / "landing/_twilio/state" / f"{fake_twilio.main_account}_us1.json").read_text()
    )
    assert state["next_day"] == (END + timedelta(days=1)).isoformat()


def test_a_backfill_past_today_stops_at_yesterday_and_the_daily_runs_take_the_rest(
    fake_twilio: FakeTwilio, tmp_path: Path, baseline: dict[str, bytes]
) -> None:
    settings = settings_for(tmp_path)
    config = config_for(fake_twilio, **SMALL_PAGES)
    today = FIRST + timedelta(days=2)

    early = pull(settings, config, start=FIRST, end=END + timedelta(days=10), today=today)

    assert {d.day for d in early.days} == {FIRST, FIRST + timedelta(days=1)}
    state = tmp_path / "landing/_twilio/state" / f"{fake_twilio.main_account}_us1.json"
    assert json.loads(state.read_text())["next_day"] == today.isoformat()
    # The daily runs after it: nothing between the backfill and them is skipped.
    for day in range(3, (END - FIRST).days + 1):
        pull(settings, config, today=FIRST + timedelta(days=day))
    # (their look-back also reaches before FIRST: those days are not the baseline's)
    landed = day_files(tmp_path / "landing")
    assert {key: data for key, data in landed.items() if key in baseline} == baseline


def test_a_watermark_left_in_the_future_is_read_as_today(
    fake_twilio: FakeTwilio, tmp_path: Path, baseline: dict[str, bytes]
) -> None:
    """An older version moved the watermark past today after a backfill into
    the future; the daily runs must still take the days up to it."""
    settings = settings_for(tmp_path)
    # the look-back from today reaches back to FIRST
    config = config_for(fake_twilio, **SMALL_PAGES, lookback_days=(END - FIRST).days)
    writer = open_writer(settings)
    for region in ("us1", "ie1", "au1"):
        for account in (fake_twilio.main_account, *fake_twilio.subaccounts):
            mark = Watermark.load(writer, account, region)
            mark.next_day = END + timedelta(days=20)
            mark.save(writer)

    pull(settings, config, today=END)

    landed = day_files(tmp_path / "landing")
    assert {key: data for key, data in landed.items() if key in baseline} == baseline


def test_a_first_run_failing_on_its_first_day_resumes_there(
    fake_twilio: FakeTwilio, tmp_path: Path, baseline: dict[str, bytes]
) -> None:
    settings = settings_for(tmp_path)
    config = config_for(fake_twilio, **SMALL_PAGES, lookback_days=0, initial_days=2)
    main = fake_twilio.main_account
    fake_twilio.inject("500", match=f"Accounts/{main}/Calls.json", times=10_000)

    # (us1 serves this account's days from BulkExport: ie1 and au1 fail)
    with pytest.raises(PullFailed, match=rf"ie1 {main} {FIRST}: not all pages arrived"):
        pull(settings, config, today=FIRST + timedelta(days=2))
    fake_twilio.clear_faults()
    pull(settings, config, today=FIRST + timedelta(days=3))

    landed = day_files(tmp_path / "landing")
    first_day = f"calls/region=ie1/twilio_{main}_{FIRST}.jsonl.gz"
    assert first_day in baseline and landed[first_day] == baseline[first_day]


def test_regions_use_their_own_hosts_and_credentials(
    fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    conn = fake_twilio.connection()
    # ie1 with the US1 key: the fake answers 401, which is not retried.
    conn["extra"]["regions"]["ie1"].pop("key")
    conn["extra"]["regions"]["ie1"].pop("secret")
    from voice_compliance.twilio.config import config_from_connection

    config = config_from_connection(conn["login"], conn["password"], conn["extra"])

    with pytest.raises(PullFailed, match=r"ie1 AC\w+ 2026-10-01: .*HTTP 401") as failed:
        pull(settings_for(tmp_path), config, start=FIRST, end=END)

    assert "fake-secret" not in str(failed.value)
    assert "ie1" in str(failed.value) and "us1" not in str(failed.value).split("|")[0][:4]
    # The other regions were pulled in full.
    pulled = {p.parent.name for p in (tmp_path / "landing").glob("calls/*/*.jsonl.gz")}
    assert pulled == {"region=us1", "region=au1"}


def test_subaccounts_all_pulls_every_open_subaccount_listed_at_each_pull(
    fake_twilio: FakeTwilio, baseline: dict[str, bytes], tmp_path: Path
) -> None:
    """``"subaccounts": "all"`` pulls what the explicit list pulls, looked up
    in the Accounts list at each pull: a subaccount that appears later is
    pulled from then on; a closed one still has its days pulled (until
    Twilio deletes it and the list no longer names it)."""
    *older, newest = fake_twilio.subaccounts
    fake_twilio.account_status[older[0]] = "closed"
    fake_twilio.subaccounts = older  # the newest one does not exist yet
    settings = settings_for(tmp_path)
    config = config_for(fake_twilio, **SMALL_PAGES, subaccounts="all", lookback_days=0)

    first = pull(settings, config, start=FIRST, end=END)

    assert first.failures == []
    assert {d.account for d in first.days} == {fake_twilio.main_account, *older}
    expected = {k: v for k, v in baseline.items() if newest not in k}
    assert day_files(tmp_path / "landing") == expected
    assert any(older[0] in k for k in expected)  # the closed one's days
    assert fake_twilio.served["accounts_page"] == len(fake_twilio.regions)

    # The newest subaccount is created: the next pull finds it and takes its days.
    fake_twilio.subaccounts = [*older, newest]
    pull(settings, config, start=FIRST, end=END)

    assert day_files(tmp_path / "landing") == baseline
    assert any(newest in k for k in baseline)


def test_subaccounts_that_cannot_be_listed_fail_the_pull_by_name_after_the_main_account(
    fake_twilio: FakeTwilio, baseline: dict[str, bytes], tmp_path: Path
) -> None:
    fake_twilio.standard_key_regions = {"ie1"}  # its key may not read the Accounts list
    config = config_for(fake_twilio, **SMALL_PAGES, subaccounts="all")

    with pytest.raises(PullFailed) as failed:
        pull(settings_for(tmp_path), config, start=FIRST, end=END)

    text = str(failed.value)
    assert f"ie1 {fake_twilio.main_account}: the subaccounts could not be listed" in text
    assert "HTTP 401" in text and "Main API key" in text
    assert "us1" not in text and "au1" not in text
    landed = day_files(tmp_path / "landing")
    main_ie1 = {
        k: v
        for k, v in baseline.items()
        if k.startswith("calls/region=ie1/") and fake_twilio.main_account in k
    }
    others = {k: v for k, v in baseline.items() if not k.startswith("calls/region=ie1/")}
    assert main_ie1 and landed == {**others, **main_ie1}


def test_logs_show_progress_and_no_phone_number_or_secret(
    fake_twilio: FakeTwilio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_twilio.inject("500", match="Page=1", times=2)
    with caplog.at_level(logging.INFO, logger="voice_compliance.twilio"):
        _pull(fake_twilio, tmp_path)

    text = caplog.text
    assert re.search(r"\d+ calls, \d+ pages \((calls|bulkexport)\): written", text)
    assert "retrying in" in text and "pulled " in text
    assert not re.search(r"\+\d{8,}", text)
    assert "fake-secret" not in text


@pytest.mark.s3
def test_pull_into_s3_landing(
    fake_twilio: FakeTwilio,
    baseline: dict[str, bytes],
    s3_bucket,
    moto_server: str,
    tmp_path: Path,
) -> None:
    client, bucket = s3_bucket
    root = f"s3://{bucket}/twilio/landing"
    settings = settings_for(tmp_path, root)
    settings = type(settings)(**{**settings.__dict__, "s3_endpoint_url": moto_server})
    config = config_for(fake_twilio, **SMALL_PAGES)

    pull(settings, config, start=FIRST, end=END)
    again = pull(settings, config, start=FIRST, end=END)

    zone = S3LandingZone(root, client)
    listed = {o.key: o for o in zone.list("calls")}
    assert set(listed) == set(baseline)  # the watermarks (_twilio/...) are hidden
    for key, obj in listed.items():
        with zone.open(obj) as stream:
            assert stream.read() == baseline[key]
    assert again.count("unchanged") == len(baseline) and again.count("written") == 0
    state = client.get_object(
        Bucket=bucket, Key=f"twilio/landing/_twilio/state/{fake_twilio.main_account}_us1.json"
    )
    assert json.loads(state["Body"].read())["next_day"] == END.isoformat()
