"""One typed configuration (``voice_compliance.config.Settings``): every documented
variable reaches its section, defaults need no setup, a bad value is one line
naming its variable, and no other module reads the settings' variables."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from voice_compliance import dbt_runner
from voice_compliance.config import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    REPO_ROOT,
    SECTIONS,
    Settings,
    SettingsError,
    _env_of,
)
from voice_compliance.notify.slack import NotifySettings
from voice_compliance.tickets.settings import TicketSinkSettings

pytestmark = pytest.mark.quick

VARIABLES = sorted(
    {
        name
        for section in SECTIONS.values()
        for f in section.model_fields.values()
        if (env := _env_of(f))
        for name in env.names
    }
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VC_DATA_DIR", str(tmp_path / "data"))


def test_defaults_make_the_embedded_demo_work(tmp_path: Path) -> None:
    settings = Settings.from_env()

    data = (tmp_path / "data").resolve()
    assert settings.paths.data_dir == data
    assert settings.landing == str(data / "landing")
    assert settings.warehouse == data / "warehouse.duckdb"
    assert settings.airflow_home == REPO_ROOT / ".airflow"
    assert settings.dbt_project_dir == REPO_ROOT / "dbt_project"
    assert settings.policy_file is None
    assert settings.duckdb.memory_limit == DEFAULT_DUCKDB_MEMORY_LIMIT
    assert settings.duckdb_temp_dir == data / "duckdb_tmp"
    assert (settings.slack.conn_id, settings.slack.retries) == (None, 3)
    assert (settings.tickets.sink, settings.tickets.conn_id) == ("table", "vc_tickets")
    assert settings.docs.report_url is None
    assert settings.twilio.conn_id is None


@pytest.mark.parametrize(
    ("variable", "value", "section", "field", "expected"),
    [
        ("VC_DATA_DIR", "/dd", "paths", "data_dir", Path("/dd")),
        ("VC_LANDING", "s3://bucket/in", "paths", "landing", "s3://bucket/in"),
        ("VC_WAREHOUSE", "/w/wh.duckdb", "paths", "warehouse", Path("/w/wh.duckdb")),
        ("VC_AIRFLOW_HOME", "/af", "paths", "airflow_home", Path("/af")),
        ("AIRFLOW_HOME", "/af2", "paths", "airflow_home", Path("/af2")),
        ("VC_POLICY_FILE", "/p/policy.yml", "paths", "policy_file", Path("/p/policy.yml")),
        ("VC_DBT_PROJECT_DIR", "/dbt", "paths", "dbt_project_dir", Path("/dbt")),
        ("VC_EXPECTATIONS_DIR", "/ex", "paths", "expectations_dir", Path("/ex")),
        ("VC_CACHE_DIR", "/cache", "paths", "cache_dir", Path("/cache")),
        ("VC_S3_ENDPOINT_URL", "http://minio:9000", "s3", "endpoint_url", "http://minio:9000"),
        ("AWS_ENDPOINT_URL_S3", "http://s3:1", "s3", "endpoint_url", "http://s3:1"),
        ("AWS_ENDPOINT_URL", "http://aws:1", "s3", "endpoint_url", "http://aws:1"),
        ("VC_S3_REGION", "eu-west-3", "s3", "region", "eu-west-3"),
        ("AWS_REGION", "eu-west-1", "s3", "region", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "us-east-2", "s3", "region", "us-east-2"),
        ("VC_AWS_CONN_ID", "vc_aws", "s3", "aws_conn_id", "vc_aws"),
        ("VC_DUCKDB_MEMORY_LIMIT", "1GB", "duckdb", "memory_limit", "1GB"),
        ("VC_DUCKDB_THREADS", "3", "duckdb", "threads", 3),
        ("VC_DUCKDB_TEMP_DIRECTORY", "/spill", "duckdb", "temp_directory", Path("/spill")),
        ("VC_WAREHOUSE_OPEN_TIMEOUT", "2.5", "duckdb", "open_timeout", 2.5),
        ("VC_DBT_THREADS", "6", "duckdb", "dbt_threads", 6),
        ("VC_DEFAULT_REGION", "gb", "load", "default_region", "GB"),
        ("VC_LOAD_BATCH_BYTES", "1024", "load", "batch_bytes", 1024),
        ("VC_LOAD_BATCH_FILES", "1", "load", "batch_files", 1),
        ("VC_RUN_LOCK_TIMEOUT", "0", "run", "lock_timeout", 0.0),
        ("VC_STOP_GRACE", "3", "run", "stop_grace", 3.0),
        ("VC_SLACK_CONN_ID", "vc_slack_x", "slack", "conn_id", "vc_slack_x"),
        ("VC_SLACK_OUTBOX", "/o.jsonl", "slack", "outbox", Path("/o.jsonl")),
        ("VC_SLACK_SENT_LOG", "/s.jsonl", "slack", "sent_log", Path("/s.jsonl")),
        ("VC_SLACK_RETRIES", "0", "slack", "retries", 0),
        ("VC_SLACK_BACKOFF_S", "0.1", "slack", "backoff_s", 0.1),
        ("VC_SLACK_TIMEOUT_S", "4", "slack", "timeout_s", 4.0),
        ("VC_TICKET_SINK", "Jira", "tickets", "sink", "jira"),
        ("VC_TICKET_CONN_ID", "jira_prod", "tickets", "conn_id", "jira_prod"),
        ("VC_TICKET_TIMEOUT_S", "2.5", "tickets", "timeout_s", 2.5),
        ("VC_TICKET_RETRIES", "4", "tickets", "retries", 4),
        ("VC_TICKET_BACKOFF_S", "0", "tickets", "backoff_s", 0.0),
        ("VC_DBT_DOCS_URL", "https://d/", "docs", "dbt_docs_url", "https://d/"),
        ("VC_DATA_DOCS_URL", "https://g/", "docs", "data_docs_url", "https://g/"),
        ("VC_REPORT_URL", "https://r/", "docs", "report_url", "https://r/"),
        ("VC_TWILIO_CONN_ID", "vc_twilio_x", "twilio", "conn_id", "vc_twilio_x"),
        ("VC_HISTORY_DAYS", "0", "history", "keep_days", 0),
    ],
)
def test_each_variable_reaches_its_section(
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    section: str,
    field: str,
    expected: object,
) -> None:
    monkeypatch.setenv(variable, value)

    assert getattr(getattr(Settings.from_env(), section), field) == expected


def test_every_variable_is_covered() -> None:
    """The parametrized test above names every variable a section reads."""
    tested = {
        mark.args[1][i][0]
        for mark in test_each_variable_reaches_its_section.pytestmark  # type: ignore[attr-defined]
        if mark.name == "parametrize"
        for i in range(len(mark.args[1]))
    }
    assert tested == set(VARIABLES)


def test_our_variable_wins_over_the_fallbacks_and_blank_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("VC_S3_REGION", "eu-west-3")
    assert Settings.from_env().s3_region == "eu-west-3"
    monkeypatch.setenv("VC_S3_REGION", "  ")
    assert Settings.from_env().s3_region == "eu-west-1"


def test_flat_names_still_build_and_read(tmp_path: Path) -> None:
    settings = Settings(
        landing=str(tmp_path / "in"),
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "d",
        airflow_home=tmp_path / "af",
        warehouse_open_timeout=1,
        duckdb_threads=2,
    )

    assert settings.paths.landing == settings.landing == str(tmp_path / "in")
    assert settings.duckdb.open_timeout == settings.warehouse_open_timeout == 1.0
    assert settings.duckdb_config()["threads"] == "2"
    copy = Settings(**{**settings.__dict__, "data_dir": tmp_path / "e"})
    assert (copy.data_dir, copy.landing) == (tmp_path / "e", settings.landing)
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_overrides_win_and_paths_become_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_WAREHOUSE", "/env/wh.duckdb")

    settings = Settings.from_env(warehouse="rel/wh.duckdb", landing=None)

    assert settings.warehouse == Path("rel/wh.duckdb").absolute()
    assert settings.landing.endswith("landing")


def test_relative_paths_in_the_variables_become_absolute_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # dbt and Airflow children run in other folders: a relative VC_WAREHOUSE
    # once landed the warehouse under the dbt project instead of here.
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "VC_WAREHOUSE": "wh/rel.duckdb",
        "VC_DATA_DIR": "vcdata",
        "VC_LANDING": "~/landing",
        "VC_AIRFLOW_HOME": "afhome",
        "VC_POLICY_FILE": "policy.yml",
        "VC_EXPECTATIONS_DIR": "suites",
        "VC_DUCKDB_TEMP_DIRECTORY": "spill",
    }.items():
        monkeypatch.setenv(name, value)

    settings = Settings.from_env()

    assert settings.warehouse == tmp_path / "wh" / "rel.duckdb"
    assert settings.data_dir == tmp_path / "vcdata"
    assert settings.landing == str(Path("~/landing").expanduser().resolve())
    assert settings.airflow_home == tmp_path / "afhome"
    assert settings.paths.policy_file == tmp_path / "policy.yml"
    assert settings.paths.expectations_dir == tmp_path / "suites"
    assert settings.duckdb_temp_dir == tmp_path / "spill"
    assert settings.to_env()["VC_WAREHOUSE"] == str(tmp_path / "wh" / "rel.duckdb")


def test_replace_changes_a_copy_without_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.from_env()
    monkeypatch.setenv("VC_DBT_DOCS_URL", "https://later/")

    published = settings.replace(docs={"report_url": "https://r/"}, duckdb_threads=1)

    assert published.docs.report_url == "https://r/"
    assert published.docs.dbt_docs_url is None
    assert published.duckdb_threads == 1
    assert settings.docs.report_url is None


def test_bad_values_are_one_line_each_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VC_DUCKDB_THREADS", "abc")
    monkeypatch.setenv("VC_LOAD_BATCH_FILES", "0")
    monkeypatch.setenv("VC_STOP_GRACE", "-1")
    monkeypatch.setenv("VC_RUN_LOCK_TIMEOUT", "soon")
    monkeypatch.setenv("VC_TICKET_RETRIES", "many")
    monkeypatch.setenv("VC_TICKET_TIMEOUT_S", "0")

    with pytest.raises(SettingsError) as raised:
        Settings.from_env()

    assert raised.value.problems == [
        "VC_DUCKDB_THREADS must be a whole number, not 'abc'",
        "VC_LOAD_BATCH_FILES must be 1 or more, not '0'",
        "VC_RUN_LOCK_TIMEOUT must be a number of seconds, not 'soon'",
        "VC_STOP_GRACE must be zero or more seconds, not '-1'",
        "VC_TICKET_TIMEOUT_S must be more than 0 seconds, not '0'",
        "VC_TICKET_RETRIES must be a whole number, not 'many'",
    ]
    assert isinstance(raised.value, ValueError)


def test_a_fallback_variable_is_named_when_it_is_the_bad_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", "/af")
    monkeypatch.setenv("VC_DUCKDB_THREADS", "0")

    with pytest.raises(SettingsError, match=r"^VC_DUCKDB_THREADS must be 1 or more, not '0'$"):
        Settings.from_env()


def test_one_section_reads_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A bad DuckDB variable does not stop Slack or tickets (their own callers)."""
    monkeypatch.setenv("VC_DUCKDB_THREADS", "abc")
    monkeypatch.setenv("VC_SLACK_CONN_ID", "vc_slack_ops")
    monkeypatch.setenv("VC_TICKET_SINK", "webhook")

    assert NotifySettings.from_env(tmp_path).conn_id == "vc_slack_ops"
    assert NotifySettings.from_env(tmp_path).outbox == (
        tmp_path / "notifications" / "slack_outbox.jsonl"
    )
    assert TicketSinkSettings.from_env().sink == "webhook"
    monkeypatch.setenv("VC_SLACK_RETRIES", "-2")
    with pytest.raises(SettingsError, match=r"^VC_SLACK_RETRIES must be zero or more, not '-2'$"):
        NotifySettings.from_env(tmp_path)


