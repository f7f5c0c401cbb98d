"""The policy file loads into a typed ``Policy``, rejects bad values clearly,
and is what dbt gets as vars."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from voice_compliance.policy import (
    CLAUSE_IDS,
    DEFAULT_POLICY_FILE,
    HonorWindow,
    PolicyError,
    Route,
    Routing,
    TimeWindow,
    load_policy,
    policy_path,
    policy_vars,
)

pytestmark = pytest.mark.quick


def write_policy(tmp_path: Path, change: dict[str, Any] | None = None, drop: tuple[str, ...] = ()):
    """A copy of the real policy file with top-level keys changed or removed."""
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document.update(change or {})
    for key in drop:
        del document[key]
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(path) in str(raised.value)
    return raised.value.problems


def test_the_project_policy_loads_typed() -> None:
    policy = load_policy()

    assert policy.source == DEFAULT_POLICY_FILE
    assert set(policy.clauses) == set(CLAUSE_IDS)
    assert policy.clause("dnc.registry").severity == "critical"
    assert policy.complaints_min_count == 3
    assert policy.unanswered_max_ratio == 0.5
    assert policy.outbound_directions == ("outbound-api", "outbound-dial", "trunking-terminating")
    assert policy.honor_window("US") == HonorWindow(10, "business")
    assert policy.honor_window("FR") == policy.optout_honor_window_default
    assert policy.calling_hours("US", "FL")["mon"] == (TimeWindow("08:00", "20:00"),)
    assert policy.calling_hours("FR")["sat"] == ()
    assert policy.calling_hours("ZZ") == policy.calling_hours_default
    assert policy.accepted_consent_types("US") == ("express_written", "express")


def test_policy_vars_are_the_file_as_plain_data() -> None:
    """dbt sees exactly the keys and values of policy.yml (models use var('<key>'))."""
    assert policy_vars() == yaml.safe_load(DEFAULT_POLICY_FILE.read_text())


def test_changing_a_threshold_in_a_copy_changes_the_vars(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"complaints_min_count": 5, "acd_min_seconds": 45})

    changed = policy_vars(path)

    assert changed["complaints_min_count"] == 5
    assert load_policy(path).acd_min_seconds == 45
    assert policy_vars()["complaints_min_count"] == 3


def test_environment_variable_selects_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_policy(tmp_path, {"unanswered_min_attempts": 10})
    monkeypatch.setenv("VC_POLICY_FILE", str(path))

    assert policy_path() == path
    assert policy_vars()["unanswered_min_attempts"] == 10


def test_unknown_keys_pass_through_to_dbt(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"new_threshold": 7})

    assert load_policy(path).extra == {"new_threshold": 7}
    assert policy_vars(path)["new_threshold"] == 7


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        {
            "complaints_min_count": "3",
            "unanswered_max_ratio": 1.5,
            "treat_unclassified_as_telemarketing": "yes",
            "optout_honor_window_by_country": {"US": {"days": 10, "kind": "weekly"}},
        },
        drop=("acd_min_seconds",),
    )

    found = problems(path)

    assert "acd_min_seconds: missing (required)" in found
    assert "complaints_min_count: expected a whole number >= 0, got '3' (str)" in found
    assert "unanswered_max_ratio: expected a number between 0 and 1, got 1.5 (float)" in found
    flag = "treat_unclassified_as_telemarketing: expected true or false"
    assert any(p.startswith(flag) for p in found)
    assert (
        "optout_honor_window_by_country.US.kind: expected one of business, calendar, "
        "got 'weekly' (str)"
    ) in found
    assert len(found) == 5


def test_clauses_must_be_the_twelve(tmp_path: Path) -> None:
    clauses = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())["clauses"]
    del clauses["cps.multi_region"]
    clauses["cps.typo"] = {"severity": "urgent", "owner": "ops"}

    found = problems(write_policy(tmp_path, {"clauses": clauses}))

    assert "clauses: missing clause(s) cps.multi_region" in found
    assert "clauses: unknown clause(s) cps.typo" in found
    assert any(p.startswith("clauses.cps.typo.severity: expected one of critical") for p in found)


def test_calling_hours_windows_are_checked(tmp_path: Path) -> None:
    hours = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())["calling_hours_by_country"]
    hours["FR"]["mon"] = [["14:00", "13:00"]]
    hours["AU"]["sat"] = [["9:00", "17:00"]]
    del hours["CA"]["sun"]

    found = problems(write_policy(tmp_path, {"calling_hours_by_country": hours}))

    assert "calling_hours_by_country.FR.mon[0]: window start 14:00 is not before end 13:00" in found
    assert any(p.startswith("calling_hours_by_country.AU.sat[0]: expected a window") for p in found)
    assert "calling_hours_by_country.CA.sun: missing (required)" in found


def test_registries_need_a_max_age(tmp_path: Path) -> None:
    found = problems(
        write_policy(tmp_path, {"dnc_registries_by_country": {"US": ["us_national", "us_state"]}})
    )

    assert found == ["dnc_registry_max_age_days: no entry for registry 'us_state'"]


def test_yaml_booleans_as_country_codes_get_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    key = "consent_accepted_types_by_country"
    text = DEFAULT_POLICY_FILE.read_text().replace(f"{key}: {{}}", f"{key}: {{NO: [express]}}")
    path.write_text(text)

    assert problems(path) == [
        "consent_accepted_types_by_country key: expected a two-letter country code "
        "(quote codes like 'NO'), got False (bool)"
    ]


def test_missing_or_malformed_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yml")[0].startswith("cannot read the file")
    bad = tmp_path / "bad.yml"
    bad.write_text("- just\n- a list\n")
    assert problems(bad) == ["expected a mapping of settings at the top, got list"]
    broken = tmp_path / "broken.yml"
    broken.write_text("key: [unclosed\n")
    assert problems(broken)[0].startswith("not valid YAML")


def test_holiday_dates_reach_dbt_as_iso_text(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    text = DEFAULT_POLICY_FILE.read_text().replace(
        "calling_hours_holidays: {}", "calling_hours_holidays: {US: [2026-11-26]}"
    )
    path.write_text(text)

    assert str(load_policy(path).calling_hours_holidays["US"][0]) == "2026-11-26"
    assert policy_vars(path)["calling_hours_holidays"] == {"US": ["2026-11-26"]}


# --- routing (decision 0016) --------------------------------------------------


def test_routing_is_optional_and_routes_everyone_to_the_default(tmp_path: Path) -> None:
    policy = load_policy(write_policy(tmp_path, drop=("routing",)))

    assert policy.routing == Routing()
    assert policy.route("compliance") == Route()
    assert policy.owners == ("compliance", "data-engineering", "voice-operations")


def test_an_owner_route_falls_back_to_the_default_field_by_field(tmp_path: Path) -> None:
    routing = {
        "default": {"slack_conn_id": "vc_slack", "jira_assignee": "triage"},
        "owners": {
            "compliance": {"slack_conn_id": "vc_slack_compliance", "jira_component": "Compliance"},
        },
    }

    policy = load_policy(write_policy(tmp_path, {"routing": routing}))

    assert policy.route("compliance") == Route("vc_slack_compliance", "triage", "Compliance")
    assert policy.route("voice-operations") == Route("vc_slack", "triage", None)
    assert policy.route(policy.clause_owner("data_quality")) == Route("vc_slack", "triage", None)
    assert policy.clause_owner("dnc.registry") == "compliance"


def test_routing_problems_are_all_reported_with_their_key_path(tmp_path: Path) -> None:
    routing = {
        "default": {"slack_channel": "#alerts"},
        "owners": {
            "compliance": {"slack_conn_id": "vc slack", "jira_assignee": ""},
            "legal": {"slack_conn_id": "vc_slack_legal"},
            "voice-operations": ["vc_slack_ops"],
        },
        "fallback": {},
    }

    found = problems(write_policy(tmp_path, {"routing": routing}))

    assert "routing: unknown key(s) fallback; expected default, owners" in found
    assert (
        "routing.default: unknown key(s) slack_channel; expected any of slack_conn_id,"
        " jira_assignee, jira_component"
    ) in found
    assert (
        "routing.owners.compliance.slack_conn_id: expected an Airflow connection id"
        " (letters, digits, _ . -), got 'vc slack' (str)"
    ) in found
    assert "routing.owners.compliance.jira_assignee: expected a non-empty string, got '' (str)" in (
        found
    )
    assert any(p.startswith("routing.owners.voice-operations: expected a mapping") for p in found)


def test_a_routed_owner_that_no_clause_names_is_a_typo(tmp_path: Path) -> None:
    routing = {"owners": {"complaince": {"slack_conn_id": "vc_slack_compliance"}}}

    found = problems(write_policy(tmp_path, {"routing": routing}))

    assert found == [
        "routing.owners.complaince: no clause or data_quality has this owner"
        " (owners: compliance, data-engineering, voice-operations)"
    ]


def test_a_webhook_url_in_the_policy_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    routing = {"owners": {"compliance": {"slack_conn_id": secret}}}

    found = problems(write_policy(tmp_path, {"routing": routing}))

    assert len(found) == 1
    assert found[0].startswith("routing.owners.compliance.slack_conn_id: expected an Airflow")
    assert "name that connection here" in found[0]
    assert "SECRET" not in found[0]


def test_every_setting_the_dbt_project_reads_is_in_the_policy_fingerprint() -> None:
    # An incremental run re-derives everything when the settings of
    # vc_policy_settings() changed since the last run (int_days_changed); a
    # var() outside them would leave old days derived with its old value.
    project = DEFAULT_POLICY_FILE.parent
    sql = "\n".join(
        path.read_text()
        for folder in ("models", "macros")
        for path in sorted((project / folder).rglob("*.sql"))
    )
    read = set(re.findall(r"""\bvar\(\s*['"](\w+)['"]""", sql))
    macro = (project / "macros" / "incremental.sql").read_text()
    shared = re.search(r"macro vc_policy_settings\(\).*?set names = \[(.*?)\]", macro, re.S)
    assert shared is not None
    fingerprinted = set(re.findall(r"'(\w+)'", shared.group(1)))
    for clause in yaml.safe_load(DEFAULT_POLICY_FILE.read_text())["clauses"].values():
        fingerprinted |= set(clause["settings"])

    assert len(read) > 20
    assert read <= fingerprinted, sorted(read - fingerprinted)
