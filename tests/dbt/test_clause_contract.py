"""The clause mart contract is declared once and enforced (decision 0018).

``models/marts/clauses/_clauses.yml`` declares the eight columns every clause
mart has (names, order, types) once, as YAML anchors; dbt_project.yml
enforces the contract on the folder; the generic test ``clause_contract``
checks each mart's values; ``vc_clause_config`` gives each mart the tag and
meta of its clause. The manifest tests read ``dbt parse`` of the project; the
behavioural ones build stand-in marts in a copy of the project on an empty
warehouse: a mart with a wrong column type does not build, and the generic
test finds exactly the breaches planted in a mart that builds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from voice_compliance import dbt_runner
from voice_compliance.config import Settings
from voice_compliance.dbt_runner import DbtCommandFailed
from voice_compliance.policy import policy_vars

pytestmark = pytest.mark.dbt

CONTRACT = [
    ("clause_id", "varchar"),
    ("subject_type", "varchar"),
    ("subject_id", "varchar"),
    ("account_sid", "varchar"),
    ("period_start", "date"),
    ("is_violation", "boolean"),
    ("severity", "varchar"),
    ("evidence", "json"),
]
SUBJECT_TYPES = {"call", "number_month", "account_month", "account_day", "registry_day"}
CLAUSES: dict[str, dict[str, Any]] = policy_vars()["clauses"]
CLAUSES_DIR = dbt_runner.DBT_PROJECT_DIR / "models" / "marts" / "clauses"
CONTRACT_FILE = CLAUSES_DIR / "_clauses.yml"


def mart_of(clause_id: str) -> str:
    """The mart's name (the convention of vc_clause_model)."""
    return "clause_" + clause_id.replace(".", "__")


def _settings(root: Path, project: Path | None = None) -> Settings:
    settings = Settings(
        landing=str(root / "landing"),
        warehouse=root / "wh.duckdb",
        data_dir=root / "data",
        airflow_home=root / "airflow",
    )
    return settings.replace(dbt_project_dir=project) if project else settings


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = _settings(tmp_path_factory.mktemp("contract_parse"))
    return json.loads(dbt_runner.dbt_parse(settings).read_text())


def _marts(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    return {
        clause_id: models[mart_of(clause_id)]
        for clause_id in CLAUSES
        if mart_of(clause_id) in models
    }


def test_every_clause_has_a_mart_with_the_enforced_contract(manifest: dict[str, Any]) -> None:
    marts = _marts(manifest)

    assert set(marts) == set(CLAUSES), "a clause of policy.yml without its mart"
    for clause_id, node in marts.items():
        columns = [(c["name"], c["data_type"]) for c in node["columns"].values()]
        assert node["config"]["contract"]["enforced"] is True, clause_id
        assert columns == CONTRACT, clause_id
        assert node["patch_path"].endswith("models/marts/clauses/_clauses.yml"), clause_id
        # every column documented for the dbt docs (shared doc blocks or its own)
        assert all(c["description"].strip() for c in node["columns"].values()), clause_id


def test_only_clause_marts_live_in_the_clauses_folder(manifest: dict[str, Any]) -> None:
    """The folder's enforced contract fits every model in it."""
    in_folder = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["original_file_path"].startswith("models/marts/clauses/")
    }

    assert in_folder == {mart_of(clause_id) for clause_id in CLAUSES}


def test_every_clause_mart_carries_its_clause_tag_and_meta(manifest: dict[str, Any]) -> None:
    for clause_id, node in _marts(manifest).items():
        clause = CLAUSES[clause_id]
        assert clause_id in node["tags"], clause_id
        assert node["config"]["meta"] == {
            "clause_id": clause_id,
            "severity": clause["severity"],
            "owner": clause["owner"],
        }


