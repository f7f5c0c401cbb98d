"""``vc_pull_twilio`` through Airflow: its shape, and a run (``airflow dags test``)
that pulls from the local fake Twilio through the connection given as
``AIRFLOW_CONN_VC_TWILIO``, after which ``vc_ingest_calls`` loads the pulled
files unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dag_probe import parse_dags
from twilio_server import FAST_RETRIES, landed_calls, served_sids
from vc_sample.fake_twilio import FakeTwilio
from voice_compliance.airflow_runner import ensure_airflow, run_dag
from voice_compliance.config import REPO_ROOT, Settings

pytestmark = pytest.mark.airflow

PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1], known_pools={"default_pool", sys.argv[2]})
report = {"import_errors": {str(k): v for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id in ("vc_pull_twilio", "vc_ingest_calls"):
    dag = bag.dags[dag_id]
    timetable = dag.timetable
    report["dags"][dag_id] = {
        "timetable": type(timetable).__name__,
        "asset_condition": str(getattr(timetable, "asset_condition", "")),
        "params": sorted(dag.params.keys()),
        "tasks": {
            t.task_id: {
                "pool": t.pool,
                "retries": t.retries,
                "upstream": sorted(t.upstream_task_ids),
                "outlets": [getattr(o, "name", None) for o in t.outlets],
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
    return parse_dags(PROBE, settings_in(tmp_path_factory.mktemp("pull_parse")))


def test_pull_dag_shape(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    dag = parsed["dags"]["vc_pull_twilio"]
    assert set(dag["params"]) == {"landing", "start", "end"}
    tasks = dag["tasks"]
    assert set(tasks) == {"check_settings", "plan_regions", "pull_region", "publish"}
    assert tasks["plan_regions"]["upstream"] == ["check_settings"]
    assert tasks["pull_region"]["upstream"] == ["plan_regions"]
    assert tasks["publish"]["upstream"] == ["pull_region"]
    assert tasks["publish"]["outlets"] == ["landing.twilio_calls"]
    assert all(t["pool"] == "default_pool" and t["retries"] >= 1 for t in tasks.values())


def test_ingest_calls_is_scheduled_on_the_pull_and_daily(parsed: dict[str, Any]) -> None:
    ingest = parsed["dags"]["vc_ingest_calls"]
    assert ingest["timetable"] == "AssetOrTimeSchedule"
    assert "landing.twilio_calls" in ingest["asset_condition"]


def test_dag_pulls_from_the_fake_and_ingest_loads_it(
    twilio_sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_in(tmp_path)
    ensure_airflow(settings)
    with FakeTwilio(twilio_sample) as fake:
        monkeypatch.setenv("AIRFLOW_CONN_VC_TWILIO", json.dumps(fake.connection(**FAST_RETRIES)))
        conf = {"landing": settings.landing, "start": "2026-10-01", "end": "2026-10-05"}
        log_path = run_dag("vc_pull_twilio", settings, conf)

        from datetime import date

        expected = served_sids(fake, date(2026, 10, 1), date(2026, 10, 5))
    log_text = log_path.read_text()
    assert "fake-secret" not in log_text

    landing = Path(settings.landing)
    pulled = landed_calls(landing)
    assert set(pulled) == expected and all(len(c) == 1 for c in pulled.values())

    run_dag("vc_ingest_calls", settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        loaded, distinct, quarantined = con.execute(
            "select count(*), count(distinct sid),"
            " (select count(*) from compliance.quarantine) from raw.calls"
        ).fetchone()
    finally:
        con.close()
    assert loaded == distinct == len(expected)
    assert quarantined == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-02-30", "end": None}, "param start: '2026-02-30' is not a day"),
        ({"start": "2026-10-05", "end": "2026-10-05"}, "param end 2026-10-05 must be after"),
    ],
)
def test_a_backfill_s_days_are_checked_before_any_region_is_pulled(
    params: dict[str, Any], message: str
) -> None:
    """A day that is not a date, or an end not after the start, fails the first
    task at once (no retry) instead of every region, three times each."""
    import runpy

    from airflow.sdk.exceptions import AirflowFailException

    days = runpy.run_path(str(REPO_ROOT / "dags" / "vc_pull_twilio.py"))["_days"]

    with pytest.raises(AirflowFailException, match=message):
        days(params)
    assert days({"start": "2026-10-01", "end": "2026-10-05"})[1].isoformat() == "2026-10-05"
