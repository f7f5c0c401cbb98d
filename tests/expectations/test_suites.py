"""Each suite passes on clean data and fails, with its own clause_id, on data
that breaks its clause.

The warehouse here is built by hand: the tables the frames read (the clause
outcomes dbt would build, the staged calls and consent, the metrics, the
load manifest) with one compliant subject per clause. A broken variant adds
one subject that breaks exactly one clause, with facts (evidence) beyond the
policy's thresholds, which come from the policy file, as in production.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import marts_fixture
from marts_fixture import MONTH, POLICY, Outcome, breaking, clean_outcomes
from voice_compliance import warehouse
from voice_compliance.alerting import build_report
from voice_compliance.config import Settings
from voice_compliance.policy import CLAUSE_IDS
from voice_compliance.tickets import FailingGroup
from voice_compliance.validation import gx_project, results
from voice_compliance.validation.catalog import load_suites
from voice_compliance.validation.run import data_docs_index, validate

pytestmark = pytest.mark.gx


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[[str], Settings]:
    def make(name: str) -> Settings:
        root = tmp_path / name
        return Settings(
            landing=str(root / "landing"),
            warehouse=root / "wh.duckdb",
            data_dir=root / "data",
            airflow_home=root / "airflow",
        )

    return make


def build_warehouse(path: Path, outcomes: list[Outcome], **broken: bool) -> None:
    """The shared hand-built marts plus what ``dq.data_tests`` reads: the outcome
    of the dbt data tests (the on-run-end hook's table), all passed unless
    ``data_test_warned`` (a relationship test on landed data warned)."""
    marts_fixture.build_warehouse(path, outcomes, **broken)
    with warehouse.connect(path) as con:
        con.execute(
            "create table compliance.data_test_results (unique_id varchar, data_test varchar,"
            " test_type varchar, model varchar, column_name varchar, severity varchar,"
            " status varchar, failures bigint, message varchar, invocation_id varchar,"
            " tested_at timestamptz)"
        )
        warned = broken.get("data_test_warned")
        con.execute(
            "insert into compliance.data_test_results values"
            " ('test.a', 'stg_twilio__calls.call_sid unique', 'unique', 'stg_twilio__calls',"
            " 'call_sid', 'warn', 'pass', 0, null, 'i1', now()),"
            " ('test.b', 'stg_twilio__calls.account_sid relationships ->"
            " stg_exports__accounts.account_sid', 'relationships', 'stg_twilio__calls',"
            " 'account_sid', 'warn', ?, ?, null, 'i1', now())",
            ["warn" if warned else "pass", 2 if warned else 0],
        )


def run_and_read(settings: Settings, run_id: str = "test-run") -> list[dict[str, Any]]:
    validate(settings, run_id=run_id, months=[MONTH])
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        cursor = con.execute(
            "select * from compliance.validation_results where run_id = ? order by all", [run_id]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def failing_keys(settings: Settings, run_id: str = "test-run") -> list[FailingGroup]:
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        return results.failing_keys(con, run_id)


def test_every_suite_passes_on_clean_data(make_settings: Callable[[str], Settings]) -> None:
    settings = make_settings("clean")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))

    rows = run_and_read(settings)

    assert [r for r in rows if not r["success"]] == []
    assert {r["suite"] for r in rows} == {s.name for s in load_suites(POLICY)}
    assert failing_keys(settings) == []


def test_a_validation_run_logs_no_gx_bookkeeping(
    make_settings: Callable[[str], Settings], caplog: pytest.LogCaptureFixture
) -> None:
    # The task log shows the suites' progress and outcomes, not GX's own
    # INFO chatter (hundreds of lines a run); GX's warnings still show.
    settings = make_settings("quiet")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))
    caplog.set_level(logging.INFO)

    run_and_read(settings)

    gx_info = [
        r.getMessage()[:80]
        for r in caplog.records
        if r.name.startswith(gx_project.GX_LOGGER) and r.levelno < logging.WARNING
    ]
    assert gx_info == []
    assert any(r.name.startswith("voice_compliance") for r in caplog.records)


@pytest.mark.parametrize("clause_id", CLAUSE_IDS)
def test_a_broken_clause_fails_its_own_suite_only(
    clause_id: str, make_settings: Callable[[str], Settings]
) -> None:
    settings = make_settings(clause_id)
    broken = breaking(clause_id, POLICY)
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), broken])

    rows = run_and_read(settings)

    failed = [r for r in rows if not r["success"]]
    assert failed, f"{clause_id}: nothing failed"
    assert {r["clause_id"] for r in failed} == {clause_id}
    assert {r["suite"] for r in failed} == {f"clause.{clause_id}"}
    assert all(r["severity"] == POLICY.clause(clause_id).severity for r in failed)
    assert any(r["ticketing"] for r in failed)
    keys = failing_keys(settings)
    assert [(k.clause_id, k.account_sid, k.month, k.violations) for k in keys] == [
        (clause_id, broken.account_sid, MONTH, 1)
    ]


THRESHOLD_CLAUSES = (
    "disclosure.identity_purpose",
    "complaints.rate",
    "unanswered.volume",
    "duration.average",
    "dnc.registry_freshness",
    "cps.multi_region",
)


@pytest.mark.parametrize("clause_id", THRESHOLD_CLAUSES)
def test_threshold_expectations_come_from_the_policy_file(
    clause_id: str, make_settings: Callable[[str], Settings]
) -> None:
    """The facts of a broken subject fail a threshold expectation too: the
    suite re-states the policy's number, it does not only read dbt's flag."""
    settings = make_settings(clause_id)
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), breaking(clause_id, POLICY)])

    rows = run_and_read(settings)

    failed_thresholds = [r for r in rows if not r["success"] and not r["ticketing"]]
    assert failed_thresholds, f"{clause_id}: no threshold expectation failed"


DQ_BREAKS = {
    "duplicate_sid": "dq.unique_call_sids",
    "invalid_callee": "dq.valid_callee_share",
    "unclassified": "dq.unclassified_calls",
    "registry_missing": "dq.registry_coverage",
    "future_consent": "dq.consent_granted_in_future",
    "unreconciled": "dq.manifest_reconciled",
    "unknown_tz": "dq.unknown_time_zone",
    "unallotted": "dq.cps_unallotted_regions",
    "data_test_warned": "dq.data_tests",
}


@pytest.mark.parametrize("flaw", sorted(DQ_BREAKS))
def test_data_quality_checks_fail_alone_and_open_no_clause_ticket(
    flaw: str, make_settings: Callable[[str], Settings]
) -> None:
    settings = make_settings(flaw)
    build_warehouse(settings.warehouse, clean_outcomes(POLICY), **{flaw: True})

    rows = run_and_read(settings)

    failed = [r for r in rows if not r["success"]]
    assert {r["check_id"] for r in failed} == {DQ_BREAKS[flaw]}
    assert all(r["clause_id"] is None and r["suite_kind"] == "data_quality" for r in failed)
    assert failing_keys(settings) == []


def test_a_share_in_a_finding_reads_as_a_percentage_in_slack_and_the_ticket(
    make_settings: Callable[[str], Settings],
) -> None:
    """The rule says "at most 0.0 %"; the failing row's share (a fraction,
    stored as a float) reads as a percentage in the Slack line and in the
    ticket's examples, not as Python's float repr."""
    from datetime import UTC, datetime

    from voice_compliance.alerting import raise_tickets

    settings = make_settings("share_display")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY), unclassified=True)
    validate(settings, run_id="test-run", months=[MONTH])
    raise_tickets(settings, run_id="test-run", now=datetime(2026, 12, 3, tzinfo=UTC))

    report = build_report(settings, run_id="test-run")
    [line] = report.data_quality_failures
    assert "unclassified_share=1 %" in line, line
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        [(examples,)] = con.execute(
            "select example_subjects from compliance.tickets where clause_id = ?",
            ["dq.unclassified_calls"],
        ).fetchall()
    named = json.loads(examples) if isinstance(examples, str) else examples
    assert any("unclassified_share=1 %" in example for example in named), named
    assert "0.01" not in line + str(named)


def test_a_warned_dbt_data_test_is_a_finding_named_in_the_slack_report(
    make_settings: Callable[[str], Settings],
) -> None:
    """A data test on landed data warns instead of halting the build; the warning
    reaches the run's report naming the test and its failing rows."""
    settings = make_settings("data_test")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY), data_test_warned=True)

    rows = run_and_read(settings)
    report = build_report(settings, run_id="test-run")

    failed = [r for r in rows if not r["success"]]
    assert [r["check_id"] for r in failed] == ["dq.data_tests"]
    assert [line.split(":")[0] for line in report.data_quality_failures] == ["dq.data_tests"]
    line = report.data_quality_failures[0]
    assert "calls.account_sid relationships -> stg_exports__accounts.account_sid" in line
    assert "failing_rows=2" in line and "status=warn" in line
    assert "stg_twilio__calls.call_sid unique" not in line


