"""``vc_validate`` through Airflow: its shape, a run that raises a ticket and
posts to a Slack webhook, a retry-safe re-run, and a failing task that alerts.

Runs use ``airflow dags test`` (``airflow_runner.run_dag``) against a
hand-built warehouse (``marts_fixture``), with a real HTTP receiver standing
in for Slack where a connection is defined.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dag_probe import parse_dags
from marts_fixture import MONTH, POLICY, breaking, build_warehouse, clean_outcomes
from slack_receiver import Receiver, use_webhook
from voice_compliance import assets
from voice_compliance.airflow_runner import (
    PIPELINE_DAGS,
    WRITER_POOL,
    DagRunFailed,
    ensure_airflow,
    run_dag,
)
from voice_compliance.config import Settings

pytestmark = pytest.mark.airflow

FULL_NUMBER = re.compile(r"\+\d{10,}")

PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1], known_pools={"default_pool", sys.argv[2]})


def callbacks(task):
    found = task.on_failure_callback
    return found if isinstance(found, list) else [found] if found else []


report = {"import_errors": {str(k): v for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    report["dags"][dag_id] = {
        "schedule": sorted(getattr(a, "name", str(a)) for a in getattr(dag.schedule, "objects", [])
                           or (dag.schedule if isinstance(dag.schedule, list) else [])),
        "params": {k: dag.params[k] for k in dag.params.keys()},
        "tasks": {
            t.task_id: {
                "pool": t.pool,
                "retries": t.retries,
                "upstream": sorted(t.upstream_task_ids),
                "outlets": [getattr(o, "name", None) for o in t.outlets],
                "callbacks": [getattr(c, "__name__", str(c)) for c in callbacks(t)],
            }
            for t in dag.tasks
        },
    }
print(json.dumps(report))
"""


def settings_in(root: Path) -> Settings:
    return Settings(
        landing=str(root / "landing"),
        warehouse=root / "wh.duckdb",
        data_dir=root / "data",
        airflow_home=root / "airflow",
    )


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return parse_dags(PROBE, settings_in(tmp_path_factory.mktemp("validate_parse")))


def test_validation_runs_last_after_the_marts_asset(parsed: dict[str, Any]) -> None:
    dag = parsed["dags"]["vc_validate"]

    assert parsed["import_errors"] == {}
    assert PIPELINE_DAGS[-1] == "vc_validate"
    assert dag["schedule"] == [assets.MARTS_ASSET.name]
    assert dag["params"] == {"warehouse": None, "months": []}
    tasks = dag["tasks"]
    assert tasks["check_settings"]["upstream"] == []
    assert tasks["validate_marts"]["upstream"] == ["check_settings"]
    assert tasks["raise_tickets"]["upstream"] == ["validate_marts"]
    assert tasks["notify_slack"]["upstream"] == ["raise_tickets"]
    assert tasks["build_report"]["upstream"] == ["raise_tickets"]
    assert tasks["validate_marts"]["outlets"] == [assets.VALIDATION_ASSET.name]
    assert all(t["retries"] >= 1 for t in tasks.values())
    assert all(t["pool"] == WRITER_POOL for name, t in tasks.items() if name != "check_settings")


def test_every_task_of_every_dag_alerts_on_failure(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["callbacks"] == ["on_task_failure"], f"{dag_id}.{task_id}"


@pytest.fixture(scope="module")
def airflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("validate_run")
    ensure_airflow(settings_in(root))
    return root


def test_a_run_raises_one_ticket_and_posts_one_message(
    airflow_root: Path, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=airflow_root / "airflow",
    )
    broken = breaking("complaints.rate", POLICY)
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), broken])
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    use_webhook(monkeypatch, receiver.url)

    run_dag("vc_validate", settings)

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tickets = con.execute(
            "select clause_id, account_sid, month, status, violation_count, last_run_id"
            " from compliance.tickets"
        ).fetchall()
        run_ids = con.execute("select run_id from compliance.validation_runs").fetchall()
    assert [t[:5] for t in tickets] == [("complaints.rate", broken.account_sid, MONTH, "open", 1)]
    assert tickets[0][5] == run_ids[0][0]  # Airflow's own run id keys the results
    assert len(receiver.bodies) == 1
    payload = json.dumps(receiver.bodies[0])
    assert receiver.bodies[0]["blocks"]
    assert "complaints.rate" in payload
    assert FULL_NUMBER.search(payload) is None
    sent = settings.data_dir / "notifications" / "slack_sent.jsonl"
    assert sent.is_file() and len(sent.read_text().splitlines()) == 1


def test_a_failing_task_alerts_through_the_outbox(
    airflow_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No marts: validate_marts fails (after its retry), and the callback writes
    a masked failure message to the outbox (no Slack connection defined)."""
    monkeypatch.delenv("AIRFLOW_CONN_VC_SLACK", raising=False)
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "empty.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=airflow_root / "airflow",
    )
    duckdb.connect(str(settings.warehouse)).close()

    with pytest.raises(DagRunFailed) as failed:
        run_dag("vc_validate", settings)

    assert "validate_marts" in failed.value.reason
    outbox = settings.data_dir / "notifications" / "slack_outbox.jsonl"
    entries = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert entries, "no failure message in the outbox"
    text = json.dumps(entries)
    assert "validate_marts" in text and "vc_validate" in text
    assert "clause_outcomes" in text  # the reason reaches the on-call channel
    assert FULL_NUMBER.search(text) is None
