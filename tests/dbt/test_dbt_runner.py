"""``voice_compliance.dbt_runner``: the dbt command line, failure reports,
manifest publishing, and real dbt runs (parse; build on a generated warehouse).

The quick tests run a fake ``dbt`` (a shell script); the ``dbt``-marked ones
run the real dbt, on a tiny throw-away project or on the project itself.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pytest

from voice_compliance import dbt_runner, derivation_state
from voice_compliance.config import Settings
from voice_compliance.dbt_runner import DbtCommandFailed
from voice_compliance.policy import policy_vars


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        landing=str(tmp_path / "landing"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
    )


FAKE_DBT = """#!/bin/sh
# A stand-in for dbt: records its arguments and VC_WAREHOUSE, writes the
# artifacts a real run would, exits with $FAKE_DBT_EXIT.
target=""
prev=""
for arg in "$@"; do
  [ "$prev" = "--target-path" ] && target="$arg"
  prev="$arg"
done
printf '%s\\n' "$@" > "$FAKE_DBT_LOG"
echo "VC_WAREHOUSE=$VC_WAREHOUSE" >> "$FAKE_DBT_LOG"
echo '{"nodes": {}}' > "$target/manifest.json"
cat "$FAKE_DBT_RESULTS" > "$target/run_results.json"
echo "fake dbt output line"
exit "$FAKE_DBT_EXIT"
"""


@pytest.fixture
def fake_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Point the runner at ``FAKE_DBT``; yields the paths it reads and writes."""
    script = tmp_path / "bin" / "dbt"
    script.parent.mkdir()
    script.write_text(FAKE_DBT)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    paths = {"log": tmp_path / "fake_dbt.log", "results": tmp_path / "fake_results.json"}
    monkeypatch.setattr(dbt_runner, "VENV_BIN", script.parent)
    monkeypatch.setenv("FAKE_DBT_LOG", str(paths["log"]))
    monkeypatch.setenv("FAKE_DBT_RESULTS", str(paths["results"]))
    monkeypatch.setenv("FAKE_DBT_EXIT", "0")
    paths["results"].write_text(json.dumps({"results": []}))
    yield paths


def fake_results(path: Path, *statuses: tuple[str, str, str]) -> None:
    results = [{"unique_id": u, "status": s, "message": m} for u, s, m in statuses]
    path.write_text(json.dumps({"results": results}))


@pytest.mark.quick
def test_command_passes_project_profile_target_and_policy(settings: Settings) -> None:
    command = dbt_runner.dbt_command(settings, ["build", "--select", "staging"])

    def after(flag: str) -> str:
        return command[command.index(flag) + 1]

    assert command[1:4] == ["build", "--select", "staging"]
    assert after("--project-dir") == str(dbt_runner.DBT_PROJECT_DIR)
    assert after("--profiles-dir") == str(dbt_runner.DBT_PROJECT_DIR)
    assert after("--target") == "local"
    assert after("--target-path") == str(settings.data_dir / "dbt" / "target")
    assert after("--log-path") == str(settings.data_dir / "dbt" / "logs")
    assert json.loads(after("--vars")) == policy_vars()


@pytest.mark.quick
def test_environment_carries_the_warehouse(settings: Settings) -> None:
    env = dbt_runner.dbt_env(settings, base={"PATH": "/usr/bin", "VC_WAREHOUSE": "/elsewhere"})

    assert env["VC_WAREHOUSE"] == str(settings.warehouse)
    assert env["PATH"] == "/usr/bin"
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"


@pytest.mark.quick
def test_environment_carries_the_duckdb_resource_settings(settings: Settings) -> None:
    env = dbt_runner.dbt_env(settings, base={})

    # profiles.yml reads these (memory_limit, threads, temp_directory).
    for name in ("VC_DUCKDB_MEMORY_LIMIT", "VC_DUCKDB_THREADS", "VC_DUCKDB_TEMP_DIRECTORY"):
        assert env[name] == settings.to_env()[name], name


def node(
    uid: str, tags: list[str], parents: Sequence[str] = (), **config: str
) -> dict[str, object]:
    kind = uid.split(".")[0]
    return {
        "resource_type": kind,
        "package_name": "voice_compliance",
        "tags": tags,
        "config": {"tags": tags, **config},
        "depends_on": {"nodes": list(parents)},
    }


