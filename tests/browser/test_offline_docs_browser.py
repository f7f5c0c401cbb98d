"""An offline Data Docs site, opened from file:// in headless Chromium with no network.

Builds a tiny real GX site (one pandas suite, one failing expectation),
runs ``make_offline`` on it and checks what a user sees: the index table
lists the run with a rendered failed-status icon (Font Awesome loaded from
the vendored copy), and clicking the row opens the validation page with the
suite and the failed expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from voice_compliance.docs_site.offline import make_offline

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SUITE = "offline_docs_suite"
WAIT_S = 20
# bootstrap-table may redraw the table after a row was found (slow machines):
# every wait below finds its elements again when they went stale.
STALE = (StaleElementReferenceException,)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file-backed GX project with one failed validation, Data Docs built and made offline."""
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    # Imported here: GX takes ~7 s to import, which a skipped test should not pay.
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    context = gx.get_context(mode="file", project_root_dir=str(tmp_path / "project"))
    context.variables.progress_bars = {"globally": False}
    batch = (
        context.data_sources.add_pandas("calls_source")
        .add_dataframe_asset("calls")
        .add_batch_definition_whole_dataframe("whole_frame")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="duration", min_value=0, max_value=60)
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=SUITE, data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=SUITE, validation_definitions=[definition], actions=[])
    )
    frame = pd.DataFrame({"duration": [10, 20, 999]})
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    assert not result.success
    context.build_data_docs()

    root = tmp_path / "project" / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert make_offline(root) >= 3  # index, the suite's page, the validation page
    return root


def _suite_row(driver: WebDriver) -> WebElement:
    """The validation results table's row for SUITE, once bootstrap-table has drawn it."""
    selector = "table.ge-index-page-validation-results-table tbody tr.clickable-row"

    def row(d: WebDriver) -> WebElement | bool:
        matches = [r for r in d.find_elements(By.CSS_SELECTOR, selector) if SUITE in r.text]
        return matches[0] if matches else False

    found = WebDriverWait(driver, WAIT_S, ignored_exceptions=STALE).until(row)
    assert isinstance(found, WebElement)
    return found


def _failed_icon_font(driver: WebDriver) -> str:
    """The font of the SUITE row's failed-status glyph, once the icon has a size."""

    def font(d: WebDriver) -> str | bool:
        icon = _suite_row(d).find_element(By.CSS_SELECTOR, "i.ge-failed-icon")
        if icon.size["width"] <= 0 or icon.size["height"] <= 0:
            return False
        return str(
            d.execute_script("return getComputedStyle(arguments[0], '::before').fontFamily", icon)
        )

    found = WebDriverWait(driver, WAIT_S, ignored_exceptions=STALE).until(font)
    assert isinstance(found, str)
    return found


def _open_suite_row(driver: WebDriver) -> None:
    """Click the SUITE row (found again if the table redrew meanwhile)."""

    def click(d: WebDriver) -> bool:
        _suite_row(d).find_element(By.TAG_NAME, "td").click()
        return True

    WebDriverWait(driver, WAIT_S, ignored_exceptions=STALE).until(click)


def _loaded_font_families(driver: WebDriver) -> set[str]:
    """Families of the font faces the page has finished loading."""
    families = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        document.fonts.ready.then(() => done(
            [...document.fonts].filter(f => f.status === "loaded").map(f => f.family)
        ));
        """
    )
    return {family.strip("\"'") for family in families}


def test_offline_index_shows_failed_run_and_opens_its_validation(
    site: Path, browser: WebDriver, console_errors: Callable[[WebDriver], list[str]]
) -> None:
    browser.get((site / "index.html").as_uri())

    # The table is filled by bootstrap-table: empty unless jQuery & co. loaded.
    assert "Font Awesome 6 Free" in _failed_icon_font(browser)
    assert "Font Awesome 6 Free" in _loaded_font_families(browser)
    logo = browser.find_element(By.CSS_SELECTOR, ".navbar-brand img")
    assert browser.execute_script("return arguments[0].naturalWidth", logo) > 0
    assert console_errors(browser) == []

    _open_suite_row(browser)
    WebDriverWait(browser, WAIT_S).until(lambda d: "/validations/" in d.current_url)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )

    assert browser.current_url.startswith("file://")
    text = browser.find_element(By.TAG_NAME, "body").text
    assert f"Expectation Suite: {SUITE}" in text
    assert "Status: Failed" in text
    assert "values must be greater than or equal to 0" in text
    assert "999" in text  # the unexpected value
    assert browser.execute_script("return typeof window.jQuery") == "function"
    assert console_errors(browser) == []
