"""Owners route alerts (decision 0016): each owner's Slack channel gets its part of
a validation run, its Jira issues get its assignee and component, and the
default destination covers the rest. Real HTTP receivers on 127.0.0.1 stand
in for three Slack incoming webhooks and for Jira."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from slack_receiver import WEBHOOK_PATH, Receiver
from voice_compliance import warehouse
from voice_compliance.notify import (
    ClauseLine,
    NotifySettings,
    RunReport,
    build_run_message,
    flush_outbox,
    notify,
    route_run,
)
from voice_compliance.notify.outbox import read_entries
from voice_compliance.policy import DEFAULT_POLICY_FILE, Policy, load_policy
from voice_compliance.tickets import (
    FailingGroup,
    SinkConnection,
    TicketLinks,
    TicketSinkSettings,
    deliver_pending,
    sync_tickets,
)

pytestmark = pytest.mark.quick

RUN_ID = "scheduled__2026-11-01T00:00:00+00:00"
KEY = f"run:vc_validate:{RUN_ID}"
ACCOUNT = "AC" + "0123456789abcdef" * 2
T0 = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)
ROUTING = {
    "default": {"jira_assignee": "triage"},
    "owners": {
        "compliance": {
            "slack_conn_id": "vc_slack_compliance",
            "jira_assignee": "alice",
            "jira_component": "Compliance",
        },
        "voice-operations": {
            "slack_conn_id": "vc_slack_voice_ops",
            "jira_component": "Voice Operations",
        },
        # data-engineering is not routed: the default covers it.
    },
}


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document["routing"] = ROUTING
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_policy(path)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NotifySettings:
    # slack_sdk honours HTTP(S)_PROXY but not NO_PROXY.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    return NotifySettings(
        conn_id="vc_slack",
        outbox=tmp_path / "notifications" / "slack_outbox.jsonl",
        sent_log=tmp_path / "notifications" / "slack_sent.jsonl",
        retries=1,
        backoff_s=0.01,
        timeout_s=2.0,
    )


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    """Start as many local incoming webhooks as a test asks for (the shared
    ``receiver`` fixture gives one)."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start() -> Receiver:
        holder: list[Receiver] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                holder[0].bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        holder.append(Receiver(url=f"http://127.0.0.1:{server.server_port}{WEBHOOK_PATH}"))
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return holder[0]

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def define_webhook(monkeypatch: pytest.MonkeyPatch, conn_id: str, url: str) -> None:
    """An Airflow connection as a deployment defines it: an environment variable."""
    connection = {"conn_type": "slackwebhook", "password": url}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


def make_report() -> RunReport:
    return RunReport(
        dag_id="vc_validate",
        run_id=RUN_ID,
        period="2026-10",
        validated_at=dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC),
        clauses=[
            ClauseLine("consent.prior_consent", "critical", 900, 14, 1, 2),  # compliance
            ClauseLine("dnc.registry", "critical", 300, 0, 0, 0),  # compliance
            ClauseLine("complaints.rate", "high", 50, 3, 1, 1),  # voice-operations
            ClauseLine("dnc.registry_freshness", "high", 60, 7, 1, 1),  # data-engineering
        ],
        data_quality_failures=["dq.valid_callee_share (2026-10): at least 99% valid"],
        tickets_opened=3,
        tickets_reopened=0,
        tickets_updated=1,
        tickets_resolved=0,
        tickets_open_total=4,
        data_docs_url="http://docs.local/gx/index.html",
        dbt_docs_url="http://docs.local/dbt/",
        tickets_location="compliance.tickets",
        ticket_events_by_clause={
            "consent.prior_consent": {"opened": 1, "updated": 1},
            "complaints.rate": {"opened": 1},
            "dnc.registry_freshness": {"opened": 1},
            "dq.valid_callee_share": {"opened": 1},
        },
    )


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def test_route_run_gives_the_default_the_whole_run_and_each_owner_its_part(policy):
    messages = route_run(make_report(), policy, "vc_slack")

    assert [(m.key, m.conn_id) for m in messages] == [
        (KEY, None),
        (f"{KEY}:to:vc_slack_compliance", "vc_slack_compliance"),
        (f"{KEY}:to:vc_slack_voice_ops", "vc_slack_voice_ops"),
    ]
    whole, compliance, voice_ops = (m.report for m in messages)
    assert whole == make_report()
    assert [c.clause_id for c in compliance.clauses] == ["consent.prior_consent", "dnc.registry"]
    assert compliance.audience == "compliance"
    assert (compliance.tickets_opened, compliance.tickets_updated) == (1, 1)
    assert compliance.tickets_open_total == 2
    assert compliance.data_quality_failures == []
    assert [c.clause_id for c in voice_ops.clauses] == ["complaints.rate"]
    assert (voice_ops.tickets_opened, voice_ops.tickets_open_total) == (1, 1)