def write_build(
    settings: Settings, nodes: dict[str, dict[str, object]], results: dict[str, str]
) -> None:
    target = dbt_runner.target_dir(settings)
    target.mkdir(parents=True)
    unit = {k: v for k, v in nodes.items() if k.startswith("unit_test.")}
    manifest = {
        "metadata": {"project_name": "voice_compliance"},
        "nodes": {k: v for k, v in nodes.items() if k not in unit},
        "unit_tests": unit,
    }
    (target / "manifest.json").write_text(json.dumps(manifest))
    run = [{"unique_id": u, "status": s, "message": f"{u} said {s}"} for u, s in results.items()]
    (target / "run_results.json").write_text(json.dumps({"results": run}))


@pytest.mark.quick
def test_build_outcomes_group_nodes_by_clause(settings: Settings) -> None:
    p = "model.voice_compliance."
    nodes = {
        p + "stg": node(p + "stg", ["staging"]),
        p + "shared": node(p + "shared", ["a.one", "b.two"], [p + "stg"]),
        p + "clause_a": node(p + "clause_a", ["a.one"], [p + "shared"]),
        p + "clause_b": node(p + "clause_b", ["b.two"], [p + "shared"]),
        p + "eph": node(p + "eph", ["b.two"], materialized="ephemeral"),
        p + "summary": node(p + "summary", ["compliance"], [p + "clause_a", p + "clause_b"]),
        # An untagged test belongs to its parent's groups; a tagged one to its tags.
        "test.voice_compliance.t_a": node("test.voice_compliance.t_a", [], [p + "clause_a"]),
        "test.voice_compliance.t_stg": node("test.voice_compliance.t_stg", [], [p + "stg"]),
        "unit_test.voice_compliance.u_b": node("unit_test.voice_compliance.u_b", ["b.two"]),
    }
    write_build(
        settings,
        nodes,
        {
            p + "stg": "success",
            p + "shared": "success",
            p + "clause_a": "success",
            "test.voice_compliance.t_a": "fail",
            "test.voice_compliance.t_stg": "pass",
            "unit_test.voice_compliance.u_b": "error",
            p + "clause_b": "skipped",
            # summary: never reached (dbt stopped)
        },
    )

    outcomes = dbt_runner.build_outcomes(settings, ["a.one", "b.two", "c.three"], unit_tests=True)

    assert list(outcomes) == ["foundation", "a.one", "b.two", "c.three", "compliance"]
    assert outcomes["foundation"] == {
        "nodes": 2,
        "statuses": {"success": 1, "pass": 1},
        "problems": [],
    }
    assert outcomes["a.one"]["nodes"] == 3  # shared, clause_a, t_a
    assert outcomes["a.one"]["problems"] == [
        "test.voice_compliance.t_a [fail]: test.voice_compliance.t_a said fail"
    ]
    assert outcomes["b.two"]["problems"] == [
        f"{p}clause_b [skipped: an upstream node failed]",
        "unit_test.voice_compliance.u_b [error]: unit_test.voice_compliance.u_b said error",
    ]
    assert outcomes["c.three"] == {"nodes": 0, "statuses": {}, "problems": []}
    assert outcomes["compliance"]["problems"] == [
        f"{p}summary [not run: dbt build stopped before it]"
    ]
    json.dumps(outcomes)  # an XCom value

    assert dbt_runner.check_group(outcomes, "foundation") == {"success": 1, "pass": 1}
    assert dbt_runner.check_group(outcomes, "c.three") == {}
    with pytest.raises(dbt_runner.GroupFailed, match=r"b.two: 2 of 3 node\(s\) did not pass"):
        dbt_runner.check_group(outcomes, "b.two")
    with pytest.raises(dbt_runner.GroupFailed, match="no node results"):
        dbt_runner.check_group(None, "a.one")

    # A build without unit tests (the pipeline's) does not expect them.
    without = dbt_runner.build_outcomes(settings, ["a.one", "b.two", "c.three"])
    assert without["b.two"]["problems"] == [f"{p}clause_b [skipped: an upstream node failed]"]
    assert without["b.two"]["nodes"] == 2


