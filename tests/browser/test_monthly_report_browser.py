"""The monthly compliance report opened from file:// in headless Chromium, offline.

Built from hand-built marts (``marts_fixture``, two months, four clauses
broken in the second): every chart renders as SVG with marks, the page logs
no console error and makes no network request beyond its own file, clause
links land on their section, and a full-page screenshot is saved in the
test's temporary folder (``report.png``) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from marts_fixture import MONTH, POLICY, breaking, build_warehouse, clean_outcomes, ticket_row
from voice_compliance.config import Settings
from voice_compliance.report.build import ReportLinks, build_reports
from voice_compliance.tickets import store

pytestmark = pytest.mark.browser

BROKEN = ("complaints.rate", "unanswered.volume", "dnc.registry_freshness", "consent.prior_consent")
CHARTS = (
    "clause-bars",
    "severity-trend",
    "clause-heatmap",
    "distribution-complaints.rate",
    "distribution-unanswered.volume",
)


NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
# Tickets as wide as real ones: 34-character account SIDs, the longest clause ids.
TICKETS = [
    ("disclosure.identity_purpose", "AC6513270e269e0d37f2a74de452e6b438", "open"),
    ("country.calling_hours", "ACd23f0824128b2f330c5c7fd0a6a3a450", "open"),
    ("consent.prior_consent", "AC9531985d5d9dc9f81818e811892f902b", "resolved"),
    ("complaints.rate", None, "open"),
    ("dnc.registry_freshness", None, "open"),
    ("dq.unclassified_calls", None, "resolved"),
]
A4_CONTENT_PX = 718
"""The width Chrome lays a page out at on A4 with its default 1 cm margins (96 px/in)."""


def _tickets(con: duckdb.DuckDBPyConnection) -> None:
    store.ensure_ticket_tables(con)
    for clause_id, account, status in TICKETS:
        owner = "data-engineering" if clause_id.startswith("dq.") else "voice-operations"
        reopened = 1 if status == "resolved" else 0
        store.insert_ticket(
            con,
            ticket_row(
                clause_id,
                account,
                status,
                at=NOW,
                owner=owner,
                severity="critical",
                violations=12,
                reopen_count=reopened,
            ),
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
        _tickets(con)
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


# Elements outside a scroll wrapper (a table's or a chart's) that stick out of the viewport.
_OUTSIDE_VIEWPORT = """
const width = document.documentElement.clientWidth;
return [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-wrap, .figure'))
  .filter(e => e.getBoundingClientRect().right > width + 1)
  .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' '
       + Math.round(e.getBoundingClientRect().right));
"""
# Each table's width against its card's content box (the section less its padding).
_TABLES_IN_CARDS = """
return [...document.querySelectorAll('table')].map(t => {
  const card = t.closest('section');
  const style = getComputedStyle(card);
  const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const wrap = t.closest('.table-wrap');
  return [t.id || t.className || t.rows[0].textContent.slice(0, 20),
          Math.round(t.getBoundingClientRect().width), Math.round(inner),
          wrap ? wrap.scrollWidth - wrap.clientWidth : -1];
});
"""


def test_phone_width_scrolls_tables_and_charts_inside_their_cards(
    report: Path, browser: WebDriver
) -> None:
    """At 390 px the page is no wider than the screen: tables and charts scroll
    inside their wrappers, and charts keep their drawn size (readable text)."""
    browser.set_window_size(390, 844)
    browser.get(report.as_uri())
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    assert browser.execute_script(_OUTSIDE_VIEWPORT) == []
    for table in browser.find_elements(By.TAG_NAME, "table"):
        assert browser.execute_script("return !!arguments[0].closest('.table-wrap')", table)
    for chart in CHARTS:
        svg = browser.find_element(By.CSS_SELECTOR, f'[data-chart="{chart}"] svg')
        drawn, intrinsic = browser.execute_script(
            "return [arguments[0].getBoundingClientRect().width,"
            " parseFloat(arguments[0].getAttribute('width'))]",
            svg,
        )
        assert drawn == pytest.approx(intrinsic, abs=1), f"{chart} shrunk to {drawn} px"


def test_desktop_width_keeps_every_table_inside_its_card(report: Path, browser: WebDriver) -> None:
    browser.set_window_size(1280, 900)
    browser.get(report.as_uri())
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    tables = browser.execute_script(_TABLES_IN_CARDS)
    assert any(name == "ticket-table" for name, *_ in tables)
    for name, table, card, scrolled in tables:
        assert table <= card, f"{name}: {table} px in a {card} px card"
        assert scrolled == 0, f"{name} scrolls at 1280 px"
    # Dates stay on one line.
    opened = browser.find_elements(By.CSS_SELECTOR, "#ticket-table td.nowrap")
    assert opened
    for cell in opened:
        assert browser.execute_script(
            "const r = document.createRange(); r.selectNodeContents(arguments[0]);"
            " return r.getClientRects().length === 1",
            cell,
        )


def test_print_fits_every_column_on_an_a4_page(report: Path, browser: WebDriver) -> None:
    """Laid out for print at A4's width, every table fits the page (paper does
    not scroll: the ticket table's last columns used to be cut off) and the
    header prints black on white; Chrome prints the page to PDF."""
    browser.set_window_size(A4_CONTENT_PX, 1000)
    browser.get(report.as_uri())
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        width = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        for name, table, card, scrolled in browser.execute_script(_TABLES_IN_CARDS):
            assert table <= card and scrolled <= 0, f"{name}: {table} px on a {card} px page"
        last = browser.find_elements(By.CSS_SELECTOR, "#ticket-table thead th")[-1]
        assert last.text == "Resolved"
        assert (
            browser.execute_script("return arguments[0].getBoundingClientRect().right", last)
            <= width
        )
        for selector in ("header h1", "header p", "header a"):
            for element in browser.find_elements(By.CSS_SELECTOR, selector):
                assert element.value_of_css_property("color") in (
                    "rgba(0, 0, 0, 1)",
                    "rgb(0, 0, 0)",
                )
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = browser.execute_cdp_cmd(
        "Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True}
    )
    import base64

    assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