def test_without_routing_there_is_one_message_under_the_old_key():
    messages = route_run(make_report(), load_policy(), "vc_slack")

    assert [(m.key, m.conn_id) for m in messages] == [(KEY, None)]


def test_the_data_quality_owner_gets_the_data_quality_failures(tmp_path, policy):
    routed = {**ROUTING, "owners": {"data-engineering": {"slack_conn_id": "vc_slack_data"}}}
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document["routing"] = routed
    path = tmp_path / "routed.yml"
    path.write_text(yaml.safe_dump(document))

    messages = route_run(make_report(), load_policy(path), "vc_slack")

    data = messages[1].report
    assert messages[1].key == f"{KEY}:to:vc_slack_data"
    assert [c.clause_id for c in data.clauses] == ["dnc.registry_freshness"]
    assert data.data_quality_failures == make_report().data_quality_failures
    assert data.tickets_opened == 2  # the freshness ticket and the data-quality check's


def test_each_owner_channel_receives_its_part_and_the_default_the_whole_run(
    policy, settings, receivers, monkeypatch
):
    default, compliance, voice_ops = receivers(), receivers(), receivers()
    define_webhook(monkeypatch, "vc_slack", default.url)
    define_webhook(monkeypatch, "vc_slack_compliance", compliance.url)
    define_webhook(monkeypatch, "vc_slack_voice_ops", voice_ops.url)

    def send_all() -> list[Any]:
        return [
            notify(build_run_message(m.report), key=m.key, settings=settings, conn_id=m.conn_id)
            for m in route_run(make_report(), policy, settings.conn_id)
        ]

    results = send_all()

    assert [r.queued for r in results] == [True, True, True]
    assert results[-1].flush.pending == 0
    assert [len(r.bodies) for r in (default, compliance, voice_ops)] == [1, 1, 1]
    whole, own, ops = (text_of(r.bodies[0]) for r in (default, compliance, voice_ops))
    for clause in ("consent.prior_consent", "complaints.rate", "dnc.registry_freshness"):
        assert clause in whole
    assert "Voice compliance for compliance: 14 violations" in own
    assert "consent.prior_consent" in own and "complaints.rate" not in own
    assert "Data quality" not in own
    assert "Voice compliance for voice-operations: 3 violations" in ops
    assert "complaints.rate" in ops and "consent.prior_consent" not in ops
    # An Airflow retry of the notifying task sends nothing again, to anyone.
    again = send_all()
    assert [r.duplicate for r in again] == [True, True, True]
    assert [len(r.bodies) for r in (default, compliance, voice_ops)] == [1, 1, 1]
    assert sorted(e["key"] for e in read_entries(settings.sent_log)) == sorted(
        [KEY, f"{KEY}:to:vc_slack_compliance", f"{KEY}:to:vc_slack_voice_ops"]
    )


