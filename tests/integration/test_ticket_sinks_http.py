"""Ticket sinks against real HTTP servers on 127.0.0.1: a webhook and a fake Jira.

Each server runs in a thread and records every request. The last test reads
the connection through Airflow (``AIRFLOW_CONN_VC_TICKETS``) in a separate
plain process, as a task without a metastore would.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import duckdb
import pytest

from slack_receiver import Receiver, use_webhook
from voice_compliance import warehouse
from voice_compliance.notify import NotifySettings, flush_outbox, notify
from voice_compliance.notify.outbox import read_entries
from voice_compliance.tickets import (
    FailingGroup,
    SinkConnection,
    TicketLinks,
    TicketSinkSettings,
    deliver_pending,
    fingerprint,
    sync_tickets,
)

ACCOUNT = "AC" + "0123456789abcdef" * 2
CLAUSE = "consent.prior_consent"
MONTH = "2026-10"
FP = fingerprint(CLAUSE, ACCOUNT, MONTH)
LINKS = TicketLinks(dbt_docs="http://docs.local/dbt/", data_docs="http://docs.local/gx/index.html")
T0 = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)
FULL_NUMBER = re.compile(r"\+\d{10,}")
TRANSITIONS = [
    {"id": "11", "name": "To Do"},
    {"id": "31", "name": "Done"},
    {"id": "41", "name": "Reopen"},
]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeServer:
    """A webhook receiver and a minimal Jira REST v2, recording every request."""

    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first
    retry_after: str | None = None  # the Retry-After header of those failures
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    create_delay_s: float = 0.0  # the create's answer comes this late (the issue exists at once)
    lose_transition_answers: int = 0  # transitions done, then answered 504 (the answer is lost)
    lose_comment_answers: int = 0  # comments stored, then answered 504 (the answer is lost)
    fail_after_lost_comment: list[int] = field(default_factory=list)  # then these answers
    search_paths: tuple[str, ...] = ("/rest/api/2/search/jql", "/rest/api/2/search")

    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        if self.fail_next:
            return self.fail_next.pop(0), {"errorMessages": ["injected failure"]}
        path, _, query = url.partition("?")
        if path == "/hooks/tickets" and method == "POST":
            return 200, {"ok": True}
        if path == "/rest/api/2/issue" and method == "POST":
            key = f"VC-{len(self.issues) + 1}"
            self.issues[key] = {"fields": body["fields"], "status": "To Do", "comments": []}
            time.sleep(self.create_delay_s)
            return 201, {"id": str(10000 + len(self.issues)), "key": key}
        if path in self.search_paths and method == "GET":
            label = re.fullmatch(r'labels = "([^"]+)"', parse_qs(query)["jql"][0])
            assert label, query
            found = [k for k, i in self.issues.items() if label.group(1) in i["fields"]["labels"]]
            return 200, {"issues": [{"id": "1", "key": k} for k in found[:1]]}
        match = re.fullmatch(r"/rest/api/2/issue/([A-Z]+-\d+)(?:/(transitions|comment))?", path)
        if match and match.group(1) in self.issues:
            issue = self.issues[match.group(1)]
            done = issue["status"] == "Done"
            if match.group(2) is None and method == "GET":
                category = "done" if done else "new"
                return 200, {
                    "fields": {
                        "status": {"name": issue["status"], "statusCategory": {"key": category}}
                    }
                }
            if match.group(2) == "comment" and method == "POST":
                issue["comments"].append(body["body"])
                if self.lose_comment_answers:
                    self.lose_comment_answers -= 1
                    self.fail_next.extend(self.fail_after_lost_comment)
                    return 504, {"errorMessages": ["gateway timeout"]}
                return 201, {"id": str(len(issue["comments"]))}
            if match.group(2) == "comment" and method == "GET":
                newest = [{"body": text} for text in reversed(issue["comments"])]
                return 200, {"comments": newest, "total": len(newest)}
            # Like a Jira workflow: a closed issue can only be reopened.
            available = [t for t in TRANSITIONS if (t["name"] == "Reopen") == done]
            if method == "GET":
                return 200, {"transitions": available}
            if method == "POST":
                names = {t["id"]: t["name"] for t in available}
                if body["transition"]["id"] not in names:
                    return 400, {"errorMessages": ["transition not available"]}
                issue["status"] = names[body["transition"]["id"]]
                if self.lose_transition_answers:
                    self.lose_transition_answers -= 1
                    return 504, {"errorMessages": ["gateway timeout"]}
                return 204, None
        return 404, {"errorMessages": [f"no route {method} {path}"]}

    def sent(self) -> list[Recorded]:
        """Every request but the searches (a create looks its label up first)."""
        return [r for r in self.requests if r.path.partition("?")[0] not in self.search_paths]

    def calls(self) -> list[tuple[str, str]]:
        """Method and path (no query) of every request, searches left out."""
        return [(r.method, r.path.partition("?")[0]) for r in self.sent()]


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            server.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
            failing = bool(server.fail_next)
            status, answer = server.handle(self.command, self.path, body)
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            if failing and server.retry_after is not None:
                self.send_header("Retry-After", server.retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


def _start(fake: FakeServer, port: int = 0) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(fake))
    fake.port = httpd.server_address[1]
    # A short poll interval keeps shutdown() quick.
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    httpd = _start(server)
    yield server
    httpd.shutdown()
    httpd.server_close()


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
        for subject_id in ("+14155550123/2026-10", "+447700900123/2026-10"):
            connection.execute(
                "insert into compliance.policy_violations values "
                "(?, 'number_month', ?, ?, timestamp '2026-10-01', 'critical', '{}')",
                [CLAUSE, subject_id, ACCOUNT],
            )
        yield connection


def _free_port() -> int:
    # Bound then closed: nothing listens there, so connections are refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(sink: str, port: int, **extra: Any) -> TicketSinkSettings:
    connection = SinkConnection(
        base_url=f"http://127.0.0.1:{port}",
        login="bot@example.com",
        password="api-token-123",
        extra=extra,
    )
    return TicketSinkSettings(
        sink=sink, timeout_s=2.0, retries=1, backoff_s=0.01, connection=connection
    )


def _sync(con: duckdb.DuckDBPyConnection, run: int, violations: int | None, sink: str) -> None:
    failing = []
    if violations is not None:
        failing.append(
            FailingGroup(CLAUSE, ACCOUNT, MONTH, violations, "critical", "ops", "suite", "exp")
        )
    sync_tickets(
        con,
        run_id=f"run-{run}",
        now=T0 + dt.timedelta(days=run),
        validated=[(CLAUSE, MONTH)],
        failing=failing,
        links=LINKS,
        sink=sink,
    )


def _jira_with_issue_vc1(con: duckdb.DuckDBPyConnection, fake: FakeServer) -> TicketSinkSettings:
    """Jira settings for ``fake``, after run 1 opened the ticket and created VC-1."""
    settings = _settings("jira", fake.port, project_key="VC")
    _sync(con, 1, 2, "jira")
    deliver_pending(con, settings, now=T0)
    assert list(fake.issues) == ["VC-1"]
    return settings


def _deliveries(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "select event, status, attempts, last_error from compliance.ticket_deliveries "
        "order by delivery_id"
    ).fetchall()


@pytest.mark.quick
def test_webhook_receives_the_masked_payload(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    _sync(con, 1, 2, "webhook")
    settings = _settings("webhook", fake.port, endpoint="/hooks/tickets", headers={"X-Team": "vc"})

    report = deliver_pending(con, settings, now=T0)

    assert report.counts() == {"delivered": 1, "failed": 0, "waiting": 0, "other_sink": 0}
    assert fake.calls() == [("POST", "/hooks/tickets")]
    request = fake.requests[0]
    assert request.body["event"] == "opened"
    assert request.body["run_id"] == "run-1"
    assert request.body["ticket"]["fingerprint"] == FP
    assert request.body["ticket"]["violation_count"] == 2
    assert request.body["ticket"]["example_subjects"] == ["***0123/2026-10", "***0123/2026-10"]
    assert not FULL_NUMBER.search(json.dumps(request.body))
    assert request.headers["X-Team"] == "vc"
    token = base64.b64encode(b"bot@example.com:api-token-123").decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert _deliveries(con) == [("opened", "delivered", 1, None)]
    # Nothing left: a second call sends nothing.
    assert deliver_pending(con, settings, now=T0).delivered == 0
    assert len(fake.requests) == 1


@pytest.mark.quick
def test_jira_issue_is_created_commented_resolved_and_reopened(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    settings = _settings("jira", fake.port, project_key="VC", resolve_transition="Done")

    _sync(con, 1, 2, "jira")
    deliver_pending(con, settings, now=T0)
    _sync(con, 2, 5, "jira")
    deliver_pending(con, settings, now=T0)
    _sync(con, 3, None, "jira")
    deliver_pending(con, settings, now=T0)
    _sync(con, 4, 1, "jira")
    report = deliver_pending(con, settings, now=T0)

    assert report.failed == 0
    assert fake.calls() == [
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue/VC-1/comment"),
        ("GET", "/rest/api/2/issue/VC-1/transitions"),
        ("POST", "/rest/api/2/issue/VC-1/transitions"),
        ("GET", "/rest/api/2/issue/VC-1/transitions"),
        ("POST", "/rest/api/2/issue/VC-1/transitions"),
    ]
    created = fake.sent()[0].body["fields"]
    assert created["project"] == {"key": "VC"}
    assert created["issuetype"] == {"name": "Task"}
    assert created["summary"] == f"{CLAUSE}: 2 violations, account {ACCOUNT}, {MONTH}"
    assert created["labels"] == ["consent-prior_consent", "voice-compliance", FP]
    assert "***0123/2026-10" in created["description"]
    assert "compliance.policy_violations" in created["description"]
    assert "#!/model/model.voice_compliance.clause_consent__prior_consent" in created["description"]
    assert "5 violations" in fake.sent()[1].body["body"]
    assert fake.sent()[3].body == {"transition": {"id": "31"}}
    assert fake.sent()[5].body == {"transition": {"id": "41"}}
    assert fake.issues["VC-1"]["status"] == "Reopen"
    assert len(fake.issues) == 1
    key = con.execute("select external_key from compliance.tickets where fingerprint = ?", [FP])
    assert key.fetchone() == ("VC-1",)
    assert {row[1] for row in _deliveries(con)} == {"delivered"}
    for request in fake.requests:
        assert not FULL_NUMBER.search(json.dumps(request.body))


@pytest.mark.quick
def test_unreachable_sink_keeps_deliveries_pending_then_delivers_once(
    con: duckdb.DuckDBPyConnection,
) -> None:
    port = _free_port()
    _sync(con, 1, 2, "jira")
    _sync(con, 2, 3, "jira")

    down = deliver_pending(con, _settings("jira", port, project_key="VC"), now=T0)

    # The create failed, so the comment of the same ticket waits behind it.
    assert down.counts() == {"delivered": 0, "failed": 1, "waiting": 1, "other_sink": 0}
    rows = _deliveries(con)
    assert [(event, status, attempts) for event, status, attempts, _ in rows] == [
        ("opened", "pending", 1),
        ("updated", "pending", 0),
    ]
    assert "ConnectionError" in rows[0][3]

    fake = FakeServer()
    httpd = _start(fake, port)
    try:
        up = deliver_pending(con, _settings("jira", port, project_key="VC"), now=T0)
        again = deliver_pending(con, _settings("jira", port, project_key="VC"), now=T0)
    finally:
        httpd.shutdown()
        httpd.server_close()

    assert up.counts() == {"delivered": 2, "failed": 0, "waiting": 0, "other_sink": 0}
    assert again.delivered == 0
    assert fake.calls() == [
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue/VC-1/comment"),
    ]
    assert [(e, s, a, err) for e, s, a, err in _deliveries(con)] == [
        ("opened", "delivered", 2, None),
        ("updated", "delivered", 1, None),
    ]


@pytest.mark.quick
def test_server_errors_are_retried_and_client_errors_are_not(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    _sync(con, 1, 2, "webhook")
    settings = _settings("webhook", fake.port, endpoint="/hooks/tickets")

    fake.fail_next = [503]
    assert deliver_pending(con, settings, now=T0).delivered == 1
    assert len(fake.requests) == 2  # one 503, then the retry

    _sync(con, 2, 4, "webhook")
    fake.fail_next = [400]
    report = deliver_pending(con, settings, now=T0)
    assert report.failed == 1
    assert len(fake.requests) == 3  # a 400 is not retried
    assert "HTTP 400" in _deliveries(con)[-1][3]
    assert _deliveries(con)[-1][1] == "pending"


@pytest.mark.quick
def test_a_throttled_delivery_waits_what_retry_after_asks(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    _sync(con, 1, 2, "webhook")
    settings = _settings("webhook", fake.port, endpoint="/hooks/tickets")
    fake.fail_next, fake.retry_after = [429], "1"

    assert deliver_pending(con, settings, now=T0).delivered == 1
    throttled, retried = fake.requests
    # The backoff alone would wait 0.01 s; the tracker asked for a second.
    assert retried.at - throttled.at >= 0.9


@pytest.mark.quick
def test_one_failing_ticket_does_not_hold_back_the_others(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    sync_tickets(
        con,
        run_id="run-1",
        now=T0,
        validated=[(CLAUSE, MONTH)],
        failing=[
            FailingGroup(CLAUSE, ACCOUNT, MONTH, 2, "critical", "ops", "suite", "exp"),
            FailingGroup(CLAUSE, None, MONTH, 1, "critical", "ops", "suite", "exp"),
        ],
        links=LINKS,
        sink="webhook",
    )
    settings = _settings("webhook", fake.port, endpoint="/hooks/tickets")
    fake.fail_next = [400]

    report = deliver_pending(con, settings, now=T0)

    assert report.counts() == {"delivered": 1, "failed": 1, "waiting": 0, "other_sink": 0}
    assert deliver_pending(con, settings, now=T0).delivered == 1
    assert {row[1] for row in _deliveries(con)} == {"delivered"}


@pytest.mark.quick
def test_an_issue_closed_by_hand_in_jira_takes_the_resolve_and_still_reopens(
    fake: FakeServer, con: duckdb.DuckDBPyConnection
) -> None:
    settings = _jira_with_issue_vc1(con, fake)
    fake.issues["VC-1"]["status"] = "Done"  # someone closed it in Jira

    _sync(con, 2, None, "jira")  # the clause passes: resolve finds no "Done" transition
    resolved = deliver_pending(con, settings, now=T0)
    _sync(con, 3, 2, "jira")  # it fails again
    reopened = deliver_pending(con, settings, now=T0)

    assert (resolved.delivered, resolved.failed) == (1, 0)
    assert (reopened.delivered, reopened.failed) == (1, 0)
    assert fake.issues["VC-1"]["status"] == "Reopen"
    assert {status for _, status, _, _ in _deliveries(con)} == {"delivered"}


def test_a_transition_whose_answer_is_lost_is_delivered_by_its_retry(
    fake: FakeServer, con: duckdb.DuckDBPyConnection
) -> None:
    settings = _jira_with_issue_vc1(con, fake)
    fake.lose_transition_answers = 1  # Jira moves the issue, the answer never arrives

    _sync(con, 2, None, "jira")
    report = deliver_pending(con, settings, now=T0)

    assert (report.delivered, report.failed) == (1, 0)
    assert fake.issues["VC-1"]["status"] == "Done"


def test_a_comment_whose_answer_is_lost_is_posted_once(
    fake: FakeServer, con: duckdb.DuckDBPyConnection
) -> None:
    """Jira stores the comment but its answer is lost: the retry finds the
    run's comment on the issue and posts nothing more."""
    settings = _jira_with_issue_vc1(con, fake)
    fake.lose_comment_answers = 1

    _sync(con, 2, 5, "jira")
    report = deliver_pending(con, settings, now=T0)

    assert (report.delivered, report.failed) == (1, 0)
    assert len(fake.issues["VC-1"]["comments"]) == 1
    assert fake.issues["VC-1"]["comments"][0].startswith("Validation run run-2: 5 violations")


