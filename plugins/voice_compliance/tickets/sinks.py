"""HTTP sinks: deliver the ticket outbox to a webhook or to Jira.

``sync_tickets`` queues one ``compliance.ticket_deliveries`` row per event;
:func:`deliver_pending` sends them in creation order. A failed delivery
stays pending (attempts + 1, masked error) and holds back the later events
of the same ticket, so a tracker never sees a comment before its issue; the
other tickets go on. Delivery errors are recorded, never raised: the next
run retries them and no ticket is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import duckdb
import requests

from voice_compliance.masking import mask_text
from voice_compliance.retry import (
    TransientError,
    backoff,
    is_transient_status,
    parse_retry_after,
    retrying,
)
from voice_compliance.sanitize import outbound
from voice_compliance.tickets import deliveries, store
from voice_compliance.tickets.settings import (
    SinkConfigError,
    SinkConnection,
    TicketSinkSettings,
    resolve_connection,
)
from voice_compliance.utc import as_utc

log = logging.getLogger(__name__)

# Beyond is_transient_status (429 and 5xx): request timeout, too early.
_RETRYABLE_STATUS = frozenset({408, 425})
_ERROR_BODY_CHARS = 300
# How many of an issue's newest comments a retried comment looks through for
# its run's (Jira's default page; older comments are older runs').
_COMMENTS_LOOKED_AT = 50
_T = TypeVar("_T")


class DeliveryError(Exception):
    """One delivery failed (after its retries); the message is safe to store once masked."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status of a client error, when it was one."""


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` call did."""

    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    other_sink: int = 0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Delivered, failed, waiting (held behind a failure) and other-sink rows."""
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "waiting": self.waiting,
            "other_sink": self.other_sink,
        }


class _Sender(Protocol):
    def send(self, con: duckdb.DuckDBPyConnection, delivery: dict[str, Any], now: datetime) -> None:
        """Deliver one outbox row or raise DeliveryError / SinkConfigError."""


class _Http:
    """Requests with a timeout and retries on transient failures."""

    def __init__(self, connection: SinkConnection, settings: TicketSinkSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def request(
        self, method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None
    ) -> requests.Response:
        """Send ``body`` (made outbound: masked, formulas neutralised) with retries.

        A network error, 408, 425, 429 or 5xx is retried with exponential
        backoff (a ``Retry-After`` wins, :mod:`voice_compliance.retry`); any
        other 4xx fails at once.

        Every ticket a tracker receives leaves through here, so this is where
        its text is made safe, whichever sender built it.
        """
        return self.retried(lambda: self.once(method, path, body, params=params))

    def retried(self, call: Callable[[], _T]) -> _T:
        """``call`` retried on :class:`TransientError` as ``request`` is."""
        retry = retrying(
            retry_on=TransientError,
            attempts=self.settings.retries + 1,
            wait=backoff(self.settings.backoff_s),
        )
        try:
            return retry(call)
        except TransientError as exc:
            raise DeliveryError(exc.reason) from exc

    def once(
        self, method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None
    ) -> requests.Response:
        """One attempt: a response below 400, else :class:`TransientError` (worth
        retrying) or :class:`DeliveryError` (a client error that will not heal)."""
        url = self.connection.url(path)
        headers = {"Accept": "application/json", **self.connection.headers}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=outbound(body),
                headers=headers,
                auth=self.connection.auth,
                timeout=self.settings.timeout_s,
            )
        except requests.RequestException as exc:
            raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code < 400:
            return response
        status = response.status_code
        error = f"{method} {url}: HTTP {status} {response.text[:_ERROR_BODY_CHARS]}"
        if is_transient_status(status) or status in _RETRYABLE_STATUS:
            raise TransientError(error, parse_retry_after(response.headers.get("Retry-After")))
        # Other client errors (bad project key, no permission) will not heal by retrying.
        raise DeliveryError(error, status)


class _WebhookSender:
    """POST ``{"event", "ticket", "run_id"}`` to the connection's URL + ``extra.endpoint``."""

    def __init__(self, http: _Http) -> None:
        self.http = http

    def send(self, con: duckdb.DuckDBPyConnection, delivery: dict[str, Any], now: datetime) -> None:
        endpoint = str(self.http.connection.extra.get("endpoint") or "")
        self.http.request("POST", endpoint, delivery["payload"])


class _JiraSender:
    """Jira REST v2: create on ``opened``, comment on ``updated``, transitions on
    ``resolved`` / ``reopened``. The issue key is kept in ``tickets.external_key``."""

    def __init__(self, http: _Http, settings: TicketSinkSettings | None = None) -> None:
        self.http = http
        self.settings = settings or TicketSinkSettings(sink="jira")
        extra = http.connection.extra
        # A Jira Server under a context path (https://host/jira) puts it in extra.endpoint.
        self.prefix = str(extra.get("endpoint") or "").rstrip("/")
        self.project_key = extra.get("project_key")
        self.issue_type = str(extra.get("issue_type") or "Task")
        self.resolve_transition = str(extra.get("resolve_transition") or "Done")
        self.reopen_transition = str(extra.get("reopen_transition") or "Reopen")
        # Jira Server/Data Center names users ("name"); Jira Cloud wants "accountId".
        self.assignee_field = str(extra.get("assignee_field") or "name")
        # Jira Cloud's search first, then Server's; one that answers 404 is not
        # asked again by this sender.
        self.searches = ["search/jql", "search"]

    def _path(self, path: str) -> str:
        return f"{self.prefix}/rest/api/2/{path}"

    def send(self, con: duckdb.DuckDBPyConnection, delivery: dict[str, Any], now: datetime) -> None:
        event = delivery["event"]
        ticket = delivery["payload"]["ticket"]
        fingerprint = delivery["fingerprint"]
        key = store.external_key(con, fingerprint)
        if key is None:
            # Outbox order puts a ticket's pending create first and holds its
            # later events while it fails; reaching here without a key means the
            # ticket was opened before Jira was configured, so create it now
            # (with the current counts) rather than lose it.
            key = self._create(ticket, fingerprint)
            store.set_external_key(con, fingerprint, key, now)
            if event in ("opened", "updated", "reopened"):
                return
        if event == "opened":
            return  # already created (a retry after the key was stored)
        if event == "updated":
            self._comment(key, delivery)
        elif event == "resolved":
            self._transition(key, self.resolve_transition, done=True)
        elif event == "reopened":
            self._transition(key, self.reopen_transition, done=False)
        else:
            raise DeliveryError(f"unknown ticket event {event!r}")

    def _create(self, ticket: dict[str, Any], fingerprint: str) -> str:
        """Create the ticket's issue, labelled with its fingerprint, exactly once.

        A create is not idempotent: when its answer is lost (a timeout after
        Jira created the issue), posting again would make a second issue
        that nothing ever resolves. So every attempt first looks the
        fingerprint's label up and adopts an issue it finds.
        """
        if not self.project_key:
            raise SinkConfigError("the Jira connection needs extra.project_key")
        labels = [str(ticket["clause_id"]).replace(".", "-"), "voice-compliance", fingerprint]
        fields = {
            "project": {"key": str(self.project_key)},
            "summary": ticket["title"],
            "description": _description(ticket),
            "issuetype": {"name": self.issue_type},
            "labels": labels,
        }
        # The clause's owner routes the issue (policy.yml routing, decision 0016).
        route = self.settings.route(ticket.get("owner"))
        if route.jira_assignee:
            fields["assignee"] = {self.assignee_field: route.jira_assignee}
        if route.jira_component:
            fields["components"] = [{"name": route.jira_component}]

        def attempt() -> str:
            found = self._find(fingerprint)
            if found is not None:
                log.info("Jira issue %s already holds ticket %s", found, fingerprint)
                return found
            response = self.http.once("POST", self._path("issue"), {"fields": fields})
            try:
                return str(response.json()["key"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DeliveryError(
                    f"Jira create returned no issue key: {response.text[:200]}"
                ) from exc

        return self.http.retried(attempt)

    def _comment(self, key: str, delivery: dict[str, Any]) -> None:
        """Post the run's comment on ``key`` once.

        A comment, like a create, is not idempotent: when its answer is lost
        (a timeout after Jira stored it), posting again would repeat it on
        the issue. So an attempt after one that failed (in this run or an
        earlier one) first reads the issue's newest comments and posts
        nothing when the run's comment is among them. The run id in the
        comment's first words tells it apart (one ``updated`` event per
        ticket and run).
        """
        path = self._path(f"issue/{key}/comment")
        body = _comment(delivery)
        marker = str(outbound(_comment_marker(delivery)))
        tried = [int(delivery.get("attempts") or 0) > 0]

        def attempt() -> None:
            if tried[0] and self._has_comment(path, marker):
                log.info("Jira issue %s holds this run's comment already", key)
                return
            tried[0] = True
            self.http.once("POST", path, {"body": body})

        self.http.retried(attempt)

    def _has_comment(self, path: str, marker: str) -> bool:
        """Whether one of the issue's newest comments starts with ``marker``."""
        params = {"orderBy": "-created", "maxResults": str(_COMMENTS_LOOKED_AT)}
        answer = self.http.once("GET", path, params=params).json() or {}
        return any(
            str(comment.get("body") or "").startswith(marker)
            for comment in answer.get("comments") or []
        )

    def _find(self, fingerprint: str) -> str | None:
        """The issue labelled ``fingerprint``: Jira Cloud's ``search/jql``, else (404,
        Jira Server and Data Center) ``search``; ``None`` when there is none or
        neither search exists."""
        params = {"jql": f'labels = "{fingerprint}"', "fields": "key", "maxResults": "1"}
        for path in list(self.searches):
            try:
                response = self.http.once("GET", self._path(path), params=params)
            except DeliveryError as exc:
                if exc.status in (404, 405):
                    self.searches.remove(path)
                    continue
                raise
            issues = (response.json() or {}).get("issues") or []
            if issues:
                first = issues[0]
                return str(first.get("key") or first.get("id"))
            return None
        return None

    def _transition(self, key: str, name: str, *, done: bool) -> None:
        """Move the issue with the transition ``name``; when it has none, an issue
        already where the event would take it (closed or reopened by hand in
        Jira) counts as delivered rather than blocking its ticket for ever."""
        path = self._path(f"issue/{key}/transitions")
        available = self.http.request("GET", path).json().get("transitions", [])
        for transition in available:
            if transition.get("name") == name:
                try:
                    self.http.request("POST", path, {"transition": {"id": str(transition["id"])}})
                    return
                except DeliveryError as exc:
                    # A retry after a lost answer finds the issue moved already.
                    if exc.status != 400:
                        raise
                break
        issue = self.http.request("GET", self._path(f"issue/{key}"), params={"fields": "status"})
        status = ((issue.json() or {}).get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        if category is not None and (category == "done") == done:
            log.info("Jira issue %s is %s already: nothing to move", key, status.get("name"))
            return
        names = sorted(str(t.get("name")) for t in available)
        raise DeliveryError(f"Jira issue {key} has no transition {name!r} now (has {names})")


def _description(ticket: dict[str, Any]) -> str:
    """Jira wiki-markup body: counts, examples, the evidence query, links.

    The ticket's values are outbound already (``store.public_ticket``), and
    the request makes the whole body outbound again as it leaves.
    """
    clause_id = str(ticket["clause_id"])
    what = "Data-quality check" if store.is_data_quality(clause_id) else "Clause"
    scope = store.ticket_scope(clause_id, ticket.get("account_sid"))
    examples = ticket.get("example_subjects") or []
    lines = [
        f"{what} *{clause_id}* failed in {ticket['month']}: {scope}.",
        "",
        f"*Violations:* {ticket['violation_count']}",
        f"*Severity:* {ticket.get('severity')}  *Owner:* {ticket.get('owner')}",
        f"*Failed check:* {ticket.get('suite')} / {ticket.get('expectation')}",
        f"*Fingerprint:* {ticket['fingerprint']}",
        "",
        "*Example subjects (masked):*",
        *([f"* {subject}" for subject in examples] or ["(none)"]),
        "",
        "*Evidence query:*",
        "{code:sql}",
        str(ticket.get("evidence_query") or ""),
        "{code}",
        "",
        f"*dbt docs:* {ticket.get('dbt_docs_url') or '-'}",
        f"*Data Docs:* {ticket.get('data_docs_url') or '-'}",
        f"*Monthly report:* {ticket.get('report_url') or '-'}",
    ]
    return "\n".join(lines)


def _comment_marker(delivery: dict[str, Any]) -> str:
    """The first words of a run's comment: they name the run."""
    return f"Validation run {delivery['run_id']}:"


def _comment(delivery: dict[str, Any]) -> str:
    ticket = delivery["payload"]["ticket"]
    examples = ", ".join(ticket.get("example_subjects") or []) or "(none)"
    return (
        f"{_comment_marker(delivery)} {ticket['violation_count']} violations now "
        f"(last seen {ticket.get('last_seen_at')}). Examples: {examples}"
    )


def deliver_pending(
    con: duckdb.DuckDBPyConnection, settings: TicketSinkSettings, *, now: datetime
) -> DeliveryReport:
    """Send the configured sink's pending deliveries, oldest first; never raises for
    delivery errors.

    Each row is committed as it goes, so a crash keeps what was delivered.
    Rows queued for another sink than the configured one are left pending and
    counted in ``other_sink``. With the ``table`` sink nothing is sent.
    """
    now = as_utc(now)
    report = DeliveryReport()
    store.ensure_ticket_tables(con)
    pending = deliveries.pending_deliveries(con)
    ours = [row for row in pending if row["sink"] == settings.sink]
    report.other_sink = len(pending) - len(ours)
    if settings.sink == "table" or not ours:
        return report

    try:
        connection = settings.connection or resolve_connection(settings.conn_id)
    except SinkConfigError as exc:
        message = mask_text(str(exc))
        for row in ours:
            deliveries.mark_failed(con, row["delivery_id"], message)
        report.failed = len(ours)
        report.errors.append(message)
        log.warning("ticket sink %s not delivered: %s", settings.sink, message)
        return report

    http = _Http(connection, settings)
    sender: _Sender = (
        _JiraSender(http, settings) if settings.sink == "jira" else _WebhookSender(http)
    )
    held: set[str] = set()
    try:
        for row in ours:
            if row["fingerprint"] in held:
                report.waiting += 1
                continue
            try:
                sender.send(con, row, now)
            except Exception as exc:
                # Any failure (HTTP, configuration, an odd response) is this
                # delivery's error: recorded, retried next run, never raised.
                message = mask_text(str(exc) or type(exc).__name__)
                deliveries.mark_failed(con, row["delivery_id"], message)
                held.add(row["fingerprint"])
                report.failed += 1
                report.errors.append(f"{row['fingerprint']} {row['event']}: {message}")
                log.warning(
                    "ticket %s %s not delivered: %s", row["fingerprint"], row["event"], message
                )
            else:
                deliveries.mark_delivered(con, row["delivery_id"], now)
                report.delivered += 1
    finally:
        http.close()
    return report
