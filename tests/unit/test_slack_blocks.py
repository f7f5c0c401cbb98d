"""Block Kit payloads, the outbox without a Slack connection, and the failure callback."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from voice_compliance.notify import (
    ClauseLine,
    NotifySettings,
    RunReport,
    build_failure_message,
    build_run_message,
    flush_outbox,
    notify,
    task_failure_callback,
)
from voice_compliance.notify.blocks import MAX_BLOCKS, MAX_HEADER, MAX_TEXT

pytestmark = pytest.mark.quick

FULL_NUMBER = re.compile(r"\+\d{10,}")


def make_report(**overrides: Any) -> RunReport:
    """A small run report: two failing clauses, one passing, one data-quality failure."""
    fields: dict[str, Any] = {
        "dag_id": "vc_validate",
        "run_id": "scheduled__2026-10-01T00:00:00+00:00",
        "period": "2026-09 to 2026-10",
        "validated_at": datetime(2026, 10, 1, 6, 30, tzinfo=UTC),
        "clauses": [
            ClauseLine("calling_hours.local_window", "high", 12_000, 1_234_567, 1, 3),
            ClauseLine("consent.optout_honoured", "critical", 900, 7, 2, 1),
            ClauseLine("volume.daily_cap", "medium", 40, 0, 0, 0),
        ],
        "data_quality_failures": ["dq.valid_e164_share: 97.1% < 99%"],
        "tickets_opened": 2,
        "tickets_reopened": 1,
        "tickets_updated": 1,
        "tickets_resolved": 4,
        "tickets_open_total": 4,
        "data_docs_url": "https://docs.example.com/gx/index.html",
        "dbt_docs_url": "file:///work/main/dbt_project/target/index.html",
        "tickets_location": "compliance.tickets in warehouse.duckdb",
    }
    fields.update(overrides)
    return RunReport(**fields)


def all_texts(payload: dict[str, Any]) -> list[str]:
    """Every text string in a payload (section, field, context, header, button)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found


def settings_in(tmp_path: Path) -> NotifySettings:
    return NotifySettings(
        conn_id="vc_slack_not_defined_in_tests",
        outbox=tmp_path / "notifications" / "slack_outbox.jsonl",
        sent_log=tmp_path / "notifications" / "slack_sent.jsonl",
        retries=0,
        backoff_s=0.0,
        timeout_s=1.0,
    )


def test_run_message_has_header_clause_counts_tickets_and_links() -> None:
    # Arrange
    report = make_report()

    # Act
    payload = build_run_message(report)

    # Assert
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert "1,234,574 violations in 2026-09 to 2026-10" in blocks[0]["text"]["text"]
    clause_text = blocks[1]["text"]["text"]
    # Most severe first; the passing clause is only counted.
    assert clause_text.index("consent.optout_honoured") < clause_text.index("calling_hours")
    assert ":red_circle:" in clause_text and ":large_orange_circle:" in clause_text
    assert "*1,234,567 violations* of 12,000 checked" in clause_text
    assert "2 failed expectations" in clause_text
    assert "volume.daily_cap" not in clause_text
    assert "1 clause passed" in clause_text
    tickets = next(b for b in blocks if b.get("text", {}).get("text") == "*:ticket: Tickets*")
    assert [f["text"] for f in tickets["fields"]][-1] == "*Open in total*\n4"
    assert any("97.1% &lt; 99%" in t for t in all_texts(payload))
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons] == ["https://docs.example.com/gx/index.html"]
    # Slack rejects file:// on a button: the dbt docs path is plain context text.
    assert any("file:///work/main/dbt_project" in t for t in all_texts(payload))
    assert blocks[-1]["type"] == "context"
    assert "scheduled__2026-10-01T00:00:00+00:00" in blocks[-1]["elements"][0]["text"]
    assert "1,234,574 violations" in payload["text"]


