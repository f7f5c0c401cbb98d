"""The monthly compliance report opened from file:// in headless Chromium, offline.

Built from hand-built marts (``marts_fixture``, two months, four clauses
broken in the second): every chart renders as SVG with marks, the page logs
no console error and makes no network request beyond its own file, clause
links land on their section, and a full-page screenshot is saved in the
test's temporary folder (``report.png``) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from marts_fixture import MONTH, POLICY, breaking, build_warehouse, clean_outcomes
from voice_compliance.config import Settings
from voice_compliance.report.build import ReportLinks, build_reports

pytestmark = pytest.mark.browser

BROKEN = ("complaints.rate", "unanswered.volume", "dnc.registry_freshness", "consent.prior_consent")
CHARTS = (
    "clause-bars",
    "severity-trend",
    "clause-heatmap",
    "distribution-complaints.rate",
    "distribution-unanswered.volume",
)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
    )
    build_warehouse(
        settings.warehouse, [*clean_outcomes(POLICY), *(breaking(c, POLICY) for c in BROKEN)]
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "insert into compliance.clause_outcomes select clause_id, subject_type,"
            " replace(subject_id, ?, '2026-09'), account_sid, date '2026-09-14',"
            " is_violation and clause_id = 'consent.prior_consent', severity, evidence"
            " from compliance.clause_outcomes",
            [MONTH],
        )
    links = ReportLinks(
        dbt_docs=(tmp_path / "dbt" / "index.html").as_uri(),
        data_docs=(tmp_path / "gx" / "index.html").as_uri(),
    )
    written = build_reports(settings, [MONTH], links=links)
    assert len(written) == 1
    return written[0]


def test_report_renders_offline_with_charts(
    report: Path,
    browser: WebDriver,
    console_errors: Callable[[WebDriver], list[str]],
    tmp_path: Path,
) -> None:
    browser.set_window_size(1200, 900)
    browser.get(report.as_uri())

    assert browser.title == f"Voice compliance report {MONTH}"
    for chart in CHARTS:
        figure = browser.find_element(By.CSS_SELECTOR, f'[data-chart="{chart}"]')
        svg = figure.find_element(By.TAG_NAME, "svg")
        marks = browser.execute_script(
            "return arguments[0].querySelectorAll('g.role-mark > *').length", svg
        )
        assert marks > 0, f"{chart}: no marks drawn"
        box = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height]", svg
        )
        assert box[0] > 100 and box[1] > 50, f"{chart}: not laid out ({box})"

    # The clause table's link lands on the clause's section.
    browser.find_element(By.CSS_SELECTOR, 'a[href="#clause-complaints-rate"]').click()
    assert browser.execute_script("return location.hash") == "#clause-complaints-rate"
    section = browser.find_element(By.ID, "clause-complaints-rate")
    assert "no unacceptable number of complaints" in section.text
    assert "complaints_max_per_1000" in section.text

    assert console_errors(browser) == []
    # Nothing loaded beside the document itself: no script, style, font or image.
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources == []
    navigation = browser.execute_script(
        "return performance.getEntriesByType('navigation').map(e => e.name)"
    )
    assert navigation == [report.as_uri()]

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, min(int(height), 6000))
    browser.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