def test_a_data_quality_finding_opens_a_ticket_that_a_clean_run_resolves(
    make_settings: Callable[[str], Settings],
) -> None:
    """A warned dbt data test (an orphan account_sid) is a ticket of its own,
    routed like a violation, with its evidence; it resolves once the data is fixed."""
    from datetime import UTC, datetime

    from voice_compliance.alerting import raise_tickets

    settings = make_settings("dq_ticket")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY), data_test_warned=True)
    validate(settings, run_id="r1", months=[MONTH])
    first = raise_tickets(settings, run_id="r1", now=datetime(2026, 12, 3, tzinfo=UTC))

    assert first["tickets"]["opened"] == 1
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        [ticket] = con.execute(
            "select clause_id, account_sid, status, violation_count, title, severity, owner,"
            " example_subjects, evidence_query from compliance.tickets"
        ).fetchall()
        clause_id, account, status, count, title, severity, owner, examples, query = ticket
        assert (clause_id, account, status, count) == ("dq.data_tests", None, "open", 1)
        assert title.startswith("dq.data_tests: 1 finding")
        assert (severity, owner) == (POLICY.data_quality.severity, POLICY.data_quality.owner)
        examples = json.loads(examples) if isinstance(examples, str) else examples
        assert any("account_sid relationships" in e for e in examples), examples
        evidence = con.execute(query).fetchall()
        assert evidence and all(row for row in evidence)

    with warehouse.connect(settings.warehouse) as con:  # the export is fixed
        con.execute("update compliance.data_test_results set status = 'pass', failures = 0")
    validate(settings, run_id="r2", months=[MONTH])
    second = raise_tickets(settings, run_id="r2", now=datetime(2026, 12, 4, tzinfo=UTC))

    assert second["tickets"]["resolved"] == 1 and second["tickets"]["open_total"] == 0