@pytest.mark.quick
def test_an_untagged_test_belongs_to_the_model_it_is_attached_to(settings: Settings) -> None:
    p = "model.voice_compliance."
    t = "test.voice_compliance."
    # A relationships test declared on a clause model reads a staging model too;
    # without tags it is reported with its model only, never with foundation.
    relationships = node(t + "relationships", [], [p + "stg", p + "clause_a"])
    relationships["attached_node"] = p + "clause_a"
    # A test attached to no reported node (here an ephemeral model) keeps its
    # parents' groups, as does one without attached_node (older manifests).
    on_ephemeral = node(t + "on_eph", [], [p + "stg", p + "eph"])
    on_ephemeral["attached_node"] = p + "eph"
    unattached = node(t + "unattached", [], [p + "stg", p + "clause_a"])
    nodes = {
        p + "stg": node(p + "stg", ["staging"]),
        p + "clause_a": node(p + "clause_a", ["a.one"], [p + "stg"]),
        p + "eph": node(p + "eph", ["a.one"], [p + "stg"], materialized="ephemeral"),
        t + "relationships": relationships,
        t + "on_eph": on_ephemeral,
        t + "unattached": unattached,
    }
    # Every test fails: a group's problems name the tests it holds.
    write_build(settings, nodes, {u: "fail" if u.startswith(t) else "success" for u in nodes})

    outcomes = dbt_runner.build_outcomes(settings, ["a.one", "b.two"])

    def failed(group: str) -> list[str]:
        return [problem.split(" ")[0] for problem in outcomes[group]["problems"]]

    assert failed("a.one") == [t + "relationships", t + "unattached"]
    assert failed("foundation") == [t + "on_eph", t + "unattached"]
    assert outcomes["a.one"]["nodes"] == 3  # clause_a and those two tests
    assert outcomes["b.two"]["nodes"] == 0


@pytest.mark.quick
def test_success_publishes_the_manifest_and_counts_statuses(
    settings: Settings, fake_dbt: dict[str, Path]
) -> None:
    fake_results(
        fake_dbt["results"],
        ("model.voice_compliance.a", "success", ""),
        ("test.voice_compliance.t", "pass", ""),
        ("test.voice_compliance.u", "warn", "Got 1 result"),
    )
    before = time.time()

    result = dbt_runner.dbt_build(settings, select=["staging", "intermediate"])

    assert result.statuses == {"success": 1, "pass": 1, "warn": 1}
    published = dbt_runner.manifest_path(settings)
    assert json.loads(published.read_text()) == {"nodes": {}}
    # Stamped with the time dbt started, so edits during the run make it stale.
    assert before - 1 <= published.stat().st_mtime <= time.time()
    argv = fake_dbt["log"].read_text().splitlines()
    assert argv[:6] == [
        "build", "--exclude-resource-type", "unit_test", "--select", "staging", "intermediate"
    ]
    assert f"VC_WAREHOUSE={settings.warehouse}" in argv


@pytest.mark.quick
def test_full_refresh_reaches_dbt(settings: Settings, fake_dbt: dict[str, Path]) -> None:
    fake_results(fake_dbt["results"], ("model.voice_compliance.a", "success", ""))

    dbt_runner.dbt_build(settings, full_refresh=True)
    refreshed = fake_dbt["log"].read_text().splitlines()
    dbt_runner.dbt_build(settings)
    incremental = fake_dbt["log"].read_text().splitlines()

    assert refreshed[:2] == ["build", "--full-refresh"]
    assert "--full-refresh" not in incremental


def _stale_warehouse(settings: Settings) -> None:
    """A warehouse with derived rows, recorded as built by another project."""
    schema, table = derivation_state.DERIVED_MARKERS[0]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"create schema {schema}")
        con.execute(f"create table {schema}.{table} (call_date date)")
    derivation_state.record(settings, "an older project", full_refresh=False)


@pytest.mark.quick
def test_a_changed_project_refreshes_whole_builds_only(
    settings: Settings, fake_dbt: dict[str, Path]
) -> None:
    """Decision 0033: a selected build neither refreshes nor records; the
    whole build does both, once."""
    fake_results(fake_dbt["results"], ("model.voice_compliance.a", "success", ""))
    _stale_warehouse(settings)

    dbt_runner.dbt_build(settings, select="staging")
    dbt_runner.dbt_build(settings, exclude="marts")
    assert "--full-refresh" not in fake_dbt["log"].read_text().splitlines()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert derivation_state.recorded(con).project_fingerprint == "an older project"  # type: ignore[union-attr]

    dbt_runner.dbt_build(settings)
    assert fake_dbt["log"].read_text().splitlines()[:2] == ["build", "--full-refresh"]
    dbt_runner.dbt_build(settings)
    assert "--full-refresh" not in fake_dbt["log"].read_text().splitlines()


