"""One bad value never halts everything downstream (decision 0013).

The generator's landing zone (the same seed as ``test_policy_violations``,
whose marts equal the generator's planted violations) gets hostile rows: a
call whose account is not in ``accounts/``, inventory rows whose
``default_campaign_id`` is not in ``campaigns/``, a call and a consent dated
after they were landed, a call with no start time and one with an unknown
status or none, one dated 2099. ``dbt build`` must complete, the other
accounts' violations must be exactly the clean data's (the planted ones), and
each problem must come out as a data-quality finding of the validation run,
masked.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from vc_sample.generate import generate
from voice_compliance import alerting, dbt_runner, ingest
from voice_compliance.config import Settings
from voice_compliance.policy import load_policy
from voice_compliance.validation.catalog import load_suites
from voice_compliance.validation.run import validate

pytestmark = pytest.mark.dbt

ORPHAN = "AC" + "dead" * 8
"""An account that is in no ``accounts/`` file."""
ORPHAN_FROM = "+12126009901"
MISSING_CAMPAIGN = "ghost_campaign"
FR_CALLEE = "+33142685300"  # no national registry covers FR: no registry-day subject is added
FULL_NUMBER = re.compile(r"\+?\d{10,}")
RUN_ID = "bad-input"


def _call(sid: str, start: str | None, status: str | None = "completed") -> dict[str, Any]:
    return {
        "sid": sid,
        "account_sid": ORPHAN,
        "from": ORPHAN_FROM,
        "to": FR_CALLEE,
        "status": status,
        "direction": "outbound-api",
        "start_time": start,
        "end_time": start,
        "duration": "40",
        "date_created": start,
        "date_updated": start,
    }


def _add_hostile_rows(landing: Path) -> None:
    future = (datetime.now(UTC) + timedelta(days=7)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    calls = [
        _call("CA" + "0bad" * 8, "Wed, 14 Oct 2026 14:00:00 +0000"),  # (a) unknown account
        _call("CA" + "1bad" * 8, future),  # dated after it was landed
        _call("CA" + "2bad" * 8, None),  # no start time
        _call("CA" + "3bad" * 8, "Wed, 14 Oct 2026 15:00:00 +0000", status="exploded"),
        _call("CA" + "4bad" * 8, "Wed, 14 Oct 2026 16:00:00 +0000", status=None),
        # seconds since 1970 beyond 32 bits: once broke the CPS bucket models
        _call("CA" + "5bad" * 8, "Thu, 01 Jan 2099 00:00:00 +0000"),
    ]
    path = landing / "calls" / "region=us1" / "calls_hostile.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))
    inventory = landing / "numbers" / "caller_id_inventory.csv"
    with inventory.open(newline="") as handle:
        known_account = next(csv.DictReader(handle))["account_sid"]
    # (b) the default campaign of a number is in no campaigns/ file: once for an
    # account the generator knows (no call uses the number), once for the
    # orphan's number (its calls become unclassified, as the policy says).
    (landing / "numbers" / "hostile_inventory.csv").write_text(
        "phone_number,account_sid,kind,active_from,active_to,default_campaign_id\n"
        f"+12126009902,{known_account},twilio_owned,2025-01-01T00:00:00Z,,{MISSING_CAMPAIGN}\n"
        f"{ORPHAN_FROM},{ORPHAN},twilio_owned,2025-01-01T00:00:00Z,,{MISSING_CAMPAIGN}\n"
    )
    # (c) a registry folder whose name is not a date: its lines are quarantined
    # at load, and its manifest row must not break the models that read dates
    # from registry paths.
    bad_date = landing / "dnc" / "us_national" / "full" / "2026-13-45"
    bad_date.mkdir(parents=True)
    (bad_date / "snapshot.txt").write_text("2125550123\n")
    granted = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (landing / "consent" / "hostile_consent.csv").write_text(
        "phone_number,brand,consent_type,channel,granted_at,revoked_at,source,evidence_ref\n"
        f"{FR_CALLEE},Ghost Brand,express_written,voice,{granted},,web,EV-FUTURE\n"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bad_input")
    report = generate(root / "landing", seed=11, calls=2_000)
    _add_hostile_rows(report.out)
    settings = Settings.from_env(
        landing=str(report.out), warehouse=str(root / "wh.duckdb"), data_dir=root / "data"
    )
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    result = dbt_runner.dbt_build(settings)  # raises DbtCommandFailed if anything halts
    planted = json.loads((report.out / "_generator" / "planted.json").read_text())
    return {"settings": settings, "result": result, "planted": planted}


def _query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_the_build_completes_with_warnings_only(built):
    statuses = built["result"].statuses

    assert statuses.get("warn", 0) >= 4
    assert not set(statuses) & {"error", "fail", "skipped", "runtime error"}, statuses


def test_other_accounts_violations_are_those_of_the_clean_data(built):
    settings, planted = built["settings"], built["planted"]

    rows = _query(
        settings,
        "select clause_id, subject_id from compliance.policy_violations"
        " where account_sid is distinct from ?",
        ORPHAN,
    )

    found: dict[str, set[str]] = {}
    for clause_id, subject_id in rows:
        found.setdefault(clause_id, set()).add(subject_id)
    expected = {clause: set(spec["subjects"]) for clause, spec in planted["clauses"].items()}
    assert {c: s for c, s in found.items() if s} == {c: s for c, s in expected.items() if s}


def test_the_orphan_call_is_still_checked_and_unclassified(built):
    settings = built["settings"]

    enriched = _query(
        settings,
        "select campaign_id, is_unclassified from intermediate.int_calls_enriched"
        " where call_sid = ?",
        "CA" + "0bad" * 8,
    )
    checked = _query(
        settings,
        "select count(*) from compliance.clause_outcomes where subject_id = ?",
        "CA" + "0bad" * 8,
    )

    assert enriched == [(MISSING_CAMPAIGN, True)]
    assert checked[0][0] > 0


def test_each_problem_is_a_masked_data_quality_finding(built):
    settings = built["settings"]
    policy = load_policy()
    suites = [s for s in load_suites(policy) if s.name in {"dq.data_tests", "dq.consent"}]

    validate(settings, run_id=RUN_ID, months=["2026-10"], policy=policy, suites=suites)
    report = alerting.build_report(settings, run_id=RUN_ID)

    keys = _query(
        settings,
        "select unexpected_keys from compliance.validation_results"
        " where run_id = ? and check_id = 'dq.data_tests' and not success",
        RUN_ID,
    )
    assert len(keys) == 1
    named = {key["data_test"] for key in json.loads(keys[0][0])}
    for problem in (
        "stg_twilio__calls.account_sid relationships -> stg_exports__accounts.account_sid",
        "stg_exports__numbers.default_campaign_id relationships"
        " -> stg_exports__campaigns.campaign_id",
        "stg_twilio__calls.started_at not_after_load",
        "stg_exports__consent.granted_at not_after_load",
    ):
        assert problem in named
        assert any(problem in line for line in report.data_quality_failures), problem
    assert any("dq.consent_granted_in_future" in line for line in report.data_quality_failures)
    assert not FULL_NUMBER.search(json.dumps(report.data_quality_failures))
