"""Headless Chromium for the browser tests (Debian's chromium + chromium-driver).

Every test here skips when they are missing, except in CI (``CI=true``),
which installs them (``.ci/run``): there a missing browser fails the run.
Chromium resolves no host name, so nothing can come from a CDN.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    """Skip without Debian's chromium + chromium-driver, but fail in CI, which installs them.

    Autouse, so it runs before the slow GX site build.
    """
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    reason = f"needs Debian chromium and chromium-driver; missing: {', '.join(missing)}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium with every host name unresolvable: nothing can come from a CDN."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path / "chromium-profile"  # fresh per test: no cache, no state
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        # Offline even on a host that has internet, so the test proves the
        # vendored copies are used rather than passing thanks to the CDNs.
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _severe_console_messages(driver: WebDriver) -> list[str]:
    """Severe console messages, except GX's own favicon link, which is one folder
    too shallow on validation pages (a GX bug, not a CDN resource)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]


@pytest.fixture
def console_errors() -> Callable[[WebDriver], list[str]]:
    """Severe console messages of the page (GX's misplaced favicon link excepted)."""
    return _severe_console_messages


@pytest.fixture
def localhost_browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium that resolves ``localhost`` only (Airflow's UI redirects
    to its ``base_url``, http://localhost:<port>); every other host is unresolvable."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
