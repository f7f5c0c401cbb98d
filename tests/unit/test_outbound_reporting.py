"""Terminal reports: no full phone number, and counts that stay readable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voice_compliance import warehouse
from voice_compliance.config import Settings
from voice_compliance.reporting import clause_report, format_table

pytestmark = pytest.mark.quick

ANY_NUMBER = re.compile(r"\d{7,}")


def test_table_cells_are_masked_and_counts_keep_their_digits() -> None:
    lines = format_table(
        ("clause_id", "checked", "violations"),
        [("export_+14155550199", 1_234_567, 3), ("consent.prior_consent", 12, 0)],
    )

    text = "\n".join(lines)
    assert "export_***0199" in text
    assert "1,234,567" in text
    assert ANY_NUMBER.search(text) is None
    assert len({len(line) for line in lines}) == 1  # still aligned


def test_clause_report_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrange: a summary whose clause id carries a number, with a count in the millions
    db = tmp_path / "wh.duckdb"
    with warehouse.connect(db) as con:
        con.execute(
            "create schema if not exists metrics;"
            " create table metrics.metric_clause_totals as select"
            " 'x+14155550199' as clause_id, 'high' as severity, 2000000 as subjects_checked,"
            " 1500000 as violations"
        )
        con.execute("create table compliance.policy_violations as select 1 as n")
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path))

    # Act
    text = clause_report(Settings.from_env(warehouse=str(db)))

    # Assert
    assert "x***0199" in text
    assert "2,000,000" in text and "1,500,000" in text
    assert ANY_NUMBER.search(text) is None
