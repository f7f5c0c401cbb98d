"""The end of a run says where each output is, the monthly reports first."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_compliance.config import Settings
from voice_compliance.reporting import output_locations

pytestmark = pytest.mark.quick


def test_outputs_name_the_monthly_reports_and_say_what_is_not_written_yet(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        landing=str(tmp_path / "landing"), data_dir=tmp_path / "data", warehouse=tmp_path / "w.db"
    )

    before = output_locations(settings).splitlines()
    (tmp_path / "data" / "reports").mkdir(parents=True)
    after = output_locations(settings).splitlines()

    reports = f"{tmp_path / 'data' / 'reports'}/compliance-<YYYY-MM>.html"
    assert before[0] == "Outputs"
    assert before[1].split() == ["monthly", "reports", reports, "(not", "written", "yet)"]
    assert after[1].split() == ["monthly", "reports", reports]
    assert [line.split()[0] for line in after[2:]] == ["dbt", "Data", "tickets", "Slack"]