def test_to_env_reproduces_the_settings_in_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_LANDING", "s3://bucket/in")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("VC_TICKET_SINK", "jira")
    monkeypatch.setenv("VC_REPORT_URL", "https://r/")
    settings = Settings.from_env(duckdb_threads=1)

    env = settings.to_env()

    assert env["VC_S3_REGION"] == "eu-west-1"
    assert env["VC_TICKET_SINK"] == "jira"
    assert "VC_SLACK_RETRIES" not in env  # left at its default: the child's own decides
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().to_env() == env


def test_the_dbt_project_is_read_when_asked_not_at_import(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VC_DBT_PROJECT_DIR", str(tmp_path / "copy"))

    copy = (tmp_path / "copy").resolve()
    project, manifest = dbt_runner.DBT_PROJECT_DIR, dbt_runner.PROJECT_MANIFEST
    assert (project, manifest) == (copy, copy / "target" / "manifest.json")


# Reads of process-level variables that are not settings of the pipeline.
NOT_SETTINGS = {"VC_DEBUG"}
_READ = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["'](VC_[A-Z0-9_]+)""")


def test_no_module_reads_a_setting_variable_but_config() -> None:
    package = REPO_ROOT / "plugins" / "voice_compliance"
    found = [
        f"{path.relative_to(package)}: {name}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "config.py"
        for name in _READ.findall(path.read_text())
        if name not in NOT_SETTINGS
    ]

    assert found == []