def test_a_comment_lost_in_every_retry_of_a_run_is_not_repeated_by_the_next_run(
    fake: FakeServer, con: duckdb.DuckDBPyConnection
) -> None:
    settings = _jira_with_issue_vc1(con, fake)
    fake.lose_comment_answers = 1  # stored, the answer lost,
    fake.fail_after_lost_comment = [503]  # and the retry's look finds Jira down

    _sync(con, 2, 5, "jira")
    first = deliver_pending(con, settings, now=T0)
    assert (first.delivered, first.failed) == (0, 1)
    _sync(con, 3, 6, "jira")
    second = deliver_pending(con, settings, now=T0)

    assert (second.delivered, second.failed) == (2, 0)
    assert [text.split(":")[0] for text in fake.issues["VC-1"]["comments"]] == [
        "Validation run run-2",
        "Validation run run-3",
    ]
    assert {row[1] for row in _deliveries(con)} == {"delivered"}


@pytest.mark.parametrize("search", ["search/jql", "search"])
def test_a_create_whose_answer_is_lost_makes_one_issue(
    fake: FakeServer, con: duckdb.DuckDBPyConnection, search: str
) -> None:
    """Jira creates the issue but answers after the client gave up: the retry
    finds the issue by its fingerprint label (Jira Cloud's search/jql, or the
    older search of Jira Server) instead of creating a second one."""
    fake.search_paths = (f"/rest/api/2/{search}",)
    fake.create_delay_s = 2.5  # beyond the settings' 2 s timeout
    settings = _settings("jira", fake.port, project_key="VC")
    _sync(con, 1, 2, "jira")

    report = deliver_pending(con, settings, now=T0)

    assert (report.delivered, report.failed) == (1, 0)
    assert list(fake.issues) == ["VC-1"]
    key = con.execute("select external_key from compliance.tickets where fingerprint = ?", [FP])
    assert key.fetchone() == ("VC-1",)


