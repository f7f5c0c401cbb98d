"""``bench_scale``'s tables: the whole-run ratio only for a run of every DAG."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from voice_compliance.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import bench_scale

pytestmark = pytest.mark.quick

SCAN = [
    {"stage": group, "wall_s": 10.0, "cpu_s": 10.0, "peak_rss_mb": 100.0, "rows": 1}
    for group in bench_scale.SCAN_GROUPS
]


def _result(stages: list[str]) -> dict[str, Any]:
    steps = [
        {"stage": stage, "dag_id": f"vc_{stage}", "wall_s": 60.0, "cpu_s": None,
         "peak_rss_mb": None, "rows": 1}
        for stage in stages
    ]
    total = {"wall_s": 60.0 * len(stages), "cpu_s": 1.0, "peak_rss_mb": 1.0}
    return {"scan": SCAN, "pipeline": steps, "pipeline_total": total}


def _total_row(result: dict[str, Any]) -> list[str]:
    return next(row for row in bench_scale.table_rows(result) if row[0] == "pipeline total")


def test_a_whole_run_is_compared_with_the_whole_bare_scan() -> None:
    result = _result(list(bench_scale.DAG_STAGE.values()))

    assert _total_row(result)[-1] == "10.0"  # 300 s against 3 x 10 s
    assert "whole run" in bench_scale._stage_walls(result)


def test_a_partial_run_has_no_whole_run_ratio_or_chart_point() -> None:
    # e.g. `national` carried through the registry load only
    result = _result(["registries"])

    assert _total_row(result)[-1] == ""
    registries = next(row for row in bench_scale.table_rows(result) if row[0] == "vc_registries")
    assert registries[-1] == "6.0"  # the stage itself, against its own scan
    assert "whole run" not in bench_scale._stage_walls(result)
