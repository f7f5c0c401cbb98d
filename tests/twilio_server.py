"""Pytest fixtures for the local fake Twilio (``vc_sample.fake_twilio``).

A real HTTP server on 127.0.0.1 serving a generated landing zone's calls:
the Calls list of each home region on its own base URL (with its own
credentials) and the main account's BulkExport days. Test modules import the
fixtures they use (``from twilio_server import twilio_sample, fake_twilio``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from vc_sample.fake_twilio import FakeTwilio
from voice_compliance.config import Settings
from voice_compliance.twilio.config import TwilioConfig, config_from_connection

__all__ = [
    "FAST_RETRIES",
    "config_for",
    "day_files",
    "fake_twilio",
    "landed_calls",
    "served_sids",
    "settings_for",
    "twilio_sample",
]

SAMPLE_SEED = 5
SAMPLE_CALLS = 300
FAST_RETRIES: dict[str, Any] = {
    "page_size": 50,
    "backoff_s": 0.01,
    "backoff_max_s": 0.05,
    "timeout_s": 2.0,
    "max_attempts": 5,
}
"""Small pages (several per day) and quick backoff: fault tests take seconds."""


@pytest.fixture(scope="session")
def twilio_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated landing zone (every source) whose calls the fake serves."""
    from vc_sample.generate import generate

    root = tmp_path_factory.mktemp("twilio_sample")
    return generate(root / "landing", seed=SAMPLE_SEED, calls=SAMPLE_CALLS).out


@pytest.fixture
def fake_twilio(twilio_sample: Path) -> Iterator[FakeTwilio]:
    """A fresh fake Twilio (its own faults and updated calls) on a free port."""
    with FakeTwilio(twilio_sample) as fake:
        yield fake


def config_for(fake: FakeTwilio, *, bulk_export: bool = True, **extra: Any) -> TwilioConfig:
    """The validated connection pointing every host at ``fake``."""
    conn = fake.connection(bulk_export=bulk_export, **{**FAST_RETRIES, **extra})
    return config_from_connection(conn["login"], conn["password"], conn["extra"])


def settings_for(root: Path, landing: str | Path | None = None) -> Settings:
    """Settings for a landing zone under ``root`` (data folder beside it)."""
    return Settings.from_env(
        landing=str(landing or root / "landing"),
        data_dir=root / "data",
        warehouse=root / "wh.duckdb",
    )


def landed_calls(landing: Path) -> dict[str, list[dict[str, Any]]]:
    """Every pulled call by sid, from the day files (a list: repeats would show)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(landing.glob("calls/region=*/twilio_*.jsonl.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            call = json.loads(line)
            found.setdefault(call["sid"], []).append(call)
    return found


def day_files(landing: Path) -> dict[str, bytes]:
    """Every day file's bytes, keyed by path relative to ``landing``."""
    return {
        p.relative_to(landing).as_posix(): p.read_bytes()
        for p in sorted(landing.glob("calls/region=*/twilio_*.jsonl.gz"))
    }


def served_sids(fake: FakeTwilio, first: date, end: date) -> set[str]:
    """Every call sid the fake serves for the days ``[first, end)``."""
    from datetime import UTC, datetime

    lo = datetime(first.year, first.month, first.day, tzinfo=UTC)
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC)
    return {
        str(call["sid"])
        for region in fake.regions
        for account in (fake.main_account, *fake.subaccounts)
        for call in fake.calls_of(region, account, lo, hi)
    }
