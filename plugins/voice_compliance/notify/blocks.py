"""Slack Block Kit payloads: one message per validation run, one per failed task.

Payloads are plain dicts (``{"text": fallback, "blocks": [...]}``) that an
incoming webhook accepts as they are. They stay within Slack's limits by
construction (at most 50 blocks, 3000 characters per text, 150 per header)
and end long lists with "… and n more" rather than letting Slack reject the
whole message.

Every value taken from the run (ids, severities, data-quality lines, the
exception) goes into a text through ``text_value``: masked, neutralised
against spreadsheet formulas (``voice_compliance.sanitize``) and escaped for
mrkdwn. The whole payload is made outbound once more where it leaves
(the outbox file, the webhook post), whoever built it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from voice_compliance.display import counted
from voice_compliance.notify.report import ClauseLine, RunReport
from voice_compliance.sanitize import outbound_text
from voice_compliance.utc import as_utc

MAX_BLOCKS = 50
"""Slack's limit on blocks per message."""
MAX_TEXT = 3000
"""Slack's limit on a section's or a context element's text."""
MAX_HEADER = 150
"""Slack's limit on a header block's text."""
MAX_BUTTON_TEXT = 75
"""Slack's limit on a button's label."""
MAX_URL = 3000
"""Slack's limit on a button's URL."""
MAX_FIELD = 2000
"""Slack's limit on one field of a section."""
MAX_FALLBACK = 3000
"""Our cap on the top-level ``text``: it is only the notification preview."""

_CLAUSE_SECTIONS = 20
_DATA_QUALITY_SECTIONS = 10
_QUARANTINE_SECTIONS = 3
# Room kept free in each packed section for the "… and n more" and footer lines.
_RESERVE = 120
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")

SEVERITY_EMOJI: dict[str, str] = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":large_blue_circle:",
}
"""Emoji per policy severity (``policy.SEVERITIES``); unknown ones get a white circle."""
_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITY_EMOJI)}


def escape(text: str) -> str:
    """``text`` with the three characters Slack's mrkdwn reserves escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_value(value: str) -> str:
    """A value as it may appear in a message: outbound (masked, formula
    neutralised), then mrkdwn-escaped."""
    return escape(outbound_text(value))


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with "…" when cut.

    A cut through an escaped entity (``&am``) would show as garbage, so the
    partial entity goes too.
    """
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def is_web_url(url: str) -> bool:
    """True for ``http(s)://`` URLs, the only ones Slack accepts on a button."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(url) <= MAX_URL


def _when(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER), "emoji": True},
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}}


def _context(texts: Sequence[str]) -> dict[str, Any]:
    # Slack allows ten elements in a context block.
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, MAX_TEXT)} for t in texts[:10]],
    }


def pack_lines(
    lines: Sequence[str],
    *,
    title: str = "",
    footer: str = "",
    max_sections: int,
    limit: int = MAX_TEXT,
) -> list[dict[str, Any]]:
    """Section blocks holding ``lines``, each section's text within ``limit``.

    ``title`` starts the first section and ``footer`` ends the last. Lines
    that do not fit in ``max_sections`` sections are replaced by a final
    "… and n more" line; a single overlong line is clipped.
    """
    budget = limit - _RESERVE
    chunks: list[list[str]] = [[title] if title else []]
    size = len(title)
    shown = 0
    for line in lines:
        line = clip(line, budget)
        if chunks[-1] and size + 1 + len(line) > budget:
            if len(chunks) == max_sections:
                break
            chunks.append([])
            size = -1
        chunks[-1].append(line)
        size += 1 + len(line)
        shown += 1
    if shown < len(lines):
        chunks[-1].append(f"… and {len(lines) - shown:,} more")
    if footer:
        chunks[-1].append(clip(footer, _RESERVE // 2))
    return [_section("\n".join(chunk)) for chunk in chunks if chunk]


def _link_blocks(links: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Buttons for web links; non-web links (``file://`` in the embedded
    default) as plain text, since Slack rejects a message whose button URL
    is not http(s)."""
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON_TEXT), "emoji": True},
            "url": url,
            "action_id": action_id,
        }
        for label, url, action_id in links
        if url and is_web_url(url)
    ]
    texts = [
        f"*{text_value(label)}:* `{text_value(url)}`"
        for label, url, _ in links
        if url and not is_web_url(url)
    ]
    blocks: list[dict[str, Any]] = []
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    if texts:
        blocks.append(_context(texts))
    return blocks


def _clause_line(line: ClauseLine) -> str:
    emoji = SEVERITY_EMOJI.get(line.severity.lower(), ":white_circle:")
    parts = [
        f"{emoji} `{text_value(line.clause_id)}` _{text_value(line.severity)}_: "
        f"*{counted(line.violations, 'violation')}* of {line.subjects_checked:,} checked"
    ]
    if line.failed_expectations:
        parts.append(counted(line.failed_expectations, "failed expectation"))
    parts.append(f"{line.tickets_open:,} open {'ticket' if line.tickets_open == 1 else 'tickets'}")
    return " · ".join(parts)


