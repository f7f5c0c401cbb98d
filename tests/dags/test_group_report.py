"""A per-clause report task of vc_transform: fails on its clause's problems,
skips (one alert, not fifteen) when the build never ran dbt."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from voice_compliance import dbt_runner
from voice_compliance.dag_support import group_report

pytestmark = pytest.mark.quick

OUTCOMES = {
    "dnc.registry": {"nodes": 3, "statuses": {"success": 2, "pass": 1}, "problems": []},
    "complaints.rate": {
        "nodes": 2,
        "statuses": {"success": 1, "fail": 1},
        "problems": ["test.x.accepted_values [fail]: 1 failure"],
    },
}


def test_a_build_that_never_ran_dbt_skips_every_report() -> None:
    with pytest.raises(AirflowSkipException, match="did not run dbt"):
        group_report(None, "dnc.registry")


def test_a_clause_reports_its_own_nodes_and_fails_on_its_problems() -> None:
    assert group_report(OUTCOMES, "dnc.registry") == {"success": 2, "pass": 1}
    with pytest.raises(dbt_runner.GroupFailed, match="accepted_values"):
        group_report(OUTCOMES, "complaints.rate")
