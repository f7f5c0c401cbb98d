"""Incremental derivation ends where one full derivation does.

A generated landing zone is delivered in steps, as a real deployment receives
it: the exports and the registry files effective so far, then the call files
day by day (grouped into a few steps to stay quick), a consent export that
arrives late, then a late correction (an early call file re-exported with a
call changed and one dropped, and the opt-out export replaced), then a new
copy of an early call, in a new file, whose later ``date_updated`` makes it
the winning copy and whose corrected start time moves the call to the last
day (with a second call), then the early file re-exported once more
without the first call's earlier copy (the call keeps its winning copy and
has one copy fewer), and last the new file re-exported without the second
call's copy (its copy in the early file, on the first day, wins again). That
last run stops after ranking the calls, as a run does when a later model
fails, and the next run completes it. Last, the first files of a registry
never loaded before arrive (only a zero-byte full snapshot of it came with
the first exports), dated after the first call days, then an
opt-out and a consent for a called number, dated after its calls, then a
registry deletion of a listed callee, dated after its calls.
After each step the raw layer is loaded and dbt runs incrementally on the same
warehouse. The outputs must equal, row for row, those of a fresh warehouse
built once from the final landing zone, and those of a full refresh. An
edited policy file, with nothing new landed, must give what a full run with
that policy gives.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from vc_sample.generate import generate
from voice_compliance import dbt_runner, ingest
from voice_compliance.config import Settings

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

COMPARED = (
    "staging.stg_twilio__calls",
    "intermediate.int_calls_enriched",
    "compliance.policy_violations",
    "compliance.clause_outcomes",
    "compliance.clause_summary",
    "metrics.metric_number_month",
    "metrics.metric_registry_coverage",
    "metrics.metric_unclassified_calls",
    "metrics.metric_calling_hours_unknown_tz",
)
# Columns that differ between warehouses by construction: when a row was loaded.
LOAD_TIMES = {"staging.stg_twilio__calls": "_loaded_at"}
CALL_STEPS = 4
LATE_REGISTRY = "ca_dncl"
# Models and seeds only: the data tests are another test's business here.
BUILD = ["build", "--exclude-resource-type", "test", "unit_test"]


def _settings(root: Path, landing: Path) -> Settings:
    return Settings.from_env(
        landing=str(landing), warehouse=str(root / "wh.duckdb"), data_dir=root / "data"
    )


def _land(source: Path, target: Path, keys: list[str]) -> None:
    for key in keys:
        destination = target / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / key, destination)


def _derive(settings: Settings, *extra: str) -> None:
    for name in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, name)
    dbt_runner.run_dbt(settings, [*BUILD, *extra])


def _tables(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return {
            table: con.execute(
                f"select * exclude ({LOAD_TIMES[table]}) from {table} order by all"
                if table in LOAD_TIMES
                else f"select * from {table} order by all"
            ).fetchall()
            for table in COMPARED
        }
    finally:
        con.close()


def _changed_days(settings: Settings) -> int:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        row = con.execute("select count(*) from intermediate.int_days_changed").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def _call_days(settings: Settings, call_sid: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "select cast(call_date as varchar) from intermediate.int_calls_enriched"
            " where call_sid = ?",
            [call_sid],
        ).fetchall()


def _correct_early_call_file(landing: Path, key: str) -> None:
    """Re-export a call file: the first call becomes a 'busy' attempt, the last is dropped."""
    path = landing / key
    calls = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert len(calls) >= 2, key
    calls[0]["status"] = "busy"
    calls[0]["duration"] = "0"
    path.write_text("".join(json.dumps(call) + "\n" for call in calls[:-1]))


def _reissue_calls_on_another_day(landing: Path, key: str, day: str) -> tuple[str, str, str]:
    """Land a new file holding later copies of the second and third calls of ``key``,
    moved to ``day``.

    Returns the new file's key and the moved calls' sids.
    """
    from email.utils import format_datetime, parsedate_to_datetime

    calls = [json.loads(line) for line in (landing / key).read_text().splitlines() if line]
    copies = []
    for call in calls[1:3]:
        copy = dict(call)
        started = parsedate_to_datetime(copy["start_time"])
        moved = started.replace(year=int(day[:4]), month=int(day[5:7]), day=int(day[8:10]))
        delta = moved - started
        for field in ("date_created", "date_updated", "start_time", "end_time"):
            if copy.get(field):
                copy[field] = format_datetime(parsedate_to_datetime(copy[field]) + delta)
        copies.append(copy)
    target = Path(key).parent / f"reissued_{day}_copy.jsonl"
    (landing / target).write_text("".join(json.dumps(copy) + "\n" for copy in copies))
    return str(target), str(copies[0]["sid"]), str(copies[1]["sid"])


def _drop_call(landing: Path, key: str, sid: str) -> None:
    """Re-export a call file without the copy of call ``sid``."""
    path = landing / key
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    kept = [line for line in lines if json.loads(line)["sid"] != sid]
    assert len(kept) == len(lines) - 1, (key, sid)
    path.write_text("".join(line + "\n" for line in kept))


def _replace_optouts(landing: Path) -> None:
    """Re-export the opt-outs without their first request."""
    for path in sorted((landing / "optouts").glob("*.csv")):
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:1] + lines[2:]))


def _land_a_deletion_after_the_calls(settings: Settings, landing: Path) -> None:
    """A us_national change list dated after the last call that deletes a
    callee listed at one of its calls: the calls stay listed (the deletion
    is later), and nothing about them changes."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        row = con.execute(
            "select membership.e164,"
            " (select max(call_date) from intermediate.int_calls_enriched)"
            " from intermediate.int_dnc_registry_membership as membership"
            " semi join intermediate.int_dnc_registry_listings as listings"
            " using (registry, e164)"
            " where membership.registry = 'us_national' and membership.listed_to is null"
            " order by membership.e164 limit 1"
        ).fetchone()
    assert row is not None, "the generated zone lists some callees on us_national"
    number, last_call_day = row
    effective = (last_call_day + timedelta(days=2)).isoformat()
    folder = landing / "dnc" / "us_national" / "changes" / effective
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "late_deletion.txt").write_text(f"{number[2:5]},{number[5:]},D\n")


