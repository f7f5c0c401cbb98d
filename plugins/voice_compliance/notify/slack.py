"""Delivery of Slack messages through the outbox and an incoming webhook.

``notify`` masks a message, appends it to the outbox (once per ``key``) and
flushes. ``flush_outbox`` posts what is pending through the Airflow
connection ``VC_SLACK_CONN_ID`` (type ``slackwebhook``); without that
connection the messages simply stay in the outbox, which is how the embedded
default shows them. Neither function ever raises: a Slack outage must not
fail a data task, so problems are logged and reported in the result.

Each outbox entry may name its own destination (``conn_id``: an owner's
channel, decision 0016); entries without one go to ``settings.conn_id``.
A destination whose connection is missing or down keeps its messages
pending without holding back the other destinations.

The connection is resolved by the Slack provider's ``SlackWebhookHook`` (the
password holds the whole webhook URL, or the token with the host as base),
and posted with the hook's ``slack_sdk`` client, which accepts plain
``http://`` URLs (local test receivers). The client's own retries are
switched off: retries and backoff are ours (``voice_compliance.retry``, which
honours Slack's ``Retry-After`` on 429), so they are counted and bounded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voice_compliance.config import DEFAULT_SLACK_CONN_ID, Settings, SlackSettings
from voice_compliance.masking import mask_text
from voice_compliance.notify import outbox
from voice_compliance.retry import backoff, is_transient_status, retrying, transient_http_error
from voice_compliance.sanitize import outbound, outbound_text

if TYPE_CHECKING:
    from slack_sdk import WebhookClient

log = logging.getLogger(__name__)

# slack_sdk logs the webhook URL (a secret) at debug level and one error per
# failed attempt; we log one masked warning per message instead.
_sdk_log = logging.getLogger(f"{__name__}.sdk")
_sdk_log.setLevel(logging.CRITICAL)

DEFAULT_CONN_ID = DEFAULT_SLACK_CONN_ID
"""The Airflow connection id used when ``VC_SLACK_CONN_ID`` is not set."""

OK = "ok"
NO_CONNECTION = "no_connection"
DELIVERY_FAILED = "delivery_failed"
ERROR = "error"


@dataclass(frozen=True)
class NotifySettings:
    """Where messages wait and how hard delivery tries.

    ``retries`` counts the extra attempts per message and flush after the
    first one; the wait before retry ``i`` (from 0) is ``backoff_s * 2**i``.
    """

    conn_id: str
    outbox: Path
    sent_log: Path
    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, slack: SlackSettings, data_dir: Path) -> NotifySettings:
        """From the ``slack`` section of ``Settings`` (the ``VC_SLACK_*`` variables);
        the outbox and sent log default to files under ``data_dir/notifications``."""
        folder = data_dir / "notifications"
        return cls(
            conn_id=slack.conn_id or DEFAULT_CONN_ID,
            outbox=slack.outbox or folder / "slack_outbox.jsonl",
            sent_log=slack.sent_log or folder / "slack_sent.jsonl",
            retries=slack.retries,
            backoff_s=slack.backoff_s,
            timeout_s=slack.timeout_s,
        )

    @classmethod
    def from_env(cls, data_dir: Path) -> NotifySettings:
        """``from_settings`` with the ``slack`` section read from the environment."""
        return cls.from_settings(Settings.section_from_env("slack"), data_dir)


@dataclass(frozen=True)
class FlushResult:
    """What one flush did.

    ``reason`` is ``ok`` (nothing left pending), ``no_connection`` (the
    Slack connection is not defined: messages stay in the outbox),
    ``delivery_failed`` (some messages could not be posted) or ``error``
    (the outbox could not be read or written; ``error`` says why).
    """

    delivered: int
    pending: int
    reason: str
    failed: int = 0
    error: str | None = None


@dataclass(frozen=True)
class NotifyResult:
    """What one ``notify`` call did: whether it queued the message, and the flush."""

    key: str
    queued: bool
    flush: FlushResult

    @property
    def duplicate(self) -> bool:
        """True when the key was already in the outbox or the sent log."""
        return not self.queued and self.flush.reason != ERROR


class _Permanent(Exception):
    """Slack refused this message (4xx): retrying the same body cannot help."""


def _now() -> str:
    # Whole seconds: fractional ones would be mangled by phone masking.
    return datetime.now(UTC).isoformat(timespec="seconds")


def _safe_error(exc: BaseException) -> str:
    return mask_text(f"{type(exc).__name__}: {exc}")[:500]


def notify(
    message: Mapping[str, Any],
    *,
    key: str,
    settings: NotifySettings,
    conn_id: str | None = None,
) -> NotifyResult:
    """Queue ``message`` in the outbox under ``key`` (once), then flush the outbox.

    ``conn_id`` sends it through another Slack connection than
    ``settings.conn_id`` (an owner's channel); the key must then name the
    destination too, since keys are unique across the outbox.

    The message is masked and formula-neutralised as it is written (and again
    as it is posted). A key already present in the outbox or the sent log adds
    nothing, so an Airflow retry of the same run never sends twice. Never raises.
    """
    # The key as the outbox stores it, so the duplicate check compares like with like.
    safe_key = outbound_text(key)
    try:
        with outbox.locked(settings.outbox):
            known = outbox.read_keys(settings.outbox) | outbox.read_keys(settings.sent_log)
            queued = safe_key not in known
            if queued:
                entry = {
                    "key": safe_key,
                    "created_at": _now(),
                    "attempts": 0,
                    "last_error": None,
                    "payload": dict(message),
                }
                if conn_id and conn_id != settings.conn_id:
                    entry["conn_id"] = conn_id
                outbox.append_entries(settings.outbox, [entry])
    except Exception as exc:  # a full disk must not fail the calling task
        error = _safe_error(exc)
        log.warning("Could not queue Slack message %s in %s: %s", safe_key, settings.outbox, error)
        return NotifyResult(safe_key, False, FlushResult(0, 0, ERROR, error=error))
    if not queued:
        log.info("Slack message %s already queued or sent; not adding it again", safe_key)
    return NotifyResult(safe_key, queued, flush_outbox(settings))


def destination(entry: Mapping[str, Any], settings: NotifySettings) -> str:
    """The Slack connection id an outbox entry goes to (its own, else the default)."""
    return str(entry.get("conn_id") or settings.conn_id)


def _client(settings: NotifySettings, conn_id: str | None = None) -> WebhookClient | None:
    """The hook's webhook client, or ``None`` when the connection is not defined."""
    conn_id = conn_id or settings.conn_id
    # Imported here: Airflow takes seconds to import and the payload
    # builders must stay usable (and testable) without it.
    from airflow.providers.common.compat.sdk import AirflowNotFoundException
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    hook = SlackWebhookHook(
        slack_webhook_conn_id=conn_id,
        timeout=max(1, math.ceil(settings.timeout_s)),
        retry_handlers=[],
        logger=_sdk_log,
    )
    try:
        hook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None  # the embedded default: no traceback, the caller says what it means
    try:
        return hook.client
    except AirflowNotFoundException as exc:
        # Defined but unusable (no password): same outcome, but worth a warning.
        log.warning("Slack connection %r is not usable: %s", conn_id, exc)
        return None


def _post(client: WebhookClient, payload: Mapping[str, Any]) -> None:
    """Post once; raise ``_Permanent`` for a refusal, anything else for a transient failure.

    The one place a message leaves for Slack: the payload is made outbound
    (masked, formulas neutralised) here, whoever built or queued it.
    """
    response = client.send_dict(outbound(dict(payload)))
    if response.status_code == 200:
        return
    detail = f"HTTP {response.status_code}: {str(response.body)[:200]}"
    if is_transient_status(response.status_code):
        raise transient_http_error(response.status_code, response.headers, detail)
    raise _Permanent(detail)


def _deliver(client: WebhookClient, payload: Mapping[str, Any], settings: NotifySettings) -> None:
    """Post with retries and exponential backoff; raise the last error if all fail.

    A refusal (``_Permanent``) is not retried; a 429 or 503 waits what its
    ``Retry-After`` says.
    """
    retry = retrying(
        retry_on=lambda exc: isinstance(exc, Exception) and not isinstance(exc, _Permanent),
        attempts=settings.retries + 1,
        wait=backoff(settings.backoff_s),
    )
    retry(_post, client, payload)


def flush_outbox(settings: NotifySettings) -> FlushResult:
    """Post every pending outbox message; never raises.

    Delivered messages move to the sent log as soon as they are posted. A
    message Slack refuses (4xx) stays with ``attempts + 1`` and its error,
    and the flush goes on. A message that still fails after the retries
    (network, 429, 5xx) stays likewise and ends the flush for its
    destination: that webhook is likely down, and the messages behind it keep
    their place for the next flush; other destinations go on.
    """
    try:
        return _flush(settings)
    except Exception as exc:
        error = _safe_error(exc)
        log.warning("Slack outbox flush failed (%s); messages stay in %s", error, settings.outbox)
        return FlushResult(0, _pending_count(settings), ERROR, error=error)


def _pending_count(settings: NotifySettings) -> int:
    """Best effort: the outbox may be the very thing that cannot be read."""
    try:
        return len(outbox.read_entries(settings.outbox))
    except Exception:
        return 0


def _flush(settings: NotifySettings) -> FlushResult:
    with outbox.locked(settings.outbox):
        sent_keys = outbox.read_keys(settings.sent_log)
        # Entries already in the sent log were posted by a flush that died
        # before rewriting the outbox: drop them rather than post them twice.
        entries = outbox.read_entries(settings.outbox)
        pending = [e for e in entries if e["key"] not in sent_keys]
        if len(pending) != len(entries):
            outbox.rewrite(settings.outbox, pending)
        if not pending:
            return FlushResult(0, 0, OK)
        clients: dict[str, WebhookClient | None] = {}
        down: set[str] = set()  # destinations that failed transiently in this flush
        delivered, failed, unconnected = 0, 0, 0
        remaining: list[outbox.Entry] = []
        for entry in pending:
            conn_id = destination(entry, settings)
            if conn_id not in clients:
                clients[conn_id] = _client(settings, conn_id)
                if clients[conn_id] is None:
                    log.info(
                        "No Slack connection %r: its messages wait in %s", conn_id, settings.outbox
                    )
            client = clients[conn_id]
            if client is None or conn_id in down:
                unconnected += client is None
                remaining.append(entry)
                continue
            attempts = int(entry.get("attempts") or 0) + 1
            try:
                _deliver(client, entry["payload"], settings)
            except Exception as exc:
                failed += 1
                error = _safe_error(exc)
                log.warning(
                    "Slack message %s not delivered (attempt %d): %s", entry["key"], attempts, error
                )
                remaining.append({**entry, "attempts": attempts, "last_error": error})
                if not isinstance(exc, _Permanent):
                    down.add(conn_id)
                continue
            outbox.append_entries(
                settings.sent_log,
                [{**entry, "attempts": attempts, "last_error": None, "sent_at": _now()}],
            )
            delivered += 1
        outbox.rewrite(settings.outbox, remaining)
    if delivered:
        log.info("Delivered %d Slack message(s); %d pending", delivered, len(remaining))
    if failed:
        reason = DELIVERY_FAILED
    elif unconnected:
        reason = NO_CONNECTION
    else:
        reason = OK
    return FlushResult(delivered, len(remaining), reason, failed)