def test_open_tickets_reach_a_sink_configured_after_they_opened(
    fake: FakeServer, con: duckdb.DuckDBPyConnection
) -> None:
    _sync(con, 1, 2, "table")  # no tracker yet
    _sync(con, 2, 2, "jira")  # the same finding, Jira configured now: no ticket event
    settings = _settings("jira", fake.port, project_key="VC")

    report = deliver_pending(con, settings, now=T0)
    _sync(con, 3, 2, "jira")
    again = deliver_pending(con, settings, now=T0)

    assert (report.delivered, report.failed) == (1, 0)
    assert list(fake.issues) == ["VC-1"] and fake.calls() == [("POST", "/rest/api/2/issue")]
    assert again.delivered == 0  # announced once


def test_jira_says_whom_a_ticket_without_an_account_is_about(
    fake: FakeServer, con: duckdb.DuckDBPyConnection
) -> None:
    """Never "all accounts": a clause's subjects no account owns (a registry's
    days, a number in no account's inventory), or a data-quality check."""
    check = "dq.unclassified_calls"
    sync_tickets(
        con,
        run_id="run-1",
        now=T0,
        validated=[(CLAUSE, MONTH), (check, MONTH)],
        failing=[
            FailingGroup(CLAUSE, None, MONTH, 1, "critical", "ops", "suite", "exp"),
            FailingGroup(check, None, MONTH, 1, "high", "data", "dq.suite", "exp"),
        ],
        links=LINKS,
        sink="jira",
    )

    report = deliver_pending(con, _settings("jira", fake.port, project_key="VC"), now=T0)

    assert report.delivered == 2
    firsts = sorted(i["fields"]["description"].splitlines()[0] for i in fake.issues.values())
    assert firsts == [
        f"Clause *{CLAUSE}* failed in {MONTH}: no account (its subject is a number in no"
        " account's inventory).",
        f"Data-quality check *{check}* failed in {MONTH}: whole warehouse (a data-quality check"
        " of the data every clause stands on).",
    ]