@pytest.mark.quick
def test_a_failed_build_records_nothing(
    settings: Settings, fake_dbt: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full refresh that failed part-way may have left models old: the next
    whole build refreshes again."""
    fake_results(fake_dbt["results"], ("model.voice_compliance.a", "error", "boom"))
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    _stale_warehouse(settings)

    with pytest.raises(DbtCommandFailed):
        dbt_runner.dbt_build(settings)

    assert fake_dbt["log"].read_text().splitlines()[:2] == ["build", "--full-refresh"]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert derivation_state.recorded(con).project_fingerprint == "an older project"  # type: ignore[union-attr]


@pytest.mark.quick
def test_failure_names_the_failing_nodes(
    settings: Settings, fake_dbt: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_results(
        fake_dbt["results"],
        ("model.voice_compliance.ok", "success", ""),
        ("model.voice_compliance.broken", "error", "Binder Error: column x not found\nmore"),
        ("test.voice_compliance.not_null_a_id", "fail", "Got 3 results, configured to fail"),
        ("model.voice_compliance.downstream", "skipped", ""),
    )
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")

    with pytest.raises(DbtCommandFailed) as failed:
        dbt_runner.dbt_build(settings)

    assert [f.unique_id for f in failed.value.failures] == [
        "model.voice_compliance.broken",
        "test.voice_compliance.not_null_a_id",
    ]
    message = str(failed.value)
    assert message.startswith("dbt build failed: 2 failing node(s):")
    assert "model.voice_compliance.broken [error]: Binder Error: column x not found" in message
    assert "more" not in message
    assert not dbt_runner.manifest_path(settings).exists(), "a failed run published a manifest"


@pytest.mark.quick
def test_failure_before_any_node_shows_dbt_output(
    settings: Settings, fake_dbt: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dbt["results"].write_text("not json")
    monkeypatch.setenv("FAKE_DBT_EXIT", "2")

    with pytest.raises(DbtCommandFailed) as failed:
        dbt_runner.dbt_parse(settings)

    assert failed.value.failures == []
    assert "dbt parse failed (exit code 2)" in str(failed.value)
    assert "fake dbt output line" in str(failed.value)


@pytest.mark.quick
def test_manifest_is_stale_when_a_project_file_changes(tmp_path: Path, settings: Settings) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    model = project / "models" / "a.sql"
    model.write_text("select 1")
    (project / "target").mkdir()
    assert not dbt_runner.manifest_is_current(settings, project)

    manifest = dbt_runner.manifest_path(settings)
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    now = time.time()
    os.utime(manifest, (now, now))
    for path in (model, model.parent, project):
        os.utime(path, (now - 10, now - 10))
    assert dbt_runner.manifest_is_current(settings, project)

    (project / "target" / "run_results.json").write_text("{}")  # build output: ignored
    os.utime(project / "target", (now + 5, now + 5))
    assert dbt_runner.manifest_is_current(settings, project)

    os.utime(model, (now + 5, now + 5))  # an edited model
    assert not dbt_runner.manifest_is_current(settings, project)
    os.utime(model, (now - 10, now - 10))
    (project / ".user.yml").write_text("id: x")  # dbt's files at the top: ignored
    os.utime(project, (now + 5, now + 5))
    assert dbt_runner.manifest_is_current(settings, project)

    model.unlink()  # a deleted model changes its folder
    os.utime(project / "models", (now + 5, now + 5))
    assert not dbt_runner.manifest_is_current(settings, project)


TINY_PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: voice_compliance\n",
    "models/ok.sql": "select {{ var('complaints_min_count') }} as threshold",
    "models/broken.sql": "select no_such_column from (select 1 as a)",
    "models/after_broken.sql": "select * from {{ ref('broken') }}",
    "models/schema.yml": (
        "version: 2\nmodels:\n  - name: ok\n    columns:\n      - name: threshold\n"
        "        data_tests:\n          - accepted_values:\n              arguments:\n"
        "                values: [99]\n"
    ),
}


@pytest.mark.dbt
def test_real_dbt_reports_failing_model_and_test(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A throw-away project through the real dbt: the model error and the failed
    test are named, the downstream model is only skipped."""
    project = tmp_path / "tiny"
    for name, text in TINY_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    shutil.copy(dbt_runner.DBT_PROJECT_DIR / "profiles.yml", project / "profiles.yml")
    settings = settings.replace(dbt_project_dir=project)

    with pytest.raises(DbtCommandFailed) as failed:
        dbt_runner.dbt_build(settings)

    model, test = sorted(failed.value.failures, key=lambda f: f.unique_id)
    assert (model.unique_id, model.status) == ("model.tiny.broken", "error")
    # Test ids end with a hash of their arguments.
    assert test.unique_id.startswith("test.tiny.accepted_values_ok_threshold__99.")
    assert test.status == "fail"
    assert "model.tiny.broken [error]: Runtime Error" in str(failed.value)
    assert "after_broken" not in str(failed.value)


@pytest.mark.dbt
def test_dbt_parse_publishes_the_project_manifest(settings: Settings) -> None:
    started = time.monotonic()
    manifest = dbt_runner.dbt_parse(settings)
    elapsed = time.monotonic() - started

    data = json.loads(manifest.read_text())
    assert manifest == settings.data_dir / "dbt" / "manifest.json"
    assert data["metadata"]["project_name"] == "voice_compliance"
    assert (settings.data_dir / "dbt" / "target" / "partial_parse.msgpack").is_file()
    assert not settings.warehouse.exists(), "dbt parse opened the warehouse"
    print(f"\ndbt parse: {elapsed:.1f} s, {len(data['nodes'])} nodes")


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small generated landing zone, ingested without Airflow, then `dbt build`."""
    from vc_sample.generate import generate
    from voice_compliance import ingest

    tmp = tmp_path_factory.mktemp("dbt_build")
    generate(tmp / "landing", 7, 500)
    settings = Settings(
        landing=str(tmp / "landing"),
        warehouse=tmp / "wh.duckdb",
        data_dir=tmp / "data",
        airflow_home=tmp / "airflow",
    )
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    started = time.monotonic()
    result = dbt_runner.dbt_build(settings)
    print(f"\n{result} (wall {time.monotonic() - started:.1f} s)")
    return settings


@pytest.mark.dbt
def test_dbt_build_on_a_generated_warehouse(built_warehouse: Settings) -> None:
    manifest = json.loads(dbt_runner.manifest_path(built_warehouse).read_text())
    models = {
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "ephemeral"
    }
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        relations = set(
            con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        )

    assert models, "the project has no models yet"
    assert models <= relations


@pytest.mark.dbt
def test_docs_generate_writes_a_static_site(built_warehouse: Settings) -> None:
    index = dbt_runner.dbt_docs_generate(built_warehouse)

    assert index == built_warehouse.data_dir / "dbt" / "target" / "static_index.html"
    assert index.stat().st_size > 100_000
    assert (index.parent / "catalog.json").is_file()


@pytest.mark.dbt
def test_an_upgraded_project_re_derives_the_warehouse_once(
    built_warehouse: Settings, tmp_path: Path
) -> None:
    """A warehouse derived by one version of the project, then built by a
    newer one whose incremental model has another column: a plain incremental
    run of that model fails (``on_schema_change='fail'``), the pipeline's
    build re-derives everything once and records the new project (decision
    0033)."""
    project = tmp_path / "dbt_project"
    shutil.copytree(
        dbt_runner.DBT_PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "lint"),
    )
    shutil.copy(built_warehouse.warehouse, tmp_path / "wh.duckdb")
    settings = built_warehouse.replace(
        warehouse=tmp_path / "wh.duckdb", data_dir=tmp_path / "data", dbt_project_dir=project
    )

    def recorded() -> list[tuple[str, bool]]:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            last = derivation_state.recorded(con)
        return [(last.project_fingerprint, last.full_refresh)] if last else []

    # the same project in another folder: nothing to re-derive
    original = derivation_state.project_fingerprint(project)
    assert recorded() == [(original, False)]
    dbt_runner.dbt_build(settings)
    assert recorded() == [(original, False)]

    model = project / "models" / "intermediate" / "dnc_callerid" / "int_dnc_registry_listings.sql"
    sql = model.read_text()
    assert "        listing_files\n    from listings" in sql
    model.write_text(
        sql.replace(
            "        listing_files\n    from listings",
            "        listing_files,\n        'v2' as upgraded_by\n    from listings",
        )
    )
    with pytest.raises(DbtCommandFailed):
        dbt_runner.run_dbt(settings, ["run", "--select", "int_dnc_registry_listings"])

    dbt_runner.dbt_build(settings)

    upgraded = derivation_state.project_fingerprint(project)
    assert recorded() == [(upgraded, True)]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'intermediate' and table_name = 'int_dnc_registry_listings'"
            ).fetchall()
        ]
    assert "upgraded_by" in columns
    dbt_runner.dbt_build(settings)
    assert recorded() == [(upgraded, False)], "the refresh happens once"
