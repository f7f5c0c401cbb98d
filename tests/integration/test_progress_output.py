"""Progress of a whole ``run`` (the session's ``pipeline_run``), as a user sees it
when the output is not a terminal: plain lines on stdout, per source files and
rows as they load, dbt nodes done of total with the slowest, validation suites
done of total; never a phone number, never a raw ``VC_PROGRESS`` line."""

from __future__ import annotations

import re
from typing import Any

import pytest

from voice_compliance.ingest import ALL_SOURCES

pytestmark = pytest.mark.airflow

LOAD = re.compile(
    r"^vc_ingest_\w+: (?P<source>\w+): (?P<files>[\d,]+)/(?P<total>[\d,]+) files, "
    r"(?P<rows>[\d,]+) rows loaded"
)
DBT = re.compile(
    r"^vc_transform: dbt (?P<done>\d+)/(?P<total>\d+) nodes, slowest (?P<node>\S+) "
    r"\(\d+\.\d s\)"
)
SUITES = re.compile(r"^vc_validate: validation (?P<done>\d+)/(?P<total>\d+) suites, last \S+")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def progress_lines(stdout: str) -> list[str]:
    return [
        line
        for line in stdout.splitlines()
        if LOAD.match(line) or DBT.match(line) or SUITES.match(line)
    ]


def test_every_source_reports_files_and_rows(pipeline_run: dict[str, Any]) -> None:
    last: dict[str, re.Match[str]] = {}
    for line in pipeline_run["stdout"].splitlines():
        if match := LOAD.match(line):
            last[match["source"]] = match

    assert set(last) == set(ALL_SOURCES)
    for source, match in last.items():
        assert number(match["files"]) == number(match["total"]) > 0, source
    assert number(last["calls"]["rows"]) > 1000


def test_dbt_reports_nodes_done_of_total_with_the_slowest(pipeline_run: dict[str, Any]) -> None:
    matches = [m for line in pipeline_run["stdout"].splitlines() if (m := DBT.match(line))]

    assert matches, "no dbt progress line"
    final = matches[-1]
    assert int(final["done"]) == int(final["total"]) > 100
    assert "." in final["node"] or "::" in final["node"] or "_" in final["node"]


def test_validation_reports_suites_done_of_total(pipeline_run: dict[str, Any]) -> None:
    matches = [m for line in pipeline_run["stdout"].splitlines() if (m := SUITES.match(line))]

    assert matches, "no validation progress line"
    assert int(matches[-1]["done"]) == int(matches[-1]["total"]) > 1


def test_progress_lines_are_plain_and_hold_no_phone_number(pipeline_run: dict[str, Any]) -> None:
    stdout = pipeline_run["stdout"]
    lines = progress_lines(stdout)

    assert "VC_PROGRESS" not in stdout
    assert "\x1b[" not in stdout  # not a terminal: no bars, no control codes
    assert lines
    for line in lines:
        assert not re.search(r"\d{7,}", line), line