def test_run_message_all_clear_when_nothing_fails() -> None:
    # Arrange
    report = make_report(
        clauses=[ClauseLine("volume.daily_cap", "medium", 40, 0, 0, 0)],
        data_quality_failures=[],
    )

    # Act
    payload = build_run_message(report)

    # Assert
    assert "all clear in 2026-09 to 2026-10" in payload["blocks"][0]["text"]["text"]
    assert "1 clause passed" in payload["blocks"][1]["text"]["text"]
    assert not any("Data quality" in t for t in all_texts(payload))


def test_run_message_without_violations_but_failed_checks_is_not_all_clear() -> None:
    # Arrange
    report = make_report(clauses=[ClauseLine("volume.daily_cap", "low", 40, 0, 1, 0)])

    # Act
    header = build_run_message(report)["blocks"][0]["text"]["text"]

    # Assert
    assert "no violations, 2 failed checks" in header


def test_run_message_respects_slack_limits_for_many_long_clauses() -> None:
    # Arrange: 12 failing clauses with long ids and many long data-quality lines
    clauses = [
        ClauseLine(f"clause_{i:02d}_" + "x" * 400, "high", 10**6, 1000 + i, 3, 2) for i in range(12)
    ]
    dq = [f"dq.check_{i}: " + "y" * 700 for i in range(60)]
    report = make_report(
        clauses=clauses,
        data_quality_failures=dq,
        period="2026-09 to 2026-10 " + "z" * 300,
        run_id="manual__" + "r" * 4000,
        data_docs_url="https://docs.example.com/" + "p" * 5000,
    )

    # Act
    payload = build_run_message(report)

    # Assert
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= MAX_HEADER
    assert all(len(t) <= MAX_TEXT for t in all_texts(payload))
    text = "\n".join(all_texts(payload))
    assert "clause_11_" in text  # 12 clauses of ~450 characters still fit in a few sections
    assert re.search(r"… and \d+ more", text)  # 60 × 700 characters of DQ do not
    # The 5000-character URL is over Slack's button limit: shown as (clipped) text.
    assert not any(b["type"] == "actions" for b in blocks)
    json.dumps(payload)


def test_failure_message_has_fields_code_block_and_log_button() -> None:
    # Act
    payload = build_failure_message(
        dag_id="vc_validate",
        task_id="run_checkpoint",
        run_id="manual__2026-10-01T00:00:00+00:00",
        try_number=2,
        exception="ValueError: bad <input> " + "e" * 5000,
        log_url="http://localhost:8080/dags/vc_validate/runs/r/tasks/run_checkpoint?try_number=2",
    )

    # Assert
    blocks = payload["blocks"]
    assert "vc_validate.run_checkpoint failed" in blocks[0]["text"]["text"]
    assert "*Try*\n`2`" in [f["text"] for f in blocks[1]["fields"]]
    assert blocks[2]["text"]["text"].startswith("```ValueError: bad &lt;input&gt;")
    assert len(blocks[2]["text"]["text"]) <= MAX_TEXT
    assert blocks[3]["elements"][0]["url"].startswith("http://localhost:8080/dags/")
    assert "(try 2)" in payload["text"]


def test_notify_without_connection_keeps_masked_message_in_outbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange
    settings = settings_in(tmp_path)
    report = make_report(data_quality_failures=["subject +14155550123 has no country"])
    caplog.set_level(logging.DEBUG, logger="voice_compliance")

    # Act
    first = notify(build_run_message(report), key=report.key, settings=settings)
    again = notify(build_run_message(report), key=report.key, settings=settings)
    flushed = flush_outbox(settings)

    # Assert
    assert first.queued and first.flush.reason == "no_connection"
    assert first.flush.pending == 1
    assert again.duplicate and again.flush.pending == 1
    assert flushed.reason == "no_connection" and flushed.delivered == 0
    text = settings.outbox.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines()]
    assert len(entries) == 1
    assert set(entries[0]) == {"key", "created_at", "attempts", "last_error", "payload"}
    assert entries[0]["key"] == "run:vc_validate:scheduled__2026-10-01T00:00:00+00:00"
    assert entries[0]["payload"]["blocks"]
    assert "***0123" in text
    assert FULL_NUMBER.search(text) is None
    assert not settings.sent_log.exists()
    assert all(FULL_NUMBER.search(r.getMessage()) is None for r in caplog.records)