def test_a_whole_warehouse_finding_keeps_its_ticket_across_months_until_fixed(
    make_settings: Callable[[str], Settings],
) -> None:
    """A check over the whole warehouse has no data month: its finding keeps
    the ticket it opened when a run falls in the next month (no second ticket
    for one finding), and that ticket resolves once the check passes."""
    from voice_compliance.alerting import raise_tickets

    settings = make_settings("dq_months")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY), data_test_warned=True)

    def run(run_id: str, days_later: int) -> dict[str, int]:
        validate(settings, run_id=run_id, months=[MONTH])
        with warehouse.connect(settings.warehouse) as con:  # as if validated days later
            con.execute(
                "update compliance.validation_results"
                " set validated_at = validated_at + to_days(?) where run_id = ?",
                [days_later, run_id],
            )
        now = datetime.now(UTC) + timedelta(days=days_later)
        return raise_tickets(settings, run_id=run_id, now=now)["tickets"]

    assert run("r1", 0)["opened"] == 1
    later = run("r2", 40)  # the same finding, next month
    assert (later["opened"], later["resolved"], later["open_total"]) == (0, 0, 1)
    with warehouse.connect(settings.warehouse) as con:  # the export is fixed
        con.execute("update compliance.data_test_results set status = 'pass', failures = 0")
    fixed = run("r3", 41)
    assert (fixed["resolved"], fixed["open_total"]) == (1, 0)
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from compliance.tickets").fetchone() == (1,)


def test_a_ticket_of_a_month_whose_data_are_gone_resolves(
    make_settings: Callable[[str], Settings],
) -> None:
    """Corrected exports empty a month that held a violation: the next run still
    validates that month (its ticket is open), finds nothing and resolves it."""
    from voice_compliance.alerting import raise_tickets

    settings = make_settings("gone")
    build_warehouse(
        settings.warehouse, [*clean_outcomes(POLICY), breaking("consent.prior_consent", POLICY)]
    )
    validate(settings, run_id="r1")
    assert raise_tickets(settings, run_id="r1", now=datetime.now(UTC))["tickets"]["opened"] == 1
    with warehouse.connect(settings.warehouse) as con:
        con.execute("delete from compliance.clause_outcomes")
        con.execute("delete from metrics.metric_clause_facts")

    summary = validate(settings, run_id="r2")
    second = raise_tickets(settings, run_id="r2", now=datetime.now(UTC))["tickets"]

    assert list(summary.months) == [MONTH]
    assert (second["resolved"], second["open_total"]) == (1, 0)


