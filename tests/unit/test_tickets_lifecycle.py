"""Ticket lifecycle on a real DuckDB file: open, update, resolve, reopen, idempotency."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from voice_compliance import warehouse
from voice_compliance.tickets import (
    FailingGroup,
    TicketChanges,
    TicketLinks,
    TicketSinkSettings,
    deliver_pending,
    ensure_ticket_tables,
    evidence_query,
    fingerprint,
    sync_tickets,
    ticket_counts,
)
from voice_compliance.tickets import store as ticket_store

pytestmark = pytest.mark.quick

ACCOUNT = "AC" + "0123456789abcdef" * 2
OTHER_ACCOUNT = "AC" + "fedcba9876543210" * 2
CONSENT = "consent.prior_consent"
FRESHNESS = "dnc.registry_freshness"
LINKS = TicketLinks(dbt_docs="file:///docs/dbt/index.html", data_docs="file:///docs/gx/index.html")
T0 = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)
FULL_NUMBER = re.compile(r"\+\d{10,}")


def _at(days: int) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def _group(
    violations: int,
    *,
    clause_id: str = CONSENT,
    account_sid: str | None = ACCOUNT,
    month: str = "2026-10",
) -> FailingGroup:
    return FailingGroup(
        clause_id=clause_id,
        account_sid=account_sid,
        month=month,
        violations=violations,
        severity="critical",
        owner="compliance-ops",
        suite=f"clause__{clause_id}",
        expectation="expect_no_violations",
    )


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with warehouse.connect(tmp_path / "wh.duckdb") as connection:
        connection.execute(
            """
            create table compliance.policy_violations (
                clause_id varchar, subject_type varchar, subject_id varchar,
                account_sid varchar, period_start timestamp, severity varchar, evidence json
            )
            """
        )
        _violations(
            connection,
            [
                (CONSENT, "number_month", "+14155550123/2026-10", ACCOUNT, "2026-10-01"),
                (CONSENT, "call", "CA" + "1" * 32, ACCOUNT, "2026-10-03 10:00"),
                (CONSENT, "number_month", "+447700900123/2026-10", ACCOUNT, "2026-10-01"),
                (CONSENT, "number_month", "+14155550999/2026-10", ACCOUNT, "2026-10-01"),
                # Another account, another month and another clause must not leak in.
                (CONSENT, "number_month", "+14155551111/2026-10", OTHER_ACCOUNT, "2026-10-01"),
                (CONSENT, "number_month", "+14155552222/2026-09", ACCOUNT, "2026-09-01"),
                ("calling_hours.window", "call", "CA" + "2" * 32, ACCOUNT, "2026-10-05"),
                (FRESHNESS, "registry", "us_national/2026-10-02", None, "2026-10-02"),
            ],
        )
        yield connection


def _violations(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    con.execute("delete from compliance.policy_violations")
    for clause_id, subject_type, subject_id, account_sid, period_start in rows:
        con.execute(
            "insert into compliance.policy_violations values (?, ?, ?, ?, ?::timestamp, ?, ?)",
            [
                clause_id,
                subject_type,
                subject_id,
                account_sid,
                period_start,
                "critical",
                json.dumps({"to": subject_id}),
            ],
        )


def _sync(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: dt.datetime,
    failing: list[FailingGroup],
    validated: list[tuple[str, str]] | None = None,
    **kwargs: Any,
) -> TicketChanges:
    if validated is None:
        validated = [(CONSENT, "2026-10")]
    return sync_tickets(
        con,
        run_id=run_id,
        now=now,
        validated=validated,
        failing=failing,
        links=LINKS,
        **kwargs,
    )


def _ticket(con: duckdb.DuckDBPyConnection, fp: str) -> dict[str, Any]:
    return ticket_store.load_tickets(con, [fp])[fp]


def _events(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    rows = con.execute(
        'select run_id, event, violation_count from compliance.ticket_events order by "at", event'
    ).fetchall()
    return [(r, e, int(n)) for r, e, n in rows]


def _table_text(con: duckdb.DuckDBPyConnection, table: str) -> str:
    rows = con.execute(f"select * from {table}").fetchall()
    return json.dumps([[str(v) for v in row] for row in rows])


FP = fingerprint(CONSENT, ACCOUNT, "2026-10")


def test_fingerprint_is_stable_prefixed_and_distinguishes_keys() -> None:
    # Pinned to the documented recipe so a refactor cannot silently re-key every ticket.
    digest = hashlib.sha256(f"{CONSENT}|{ACCOUNT}|2026-10".encode()).hexdigest()[:16]
    assert fingerprint(CONSENT, ACCOUNT, "2026-10") == f"vc-{digest}"
    assert fingerprint(CONSENT, OTHER_ACCOUNT, "2026-10") != FP
    assert fingerprint(CONSENT, ACCOUNT, "2026-09") != FP
    # No account and an empty account are the same ticket.
    assert fingerprint(FRESHNESS, None, "2026-10") == fingerprint(FRESHNESS, "", "2026-10")


def test_first_failure_opens_one_ticket_with_masked_examples_and_evidence(
    con: duckdb.DuckDBPyConnection,
) -> None:
    changes = _sync(con, "run-1", _at(0), [_group(4)], examples_per_ticket=3)

    assert changes.counts() == {
        "opened": 1,
        "reopened": 0,
        "updated": 0,
        "resolved": 0,
        "unchanged": 0,
        "open_total": 1,
    }
    ticket = _ticket(con, FP)
    assert ticket["status"] == "open"
    assert ticket["title"] == f"{CONSENT}: 4 violations, account {ACCOUNT}, 2026-10"
    assert ticket["violation_count"] == 4
    assert ticket["reopen_count"] == 0
    assert ticket["resolved_at"] is None
    assert ticket["external_key"] is None
    assert ticket["first_seen_at"] == ticket["last_seen_at"] == ticket["opened_at"] == _at(0)
    assert ticket["last_run_id"] == "run-1"
    # Ordered by subject_id, first three, phone numbers masked to four digits.
    assert json.loads(ticket["example_subjects"]) == [
        "***0123/2026-10",
        "***0999/2026-10",
        "***0123/2026-10",
    ]
    # The clause's mart in the dbt docs, the ticket's suite in the Data Docs.
    assert ticket["dbt_docs_url"] == (
        "file:///docs/dbt/index.html#!/model/model.voice_compliance.clause_consent__prior_consent"
    )
    assert (
        ticket["data_docs_url"] == "file:///docs/gx/expectations/clause__consent/prior_consent.html"
    )
    assert ticket["suite"] == f"clause__{CONSENT}"
    # The evidence query selects exactly this ticket's four rows.
    evidence = con.execute(ticket["evidence_query"]).fetchall()
    assert len(evidence) == 4
    assert {row[3] for row in evidence} == {ACCOUNT}
    assert changes.opened[0]["fingerprint"] == FP
    assert _events(con) == [("run-1", "opened", 4)]


def test_open_update_resolve_reopen(con: duckdb.DuckDBPyConnection) -> None:
    _sync(con, "run-1", _at(0), [_group(4)])

    updated = _sync(con, "run-2", _at(1), [_group(6)])
    assert updated.counts()["updated"] == 1
    assert _ticket(con, FP)["violation_count"] == 6
    assert _ticket(con, FP)["last_seen_at"] == _at(1)
    assert _ticket(con, FP)["first_seen_at"] == _at(0)

    # Validated this month, not failing: resolved.
    resolved = _sync(con, "run-3", _at(2), [])
    assert resolved.counts()["resolved"] == 1
    assert resolved.open_total == 0
    ticket = _ticket(con, FP)
    assert ticket["status"] == "resolved"
    assert ticket["resolved_at"] == _at(2)

    reopened = _sync(con, "run-4", _at(3), [_group(2)])
    assert reopened.counts()["reopened"] == 1
    assert reopened.counts()["opened"] == 0
    ticket = _ticket(con, FP)
    assert ticket["status"] == "open"
    assert ticket["reopen_count"] == 1
    assert ticket["resolved_at"] is None
    assert ticket["opened_at"] == _at(3)
    assert ticket["first_seen_at"] == _at(0)
    assert ticket["violation_count"] == 2

    assert _events(con) == [
        ("run-1", "opened", 4),
        ("run-2", "updated", 6),
        ("run-3", "resolved", 0),
        ("run-4", "reopened", 2),
    ]
    assert con.execute("select count(*) from compliance.tickets").fetchone() == (1,)
    assert ticket_counts(con) == {CONSENT: {"open": 1, "resolved": 0}}


def test_retry_of_the_same_run_id_applies_nothing_twice(con: duckdb.DuckDBPyConnection) -> None:
    failing = [_group(4), _group(1, account_sid=OTHER_ACCOUNT)]
    first = _sync(con, "run-1", _at(0), failing, sink="webhook")
    counts_before = ticket_counts(con)
    events_before = _events(con)
    deliveries_before = con.execute("select count(*) from compliance.ticket_deliveries").fetchone()

    retry = _sync(con, "run-1", _at(0), failing, sink="webhook")

    assert first.counts()["opened"] == 2
    assert retry.counts() == {
        "opened": 0,
        "reopened": 0,
        "updated": 0,
        "resolved": 0,
        "unchanged": 2,
        "open_total": 2,
    }
    assert not retry.changed
    assert ticket_counts(con) == counts_before == {CONSENT: {"open": 2, "resolved": 0}}
    assert _events(con) == events_before
    assert (
        con.execute("select count(*) from compliance.ticket_deliveries").fetchone()
        == deliveries_before
        == (2,)
    )


def test_new_run_with_same_input_opens_no_new_ticket(con: duckdb.DuckDBPyConnection) -> None:
    _sync(con, "run-1", _at(0), [_group(4)])

    again = _sync(con, "run-2", _at(1), [_group(4)])

    assert again.counts()["unchanged"] == 1
    assert not again.changed
    assert ticket_counts(con) == {CONSENT: {"open": 1, "resolved": 0}}
    assert _events(con) == [("run-1", "opened", 4)]
    ticket = _ticket(con, FP)
    # Seen again: the ticket says so without an event.
    assert ticket["last_seen_at"] == _at(1)
    assert ticket["last_run_id"] == "run-2"


def test_ticket_of_a_month_not_validated_stays_open(con: duckdb.DuckDBPyConnection) -> None:
    _sync(con, "run-1", _at(0), [_group(4), _group(1, month="2026-09")])
    september = fingerprint(CONSENT, ACCOUNT, "2026-09")

    # Only October was validated this time, and it passed.
    changes = _sync(con, "run-2", _at(1), [], validated=[(CONSENT, "2026-10")])

    assert [t["fingerprint"] for t in changes.resolved] == [FP]
    assert _ticket(con, september)["status"] == "open"
    assert _ticket(con, FP)["status"] == "resolved"
    # Another clause validated for September does not resolve this clause either.
    _sync(con, "run-3", _at(2), [], validated=[("calling_hours.window", "2026-09")])
    assert _ticket(con, september)["status"] == "open"


def test_clause_without_account_uses_null_account(con: duckdb.DuckDBPyConnection) -> None:
    group = _group(1, clause_id=FRESHNESS, account_sid=None)

    changes = _sync(con, "run-1", _at(0), [group], validated=[(FRESHNESS, "2026-10")])

    ticket = _ticket(con, fingerprint(FRESHNESS, None, "2026-10"))
    assert ticket["account_sid"] is None
    assert ticket["title"] == f"{FRESHNESS}: 1 violation, 2026-10"
    assert json.loads(ticket["example_subjects"]) == ["us_national/2026-10-02"]
    assert len(con.execute(ticket["evidence_query"]).fetchall()) == 1
    assert changes.opened[0]["account_sid"] is None


def test_examples_are_empty_without_the_violations_table(tmp_path: Path) -> None:
    with warehouse.connect(tmp_path / "empty.duckdb") as con:
        _sync(con, "run-1", _at(0), [_group(3)])
        assert json.loads(_ticket(con, FP)["example_subjects"]) == []


def test_a_crash_mid_sync_leaves_nothing_behind(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = [_group(4), _group(1, account_sid=OTHER_ACCOUNT)]
    calls = {"n": 0}
    real_record = ticket_store.record_event

    def crash_on_second(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        real_record(*args, **kwargs)

    monkeypatch.setattr(ticket_store, "record_event", crash_on_second)
    with pytest.raises(RuntimeError, match="worker killed"):
        _sync(con, "run-1", _at(0), failing)
    assert con.execute("select count(*) from compliance.tickets").fetchone() == (0,)
    assert _events(con) == []

    monkeypatch.setattr(ticket_store, "record_event", real_record)
    retry = _sync(con, "run-1", _at(0), failing)
    assert retry.counts()["opened"] == 2
    assert len(_events(con)) == 2


def test_duplicate_groups_of_one_key_make_one_ticket(con: duckdb.DuckDBPyConnection) -> None:
    other_check = FailingGroup(**{**_group(3).__dict__, "expectation": "expect_other"})

    changes = _sync(con, "run-1", _at(0), [_group(4), other_check])

    assert changes.counts()["opened"] == 1
    ticket = _ticket(con, FP)
    assert ticket["violation_count"] == 4
    assert ticket["expectation"] == "expect_no_violations, expect_other"


def test_no_full_phone_number_in_tickets_events_or_payloads(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _sync(con, "run-1", _at(0), [_group(4)], sink="webhook")
    changes = _sync(con, "run-2", _at(1), [_group(5)], sink="jira")

    for table in ("compliance.tickets", "compliance.ticket_events", "compliance.ticket_deliveries"):
        text = _table_text(con, table)
        assert not FULL_NUMBER.search(text), table
    assert "***0123" in _table_text(con, "compliance.tickets")
    assert not FULL_NUMBER.search(json.dumps(changes.updated))
    # The raw table does hold full numbers: the check above is not vacuous.
    assert FULL_NUMBER.search(_table_text(con, "compliance.policy_violations"))


def test_outbox_rows_follow_events_only_for_http_sinks(con: duckdb.DuckDBPyConnection) -> None:
    _sync(con, "run-1", _at(0), [_group(4)])
    assert con.execute("select count(*) from compliance.ticket_deliveries").fetchone() == (0,)

    _sync(con, "run-2", _at(1), [_group(5)], sink="webhook")
    _sync(con, "run-2", _at(1), [_group(5)], sink="webhook")

    rows = con.execute(
        "select fingerprint, run_id, event, sink, status, attempts, payload "
        "from compliance.ticket_deliveries"
    ).fetchall()
    assert len(rows) == 1
    fp, run_id, event, sink, status, attempts, payload = rows[0]
    assert (fp, run_id, event, sink, status, attempts) == (
        FP,
        "run-2",
        "updated",
        "webhook",
        "pending",
        0,
    )
    body = json.loads(payload)
    assert body["event"] == "updated"
    assert body["run_id"] == "run-2"
    assert body["ticket"]["violation_count"] == 5
    assert body["ticket"]["fingerprint"] == FP


def test_unknown_sink_is_refused_before_any_write(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="unknown ticket sink"):
        _sync(con, "run-1", _at(0), [_group(4)], sink="jira ")
    assert ticket_counts(con) == {}


def test_table_sink_delivers_nothing(con: duckdb.DuckDBPyConnection) -> None:
    _sync(con, "run-1", _at(0), [_group(4)], sink="webhook")

    report = deliver_pending(con, TicketSinkSettings(), now=_at(0))

    assert report.counts() == {"delivered": 0, "failed": 0, "waiting": 0, "other_sink": 1}


def test_ticket_counts_per_clause(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _sync(
        con,
        "run-1",
        _at(0),
        [_group(4), _group(1, account_sid=OTHER_ACCOUNT), _group(1, clause_id=FRESHNESS)],
        validated=[(CONSENT, "2026-10"), (FRESHNESS, "2026-10")],
    )
    _sync(
        con,
        "run-2",
        _at(1),
        [_group(4)],
        validated=[(CONSENT, "2026-10"), (FRESHNESS, "2026-10")],
    )

    assert ticket_counts(con) == {
        CONSENT: {"open": 1, "resolved": 1},
        FRESHNESS: {"open": 0, "resolved": 1},
    }
    with warehouse.connect(tmp_path / "fresh.duckdb") as fresh:
        assert ticket_counts(fresh) == {}
        ensure_ticket_tables(fresh)
        ensure_ticket_tables(fresh)
        assert ticket_counts(fresh) == {}


def test_evidence_query_quotes_values() -> None:
    sql = evidence_query("x.y", "AC'1", "2026-10")
    assert "'AC''1'" in sql
    assert "is not distinct from null" in evidence_query("x.y", None, "2026-10")


def test_sink_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VC_TICKET_SINK", "VC_TICKET_CONN_ID", "VC_TICKET_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    default = TicketSinkSettings.from_env()
    assert (default.sink, default.conn_id, default.connection) == ("table", "vc_tickets", None)

    monkeypatch.setenv("VC_TICKET_SINK", "Jira")
    monkeypatch.setenv("VC_TICKET_CONN_ID", "jira_prod")
    monkeypatch.setenv("VC_TICKET_RETRIES", "4")
    monkeypatch.setenv("VC_TICKET_TIMEOUT_S", "2.5")
    settings = TicketSinkSettings.from_env(backoff_s=0.0)
    assert (settings.sink, settings.conn_id, settings.retries) == ("jira", "jira_prod", 4)
    assert (settings.timeout_s, settings.backoff_s) == (2.5, 0.0)
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert TicketSinkSettings.from_env() == settings

    monkeypatch.setenv("VC_TICKET_SINK", "email")
    with pytest.raises(ValueError, match="unknown ticket sink"):
        TicketSinkSettings.from_env()
    monkeypatch.setenv("VC_TICKET_SINK", "webhook")
    monkeypatch.setenv("VC_TICKET_RETRIES", "many")
    with pytest.raises(ValueError, match="VC_TICKET_RETRIES"):
        TicketSinkSettings.from_env()


def test_formula_values_are_neutralised_in_the_ticket_table_and_payloads(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Arrange: a call sid and an account id a spreadsheet would run as formulas
    formula_sid = '=HYPERLINK("http://evil.example/x","sid")'
    formula_account = "@SUM(1+1)*cmd|' /C calc'!A0"
    _violations(
        con,
        [
            (CONSENT, "call", formula_sid, formula_account, "2026-10-03"),
            (CONSENT, "number_month", "x+14155550123/2026-10", formula_account, "2026-10-01"),
        ],
    )
    fp = fingerprint(CONSENT, formula_account, "2026-10")

    # Act
    changes = _sync(con, "run-1", _at(0), [_group(2, account_sid=formula_account)], sink="webhook")

    # Assert: the table keeps the real key, the texts that leave are neutralised
    ticket = _ticket(con, fp)
    assert ticket["account_sid"] == formula_account
    assert json.loads(ticket["example_subjects"]) == ["'" + formula_sid, "x***0123/2026-10"]
    opened = changes.opened[0]
    assert opened["account_sid"] == "'" + formula_account
    assert opened["example_subjects"] == ["'" + formula_sid, "x***0123/2026-10"]
    payload = con.execute("select payload from compliance.ticket_deliveries").fetchone()
    assert payload is not None
    body = json.loads(payload[0])
    assert body["ticket"]["account_sid"] == "'" + formula_account
    assert body["ticket"]["example_subjects"][0] == "'" + formula_sid
    assert not re.search(r"\d{7,}", payload[0])


def _ticket_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables"
        " where table_schema = 'compliance' and table_name like 'ticket%'"
    ).fetchall()
    return {name for (name,) in rows}


def test_each_ticket_module_owns_its_tables(tmp_path: Path) -> None:
    """The outbox is the deliveries module's; ``ensure_ticket_tables`` prepares them all."""
    from voice_compliance.tickets import deliveries

    with warehouse.connect(tmp_path / "outbox.duckdb") as con:
        deliveries.ensure_deliveries_table(con)
        assert _ticket_tables(con) == {"ticket_deliveries"}
    with warehouse.connect(tmp_path / "all.duckdb") as con:
        ensure_ticket_tables(con)
        ensure_ticket_tables(con)  # idempotent
        assert _ticket_tables(con) == {"tickets", "ticket_events", "ticket_deliveries"}