def test_every_clause_mart_has_the_generic_contract_test(manifest: dict[str, Any]) -> None:
    tests: dict[str, list[dict[str, Any]]] = {}
    for node in manifest["nodes"].values():
        if (
            node["resource_type"] == "test"
            and (node.get("test_metadata") or {}).get("name") == "clause_contract"
        ):
            tests.setdefault(node["attached_node"].split(".")[-1], []).append(node)

    for clause_id, mart in _marts(manifest).items():
        (test,) = tests.pop(mart["name"])
        kwargs = test["test_metadata"]["kwargs"]
        assert kwargs["clause_id"] == clause_id
        assert kwargs["subject_type"] in SUBJECT_TYPES
        # an error, not a warning; reported with its clause (vc_transform's report tasks)
        assert test["config"]["severity"].lower() == "error"
        assert clause_id in test["tags"]
        if kwargs["subject_type"] == "call":
            assert "model.voice_compliance.int_calls_enriched" in test["depends_on"]["nodes"]
    assert not tests, f"clause_contract on a model that is no clause mart: {sorted(tests)}"


def _yaml_nodes(value: Any) -> list[Any]:
    found = [value]
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    for child in children:
        found += _yaml_nodes(child)
    return found


def test_the_contract_is_declared_once() -> None:
    """The columns' types in one file, once each; no tag or meta repeated on a
    mart or a test of the folder (they come from vc_clause_config)."""
    files = sorted(CLAUSES_DIR.rglob("*.yml"))
    text = {path: path.read_text(encoding="utf-8") for path in files}
    typed = {path for path, body in text.items() if "data_type:" in body}

    assert typed == {CONTRACT_FILE}
    anchors = yaml.safe_load(text[CONTRACT_FILE])["anchors"]
    declared = [(a["name"], a["data_type"]) for a in anchors if "data_type" in a]
    assert declared[: len(CONTRACT)] == CONTRACT
    assert text[CONTRACT_FILE].count("data_type:") == len(CONTRACT)
    for path, body in text.items():
        keys = {
            k for node in _yaml_nodes(yaml.safe_load(body)) if isinstance(node, dict) for k in node
        }
        assert not keys & {"tags", "meta"}, path
        assert "config:" not in body, path


# --- behaviour: built in a copy of the project on an empty warehouse ----------


def _mart_sql(clause_id: str, rows: list[str]) -> str:
    """A stand-in mart: its clause's config and constant rows."""
    return f"{{{{ vc_clause_config('{clause_id}') }}}}\n" + "\nunion all\n".join(rows) + "\n"


def _row(
    clause_id: str,
    subject_type: str,
    subject_id: str,
    *,
    account: str = "'AC1'",
    period: str = "cast('2026-09-01' as date)",
    violation: str = "false",
    severity: str | None = None,
    evidence: str = "json_object('k', 1)",
) -> str:
    severity = severity or f"'{CLAUSES[clause_id]['severity']}'"
    return (
        f"select '{clause_id}' as clause_id, '{subject_type}' as subject_type,"
        f" {subject_id} as subject_id, cast({account} as varchar) as account_sid,"
        f" {period} as period_start, {violation} as is_violation,"
        f" {severity} as severity, {evidence} as evidence"
    )