def test_an_owner_without_a_connection_waits_without_holding_back_the_others(
    policy, settings, receivers, monkeypatch
):
    default, voice_ops = receivers(), receivers()
    define_webhook(monkeypatch, "vc_slack", default.url)
    define_webhook(monkeypatch, "vc_slack_voice_ops", voice_ops.url)
    monkeypatch.delenv("AIRFLOW_CONN_VC_SLACK_COMPLIANCE", raising=False)
    messages = route_run(make_report(), policy, settings.conn_id)

    for m in messages:
        last = notify(build_run_message(m.report), key=m.key, settings=settings, conn_id=m.conn_id)

    assert (len(default.bodies), len(voice_ops.bodies)) == (1, 1)
    assert (last.flush.reason, last.flush.pending) == ("no_connection", 1)
    [waiting] = read_entries(settings.outbox)
    assert (waiting["key"], waiting["conn_id"]) == (
        f"{KEY}:to:vc_slack_compliance",
        "vc_slack_compliance",
    )

    compliance = receivers()
    define_webhook(monkeypatch, "vc_slack_compliance", compliance.url)
    flushed = flush_outbox(settings)

    assert (flushed.delivered, flushed.pending, flushed.reason) == (1, 0, "ok")
    assert len(compliance.bodies) == 1
    assert (len(default.bodies), len(voice_ops.bodies)) == (1, 1)


# --- Jira ---------------------------------------------------------------------


