"""The settings check (``voice_compliance.checks``) and ``python -m voice_compliance check``:
every wrong setting is one clear line, all of them at once, exit code 2, before
any data moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_compliance import checks, cli
from voice_compliance.config import Settings, landing_url_problem
from voice_compliance.policy import DEFAULT_POLICY_FILE

pytestmark = pytest.mark.quick

ENV = (
    "VC_LANDING",
    "VC_WAREHOUSE",
    "VC_DEFAULT_REGION",
    "VC_POLICY_FILE",
    "VC_AWS_CONN_ID",
    "VC_SLACK_CONN_ID",
    "VC_TICKET_SINK",
    "VC_TICKET_CONN_ID",
    "VC_TWILIO_CONN_ID",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VC_AIRFLOW_HOME", str(tmp_path / "airflow"))


def settings(tmp_path: Path, **overrides: object) -> Settings:
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    values: dict[str, object] = {"landing": landing, "warehouse": tmp_path / "wh.duckdb"}
    return Settings.from_env(**{**values, **overrides})


def test_good_settings_have_no_problem(tmp_path: Path) -> None:
    assert checks.problems(settings(tmp_path)) == []


def test_missing_landing_folder(tmp_path: Path) -> None:
    found = checks.problems(settings(tmp_path, landing="/does/not/exist"))

    assert found == ["VC_LANDING=/does/not/exist: landing folder does not exist"]
    # demo generates the folder: it need not exist before.
    lenient = checks.Scope(landing_must_exist=False)
    assert checks.problems(settings(tmp_path, landing="/does/not/exist"), lenient) == []


@pytest.mark.parametrize(
    ("landing", "why"),
    [
        ("s3:/bucket/x", "malformed S3 URL"),
        ("s3://", "no bucket name"),
        ("s3:///x", "no bucket name"),
        ("S3://bucket/x", "malformed S3 URL"),
        ("s3://Bad_Bucket/x", "invalid S3 bucket name 'Bad_Bucket'"),
        ("s3://ab/x", "invalid S3 bucket name 'ab'"),
        ("s3://a..b/x", "invalid S3 bucket name"),
        ("s3://192.168.0.1/x", "invalid S3 bucket name"),
        ("gs://bucket/x", "unsupported landing URL scheme 'gs'"),
    ],
)
def test_malformed_s3_urls_never_become_local_folders(
    tmp_path: Path, landing: str, why: str
) -> None:
    found = checks.problems(settings(tmp_path, landing=landing))

    assert len(found) == 1
    assert found[0].startswith(f"VC_LANDING={landing}: ")
    assert why in found[0]


@pytest.mark.parametrize("landing", ["s3://my-bucket", "s3://my.bucket-1/a/b", "C:\\landing"])
def test_valid_addresses(landing: str) -> None:
    assert landing_url_problem(landing) is None


def test_unknown_default_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_DEFAULT_REGION", "XX")

    found = checks.problems(settings(tmp_path))

    assert len(found) == 1
    assert found[0].startswith("VC_DEFAULT_REGION=XX: unknown region 'XX'")


def policy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_default_region_disagreeing_with_the_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VC_DEFAULT_REGION", "GB")

    found = checks.problems(settings(tmp_path))

    assert len(found) == 1
    assert found[0].startswith("VC_DEFAULT_REGION=GB: disagrees with default_region US in ")
    # Unset, the loader's default (US) must agree with the policy file too.
    monkeypatch.delenv("VC_DEFAULT_REGION")
    canada = policy_with(tmp_path, "default_region: US", "default_region: CA")
    monkeypatch.setenv("VC_POLICY_FILE", str(canada))
    found = checks.problems(settings(tmp_path))
    assert len(found) == 1
    assert found[0].startswith("VC_DEFAULT_REGION=US (unset: the default): disagrees with")


def test_invalid_policy_file_lists_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = policy_with(tmp_path, "cps_min_hot_regions: 2", "cps_min_hot_regions: -1")
    path.write_text(path.read_text().replace("cps_window_hours:", "cps_window_hourz:"))
    monkeypatch.setenv("VC_POLICY_FILE", str(path))

    found = checks.problems(settings(tmp_path))

    assert sorted(found) == [
        f"VC_POLICY_FILE={path}: cps_min_hot_regions: expected a whole number > 0, got -1 (int)",
        f"VC_POLICY_FILE={path}: cps_window_hours: missing (required)",
    ]


def test_unknown_policy_country(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = policy_with(tmp_path, "  GB: [uk_tps, uk_ctps]", "  UK: [uk_tps, uk_ctps]")
    monkeypatch.setenv("VC_POLICY_FILE", str(path))

    found = checks.problems(settings(tmp_path))

    assert found == [
        f"VC_POLICY_FILE={path}: dnc_registries_by_country: unknown country 'UK' "
        "(phonenumbers region)"
    ]


def test_unwritable_warehouse_and_data_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    found = checks.problems(
        settings(tmp_path, warehouse=blocker / "wh.duckdb", data_dir=blocker / "data")
    )

    assert found == [
        f"VC_WAREHOUSE={blocker / 'wh.duckdb'}: warehouse folder {blocker} cannot be created: "
        f"{blocker} is not a folder",
        f"VC_DATA_DIR={blocker / 'data'}: data folder {blocker / 'data'} cannot be created: "
        f"{blocker} is not a folder",
    ]
    assert checks.problems(settings(tmp_path, warehouse=tmp_path)) == [
        f"VC_WAREHOUSE={tmp_path}: is a folder, not the warehouse file"
    ]


def test_named_connections_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_AWS_CONN_ID", "vc_aws")
    monkeypatch.setenv("VC_SLACK_CONN_ID", "vc_slack_x")
    monkeypatch.setenv("VC_TICKET_SINK", "webhook")
    monkeypatch.setenv("AIRFLOW_CONN_VC_SLACK_X", "slackwebhook://:secret@hooks.example")
    asked: list[list[str]] = []

    def lookup(conn_ids: list[str]) -> dict[str, str]:
        asked.append(list(conn_ids))
        return checks.env_lookup(conn_ids)

    found = checks.problems(settings(tmp_path), lookup=lookup)

    assert asked == [["vc_aws", "vc_slack_x", "vc_tickets"]]
    assert [p.split(":")[0] for p in found] == [
        "VC_AWS_CONN_ID=vc_aws",
        "VC_TICKET_CONN_ID=vc_tickets",
    ]
    assert "define AIRFLOW_CONN_VC_AWS or add it in Airflow" in found[0]


def test_unset_optional_connections_are_not_required(tmp_path: Path) -> None:
    # No VC_SLACK_CONN_ID: messages wait in the outbox; table sink: no connection.
    def lookup(conn_ids: list[str]) -> dict[str, str]:
        raise AssertionError(f"nothing to look up, asked {conn_ids}")

    assert checks.problems(settings(tmp_path), lookup=lookup) == []


def test_unknown_ticket_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_TICKET_SINK", "email")

    found = checks.problems(settings(tmp_path))

    assert len(found) == 1 and found[0].startswith("VC_TICKET_SINK=email: unknown ticket sink")


def test_twilio_connection_is_validated_when_the_pull_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VC_TWILIO_CONN_ID", "vc_twilio_t")
    found = checks.problems(settings(tmp_path))
    assert len(found) == 1 and found[0].startswith("VC_TWILIO_CONN_ID=vc_twilio_t: Airflow")

    monkeypatch.setenv("AIRFLOW_CONN_VC_TWILIO_T", '{"login": "SK1", "extra": {"regions": {}}}')
    found = checks.problems(settings(tmp_path))
    assert len(found) == 1
    assert found[0].startswith("VC_TWILIO_CONN_ID=vc_twilio_t: Twilio connection 'vc_twilio_t'")


def test_check_command_lists_every_problem_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VC_DEFAULT_REGION", "XX")

    code = cli.main(["check", "--landing", "s3:/bucket/x", "--warehouse", str(tmp_path / "w")])

    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert [line.split(":")[0] for line in err] == ["error", "error"]
    assert err[0].startswith("error: VC_LANDING=s3:/bucket/x: malformed S3 URL")
    assert err[1].startswith("error: VC_DEFAULT_REGION=XX: unknown region")


def test_check_command_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "landing").mkdir()

    code = cli.main(["check", "--landing", str(tmp_path / "landing")])

    assert code == 0
    assert capsys.readouterr().out.startswith("settings ok: landing ")


def test_run_checks_before_any_data_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_airflow(*args: object, **kwargs: object) -> None:
        raise AssertionError("Airflow started despite invalid settings")

    monkeypatch.setattr(cli, "ensure_airflow", no_airflow)
    monkeypatch.setattr(cli, "run_dag", no_airflow)

    code = cli.main(["run", "--landing", "/does/not/exist", "--warehouse", str(tmp_path / "w")])

    assert code == 2
    assert capsys.readouterr().err == (
        "error: VC_LANDING=/does/not/exist: landing folder does not exist\n"
    )


def test_bad_numbers_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VC_DUCKDB_THREADS", "abc")

    assert cli.main(["check"]) == 2
    assert capsys.readouterr().err == "error: VC_DUCKDB_THREADS must be a whole number, not 'abc'\n"
