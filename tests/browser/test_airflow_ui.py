"""``make airflow`` as its user sees it: Airflow standalone with the pipeline's DAGs.

Starts ``tools/airflow_standalone.py`` (what ``make airflow`` runs, with the
same ``standalone_env``) on a free port in a temporary AIRFLOW_HOME, logs in
through the UI with the generated admin password, sees the pipeline's DAGs
and a DAG's docs (doc_md), then triggers the three ingestion DAGs on a small
generated landing zone and waits, through the REST API, for the Asset-driven
chain to reach a successful ``vc_validate`` under the scheduler. Several
minutes: one test, one server.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from pipeline_fixture import PIPELINE_SEED, child_env, cli
from voice_compliance.airflow_runner import INGESTION_DAGS, PIPELINE_DAGS, TRANSFORM_DAG
from voice_compliance.config import REPO_ROOT, Settings

pytestmark = [pytest.mark.browser, pytest.mark.airflow]

CHAIN_TIMEOUT_S = 1200
LANDING_CALLS = 1000


def _standalone_tool() -> Any:
    spec = importlib.util.spec_from_file_location(
        "airflow_standalone", REPO_ROOT / "tools" / "airflow_standalone.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    """The REST API with the JWT of the admin user."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        body = json.dumps({"username": username, "password": password}).encode()
        self.token = self._call("POST", "/auth/token", body, auth=False)["access_token"]

    def _call(self, method: str, path: str, body: bytes | None = None, auth: bool = True) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def get(self, path: str) -> Any:
        return self._call("GET", f"/api/v2{path}")

    def send(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        return self._call(method, f"/api/v2{path}", json.dumps(payload).encode())


@pytest.fixture(scope="module")
def airflow_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``airflow standalone`` as ``make airflow`` starts it, on a small landing zone."""
    tmp = tmp_path_factory.mktemp("airflow-ui")
    landing = tmp / "landing"
    cli(tmp, "generate", "--out", str(landing), "--seed", str(PIPELINE_SEED),
        "--calls", str(LANDING_CALLS))  # fmt: skip
    settings = Settings.from_env(
        landing=landing,
        warehouse=tmp / "wh.duckdb",
        data_dir=tmp / "data",
        airflow_home=tmp / "airflow",
    )
    tool = _standalone_tool()
    server = tool.start(settings, _free_port(), base=child_env(tmp))
    try:
        yield server, settings
    finally:
        print(tool.stop(settings))
        print(f"standalone log: {server.log}")


def _login(browser: WebDriver, url: str, username: str, password: str) -> None:
    browser.get(f"{url}/")
    wait = WebDriverWait(browser, 60)
    wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda driver: "/auth/login" not in driver.current_url)


def _runs(api: Api, dag_id: str) -> list[dict[str, Any]]:
    return api.get(f"/dags/{dag_id}/dagRuns?limit=50")["dag_runs"]


def test_airflow_ui_runs_the_asset_chain(
    airflow_server: Any, localhost_browser: WebDriver, tmp_path: Path
) -> None:
    server, _settings = airflow_server
    url = server.url
    browser = localhost_browser
    wait = WebDriverWait(browser, 90)

    # Log in with the printed credentials and see the pipeline's DAGs, no examples.
    _login(browser, url, server.username, server.password)
    browser.get(f"{url}/dags")
    for dag_id in PIPELINE_DAGS:
        wait.until(ec.presence_of_element_located((By.XPATH, f"//*[text()='{dag_id}']")))
    api = Api(server.url, server.username, server.password)
    dags = {dag["dag_id"]: dag for dag in api.get("/dags?limit=100")["dags"]}
    assert set(PIPELINE_DAGS) <= set(dags)
    assert all(dag_id.startswith("vc_") for dag_id in dags), sorted(dags)
    pools = {pool["name"]: pool["slots"] for pool in api.get("/pools")["pools"]}
    assert pools["duckdb_writer"] == 1

    # The DAG's docs (its doc_md) open from the DAG page.
    browser.get(f"{url}/dags/{TRANSFORM_DAG}")
    docs_button = (
        "//button[@aria-label='Dag Docs' or @title='Dag Docs' or normalize-space()='Dag Docs']"
    )
    wait.until(ec.element_to_be_clickable((By.XPATH, docs_button))).click()
    heading = api.get(f"/dags/{TRANSFORM_DAG}/details")["doc_md"].strip().splitlines()[0]
    heading_text = heading.lstrip("#").strip()
    wait.until(ec.visibility_of_element_located((By.XPATH, f"//h3[contains(., '{heading_text}')]")))

    # Unpause the chain and trigger the ingestion; the scheduler does the rest
    # through the Assets (raw.* -> vc_transform -> marts.compliance -> vc_validate).
    for dag_id in PIPELINE_DAGS:
        api.send("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    for dag_id in INGESTION_DAGS:
        api.send("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})
    deadline = time.monotonic() + CHAIN_TIMEOUT_S
    states: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        states = {dag_id: [run["state"] for run in _runs(api, dag_id)] for dag_id in PIPELINE_DAGS}
        failed = [dag_id for dag_id, runs in states.items() if "failed" in runs]
        assert not failed, f"failed runs: {failed}; {states}; log: {server.log}"
        if "success" in states["vc_validate"]:
            break
        time.sleep(10)
    else:
        pytest.fail(f"vc_validate did not succeed in {CHAIN_TIMEOUT_S} s: {states}")
    validate_run = next(r for r in _runs(api, "vc_validate") if r["state"] == "success")
    assert validate_run["run_type"] == "asset_triggered"
    assert any(r["run_type"] == "asset_triggered" for r in _runs(api, TRANSFORM_DAG))

    # What the user sees: the validation run, green, in the grid.
    browser.get(f"{url}/dags/vc_validate/runs")
    shot = tmp_path / "airflow-vc_validate-runs.png"
    try:
        wait.until(
            ec.presence_of_element_located(
                (By.XPATH, f"//*[contains(text(), '{validate_run['dag_run_id']}')]")
            )
        )
    finally:
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