class FakeJira:
    """A minimal Jira REST v2: ``POST /rest/api/2/issue`` recording the fields, and
    a search (the create's look-up of its label) that finds nothing."""

    def __init__(self) -> None:
        self.issues: list[dict[str, Any]] = []
        jira = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                jira.issues.append(body["fields"])
                data = json.dumps({"id": "1", "key": f"VC-{len(jira.issues)}"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                data = json.dumps({"issues": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def by_clause(self) -> dict[str, dict[str, Any]]:
        return {
            next(label for label in f["labels"] if label != "voice-compliance"): f
            for f in self.issues
        }


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with warehouse.connect(tmp_path / "wh.duckdb") as connection:
        connection.execute(
            "create table compliance.policy_violations (clause_id varchar, subject_type varchar,"
            " subject_id varchar, account_sid varchar, period_start timestamp,"
            " severity varchar, evidence json)"
        )
        yield connection


def open_tickets(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    clauses = ("consent.prior_consent", "complaints.rate", "dnc.registry_freshness")
    sync_tickets(
        con,
        run_id="run-1",
        now=T0,
        validated=[(clause, "2026-10") for clause in clauses],
        failing=[
            FailingGroup(
                clause,
                ACCOUNT,
                "2026-10",
                3,
                policy.clause(clause).severity,
                policy.clause_owner(clause),
                "suite",
                "expectation",
            )
            for clause in clauses
        ],
        links=TicketLinks(dbt_docs="http://docs.local/dbt/", data_docs="http://docs.local/gx/"),
        sink="jira",
    )


def jira_settings(jira: FakeJira, policy: Policy | None, **extra: Any) -> TicketSinkSettings:
    connection = SinkConnection(
        base_url=jira.url, login="bot", password="token", extra={"project_key": "VC", **extra}
    )
    return TicketSinkSettings(
        sink="jira",
        timeout_s=2.0,
        retries=0,
        connection=connection,
        routing=policy.routing if policy else None,
    )


def test_each_owner_jira_issue_gets_its_assignee_and_component(con, jira, policy):
    open_tickets(con, policy)

    report = deliver_pending(con, jira_settings(jira, policy), now=T0)

    assert report.delivered == 3
    issues = jira.by_clause()
    compliance = issues["consent-prior_consent"]
    assert compliance["assignee"] == {"name": "alice"}
    assert compliance["components"] == [{"name": "Compliance"}]
    voice_ops = issues["complaints-rate"]
    assert voice_ops["assignee"] == {"name": "triage"}  # not set by the owner: the default's
    assert voice_ops["components"] == [{"name": "Voice Operations"}]
    data_engineering = issues["dnc-registry_freshness"]  # owner not routed: the default
    assert data_engineering["assignee"] == {"name": "triage"}
    assert "components" not in data_engineering


def test_jira_cloud_assignees_are_account_ids(con, jira, policy):
    open_tickets(con, policy)

    deliver_pending(con, jira_settings(jira, policy, assignee_field="accountId"), now=T0)

    assert jira.by_clause()["consent-prior_consent"]["assignee"] == {"accountId": "alice"}


def test_without_routing_jira_issues_carry_no_assignee_or_component(con, jira, policy):
    open_tickets(con, policy)

    deliver_pending(con, jira_settings(jira, None), now=T0)

    assert len(jira.issues) == 3
    assert all("assignee" not in f and "components" not in f for f in jira.issues)


# --- the validation DAG's task, on a small warehouse ---------------------------


def test_notify_run_sends_each_owner_its_part_from_the_warehouse(
    tmp_path, policy, receivers, monkeypatch
):
    from voice_compliance import alerting
    from voice_compliance.config import Settings

    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("VC_SLACK_CONN_ID", "VC_SLACK_OUTBOX", "VC_SLACK_SENT_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VC_POLICY_FILE", str(policy.source))
    default, compliance, voice_ops = receivers(), receivers(), receivers()
    define_webhook(monkeypatch, "vc_slack", default.url)
    define_webhook(monkeypatch, "vc_slack_compliance", compliance.url)
    define_webhook(monkeypatch, "vc_slack_voice_ops", voice_ops.url)
    settings = Settings.from_env(
        landing=str(tmp_path / "landing"),
        warehouse=str(tmp_path / "wh.duckdb"),
        data_dir=tmp_path / "data",
    )
    clauses = {"consent.prior_consent": 14, "complaints.rate": 3, "dnc.registry_freshness": 7}
    with warehouse.connect(settings.warehouse) as con:
        con.execute(
            "create table compliance.validation_runs (run_id varchar, validated_at timestamptz,"
            " months varchar)"
        )
        con.execute(
            "insert into compliance.validation_runs values (?, ?, '[\"2026-10\"]')", [RUN_ID, T0]
        )
        con.execute(
            "create table compliance.validation_results (run_id varchar, suite_kind varchar,"
            " clause_id varchar, severity varchar, success boolean, check_id varchar,"
            " month varchar, description varchar, column_name varchar, unexpected_count bigint,"
            " unexpected_keys json, exception varchar)"
        )
        con.execute(
            "create table compliance.clause_summary (clause_id varchar, month varchar,"
            " subjects_checked bigint, violations bigint)"
        )
        for clause, violations in clauses.items():
            con.execute(
                "insert into compliance.validation_results (run_id, suite_kind, clause_id,"
                " severity, success) values (?, 'clause', ?, ?, false)",
                [RUN_ID, clause, policy.clause(clause).severity],
            )
            con.execute(
                "insert into compliance.clause_summary values (?, '2026-10', 100, ?)",
                [clause, violations],
            )
        con.execute(
            "create table compliance.policy_violations (clause_id varchar, subject_type varchar,"
            " subject_id varchar, account_sid varchar, period_start timestamp,"
            " severity varchar, evidence json)"
        )
        sync_tickets(
            con,
            run_id=RUN_ID,
            now=T0,
            validated=[(clause, "2026-10") for clause in clauses],
            failing=[
                FailingGroup(
                    clause, ACCOUNT, "2026-10", n, "high", policy.clause_owner(clause), "s", "e"
                )
                for clause, n in clauses.items()
            ],
            links=TicketLinks(dbt_docs="http://docs.local/dbt/", data_docs="http://docs.local/gx/"),
            sink="table",
        )

    summary = alerting.notify_run(settings, run_id=RUN_ID)

    assert summary["key"] == KEY and summary["queued"]
    assert [r["key"] for r in summary["routed"]] == [
        f"{KEY}:to:vc_slack_compliance",
        f"{KEY}:to:vc_slack_voice_ops",
    ]
    assert [len(r.bodies) for r in (default, compliance, voice_ops)] == [1, 1, 1]
    own = text_of(compliance.bodies[0])
    assert "Voice compliance for compliance: 14 violations" in own
    assert "*Opened*\\n1" in own  # its own ticket, not the run's three
    assert "complaints.rate" not in own and "dnc.registry_freshness" not in own
    whole = text_of(default.bodies[0])
    assert "24 violations" in whole and "dnc.registry_freshness" in whole
