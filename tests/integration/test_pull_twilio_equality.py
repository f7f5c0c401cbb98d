"""End to end: calls pulled from (the fake) Twilio give exactly the violations of
the original exports.

The generated landing zone is loaded and built once as it is; then its calls
are served by the fake Twilio (three home regions on their own base URLs,
the main account's US1 days through BulkExport with ISO timestamps, the rest
through the paged Calls list), pulled into an empty landing zone beside a
copy of the same non-call exports, loaded and built again. The two
``compliance.policy_violations`` must be identical, row for row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from twilio_server import config_for, landed_calls, settings_for
from vc_sample.fake_twilio import FakeTwilio, copy_exports
from voice_compliance import dbt_runner, ingest
from voice_compliance.config import Settings
from voice_compliance.twilio.puller import pull

pytestmark = pytest.mark.dbt

COLUMNS = "clause_id, subject_type, subject_id, account_sid, period_start, severity, evidence"


def _build(settings: Settings) -> list[tuple[Any, ...]]:
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    dbt_runner.dbt_build(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(
            f"select {COLUMNS} from compliance.policy_violations order by all"
        ).fetchall()
    finally:
        con.close()


def test_pulled_calls_give_the_same_violations(twilio_sample: Path, tmp_path: Path) -> None:
    original = _build(settings_for(tmp_path / "original", twilio_sample))

    pulled_root = tmp_path / "pulled"
    settings = settings_for(pulled_root)
    copy_exports(twilio_sample, Path(settings.landing))
    with FakeTwilio(twilio_sample) as fake:
        first, end = fake.day_range()
        summary = pull(settings, config_for(fake, page_size=1000), start=first, end=end)
        served = fake.call_count()
    print(f"\n{summary.line()}")
    calls = landed_calls(Path(settings.landing))
    assert len(calls) == served and all(len(c) == 1 for c in calls.values())
    assert {d.source for d in summary.days} == {"calls", "bulkexport"}

    pulled = _build(settings)

    assert len(original) > 50
    assert pulled == original