def _headline(report: RunReport) -> tuple[str, str]:
    """The header's emoji and text: violations first, then failed checks, else all clear."""
    violations = report.total_violations
    failed_checks = sum(c.failed_expectations for c in report.clauses) + len(
        report.data_quality_failures
    )
    if violations:
        text = f"{report.title}: {counted(violations, 'violation')} in {report.period}"
        return ":rotating_light:", text
    if failed_checks:
        text = (
            f"{report.title}: no violations, {counted(failed_checks, 'failed check')}"
            f" in {report.period}"
        )
        return ":warning:", text
    if report.quarantined_records:
        text = (
            f"{report.title}: no violations, {counted(report.quarantined_records, 'record')}"
            f" quarantined, in {report.period}"
        )
        return ":warning:", text
    return ":white_check_mark:", f"{report.title}: all clear in {report.period}"


def build_run_message(report: RunReport) -> dict[str, Any]:
    """The Block Kit message for one validation run: ``{"text", "blocks"}``.

    Header with the total, the failing clauses (most severe first) and how
    many passed, ticket counts, data-quality failures if any, links to the
    Data Docs and dbt docs, and the run id.
    """
    emoji, headline = _headline(report)
    failing = sorted(
        (c for c in report.clauses if c.failing),
        key=lambda c: (_SEVERITY_RANK.get(c.severity.lower(), 99), -c.violations, c.clause_id),
    )
    passed = len(report.clauses) - len(failing)
    blocks: list[dict[str, Any]] = [_header(f"{emoji} {headline}")]
    blocks += pack_lines(
        [_clause_line(c) for c in failing],
        title="*Clauses with findings*" if failing else "*No clause has findings*",
        footer=f":white_check_mark: {counted(passed, 'clause')} passed",
        max_sections=_CLAUSE_SECTIONS,
    )
    blocks.append({"type": "divider"})
    ticket_counts = (
        ("Opened", report.tickets_opened),
        ("Reopened", report.tickets_reopened),
        ("Updated", report.tickets_updated),
        ("Resolved", report.tickets_resolved),
        ("Open in total", report.tickets_open_total),
    )
    blocks.append(
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*:ticket: Tickets*"},
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v:,}"} for k, v in ticket_counts],
        }
    )
    if report.data_quality_failures:
        blocks += pack_lines(
            [f"• {text_value(f)}" for f in report.data_quality_failures],
            title=f"*:warning: Data quality: {len(report.data_quality_failures):,} failed*",
            max_sections=_DATA_QUALITY_SECTIONS,
        )
    if report.quarantined:
        blocks += pack_lines(
            [f"• {text_value(line)}" for line in report.quarantined],
            title=(
                f"*:inbox_tray: Not loaded since the last run:"
                f" {counted(report.quarantined_records, 'record')} quarantined*"
                " (in `compliance.quarantine`; no clause checks them)"
            ),
            max_sections=_QUARANTINE_SECTIONS,
        )
    blocks += _link_blocks(
        [
            ("Data Docs", report.data_docs_url, "vc_data_docs"),
            ("dbt docs", report.dbt_docs_url, "vc_dbt_docs"),
            ("Tickets", report.tickets_location, "vc_tickets"),
            (
                f"Monthly report {report.report_month}".rstrip(),
                report.report_url,
                "vc_report",
            ),
        ]
    )
    blocks.append(
        _context(
            [
                f"Run `{text_value(report.run_id)}` · DAG `{text_value(report.dag_id)}`"
                f" · validated {_when(report.validated_at)}"
            ]
        )
    )
    fallback = (
        f"{headline}. Tickets: {report.tickets_opened:,} opened,"
        f" {report.tickets_reopened:,} reopened, {report.tickets_updated:,} updated,"
        f" {report.tickets_resolved:,} resolved, {report.tickets_open_total:,} open."
        + (
            f" {counted(report.quarantined_records, 'record')} quarantined."
            if report.quarantined_records
            else ""
        )
        + f" Run {report.run_id}."
    )
    return {"text": clip(escape(fallback), MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}


def build_failure_message(
    dag_id: str,
    task_id: str,
    run_id: str,
    try_number: int | None,
    exception: str,
    log_url: str | None,
) -> dict[str, Any]:
    """The Block Kit message for a task that failed for good (retries spent).

    The exception text is clipped to fit one section; the log link is a
    button when it is a web URL, plain text otherwise.
    """
    # Triple backticks inside the exception would close the code block early.
    detail = text_value(exception.strip() or "(no exception recorded)").replace("```", "'''")
    try_text = str(try_number) if try_number is not None else "?"
    headline = f"Voice compliance: task {dag_id}.{task_id} failed"
    blocks: list[dict[str, Any]] = [
        _header(f":x: {headline}"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": clip(f"*{name}*\n`{text_value(value)}`", MAX_FIELD)}
                for name, value in (
                    ("DAG", dag_id),
                    ("Task", task_id),
                    ("Run", run_id),
                    ("Try", try_text),
                )
            ],
        },
        _section("```" + clip(detail, MAX_TEXT - 6) + "```"),
    ]
    blocks += _link_blocks([("Task log", log_url or "", "vc_task_log")])
    first_line = exception.strip().splitlines()[0] if exception.strip() else "no exception"
    fallback = f"{headline} (try {try_text}) in run {run_id}: {first_line}"
    return {"text": clip(escape(fallback), MAX_FALLBACK), "blocks": blocks}
