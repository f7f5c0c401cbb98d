"""The docs sites the pipeline writes, opened as a compliance officer would.

After the session's pipeline run (``pipeline_fixture``: every DAG through
Airflow on generated data), headless Chromium opens the dbt docs site and
finds the clause map, then opens the GX Data Docs, finds a failing clause
suite in the results table and follows it to the suite's validation page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from voice_compliance.policy import CLAUSE_IDS

pytestmark = [pytest.mark.browser, pytest.mark.airflow]

WAIT_S = 60
FAILING_SUITE = "clause.consent.prior_consent"


def body_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def test_dbt_docs_open_on_the_clause_map(pipeline_run: dict[str, Any], browser: WebDriver) -> None:
    site = pipeline_run["data_dir"] / "dbt" / "target" / "static_index.html"

    browser.get(site.as_uri())
    WebDriverWait(browser, WAIT_S).until(lambda d: "Clause map" in body_text(d))

    text = body_text(browser)
    for clause_id in CLAUSE_IDS:
        assert clause_id in text, clause_id
    assert "clause_consent__prior_consent" in text


def _failing_row(driver: WebDriver) -> WebElement | bool:
    rows = driver.find_elements(
        By.CSS_SELECTOR, "table.ge-index-page-validation-results-table tbody tr.clickable-row"
    )
    for row in rows:
        if FAILING_SUITE in row.text and row.find_elements(By.CSS_SELECTOR, "i.ge-failed-icon"):
            return row
    return False


def _open_failing_row(driver: WebDriver) -> bool:
    """Click the failing suite's row once the search filter shows it."""
    row = _failing_row(driver)
    if not isinstance(row, WebElement):
        return False
    row.find_element(By.TAG_NAME, "td").click()
    return True


def test_data_docs_lead_to_a_failing_clause_suite(
    pipeline_run: dict[str, Any],
    browser: WebDriver,
    console_errors: Callable[[WebDriver], list[str]],
) -> None:
    index: Path = pipeline_run["data_dir"] / "gx" / "gx" / "uncommitted" / "data_docs"
    index = index / "local_site" / "index.html"

    browser.get_log("browser")  # only this page's messages count below
    browser.get(index.as_uri())
    browser.find_element(By.CSS_SELECTOR, "input.search-input").send_keys(FAILING_SUITE)
    # The table re-renders while the search filter applies: a row found a
    # moment ago may be gone (stale); look again until the click lands.
    WebDriverWait(
        browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)
    ).until(_open_failing_row)
    WebDriverWait(browser, WAIT_S).until(lambda d: "/validations/" in d.current_url)

    text = body_text(browser)
    assert f"Expectation Suite: {FAILING_SUITE}" in text
    assert "Status: Failed" in text
    assert "No subject breaks consent.prior_consent" in text
    assert console_errors(browser) == []