# duration.average: what the mart computes does not matter here, only its shape.
WRONG_TYPE = _mart_sql(
    "duration.average",
    [_row("duration.average", "account_month", "'AC1/2026-09'", period="'2026-09-01'")],
)
GOOD_ROWS = _mart_sql(
    "unanswered.volume",
    [
        _row("unanswered.volume", "number_month", "'+15125550100/2026-09'"),
        _row("unanswered.volume", "number_month", "'+15125550101/2026-09'", violation="true"),
    ],
)
# optout.mechanism (subjects: calls): one good row and one breach of each rule.
SEVERITY = f"'{CLAUSES['optout.mechanism']['severity']}'"
BREACHES = {
    "CA_other_clause": "clause_id is not optout.mechanism",
    "CA_other_type": "subject_type is not call",
    "CA_twice": "subject_id is not unique",
    "CA_unknown_call": "subject_id is not a call of int_calls_enriched",
    "CA_no_account": "account_sid is null",
    "CA_no_period": "period_start is null",
    "CA_no_outcome": "is_violation is null",
    "CA_low_severity": "severity is not the policy's",
    "CA_evidence_array": "evidence is not a JSON object",
    "CA_evidence_text": "evidence is not a JSON object",
}
BAD_ROWS = _mart_sql(
    "optout.mechanism",
    [
        _row("optout.mechanism", "call", "'CA_good'"),
        _row("disclosure.identity_purpose", "call", "'CA_other_clause'", severity=SEVERITY),
        _row("optout.mechanism", "account_day", "'CA_other_type'"),
        _row("optout.mechanism", "call", "'CA_twice'"),
        _row("optout.mechanism", "call", "'CA_twice'"),
        _row("optout.mechanism", "call", "'CA_unknown_call'"),
        _row("optout.mechanism", "call", "'CA_no_account'", account="null"),
        _row("optout.mechanism", "call", "'CA_no_period'", period="cast(null as date)"),
        _row("optout.mechanism", "call", "'CA_no_outcome'", violation="cast(null as boolean)"),
        _row("optout.mechanism", "call", "'CA_low_severity'", severity="'low'"),
        _row("optout.mechanism", "call", "'CA_evidence_array'", evidence="json_array(1, 2)"),
        _row("optout.mechanism", "call", "'CA_evidence_text'", evidence="to_json('text')"),
    ],
)
CALLS = "\nunion all\n".join(
    f"select '{sid}' as call_sid" for sid in ["CA_good", *BREACHES] if sid != "CA_unknown_call"
)


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The dbt project, copied, with four stand-in models (no refs: they build
    on an empty warehouse)."""
    root = tmp_path_factory.mktemp("contract_build")
    project = root / "dbt_project"
    shutil.copytree(
        dbt_runner.DBT_PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "lint"),
    )
    models = project / "models"
    (models / "marts/clauses/volume/clause_duration__average.sql").write_text(WRONG_TYPE)
    (models / "marts/clauses/volume/clause_unanswered__volume.sql").write_text(GOOD_ROWS)
    (models / "marts/clauses/consent_optout/clause_optout__mechanism.sql").write_text(BAD_ROWS)
    (models / "intermediate/int_calls_enriched.sql").write_text(CALLS + "\n")
    return _settings(root, project)


def _build(settings: Settings, *models: str) -> None:
    """Build ``models`` and their tests (not the unit tests: the stand-ins do
    not compute what the real marts do), storing test failures."""
    dbt_runner.run_dbt(
        settings,
        ["build", "--select", *models, "--exclude-resource-type", "unit_test", "--store-failures"],
    )


def test_a_mart_with_a_wrong_column_type_does_not_build(project_copy: Settings) -> None:
    with pytest.raises(DbtCommandFailed) as failed:
        _build(project_copy, "clause_duration__average")

    (failure,) = failed.value.failures
    assert failure.unique_id == "model.voice_compliance.clause_duration__average"
    assert "contract" in failure.message.lower()
    assert "period_start" in failure.message


def test_a_mart_that_keeps_the_contract_builds_and_passes(project_copy: Settings) -> None:
    _build(project_copy, "clause_unanswered__volume")

    with duckdb.connect(str(project_copy.warehouse), read_only=True) as con:
        rows = con.execute("select count(*) from compliance.clause_unanswered__volume").fetchone()
    assert rows == (2,)


def test_the_contract_test_finds_every_breach(project_copy: Settings) -> None:
    # run, then test: int_calls_enriched's own tests (on columns the stand-in
    # lacks) must not skip the contract test, which also reads it
    dbt_runner.run_dbt(
        project_copy, ["run", "--select", "int_calls_enriched", "clause_optout__mechanism"]
    )
    with pytest.raises(DbtCommandFailed) as failed:
        dbt_runner.run_dbt(
            project_copy,
            [
                "test",
                "--select",
                "clause_optout__mechanism",
                "--exclude-resource-type",
                "unit_test",
                "--store-failures",
            ],
        )

    (failure,) = failed.value.failures
    assert failure.unique_id.startswith("test.voice_compliance.clause_contract_clause_optout__")
    assert failure.status == "fail"
    with duckdb.connect(str(project_copy.warehouse), read_only=True) as con:
        (schema, table) = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema like '%dbt_test__audit' and table_name like 'clause_contract%'"
        ).fetchone()
        found = con.execute(f'select subject_id, breach from "{schema}"."{table}"').fetchall()
    assert sorted(found) == sorted(BREACHES.items())