def _land_records_dated_after_the_calls(settings: Settings, landing: Path) -> None:
    """An opt-out and an express-written consent for the most called number
    and brand, both dated after its last call: they say nothing about those
    calls, which a later run does not derive again."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        row = con.execute(
            "select to_e164, brand, max(started_at) from intermediate.int_calls_enriched"
            " where is_telemarketing and brand is not null and to_e164 like '+1%'"
            " group by to_e164, brand order by count(*) desc, to_e164 limit 1"
        ).fetchone()
    assert row is not None
    number, brand, last_call = row
    later = (last_call + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (landing / "optouts" / "late_optouts.csv").write_text(
        f"phone_number,brand,requested_at,method,call_sid\n{number},{brand},{later},web,\n"
    )
    (landing / "consent" / "late_consent_rows.csv").write_text(
        "phone_number,brand,consent_type,channel,granted_at,revoked_at,source,evidence_ref\n"
        f"{number},{brand},express_written,voice,{later},,web,EV-LATE\n"
    )


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("incremental")
    report = generate(root / "generated", seed=23, calls=1_500)
    source = report.out
    keys = sorted(
        str(p.relative_to(source))
        for p in source.rglob("*")
        if p.is_file() and not str(p.relative_to(source)).startswith("_")
    )
    call_keys = [k for k in keys if k.startswith("calls/")]
    call_days = sorted({Path(k).name.split("_")[1] for k in call_keys})
    late_consent = sorted(k for k in keys if k.startswith("consent/"))[-1]
    registry_keys = [k for k in keys if k.startswith("dnc/") and not k.startswith("dnc/internal")]
    export_keys = [k for k in keys if k not in call_keys + registry_keys + [late_consent]]
    # One registry is loaded for the first time only at the end, from a file
    # dated after the first half of the call days (the earlier ones never
    # arrive): the calls to its country before that date become subjects of
    # dnc.registry, and every one of them now names it as checked.
    dated = [day for day in call_days if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)]
    late_registry_keys = [
        k
        for k in registry_keys
        if k.split("/")[1] == LATE_REGISTRY and k.split("/")[3] >= dated[len(dated) // 2]
    ]
    registry_keys = [k for k in registry_keys if k.split("/")[1] != LATE_REGISTRY]

    landing = root / "landing"
    incremental = _settings(root / "incremental", landing)
    _land(source, landing, export_keys)
    # ... and before every call, a zero-byte full snapshot of that registry:
    # a broken download, which neither lists nor covers anything, so the
    # late registry's first real file must still re-derive every day
    broken = landing / "dnc" / LATE_REGISTRY / "full" / "2020-01-01" / "empty.txt"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"")
    chunk = -(-len(call_days) // CALL_STEPS)
    changed_days: list[int] = []
    for step in range(CALL_STEPS):
        days = call_days[step * chunk : (step + 1) * chunk]
        last_day = days[-1]
        _land(source, landing, [k for k in call_keys if Path(k).name.split("_")[1] in days])
        _land(source, landing, [k for k in registry_keys if k.split("/")[3] <= last_day])
        _derive(incremental)
        changed_days.append(_changed_days(incremental))
    _land(source, landing, [k for k in registry_keys if k.split("/")[3] > call_days[-1]])
    _land(source, landing, [late_consent])
    _derive(incremental)
    changed_days.append(_changed_days(incremental))

    early_jsonl = next(
        k for k in call_keys if k.endswith(".jsonl") and Path(k).name.split("_")[1] == call_days[0]
    )
    _correct_early_call_file(landing, early_jsonl)
    _derive(incremental)
    corrected_days = _changed_days(incremental)
    _replace_optouts(landing)
    _derive(incremental)
    last_day = max(day for day in call_days if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day))
    reissued, moved_sid, restored_sid = _reissue_calls_on_another_day(
        landing, early_jsonl, last_day
    )
    _derive(incremental)
    moved = _call_days(incremental, moved_sid)
    _drop_call(landing, early_jsonl, moved_sid)
    _derive(incremental)
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        copies_left = con.execute(
            "select copies_loaded from staging.stg_twilio__calls where call_sid = ?",
            [moved_sid],
        ).fetchall()
    # the reissued file re-exported without the winning copy of the other
    # call: its copy in the early file (a file this step leaves alone) wins
    # again, on the early day
    # ... and that run stops after ranking the calls (as when a later model
    # fails): the next run must still re-derive the early day
    _drop_call(landing, reissued, restored_sid)
    _derive(incremental, "--select", "+stg_twilio__calls")
    interrupted = _call_days(incremental, restored_sid)
    _derive(incremental)
    restored = _call_days(incremental, restored_sid)
    _land(source, landing, late_registry_keys)
    _derive(incremental)
    _land_records_dated_after_the_calls(incremental, landing)
    _derive(incremental)
    _land_a_deletion_after_the_calls(incremental, landing)
    _derive(incremental)
    after_incremental = _tables(incremental)

    full = _settings(root / "full", landing)
    _derive(full)
    with duckdb.connect(str(full.warehouse), read_only=True) as con:
        row = con.execute(
            "select count(*) from compliance.clause_dnc__registry"
            " where period_start < ? and (evidence ->> 'registries_checked') like ?",
            [min(k.split("/")[3] for k in late_registry_keys), f"%{LATE_REGISTRY}%"],
        ).fetchone()
    checked_before_late_registry = int(row[0]) if row else 0
    refreshed = _settings(root / "incremental", landing)
    dbt_runner.run_dbt(refreshed, [*BUILD, "--full-refresh"])
    return {
        "incremental": after_incremental,
        "full": _tables(full),
        "refreshed": _tables(refreshed),
        "refreshed_settings": refreshed,
        "changed_days": changed_days,
        "corrected_days": corrected_days,
        "call_days": call_days,
        "moved": moved,
        "copies_left": copies_left,
        "restored": restored,
        "interrupted": interrupted,
        "first_day": call_days[0],
        "last_day": last_day,
        "checked_before_late_registry": checked_before_late_registry,
        "landing": landing,
    }


def test_incremental_steps_end_equal_to_one_full_run(sequence: dict[str, Any]) -> None:
    full, incremental = sequence["full"], sequence["incremental"]
    assert full["compliance.policy_violations"], "the generated zone plants violations"
    for table in COMPARED:
        assert incremental[table] == full[table], table


def test_a_registry_first_loaded_late_is_checked_on_every_earlier_day(
    sequence: dict[str, Any],
) -> None:
    # The equality above covers it; this says the case occurred: calls before
    # the late registry's first file are checked against it in the full run.
    assert sequence["checked_before_late_registry"] > 0


def test_full_refresh_gives_identical_results(sequence: dict[str, Any]) -> None:
    for table in COMPARED:
        assert sequence["refreshed"][table] == sequence["full"][table], table


def test_each_step_re_derives_only_the_days_it_touched(sequence: dict[str, Any]) -> None:
    all_days = len(sequence["call_days"])
    first, *later_call_steps = sequence["changed_days"][:CALL_STEPS]
    # the first run derives everything (no earlier state); later call steps
    # touch their own days (and the days after a registry file's date)
    assert first > 0
    assert all(0 < days < all_days for days in later_call_steps)
    # the correction of one early file re-derives the days it holds, not the month
    assert 0 < sequence["corrected_days"] <= 2


def test_a_later_copy_moving_a_call_to_another_day_leaves_one_row(
    sequence: dict[str, Any],
) -> None:
    # The copy in the new file wins (later date_updated): the call is derived
    # on its new day only, not also on the day its earlier copy held.
    assert sequence["moved"] == [(sequence["last_day"],)]


def test_a_dropped_copy_leaves_the_call_with_one_copy_fewer(sequence: dict[str, Any]) -> None:
    # The earlier copy's file was re-exported without it; the winning copy,
    # in a file no run touched since, stays, and counts one copy.
    assert sequence["copies_left"] == [(1,)]


def test_a_dropped_winning_copy_restores_the_call_to_its_other_copys_day(
    sequence: dict[str, Any],
) -> None:
    # The reloaded file held the call's winning copy on the last day; the
    # copy left, in the early file, is on the first day.
    assert sequence["restored"] == [(sequence["first_day"],)]


def test_a_run_stopped_after_ranking_leaves_its_days_to_the_next_run(
    sequence: dict[str, Any],
) -> None:
    # The stopped run ranked the call again (its copy on the first day wins)
    # but re-derived no call day: the call is still on the last day. The
    # next run sees the call's new copy count as the previous one, and must
    # still re-derive the first day from what the stopped run left pending.
    assert sequence["interrupted"] == [(sequence["last_day"],)]
    assert sequence["restored"] == [(sequence["first_day"],)]


def test_a_warehouse_built_before_the_run_ids_runs_incrementally(
    sequence: dict[str, Any],
) -> None:
    # A warehouse whose int_days_changed and int_manifest_applied predate
    # derived_in and applied_in: the next run reads them as null (a run that
    # completed), derives nothing new, and writes both columns.
    settings = sequence["refreshed_settings"]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("alter table intermediate.int_days_changed drop column derived_in")
        con.execute("alter table intermediate.int_manifest_applied drop column applied_in")
    _derive(settings)
    after = _tables(settings)
    for table in COMPARED:
        assert after[table] == sequence["full"][table], table
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        runs = con.execute(
            "select count(distinct applied_in), count(applied_in), count(*)"
            " from intermediate.int_manifest_applied"
        ).fetchone()
    assert runs is not None and runs[0] == 1 and runs[1] == runs[2] > 0


def test_an_edited_policy_re_derives_what_it_changes(
    sequence: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # policy.yml edited, nothing new landed: the next incremental run gives
    # what a full run with the new policy gives, for the incremental models
    # too (the caller-ID inventory kinds, calling hours, a clause's severity
    # and the default region of national numbers are read by them).
    landing = sequence["landing"]
    edited = _settings(tmp_path / "edited", landing)
    edited.warehouse.parent.mkdir(parents=True)
    shutil.copy(sequence["refreshed_settings"].warehouse, edited.warehouse)
    policy = yaml.safe_load(dbt_runner.DBT_PROJECT_DIR.joinpath("policy.yml").read_text())
    policy["callerid_inventory_kinds"] = ["twilio_owned"]
    policy["calling_hours_by_country"]["US"] = {
        day: [["10:00", "17:00"]] for day in policy["calling_hours_by_country"]["US"]
    }
    policy["clauses"]["callerid.misleading"]["severity"] = "high"
    policy["default_region"] = "CA"
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("VC_POLICY_FILE", str(policy_file))

    _derive(edited)
    full = _settings(tmp_path / "full", landing)
    _derive(full)

    after, expected = _tables(edited), _tables(full)
    for table in COMPARED:
        assert after[table] == expected[table], table
    before = sequence["full"]["compliance.policy_violations"]
    assert expected["compliance.policy_violations"] != before, "the edit changes the answers"