def test_failure_callback_writes_masked_failure_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VC_SLACK_CONN_ID", "vc_slack_not_defined_in_tests")
    ti = SimpleNamespace(
        dag_id="vc_ingest",
        task_id="load_calls",
        try_number=3,
        map_index=-1,
        log_url="http://localhost:8080/dags/vc_ingest/runs/r1/tasks/load_calls?try_number=3",
    )
    context = {
        "ti": ti,
        "dag_run": SimpleNamespace(run_id="manual__2026-10-02T00:00:00+00:00"),
        "exception": ValueError("cannot parse +14155550123 in calls.csv line 7"),
    }

    # Act
    task_failure_callback(context)
    task_failure_callback(context)  # Airflow may call again for the same try

    # Assert
    outbox = tmp_path / "notifications" / "slack_outbox.jsonl"
    text = outbox.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines()]
    assert len(entries) == 1
    assert entries[0]["key"] == "failure:vc_ingest:manual__2026-10-02T00:00:00+00:00:load_calls:3"
    assert "ValueError: cannot parse ***0123" in json.dumps(entries[0]["payload"])
    assert FULL_NUMBER.search(text) is None


@pytest.mark.parametrize(
    "broken",
    [("VC_DUCKDB_THREADS", "abc"), ("VC_HISTORY_DAYS", "-x"), ("VC_SLACK_RETRIES", "many")],
)
def test_a_bad_setting_still_lets_its_failure_alert_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: tuple[str, str]
) -> None:
    """A bad VC_* value fails the run at check_settings; that failure's alert
    must still be queued (the callback read every setting and gave up)."""
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VC_SLACK_CONN_ID", "vc_slack_not_defined_in_tests")
    monkeypatch.setenv(*broken)
    ti = SimpleNamespace(
        dag_id="vc_transform", task_id="check_settings", try_number=1, map_index=-1, log_url=None
    )
    context = {
        "ti": ti,
        "dag_run": SimpleNamespace(run_id="manual__2026-10-02T00:00:00+00:00"),
        "exception": RuntimeError(f"{broken[0]} is invalid"),
    }

    task_failure_callback(context)

    outbox = tmp_path / "notifications" / "slack_outbox.jsonl"
    [entry] = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert entry["key"] == "failure:vc_transform:manual__2026-10-02T00:00:00+00:00:check_settings:1"


class _Exploding:
    @property
    def task_id(self) -> str:
        raise RuntimeError("broken task instance +14155550123")


@pytest.mark.parametrize(
    "context",
    [{}, {"ti": _Exploding()}, {"ti": object(), "dag_run": None, "exception": object()}],
    ids=["empty", "raising-ti", "odd-values"],
)
def test_failure_callback_never_raises_on_a_broken_context(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    context: dict[str, Any],
) -> None:
    # Arrange
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VC_SLACK_CONN_ID", "vc_slack_not_defined_in_tests")
    caplog.set_level(logging.INFO, logger="voice_compliance")

    # Act
    task_failure_callback(context)

    # Assert
    assert all(FULL_NUMBER.search(r.getMessage()) is None for r in caplog.records)


FORMULA_SID = '=HYPERLINK("http://evil.example/x","sid")'
FORMULA = re.compile(r"(?<!')=HYPERLINK")
ANY_NUMBER = re.compile(r"\d{7,}")