def test_jira_without_project_key_records_the_error(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    _sync(con, 1, 2, "jira")

    report = deliver_pending(con, _settings("jira", fake.port), now=T0)

    assert report.failed == 1
    assert "project_key" in _deliveries(con)[0][3]
    assert fake.requests == []


def test_connection_is_read_through_airflow_in_a_plain_process(
    tmp_path: Path, fake: FakeServer
) -> None:
    db = tmp_path / "wh.duckdb"
    with warehouse.connect(db) as con:
        _sync(con, 1, 2, "webhook")
    script = textwrap.dedent(
        """
        import datetime as dt, json, sys
        from voice_compliance import warehouse
        from voice_compliance.tickets import TicketSinkSettings, deliver_pending

        now = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        with warehouse.connect(sys.argv[1]) as con:
            missing = deliver_pending(
                con, TicketSinkSettings.from_env(conn_id="vc_tickets_missing"), now=now
            )
            delivered = deliver_pending(con, TicketSinkSettings.from_env(), now=now)
        print(json.dumps({"missing": missing.counts(), "errors": missing.errors,
                          "delivered": delivered.counts()}))
        """
    )
    connection = {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": fake.port,
        "schema": "http",
        "login": "bot@example.com",
        "password": "api-token-123",
        "extra": {"endpoint": "/hooks/tickets"},
    }
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "plugins"),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_VC_TICKETS": json.dumps(connection),
        "VC_TICKET_SINK": "webhook",
        "VC_TICKET_RETRIES": "0",
    }
    env.pop("VC_TICKET_CONN_ID", None)

    done = subprocess.run(
        [sys.executable, "-c", script, str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # A missing connection is an error recorded on the delivery, not a crash.
    assert result["missing"]["failed"] == 1
    assert "vc_tickets_missing" in result["errors"][0]
    assert result["delivered"]["delivered"] == 1
    assert fake.calls() == [("POST", "/hooks/tickets")]
    token = base64.b64encode(b"bot@example.com:api-token-123").decode()
    assert fake.requests[0].headers["Authorization"] == f"Basic {token}"
    with warehouse.connect(db, read_only=True) as con:
        row = con.execute("select status, attempts from compliance.ticket_deliveries").fetchone()
    assert row == ("delivered", 2)


FORMULA_SID = '=HYPERLINK("http://evil.example/x","sid")'
FORMULA = re.compile(r"(?<!')=HYPERLINK")


def _add_formula_subject(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "insert into compliance.policy_violations values "
        "(?, 'call', ?, ?, timestamp '2026-10-02', 'critical', '{}')",
        [CLAUSE, FORMULA_SID, ACCOUNT],
    )


@pytest.mark.quick
def test_a_formula_call_sid_reaches_the_webhook_neutralised(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    # Arrange: a call sid that a spreadsheet would run as a formula
    _add_formula_subject(con)
    _sync(con, 1, 3, "webhook")
    settings = _settings("webhook", fake.port, endpoint="/hooks/tickets")

    # Act
    report = deliver_pending(con, settings, now=T0)

    # Assert
    assert report.delivered == 1
    body = fake.requests[0].body
    assert body["ticket"]["example_subjects"] == [
        "***0123/2026-10",
        "***0123/2026-10",
        "'" + FORMULA_SID,
    ]
    assert FORMULA.search(json.dumps(body)) is None
    assert not FULL_NUMBER.search(json.dumps(body))


@pytest.mark.quick
def test_a_formula_call_sid_reaches_jira_neutralised(
    con: duckdb.DuckDBPyConnection, fake: FakeServer
) -> None:
    # Arrange
    _add_formula_subject(con)
    settings = _settings("jira", fake.port, project_key="VC")
    _sync(con, 1, 3, "jira")
    deliver_pending(con, settings, now=T0)

    # Act: a later run comments with the examples
    _sync(con, 2, 4, "jira")
    report = deliver_pending(con, settings, now=T0)

    # Assert
    assert report.delivered == 1
    created, comment = fake.sent()[0].body, fake.sent()[1].body
    assert "* '" + FORMULA_SID in created["fields"]["description"]
    assert "'" + FORMULA_SID in comment["body"]
    for request in fake.requests:
        assert FORMULA.search(json.dumps(request.body)) is None
        assert not FULL_NUMBER.search(json.dumps(request.body))


@pytest.mark.quick
@pytest.mark.parametrize("sink", ["jira", "webhook"])
def test_slack_and_ticket_sink_down_for_a_whole_run_then_back_lose_and_repeat_nothing(
    con: duckdb.DuckDBPyConnection,
    fake: FakeServer,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sink: str,
) -> None:
    # Arrange: both receivers answer 500 to every request of the first run
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)  # slack_sdk ignores NO_PROXY
    use_webhook(monkeypatch, receiver.url)
    slack = NotifySettings(
        conn_id="vc_slack",
        outbox=tmp_path / "notifications" / "slack_outbox.jsonl",
        sent_log=tmp_path / "notifications" / "slack_sent.jsonl",
        retries=1,
        backoff_s=0.01,
        timeout_s=2.0,
    )
    extra = {"project_key": "VC"} if sink == "jira" else {"endpoint": "/hooks/tickets"}
    settings = _settings(sink, fake.port, **extra)
    down = True
    receiver.respond = lambda body, n: 500 if down else 200
    fake.fail_next = [500] * 1000
    groups = [
        FailingGroup(CLAUSE, ACCOUNT, MONTH, 2, "critical", "ops", "suite", "exp"),
        FailingGroup(CLAUSE, None, MONTH, 1, "critical", "ops", "suite", "exp"),
    ]
    messages = [(f"failure:vc_ingest:run-1:load_{n}:1", {"text": f"load_{n} failed"}) for n in "ab"]
    messages.append(("run:vc_validate:run-1", {"text": "validation run-1: 2 tickets opened"}))

    # Act 1: a whole run while both are down (tickets synced twice, three Slack messages)
    for run, violations in ((1, (2, 1)), (2, (3, 1))):
        sync_tickets(
            con,
            run_id=f"run-{run}",
            now=T0 + dt.timedelta(days=run),
            validated=[(CLAUSE, MONTH)],
            failing=[
                dataclasses.replace(g, violations=v)
                for g, v in zip(groups, violations, strict=True)
            ],
            links=LINKS,
            sink=sink,
        )
        first = deliver_pending(con, settings, now=T0)
        assert first.delivered == 0 and first.failed >= 1
    results = [notify(message, key=key, settings=slack) for key, message in messages]

    # Assert 1: nothing got through, everything waits
    assert all(r.queued and r.flush.delivered == 0 for r in results)
    assert len(read_entries(slack.outbox)) == 3
    assert [row[1] for row in _deliveries(con)] == ["pending"] * 3
    assert fake.issues == {}

    # Act 2: both are back; the next run delivers what waits
    down = False
    fake.fail_next = []
    slack_seen, sink_seen = len(receiver.bodies), len(fake.sent())
    tickets_back = deliver_pending(con, settings, now=T0)
    slack_back = flush_outbox(slack)

    # Assert 2: every message once, in order
    assert tickets_back.counts() == {"delivered": 3, "failed": 0, "waiting": 0, "other_sink": 0}
    assert (slack_back.delivered, slack_back.pending, slack_back.reason) == (3, 0, "ok")
    assert [b["text"] for b in receiver.bodies[slack_seen:]] == [m["text"] for _, m in messages]
    delivered = [(r.method, r.path) for r in fake.sent()[sink_seen:]]
    if sink == "jira":
        # The comment (run 2's new count) goes to the account's issue, after it exists.
        key = con.execute("select external_key from compliance.tickets where fingerprint = ?", [FP])
        (issue,) = key.fetchone() or (None,)
        assert delivered == [
            ("POST", "/rest/api/2/issue"),
            ("POST", "/rest/api/2/issue"),
            ("POST", f"/rest/api/2/issue/{issue}/comment"),
        ]
        assert len(fake.issues) == 2
    else:
        assert delivered == [("POST", "/hooks/tickets")] * 3
        events = [r.body["event"] for r in fake.sent()[sink_seen:]]
        assert events == ["opened", "opened", "updated"]
    assert [row[1] for row in _deliveries(con)] == ["delivered"] * 3

    # Act 3: one more run, and an Airflow retry that notifies the same keys again
    seen_after = len(receiver.bodies), len(fake.requests)
    tickets_again = deliver_pending(con, settings, now=T0)
    retried = [notify(message, key=key, settings=slack) for key, message in messages]
    slack_again = flush_outbox(slack)

    # Assert 3: nothing new is sent
    assert tickets_again.delivered == 0 and slack_again.delivered == 0
    assert all(r.duplicate for r in retried)
    assert (len(receiver.bodies), len(fake.requests)) == seen_after
    assert read_entries(slack.outbox) == []
    assert sorted(e["key"] for e in read_entries(slack.sent_log)) == sorted(k for k, _ in messages)
