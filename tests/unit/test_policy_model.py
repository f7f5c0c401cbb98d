"""The policy model (``voice_compliance.policy``): pydantic types that word their own
errors, and the JSON Schema editors use, generated from the model and committed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from voice_compliance.policy import (
    DEFAULT_POLICY_FILE,
    SCHEMA_FILE,
    HonorWindow,
    PolicyError,
    Route,
    load_policy,
    policy_json_schema,
)

pytestmark = pytest.mark.quick

REGENERATE = "python -m voice_compliance.policy"


def problems(tmp_path: Path, **change: Any) -> list[str]:
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document.update(change)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    return raised.value.problems


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())

    assert committed == policy_json_schema(), f"stale {SCHEMA_FILE.name}: run `{REGENERATE}`"


def test_the_policy_file_names_its_schema_and_satisfies_it() -> None:
    text = DEFAULT_POLICY_FILE.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=policy.schema.json"

    schema = policy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(text)))
    assert errors == []


def test_the_schema_rejects_what_the_model_rejects() -> None:
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document["unanswered_max_ratio"] = 1.5
    document["clauses"]["dnc.registry"]["severity"] = "urgent"

    validator = jsonschema.Draft202012Validator(policy_json_schema())
    paths = sorted(".".join(map(str, e.absolute_path)) for e in validator.iter_errors(document))

    assert paths == ["clauses.dnc.registry.severity", "unanswered_max_ratio"]


def test_a_section_of_the_wrong_shape_is_one_line(tmp_path: Path) -> None:
    assert problems(tmp_path, data_quality=None) == [
        "data_quality: expected a mapping {severity, owner, min_valid_callee_share, ...},"
        " got None (NoneType)"
    ]
    assert problems(tmp_path, routing=["vc_slack"]) == [
        "routing: expected a mapping {default, owners}, got ['vc_slack'] (list)"
    ]


def test_list_items_and_weekdays_are_named_by_their_path(tmp_path: Path) -> None:
    week = {day: [["08:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
    week["funday"] = []

    found = problems(
        tmp_path,
        outbound_directions=["outbound-api", 3],
        calling_hours_default=week,
        calling_hours_holidays={"US": ["2026-11-26", "2026-13-01"]},
    )

    assert found == [
        "outbound_directions[1]: expected a non-empty string, got 3 (int)",
        "calling_hours_default: unknown weekday(s) funday",
        "calling_hours_default.sun: missing (required)",
        "calling_hours_holidays.US[1]: expected a date YYYY-MM-DD, got '2026-13-01' (str)",
    ]


def test_checks_across_keys_wait_for_valid_keys(tmp_path: Path) -> None:
    """An invalid window is its own problem, not also a comparison with it."""
    assert problems(tmp_path, cps_window_hours="24", cps_max_concurrent_hot_hours=30) == [
        "cps_window_hours: expected a whole number > 0, got '24' (str)"
    ]
    assert problems(tmp_path, cps_max_concurrent_hot_hours=30) == [
        "cps_max_concurrent_hot_hours: 30 exceeds cps_window_hours 24"
    ]


def test_cps_bucket_and_hot_share_are_bounded(tmp_path: Path) -> None:
    """Their product with an allotment is the hot threshold, in exact decimals:
    bounded, it cannot overflow and stop the build."""
    assert problems(tmp_path, cps_bucket_seconds=86_401, cps_hot_share_of_allotted=101) == [
        "cps_bucket_seconds: a CPS bucket is at most a day (86400 s)",
        "cps_hot_share_of_allotted: at most 100 (a share of the allotment: 0.5 is half)",
    ]
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document.update(cps_bucket_seconds=86_400, cps_hot_share_of_allotted=100)
    (tmp_path / "bounds.yml").write_text(yaml.safe_dump(document))
    assert load_policy(tmp_path / "bounds.yml").cps_bucket_seconds == 86_400


def test_empty_mappings_may_be_left_blank(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    document.update(consent_accepted_types_by_country=None, routing=None)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document))

    policy = load_policy(path)

    assert policy.consent_accepted_types_by_country == {}
    assert policy.route("compliance") == Route()


def test_values_built_in_code_are_validated_too() -> None:
    policy = load_policy()

    assert HonorWindow(10, "business").days == 10
    assert dataclasses.replace(policy, acd_min_seconds=45).acd_min_seconds == 45
    with pytest.raises(ValidationError, match="expected a whole number >= 0, got -1"):
        dataclasses.replace(policy, complaints_min_count=-1)
    with pytest.raises(ValidationError, match="expected one of business, calendar"):
        HonorWindow(10, "weekly")