def test_frames_are_aggregates_not_raw_rows(make_settings: Callable[[str], Settings]) -> None:
    """Many violating calls of one account and month are one frame row, one ticket key."""
    settings = make_settings("many")
    calls = [Outcome("consent.prior_consent", f"CA{i:032x}", i % 2 == 0) for i in range(500)]
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), *calls])

    rows = run_and_read(settings)

    ticketing = next(
        r for r in rows if r["suite"] == "clause.consent.prior_consent" and r["ticketing"]
    )
    assert ticketing["element_count"] == 1
    assert [(k.clause_id, k.violations) for k in failing_keys(settings)] == [
        ("consent.prior_consent", 250)
    ]


def test_rerunning_a_run_replaces_its_results(make_settings: Callable[[str], Settings]) -> None:
    settings = make_settings("rerun")
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), breaking("dnc.registry", POLICY)])

    first = run_and_read(settings, "run-1")
    again = run_and_read(settings, "run-1")

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        stored = con.execute("select count(*) from compliance.validation_results").fetchone()
        runs = con.execute("select run_id, failed from compliance.validation_runs").fetchall()
    assert len(first) == len(again) == (stored[0] if stored else -1)
    assert runs == [("run-1", sum(1 for r in first if not r["success"]))]


def test_results_data_docs_and_suites_carry_clause_meta_and_no_phone_number(
    make_settings: Callable[[str], Settings],
) -> None:
    settings = make_settings("docs")
    build_warehouse(
        settings.warehouse,
        [*clean_outcomes(POLICY), breaking("complaints.rate", POLICY)],
    )

    rows = run_and_read(settings)

    stored_text = json.dumps(rows, default=str)
    assert not re.search(r"\+\d{10,}", stored_text)
    docs = data_docs_index(settings)
    assert docs.is_file()
    site_text = "".join(p.read_text(errors="replace") for p in docs.parent.rglob("*.html"))
    assert not re.search(r"\+\d{10,}", site_text)
    suite_files = list((settings.data_dir / "gx" / "gx" / "expectations").rglob("*.json"))
    clause_suites = [json.loads(p.read_text()) for p in suite_files]
    clause_suites = [s for s in clause_suites if s["name"].startswith("clause.")]
    assert len(clause_suites) == len(CLAUSE_IDS)
    for suite in clause_suites:
        clause_id = suite["name"].removeprefix("clause.")
        for expectation in suite["expectations"]:
            assert expectation["meta"]["clause_id"] == clause_id
            assert expectation["meta"]["severity"] == POLICY.clause(clause_id).severity


