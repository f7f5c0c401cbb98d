"""The run's Slack message says what the loads quarantined since the last run.

A quarantined record is checked by no clause (an opt-out in quarantine is
honoured nowhere in the results), and the load task that quarantined it
stays green. So each validation run's message names, per source and reason,
the records quarantined after the previous validation run, masked; a run
with nothing new quarantined says nothing about it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from voice_compliance import alerting, ingest, warehouse
from voice_compliance.config import Settings
from voice_compliance.notify import build_run_message
from voice_compliance.validation import results

pytestmark = pytest.mark.quick

FULL_NUMBER = re.compile(r"\d{10,}")
HEADER = "phone_number,brand,requested_at,method,call_sid\n"


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        landing=str(tmp_path / "landing"),
        data_dir=tmp_path / "data",
        warehouse=tmp_path / "wh.duckdb",
    )


def _land(tmp_path: Path, key: str, text: str) -> None:
    path = tmp_path / "landing" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _validated(settings: Settings, run_id: str, *, notify: bool = True) -> list[str]:
    """Record a validation run now and (unless not ``notify``) send its message;
    the quarantine lines of its report."""
    with warehouse.open_warehouse(settings) as con:
        # The clause mart a report reads (no clause has subjects here).
        con.execute(
            "create table if not exists compliance.clause_summary"
            " (clause_id varchar, month varchar, subjects_checked bigint, violations bigint)"
        )
        at = datetime.now(UTC)
        run = results.RunRecord(run_id, "vc_validate", at, ["2026-10"], None, None, "")
        results.store(con, run, [])
    lines = list(alerting.build_report(settings, run_id=run_id).quarantined)
    if notify:
        alerting.notify_run(settings, run_id=run_id)
    return lines


def test_records_quarantined_since_the_previous_run_are_in_its_message(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _land(
        tmp_path,
        "optouts/2026-10-01.csv",
        HEADER
        + "+12125550101,Acme,2026-10-01T10:00:00Z,web,\n"
        + "+12125550102,Acme,when 12125550103 called,web,\n"  # a number in the bad value
        + "+12125550104,Acme,yesterday,web,\n"
        + ",Acme,2026-10-01T11:00:00Z,web,\n",
    )
    _land(tmp_path, "stray/notes.txt", "not a landing-zone file\n")
    ingest.ingest_source(settings, "optouts")
    ingest.record_unassigned_files(settings)

    first = _validated(settings, "r1")
    report = alerting.build_report(settings, run_id="r1")
    message = build_run_message(report)

    assert first == [
        "optouts: 3 records quarantined from 1 file: unparseable requested_at 2,"
        " missing phone_number 1",
        "unassigned: 1 record quarantined from 1 file (1 whole file not loaded):"
        " unrecognized file 1",
    ]
    assert report.quarantined_records == 4
    header = message["blocks"][0]["text"]["text"]
    assert "no violations, 4 records quarantined" in header and "all clear" not in header
    text = json.dumps(message)
    assert "Not loaded since the last run: 4 records quarantined" in text
    assert "4 records quarantined." in message["text"]
    assert not FULL_NUMBER.search(text)

    # Nothing new loaded: the next run's message is all clear again.
    assert _validated(settings, "r2") == []
    calm = build_run_message(alerting.build_report(settings, run_id="r2"))
    assert "all clear" in calm["blocks"][0]["text"]["text"]
    assert "Not loaded since the last run" not in json.dumps(calm)

    # A new file with one bad record: only it is told.
    _land(tmp_path, "optouts/2026-10-03.csv", HEADER + "+12125550105,Acme,soon,sms,\n")
    ingest.ingest_source(settings, "optouts")
    third = _validated(settings, "r3")

    assert third == [
        "optouts: 1 record quarantined from 1 file: unparseable requested_at 1",
    ]

    # A run whose message never went out (its tickets failed): the next one tells.
    _land(tmp_path, "optouts/2026-10-04.csv", HEADER + "+12125550106,Acme,later,sms,\n")
    ingest.ingest_source(settings, "optouts")
    _validated(settings, "r4", notify=False)
    _land(tmp_path, "optouts/2026-10-05.csv", HEADER + ",Acme,2026-10-05T10:00:00Z,sms,\n")
    ingest.ingest_source(settings, "optouts")

    assert _validated(settings, "r5") == [
        "optouts: 2 records quarantined from 2 files: missing phone_number 1,"
        " unparseable requested_at 1",
    ]
