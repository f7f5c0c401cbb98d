"""End to end through Airflow: ``python -m voice_compliance run`` on a
generated landing zone (ingestion -> transform -> validation -> tickets ->
Slack outbox), checked against the warehouse contract; run again on the same
input (nothing changes); then run on a corrected landing zone (the
violations removed), which resolves the tickets.

Everything lives in a temporary folder (landing zone, warehouse, Airflow home,
logs), so the developer's ``.airflow`` and ``data/`` are never touched.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline_fixture import PIPELINE_CALLS, PIPELINE_SEED, cli
from voice_compliance import assets
from voice_compliance.airflow_runner import DagRunFailed, ensure_airflow, run_dag, run_dags
from voice_compliance.config import Settings

pytestmark = pytest.mark.airflow

CONTRACT_PATHS = re.compile(
    r"""(
        calls/region=[^/]+/[^/]+\.(json|jsonl|csv)
      | (call_metadata|campaigns|numbers|accounts|consent|optouts|disclosures|complaints)/[^/]+\.csv
      | dnc/internal/[^/]+\.csv
      | dnc/(us_national|uk_tps|uk_ctps|ca_dncl)/(full|changes)/\d{4}-\d{2}-\d{2}/[^/]+\.txt
    )(\.gz)?""",
    re.VERBOSE,
)

PROBE_DAGS = '''"""Probe DAGs (airflow dag) for the runner tests: one passes, one fails."""
import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2025, 1, 1, tz="UTC")


@dag(dag_id="vc_probe_ok", schedule=None, start_date=START, catchup=False)
def vc_probe_ok():
    @task(retries=0)
    def echo(params=None):
        seen = {"params": dict(params or {}), "data_dir": os.environ.get("VC_DATA_DIR")}
        Path(params["warehouse"]).write_text(json.dumps(seen))

    echo()


@dag(dag_id="vc_probe_fail", schedule=None, start_date=START, catchup=False)
def vc_probe_fail():
    @task(retries=0)
    def fine():
        return 1

    @task(retries=0)
    def boom():
        raise ValueError("boom from the probe")

    fine()
    boom()


vc_probe_ok()
vc_probe_fail()
'''


def landing_files(landing: Path) -> dict[str, Path]:
    """The landing files under the contract's prefixes, by relative path."""
    files = (p for p in landing.rglob("*") if p.is_file())
    by_key = {p.relative_to(landing).as_posix(): p for p in files}
    return {key: path for key, path in by_key.items() if CONTRACT_PATHS.fullmatch(key)}


def snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Full sorted contents of every raw table, the manifest and the quarantine."""
    with closing_connection(warehouse) as con:
        tables = [
            f"raw.{name}"
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' order by table_name"
            ).fetchall()
        ]
        tables += ["compliance.load_manifest", "compliance.quarantine"]
        return {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}


class closing_connection:
    """A read-only DuckDB connection, closed at once (DuckDB locks the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con = duckdb.connect(str(self.path), read_only=True)
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


@pytest.fixture
def first_run(pipeline_run: dict[str, Any]) -> dict[str, Any]:
    """The session's pipeline run (``pipeline_fixture``)."""
    return pipeline_run


def test_run_prints_the_landing_summary(first_run: dict[str, Any]) -> None:
    assert first_run["stdout"].strip()


def test_manifest_has_one_row_per_landing_file(first_run: dict[str, Any]) -> None:
    files = landing_files(first_run["landing"])
    with closing_connection(first_run["warehouse"]) as con:
        rows = con.execute(
            "select source_uri, size_bytes, checksum, rows_read, rows_loaded, rows_quarantined,"
            " loaded_at from compliance.load_manifest"
        ).fetchall()

    assert files, "the generator wrote no contract files"
    assert len(rows) == len(files)
    for key, path in files.items():
        matches = [r for r in rows if r[0] == key or r[0].endswith("/" + key)]
        assert len(matches) == 1, key
        _, size_bytes, checksum, *_ = matches[0]
        assert size_bytes == path.stat().st_size, key
        assert checksum, key


def test_rows_read_are_loaded_or_quarantined(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        broken = con.execute(
            "select source_uri, rows_read, rows_loaded, rows_quarantined"
            " from compliance.load_manifest"
            " where rows_read is distinct from rows_loaded + rows_quarantined"
        ).fetchall()
        quarantined = con.execute(
            "select (select sum(rows_quarantined) from compliance.load_manifest),"
            " (select count(*) from compliance.quarantine)"
        ).fetchone()

    assert broken == []
    assert quarantined is not None and quarantined[0] == quarantined[1]


def test_every_source_has_a_raw_table_and_calls_landed(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        raw_tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        calls = con.execute("select count(*) from raw.calls").fetchone()

    # Registry sources share the raw registry table(s); the others have their own.
    assert set(assets.CALL_SOURCES + assets.EXPORT_SOURCES) <= raw_tables
    assert any(name.startswith("registry") for name in raw_tables)
    assert calls is not None and calls[0] > 0


def test_quarantine_explains_each_row(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        rows = con.execute(
            "select source_uri, line_number, raw_text, reason from compliance.quarantine"
        ).fetchall()

    assert rows, "the generator plants malformed rows; none were quarantined"
    assert all(source_uri and reason for source_uri, _, _, reason in rows)


FULL_NUMBER = re.compile(r"\+\d{10,}")


def failing_groups(warehouse: Path) -> dict[tuple[str, str | None, str], int]:
    """``(clause_id, account, month) -> violations`` from ``compliance.policy_violations``."""
    with closing_connection(warehouse) as con:
        rows = con.execute(
            "select clause_id, account_sid, strftime(period_start, '%Y-%m'), count(*)"
            " from compliance.policy_violations group by all"
        ).fetchall()
    return {(c, a, m): n for c, a, m, n in rows}


def tickets(warehouse: Path) -> dict[tuple[str, str | None, str], dict[str, Any]]:
    """Every ticket by ``(clause_id, account, month)``."""
    with closing_connection(warehouse) as con:
        cursor = con.execute("select * from compliance.tickets")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    keys = [(r["clause_id"], r["account_sid"], r["month"]) for r in rows]
    assert len(set(keys)) == len(keys), "two tickets for one (clause, account, month)"
    return dict(zip(keys, rows, strict=True))


def outbox_entries(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "notifications" / "slack_outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _dq(key: tuple[str, str | None, str]) -> bool:
    return key[0].startswith("dq.")


def failing_checks(warehouse: Path) -> set[str]:
    """The data-quality checks that failed in the latest validation run."""
    with closing_connection(warehouse) as con:
        rows = con.execute(
            "select distinct check_id from compliance.validation_results"
            " where suite_kind = 'data_quality' and not success and exception is null"
            " and run_id = (select run_id from compliance.validation_runs"
            " order by validated_at desc limit 1)"
        ).fetchall()
    return {r[0] for r in rows}


def test_one_open_ticket_per_failing_clause_account_and_month(first_run: dict[str, Any]) -> None:
    groups = failing_groups(first_run["warehouse"])
    found = tickets(first_run["warehouse"])

    assert len(groups) >= 12, "the generator plants violations of every clause"
    clause_tickets = {k for k, t in found.items() if t["status"] == "open" and not _dq(k)}
    assert clause_tickets == set(groups)
    # Every failing data-quality check of the run is a ticket of its own.
    assert {k[0] for k, t in found.items() if t["status"] == "open" and _dq(k)} == (
        failing_checks(first_run["warehouse"])
    )
    for key, violations in groups.items():
        ticket = found[key]
        assert ticket["violation_count"] == violations, key
        assert ticket["first_seen_at"] == ticket["opened_at"]
        assert ticket["evidence_query"] and ticket["dbt_docs_url"] and ticket["data_docs_url"]
        examples = json.loads(ticket["example_subjects"])
        assert 0 < len(examples) <= min(violations, 5)
    assert not FULL_NUMBER.search(json.dumps(list(found.values()), default=str))


def test_the_outbox_holds_the_runs_slack_message(first_run: dict[str, Any]) -> None:
    with closing_connection(first_run["warehouse"]) as con:
        runs = con.execute("select run_id from compliance.validation_runs").fetchall()
    entries = outbox_entries(first_run["data_dir"])

    assert len(runs) == 1
    run_messages = [e for e in entries if e["key"].startswith("run:vc_validate:")]
    assert [e["key"] for e in run_messages] == [f"run:vc_validate:{runs[0][0]}"]
    payload = json.dumps(run_messages[0]["payload"])
    assert run_messages[0]["payload"]["blocks"]
    for clause_id in {key[0] for key in failing_groups(first_run["warehouse"])}:
        assert f"`{clause_id}`" in payload
    assert not FULL_NUMBER.search(json.dumps(entries))


def test_summary_prints_clauses_tickets_and_output_paths(first_run: dict[str, Any]) -> None:
    out = first_run["stdout"]

    assert "open tickets" in out
    assert "consent.prior_consent" in out
    for place in ("static_index.html", "data_docs", "compliance.tickets", "slack_outbox.jsonl"):
        assert place in out


def test_second_run_changes_nothing(first_run: dict[str, Any]) -> None:
    tmp, landing, warehouse = first_run["tmp"], first_run["landing"], first_run["warehouse"]
    before = snapshot(warehouse)
    tickets_before = tickets(warehouse)
    started = time.monotonic()
    cli(tmp, "run", "--landing", str(landing), "--warehouse", str(warehouse))
    print(f"\nsecond run: {time.monotonic() - started:.1f} s")
    after = snapshot(warehouse)

    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"{table} changed on a re-run"
    stable = ("status", "violation_count", "first_seen_at", "opened_at", "reopen_count")
    assert {k: [t[c] for c in stable] for k, t in tickets(warehouse).items()} == {
        k: [t[c] for c in stable] for k, t in tickets_before.items()
    }
    with closing_connection(warehouse) as con:
        events = con.execute(
            "select event, count(*) from compliance.ticket_events group by event"
        ).fetchall()
    assert dict(events) == {"opened": len(tickets_before)}
    assert len(outbox_entries(first_run["data_dir"])) == 2  # one message per run


def test_a_corrected_landing_zone_resolves_the_tickets(first_run: dict[str, Any]) -> None:
    """The exports are re-issued without the violations (same folder, same
    warehouse): the next run resolves every ticket whose group no longer fails."""
    tmp, landing, warehouse = first_run["tmp"], first_run["landing"], first_run["warehouse"]
    open_before = {k for k, t in tickets(warehouse).items() if t["status"] == "open"}
    cli(
        tmp,
        "generate",
        "--out",
        str(landing),
        "--clean",
        "--seed",
        str(PIPELINE_SEED),
        "--calls",
        str(PIPELINE_CALLS),
    )

    cli(tmp, "run", "--landing", str(landing), "--warehouse", str(warehouse))

    groups = failing_groups(warehouse)
    after = tickets(warehouse)
    assert groups == {}, "the corrected landing zone still breaks the policy"
    still_failing = failing_checks(warehouse)
    assert {k for k in after if not _dq(k)} == {k for k in open_before if not _dq(k)}
    for key, ticket in after.items():
        if _dq(key) and key[0] in still_failing:  # the data-quality finding remains
            assert ticket["status"] == "open", key
        else:
            assert ticket["status"] == "resolved" and ticket["resolved_at"], key
    resolved_now = {k for k, t in after.items() if t["status"] == "resolved"}
    with closing_connection(warehouse) as con:
        resolved = con.execute(
            "select count(*) from compliance.ticket_events where event = 'resolved'"
        ).fetchone()
    assert resolved is not None and resolved[0] == len(resolved_now)


def _probe_home(tmp_path: Path) -> tuple[Path, Settings]:
    """A DAG folder with the probe DAGs, and settings for a private Airflow home."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "vc_probe.py").write_text(PROBE_DAGS)
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "echo.json",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
    )
    return dags, settings


def test_run_dag_passes_conf_and_raises_when_a_task_fails(tmp_path: Path) -> None:
    """A failing task makes ``run_dag`` raise ``DagRunFailed`` naming task and error."""
    dags, settings = _probe_home(tmp_path)
    # Logs of runs older than VC_HISTORY_DAYS (400 by default) go when a run starts.
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True)
    stale, recent, other = logs / "pipeline.old.log", logs / "pipeline.recent.log", logs / "n.txt"
    for path in (stale, recent, other):
        path.write_text("earlier run\n")
    long_ago = time.time() - 401 * 86400
    os.utime(stale, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    ensure_airflow(settings)
    started = time.monotonic()
    ensure_airflow(settings)
    assert time.monotonic() - started < 1, "ensure_airflow is not a no-op when already done"

    run_dag("vc_probe_ok", settings, dags_folder=dags)
    assert not stale.exists() and recent.is_file() and other.is_file()
    echoed = (tmp_path / "echo.json").read_text()
    assert str(tmp_path / "landing") in echoed
    assert str(tmp_path / "data") in echoed

    with pytest.raises(DagRunFailed) as failed:
        run_dag("vc_probe_fail", settings, dags_folder=dags)
    assert failed.value.dag_id == "vc_probe_fail"
    assert failed.value.reason == "task boom: ValueError: boom from the probe"
    assert failed.value.log_path.is_file()
    assert failed.value.log_path.parent == settings.data_dir / "logs"


def test_run_dags_runs_a_sequence_in_order_and_stops_at_the_failed_dag(tmp_path: Path) -> None:
    """``run_dags`` (the pipeline's runner): each DAG in turn, one Airflow process;
    the first failed DAG stops the sequence and is the one ``DagRunFailed`` names,
    with the reason taken from that DAG's part of the log."""
    dags, settings = _probe_home(tmp_path)
    ensure_airflow(settings)
    first = {"landing": "first", "warehouse": str(tmp_path / "first.json")}
    second = {"landing": "second", "warehouse": str(tmp_path / "second.json")}
    events: list[dict[str, Any]] = []

    done = run_dags(
        [("vc_probe_ok", first), ("vc_probe_ok", second)],
        settings,
        dags_folder=dags,
        on_progress=events.append,
    )
    assert json.loads((tmp_path / "first.json").read_text())["params"]["landing"] == "first"
    assert json.loads((tmp_path / "second.json").read_text())["params"]["landing"] == "second"
    assert [(e["dag_id"], e["state"]) for e in events if e["kind"] == "dag"] == [
        ("vc_probe_ok", "running"),
        ("vc_probe_ok", "success"),
        ("vc_probe_ok", "running"),
        ("vc_probe_ok", "success"),
    ]
    assert set(done.seconds) == {"vc_probe_ok"} and done.seconds["vc_probe_ok"] > 0
    assert done.log_path.read_text().count("DagRun Finished: dag_id=vc_probe_ok") == 2

    never = {"landing": "never", "warehouse": str(tmp_path / "never.json")}
    with pytest.raises(DagRunFailed) as failed:
        run_dags(
            [("vc_probe_ok", first), ("vc_probe_fail", {}), ("vc_probe_ok", never)],
            settings,
            dags_folder=dags,
        )
    assert failed.value.dag_id == "vc_probe_fail"
    assert failed.value.reason == "task boom: ValueError: boom from the probe"
    assert "vc_probe_ok" not in failed.value.log_tail
    assert not (tmp_path / "never.json").exists(), "the sequence went on after a failed DAG"