def test_a_validation_run_renders_its_own_data_docs_pages_and_keeps_earlier_ones(
    make_settings: Callable[[str], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run renders its results and the index, not every stored result again.

    Re-rendering the whole history would make every daily run slower than the
    one before; the earlier runs' pages must still be there and listed.
    """
    settings = make_settings("docs-history")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))
    validate(settings, run_id="run-1", months=[MONTH])
    site = data_docs_index(settings).parent
    first = {p: p.stat().st_mtime_ns for p in (site / "validations").rglob("*.html")}
    assert first

    validate(settings, run_id="run-2", months=[MONTH])

    pages = {p: p.stat().st_mtime_ns for p in (site / "validations").rglob("*.html")}
    assert {p: pages.get(p) for p in first} == first  # there, and not re-rendered
    new = [p for p in pages if p not in first]
    assert len(new) == len(first)
    assert all("run-2" in p.as_posix() for p in new)
    index = data_docs_index(settings).read_text()
    assert "run-1" in index and "run-2" in index

    # The index lists only the newest results (GX reads each one it lists):
    # with room for one run's results, the next run's index drops the others.
    monkeypatch.setattr(gx_project, "INDEX_RESULTS_LIMIT", len(first))
    validate(settings, run_id="run-3", months=[MONTH])
    index = data_docs_index(settings).read_text()
    assert "run-3" in index and "run-1" not in index and "run-2" not in index
    assert all(p.is_file() for p in pages)  # their pages stay


def test_data_docs_pages_carry_no_promotion_no_dead_favicon_and_no_empty_asset(
    make_settings: Callable[[str], Settings],
) -> None:
    """What a reader of the Data Docs saw besides the results: GX's "how to"
    buttons floating over the index's results table, a newsletter link out of
    an offline site, "Data asset: None" on every result page, and a favicon
    link one folder short (a 404 in the console of every result page)."""
    settings = make_settings("docs-clean")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))
    validate(settings, run_id="run-1", months=[MONTH])
    site = data_docs_index(settings).parent
    results = sorted((site / "validations").rglob("*.html"))
    assert results

    for page in [site / "index.html", *results]:
        html = page.read_text(encoding="utf-8")
        assert "newsletter" not in html.lower(), page
        assert "How to Validate Data" not in html, page
        assert "Data asset: None" not in html, page
        icons = re.findall(r'<link[^>]*href="([^"]*favicon[^"]*)"', html)
        assert all((page.parent / icon).resolve().is_file() for icon in icons), (page, icons)


def test_a_later_validation_run_leaves_the_gx_project_file_alone(
    make_settings: Callable[[str], Settings],
) -> None:
    """The datasource, its assets and batch definitions are made once: adding
    them again each run rewrote ``great_expectations.yml`` some 40 times."""
    settings = make_settings("project-file")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))
    validate(settings, run_id="run-1", months=[MONTH])
    project_file = settings.data_dir / "gx" / "gx" / "great_expectations.yml"
    before = (project_file.read_text(), project_file.stat().st_mtime_ns)

    validate(settings, run_id="run-2", months=[MONTH])

    assert (project_file.read_text(), project_file.stat().st_mtime_ns) == before
    assert len(failing_keys(settings, "run-2")) == 0


def _age_results(settings: Settings, run_name: str, days: int) -> int:
    """Make the stored results of ``run_name`` and their pages ``days`` old;
    return how many results that was.

    GX reads a result's run time from its folder name (``20261206T101500.000000Z``)
    under the run's name, in the store and in the Data Docs alike."""
    stamp = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y%m%dT%H%M%S.%fZ")
    store = settings.data_dir / "gx" / "gx" / "uncommitted" / "validations"
    pages = data_docs_index(settings).parent / "validations"
    results = 0
    for tree in (store, pages):
        folders = [p for p in tree.rglob("*") if p.is_dir() and p.parent.name.startswith(run_name)]
        for folder in folders:
            folder.rename(folder.with_name(stamp))
        results += len(folders) if tree == store else 0
    return results


def test_results_older_than_the_history_setting_leave_the_store_and_the_data_docs(
    make_settings: Callable[[str], Settings],
) -> None:
    """A daily run must not pile up GX results and pages forever: those older
    than ``VC_HISTORY_DAYS`` go, with their pages and index entries; the
    warehouse keeps every run's findings. 0 days keeps everything."""
    settings = make_settings("history")
    build_warehouse(settings.warehouse, clean_outcomes(POLICY))
    validate(settings, run_id="run-old", months=[MONTH])
    site = data_docs_index(settings).parent
    aged = _age_results(settings, "run-old", 401)
    assert aged > 0

    summary = validate(settings, run_id="run-new", months=[MONTH])

    assert summary.pruned_results == aged
    store = settings.data_dir / "gx" / "gx" / "uncommitted" / "validations"
    stored = [p.as_posix() for p in store.rglob("*.json")]
    pages = [p.as_posix() for p in (site / "validations").rglob("*.html")]
    assert stored and all("run-new" in p for p in stored)
    assert len(pages) == len(stored) and all("run-new" in p for p in pages)
    assert not [p for p in store.rglob("*") if p.is_dir() and not any(p.iterdir())]
    index = data_docs_index(settings).read_text()
    assert "run-new" in index and "run-old" not in index
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        runs = con.execute("select distinct run_id from compliance.validation_results").fetchall()
    assert sorted(r[0] for r in runs) == ["run-new", "run-old"]

    forever = settings.replace(history={"keep_days": 0})
    _age_results(forever, "run-new", 4000)
    assert validate(forever, run_id="run-3", months=[MONTH]).pruned_results == 0
    assert len(list(store.rglob("*.json"))) == 2 * len(stored)


@pytest.fixture(autouse=True)
def _no_gx_analytics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    yield


def test_gx_can_be_imported_in_the_background_and_stays_quiet() -> None:
    """What vc_transform's build task starts while dbt runs (decision 0035),
    in a fresh interpreter: GX is not imported before, the import finishes
    in its thread, and GX's INFO bookkeeping stays out of the task log."""
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "from voice_compliance.validation import gx_project\n"
        "assert 'great_expectations' not in sys.modules\n"
        "thread = gx_project.import_gx_in_background()\n"
        "thread.join(timeout=120)\n"
        "assert not thread.is_alive()\n"
        "assert 'great_expectations' in sys.modules\n"
        "assert logging.getLogger(gx_project.GX_LOGGER).level == logging.WARNING\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
