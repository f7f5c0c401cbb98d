"""``python -m voice_compliance pull`` against the local fake Twilio, and the
connection's validation: one clear line, never a secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_fixture import child_env
from twilio_server import FAST_RETRIES, landed_calls, served_sids
from vc_sample.fake_twilio import FakeTwilio
from voice_compliance.config import REPO_ROOT
from voice_compliance.twilio.config import TwilioConfigError, config_from_connection

ACCOUNT = "AC" + "a" * 32


def _cli(tmp: Path, conn: dict[str, object] | str, *args: str) -> subprocess.CompletedProcess[str]:
    env = child_env(tmp)
    env["AIRFLOW_CONN_VC_TWILIO"] = conn if isinstance(conn, str) else json.dumps(conn)
    return subprocess.run(
        [sys.executable, "-m", "voice_compliance", "pull", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_pull_command_backfills_then_is_incremental(
    fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    conn = fake_twilio.connection(**FAST_RETRIES)

    first = _cli(
        tmp_path, conn, "--landing", str(landing), "--start", "2026-10-01", "--end", "2026-10-04"
    )
    again = _cli(
        tmp_path,
        conn,
        "--landing",
        str(landing),
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-04",
        "--regions",
        "ie1,au1",
    )

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("pulled ") and "calls/s" in first.stdout
    from datetime import date

    assert set(landed_calls(landing)) == served_sids(
        fake_twilio, date(2026, 10, 1), date(2026, 10, 4)
    )
    assert again.returncode == 0 and "(0 written, 0 replaced" in again.stdout
    assert "fake-secret" not in first.stderr + first.stdout


def test_pull_command_fails_with_one_line_naming_the_missing_day(
    fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    fake_twilio.inject("503", match="/au1/", times=10_000, retry_after=0)

    done = _cli(
        tmp_path,
        fake_twilio.connection(**FAST_RETRIES),
        "--landing",
        str(tmp_path / "landing"),
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-03",
    )

    assert done.returncode == 1
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert "au1" in error[0] and "2026-10-01: not all pages arrived" in error[0]
    assert not list((tmp_path / "landing").glob("calls/region=au1/*"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"regions": {"us1": {}}}, "account_sid: Field required"),
        ({"account_sid": "AC123", "regions": {"us1": {}}}, "account_sid: must be 'AC'"),
        ({"account_sid": ACCOUNT, "regions": {}}, "regions: Dictionary should have at least 1"),
        ({"account_sid": ACCOUNT, "regions": {"eu": {}}}, "'eu' is not a region id"),
        ({"account_sid": ACCOUNT, "regions": {"xx1": {}}}, "xx1: needs an 'edge'"),
        (
            {"account_sid": ACCOUNT, "regions": {"us1": {"base_url": "ftp://x"}}},
            "regions.us1.base_url: must start with http",
        ),
        (
            {"account_sid": ACCOUNT, "regions": {"us1": {}}, "page_size": 5000},
            "page_size: Input should be less than or equal to 1000",
        ),
        (
            {"account_sid": ACCOUNT, "regions": {"us1": {}}, "colour": "red"},
            "colour: Extra inputs are not permitted",
        ),
        (
            {"account_sid": ACCOUNT, "regions": {"us1": {}}, "subaccounts": "every"},
            'subaccounts: must be a list of account SIDs or "all"',
        ),
        (
            {"account_sid": ACCOUNT, "regions": {"us1": {}}, "subaccounts": ["AC1"]},
            "subaccounts: entry 0 must be 'AC'",
        ),
    ],
)
def test_invalid_connections_give_one_line_without_secrets(
    extra: dict[str, object], message: str
) -> None:
    with pytest.raises(TwilioConfigError) as raised:
        config_from_connection("SKkey", "top-secret-value", extra)

    text = str(raised.value)
    assert message in text and "\n" not in text
    assert "top-secret-value" not in text


def test_a_region_without_credentials_is_refused() -> None:
    with pytest.raises(TwilioConfigError, match=r"regions.ie1: no credentials"):
        config_from_connection(None, None, {"account_sid": ACCOUNT, "regions": {"ie1": {}}})


def test_hosts_follow_regions_edges_and_base_urls() -> None:
    config = config_from_connection(
        "SKkey",
        "s",
        {
            "account_sid": ACCOUNT,
            "bulk_export": True,
            "regions": {
                "us1": {},
                "ie1": {"key": "SKie", "secret": "x"},
                "au1": {"edge": "sydney"},
                "jp1": {"base_url": "http://127.0.0.1:9/jp1/"},
            },
        },
    )

    assert config.api_base("us1") == "https://api.twilio.com"
    assert config.api_base("ie1") == "https://api.dublin.ie1.twilio.com"
    assert config.api_base("au1") == "https://api.sydney.au1.twilio.com"
    assert config.api_base("jp1") == "http://127.0.0.1:9/jp1"
    assert config.bulkexports_base("us1") == "https://bulkexports.twilio.com"
    assert config.bulkexports_base("ie1") is None
    assert config.credentials("ie1") == ("SKie", "x")
    assert config.credentials("au1") == ("SKkey", "s")
    assert "s'" not in repr(config) and "'x'" not in repr(config)


def test_missing_connection_is_one_clear_line(tmp_path: Path) -> None:
    env = child_env(tmp_path)
    env["VC_TWILIO_CONN_ID"] = "vc_twilio_nowhere"
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    done = subprocess.run(
        [sys.executable, "-m", "voice_compliance", "pull", "--landing", str(tmp_path / "l")],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert "error: no Airflow connection 'vc_twilio_nowhere'" in done.stderr