def test_formula_values_reach_the_slack_message_neutralised(tmp_path: Path) -> None:
    # Arrange: a data-quality line that is a formula call sid, a clause id that starts with "+"
    report = make_report(
        data_quality_failures=[FORMULA_SID, "-1 rows for x+14155550123"],
        clauses=[ClauseLine("+cmd", "high", 10, 1, 0, 0)],
    )
    settings = settings_in(tmp_path)

    # Act
    payload = build_run_message(report)
    notify(payload, key=report.key, settings=settings)

    # Assert: in the message as built and in the outbox as written
    texts = "\n".join(all_texts(payload))
    assert "• '" + FORMULA_SID in texts
    assert "• '-1 rows for x***0123" in texts
    assert "`'+cmd`" in texts
    assert FORMULA.search(texts) is None
    written = settings.outbox.read_text(encoding="utf-8")
    assert FORMULA.search(written) is None
    assert "'=HYPERLINK" in written
    assert ANY_NUMBER.search(written) is None


def test_a_message_built_elsewhere_is_neutralised_where_it_leaves(tmp_path: Path) -> None:
    # Arrange: a payload that did not go through the block builders
    settings = settings_in(tmp_path)
    message = {"text": FORMULA_SID, "blocks": [{"type": "section", "text": "+14155550199"}]}

    # Act
    notify(message, key="custom:1", settings=settings)

    # Assert: the formula gets its quote, the number is masked (not quoted)
    entry = json.loads(settings.outbox.read_text(encoding="utf-8"))
    assert entry["payload"]["text"] == "'" + FORMULA_SID
    assert entry["payload"]["blocks"][0]["text"] == "***0199"


def test_failure_callback_masks_a_number_glued_to_a_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VC_SLACK_CONN_ID", "vc_slack_not_defined_in_tests")
    ti = SimpleNamespace(dag_id="vc_ingest", task_id="load_calls", try_number=1, map_index=-1)
    context = {
        "ti": ti,
        "dag_run": SimpleNamespace(run_id="manual__2026-10-02T00:00:00+00:00"),
        "exception": FileNotFoundError(
            "s3://landing/calls/export_+14155550199.csv (key a14155550198)"
        ),
    }

    # Act
    task_failure_callback(context)

    # Assert
    text = (tmp_path / "notifications" / "slack_outbox.jsonl").read_text(encoding="utf-8")
    assert "calls/export_***0199.csv (key a***0198)" in text
    assert ANY_NUMBER.search(text) is None


def test_quarantined_records_are_told_and_routed_to_the_data_quality_owner() -> None:
    from voice_compliance.policy import load_policy

    policy = load_policy()
    report = make_report(
        clauses=[ClauseLine("volume.daily_cap", "medium", 40, 0, 0, 0)],
        data_quality_failures=[],
        quarantined=["optouts: 2 records quarantined from 1 file: unparseable requested_at 2"],
        quarantined_records=2,
    )

    payload = build_run_message(report)
    owners_part = report.for_owners([policy.data_quality.owner], policy)
    others = [o for o in policy.owners if o != policy.data_quality.owner]
    others_part = report.for_owners(others, policy)

    assert "no violations, 2 records quarantined" in payload["blocks"][0]["text"]["text"]
    assert any("unparseable requested_at 2" in t for t in all_texts(payload))
    assert owners_part.quarantined == report.quarantined
    assert (others_part.quarantined, others_part.quarantined_records) == ((), 0)
    assert "all clear" in build_run_message(others_part)["blocks"][0]["text"]["text"]


def test_the_report_link_says_which_month_it_opens() -> None:
    """A run may cover several months; its report link opens the last one's."""
    report = make_report(
        report_url="https://reports.example.com/compliance-2026-10.html", report_month="2026-10"
    )

    buttons = [
        e
        for b in build_run_message(report)["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]

    [button] = [b for b in buttons if b["action_id"] == "vc_report"]
    assert button["text"]["text"] == "Monthly report 2026-10"
    assert button["url"] == "https://reports.example.com/compliance-2026-10.html"
