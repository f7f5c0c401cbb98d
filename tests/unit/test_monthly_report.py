"""The monthly compliance report built from hand-built marts (``marts_fixture``):
its sections, numbers equal to the marts, masked phone numbers, the links
to the dbt docs, the Data Docs and the report itself (tickets, Slack), and
the ``report`` command.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from marts_fixture import (
    ACCOUNT,
    MONTH,
    POLICY,
    Outcome,
    breaking,
    build_warehouse,
    clean_outcomes,
    ticket_row,
)
from pipeline_fixture import child_env
from voice_compliance.config import REPO_ROOT, Settings
from voice_compliance.policy import CLAUSE_IDS
from voice_compliance.report import month_report_url, report_link, report_path
from voice_compliance.report.build import ReportError, ReportLinks, build_reports
from voice_compliance.report.clauses import clause_texts
from voice_compliance.tickets import store

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PREVIOUS = "2026-09"
LINKS = ReportLinks(dbt_docs="file:///docs/dbt/index.html", data_docs="file:///docs/gx/index.html")
FULL_NUMBER = re.compile(r"\+\d{8,}")
BROKEN = ("complaints.rate", "unanswered.volume", "dnc.registry_freshness", "consent.prior_consent")


def settings_in(root: Path) -> Settings:
    return Settings(
        landing=str(root / "landing"),
        warehouse=root / "wh.duckdb",
        data_dir=root / "data",
        airflow_home=root / "airflow",
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str]]:
    """Two months of outcomes (October breaks four clauses, September one),
    an open clause ticket and a resolved data-quality ticket; both reports."""
    settings = settings_in(tmp_path_factory.mktemp("monthly_report"))
    build_warehouse(
        settings.warehouse, [*clean_outcomes(POLICY), *(breaking(c, POLICY) for c in BROKEN)]
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        # September: the same subjects, one consent violation.
        con.execute(
            "insert into compliance.clause_outcomes select clause_id, subject_type,"
            " replace(subject_id, ?, ?), account_sid, date '2026-09-14',"
            " is_violation and clause_id = 'consent.prior_consent', severity, evidence"
            " from compliance.clause_outcomes",
            [MONTH, PREVIOUS],
        )
        store.ensure_ticket_tables(con)
        for clause_id, account, status in (
            ("complaints.rate", ACCOUNT, "open"),
            ("dq.valid_callee_share", None, "resolved"),
            # Tickets without an account: a number in no account's inventory, a registry.
            ("complaints.rate", None, "open"),
            ("dnc.registry_freshness", None, "open"),
        ):
            owner = "voice-operations" if account else "data-engineering"
            examples = ("***0199/2026-10",)
            store.insert_ticket(
                con, ticket_row(clause_id, account, status, at=NOW, owner=owner, examples=examples)
            )
    written = build_reports(settings, now=NOW, links=LINKS)
    return settings, {p.stem.removeprefix("compliance-"): p.read_text() for p in written}


def _summary(settings: Settings, month: str) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select clause_id, sum(violations)::int from compliance.clause_summary"
                " where month = ? group by 1",
                [month],
            ).fetchall()
        )


def test_one_file_per_month_in_the_marts(built: tuple[Settings, dict[str, str]]) -> None:
    settings, pages = built
    assert sorted(pages) == [PREVIOUS, MONTH]
    assert report_path(settings, MONTH) == settings.data_dir / "reports" / "compliance-2026-10.html"
    assert report_path(settings, MONTH).is_file()


def test_sections_and_self_contained(built: tuple[Settings, dict[str, str]]) -> None:
    page = built[1][MONTH]
    for section in (
        "summary",
        "violations",
        "trend",
        "top",
        "distributions",
        "registries",
        "tickets",
        "clauses",
    ):
        assert f'<section id="{section}">' in page, section
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?https?://""", page), "no external resource"
    charts = re.findall(r'data-chart="([^"]+)"', page)
    assert set(charts) >= {
        "clause-bars",
        "severity-trend",
        "clause-heatmap",
        "distribution-complaints.rate",
        "distribution-unanswered.volume",
    }
    assert page.count("<svg") == len(charts)


def test_numbers_equal_the_marts(built: tuple[Settings, dict[str, str]]) -> None:
    settings, pages = built
    for month in (PREVIOUS, MONTH):
        summary = _summary(settings, month)
        rows = dict(
            re.findall(r'<tr data-clause="([^"]+)">.*?data-violations="(\d+)"', pages[month], re.S)
        )
        assert set(rows) == set(CLAUSE_IDS)
        assert {c: int(v) for c, v in rows.items()} == {c: summary.get(c, 0) for c in CLAUSE_IDS}
        total = re.search(r'data-figure="violations">([\d,]+)<', pages[month])
        assert total and int(total.group(1).replace(",", "")) == sum(summary.values())
    october = pages[MONTH]
    assert _summary(settings, MONTH)["consent.prior_consent"] == 1
    # The freshness table: ca_dncl judged twice on the day (the fixture's clean
    # and broken outcomes), one of them stale.
    fresh = re.search(r'<tr data-registry="ca_dncl">(.*?)</tr>', october, re.S)
    assert fresh and re.findall(r'class="num[^"]*">([^<]+)<', fresh.group(1))[:2] == ["2", "1"]


def test_top_numbers_and_accounts_are_masked(built: tuple[Settings, dict[str, str]]) -> None:
    page = built[1][MONTH]
    top = re.search(r'<table id="top-numbers">(.*?)</table>', page, re.S)
    assert top and "***0199" in top.group(1)
    assert "4155550199" not in page and "4155550100" not in page
    assert not FULL_NUMBER.search(page)
    assert ACCOUNT in page  # account SIDs are not phone numbers


def test_tickets_open_resolved_and_data_quality(built: tuple[Settings, dict[str, str]]) -> None:
    page = built[1][MONTH]
    rows = re.findall(r'<tr data-status="(\w+)" data-kind="([\w ]+)">', page)
    assert sorted(rows) == [("open", "clause")] * 3 + [("resolved", "data quality")]
    assert 'data-figure="tickets-open">3<' in page
    assert 'data-figure="tickets-resolved">1<' in page
    assert "file:///docs/gx/expectations/dq/valid_callee_share.html" in page


def test_every_clause_has_its_sentence_threshold_and_links(
    built: tuple[Settings, dict[str, str]],
) -> None:
    page = built[1][MONTH]
    texts = clause_texts()
    assert set(texts) == set(CLAUSE_IDS)
    for clause_id in CLAUSE_IDS:
        anchor = clause_id.replace(".", "-").replace("_", "-")
        section = re.search(
            rf'<div class="clause" id="clause-{anchor}".*?(?=<div class="clause"|</section>)',
            page,
            re.S,
        )
        assert section, clause_id
        body = section.group(0)
        sentence = texts[clause_id].sentence.replace("'", "&#39;")
        assert f"<blockquote>{sentence}</blockquote>" in body
        model = "clause_" + clause_id.replace(".", "__")
        assert f"file:///docs/dbt/index.html#!/model/model.voice_compliance.{model}" in body
        assert "file:///docs/gx/expectations/clause/" + clause_id.replace(".", "/") in body
    complaints = re.search(r'id="clause-complaints-rate".*?</table>', page, re.S)
    assert complaints and "<code>complaints_max_per_1000</code></td><td>1</td>" in complaints.group(
        0
    )


def test_report_links_local_or_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VC_REPORT_URL", raising=False)
    settings = settings_in(tmp_path)
    local = report_link(settings, MONTH, "dnc.registry")
    assert local == (
        (tmp_path / "data" / "reports" / "compliance-2026-10.html").resolve().as_uri()
        + "#clause-dnc-registry"
    )
    published = settings.replace(docs={"report_url": "https://reports.example.com/vc/"})
    assert report_link(published, MONTH) == "https://reports.example.com/vc/compliance-2026-10.html"
    assert report_link(settings, None) == ""
    assert month_report_url("https://r/", MONTH, "dq.data_tests").endswith(".html#tickets")


def test_unknown_month_is_one_clear_error(built: tuple[Settings, dict[str, str]]) -> None:
    settings = built[0]
    with pytest.raises(ReportError, match="no month 2025-01"):
        build_reports(settings, ["2025-01"], links=LINKS)
    with pytest.raises(ReportError, match="YYYY-MM"):
        build_reports(settings, ["2026-13"], links=LINKS)


def test_report_command_writes_the_latest_month(
    built: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    import subprocess
    import sys

    settings = built[0]
    env = child_env(tmp_path)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice_compliance",
            "report",
            "--warehouse",
            str(settings.warehouse),
            "--month",
            "latest",
        ],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    written = Path(completed.stdout.strip())
    assert written == tmp_path / "data" / "reports" / "compliance-2026-10.html"
    assert "Voice compliance report — 2026-10" in written.read_text()


def _svg(page: str, chart: str) -> str:
    found = re.search(rf'data-chart="{re.escape(chart)}">(<svg.*?</svg>)', page, re.S)
    assert found, chart
    return found.group(1)


def _section(page: str, section: str) -> str:
    found = re.search(rf'<section id="{section}">.*?</section>', page, re.S)
    assert found, section
    return found.group(0)


def test_tickets_without_an_account_say_what_they_concern(
    built: tuple[Settings, dict[str, str]],
) -> None:
    tickets = _section(built[1][MONTH], "tickets")
    labels = {}
    for row in re.findall(r"<tr data-status=.*?</tr>", tickets, re.S):
        clause = re.search(r'<code class="id">(.*?)</code>', row)
        account = re.search(r"data-no-account[^>]*>([^<]+)<", row)
        if clause and account:
            labels[clause.group(1).replace("<wbr>", "")] = account.group(1)
    assert labels == {
        "complaints.rate": "no account",
        "dnc.registry_freshness": "registry-wide",
        "dq.valid_callee_share": "whole warehouse",
    }
    assert ">none<" not in tickets


def test_clause_texts_bold_empty_settings_and_plurals(
    built: tuple[Settings, dict[str, str]],
) -> None:
    clauses = _section(built[1][MONTH], "clauses")
    assert "**" not in clauses
    cps = re.search(r'id="clause-cps-multi-region".*?</p>', clauses, re.S)
    assert cps and "<strong>hot</strong>" in cps.group(0)
    consent = re.search(r'id="clause-consent-prior-consent".*?</table>', clauses, re.S)
    assert consent
    assert "1 violation of" in consent.group(0) and "1 violations" not in clauses
    assert "<code>consent_accepted_types_by_country</code></td><td>none</td>" in consent.group(0)
    assert "{}" not in clauses


def test_inline_markup_is_escaped_before_it_is_converted() -> None:
    from voice_compliance.report.build import _inline_code

    html = str(_inline_code("a **<b>hot</b>** region, `**kept**` and 2 ** 3, call +14155550199"))
    assert html == (
        "a <strong>&lt;b&gt;hot&lt;/b&gt;</strong> region, <code>**kept**</code>"
        " and 2 ** 3, call ***0199"
    )


def test_heatmap_has_no_grid_and_white_figures_on_dark_cells(
    built: tuple[Settings, dict[str, str]],
) -> None:
    svg = _svg(built[1][MONTH], "clause-heatmap")
    assert "role-axis-grid" not in svg
    texts = re.findall(r'<text aria-label="[^"]*"[^>]*fill="([^"]+)"[^>]*>(\d+)</text>', svg)
    assert texts, "cell figures"
    top = max(int(n) for _, n in texts)
    assert {fill for fill, n in texts if int(n) == top} == {"#ffffff"}
    assert {fill for fill, n in texts if int(n) == 0} == {"#616e7c"}


def test_first_month_bar_chart_says_no_previous_null(
    built: tuple[Settings, dict[str, str]],
) -> None:
    first, second = (_svg(built[1][m], "clause-bars") for m in (PREVIOUS, MONTH))
    assert "previous" not in first and "null" not in first
    assert "previous: " in second


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """October's report where the charts' line alone would mislead: a compliant
    number right of the complaints line (under complaints_min_count), a violator
    with complaints and no attempts (no rate), and an unanswered.volume violator
    exactly at the ratio, flagged by unanswered_max_count. Figures from the policy."""
    p = POLICY
    settings = settings_in(tmp_path_factory.mktemp("gated_report"))

    def number(
        clause: str, n: str, violation: bool, account: str | None = ACCOUNT, **facts: object
    ) -> Outcome:
        return Outcome(
            clause,
            f"+1415555{n}/{MONTH}",
            violation,
            account,
            {"number": f"+1415555{n}", "month": MONTH, **facts},
            "number_month",
        )

    few = p.complaints_min_count - 1
    at_ratio_attempts = int(p.unanswered_max_count / p.unanswered_max_ratio)
    outcomes = [
        *clean_outcomes(p),
        breaking("complaints.rate", p),
        breaking("unanswered.volume", p),
        number(
            "complaints.rate",
            "0111",
            False,
            complaints=few,
            attempts=100,
            complaints_per_1000=few * 1000 / 100,
        ),
        number(
            "complaints.rate",
            "0122",
            True,
            None,
            complaints=p.complaints_min_count,
            attempts=0,
            complaints_per_1000=None,
        ),
        number(
            "unanswered.volume",
            "0133",
            True,
            attempts=at_ratio_attempts,
            unanswered=p.unanswered_max_count,
            unanswered_ratio=p.unanswered_max_ratio,
        ),
    ]
    build_warehouse(settings.warehouse, outcomes)
    (path,) = build_reports(settings, [MONTH], now=NOW, links=LINKS)
    return path.read_text()


def _bars(svg: str) -> list[dict[str, str]]:
    """The histogram's bars: ``{"outcome", "from", "to"}`` from their aria-labels."""
    labels = re.findall(
        r'<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="bar"', svg
    )
    bars = []
    for label in labels:
        fields = dict(part.split(": ", 1) for part in label.split("; ") if ": " in part)
        bars.append(
            {"outcome": fields["Outcome"], "from": fields["from (exclusive)"], "to": fields["to"]}
        )
    return bars


def test_distributions_tell_violators_from_compliant_numbers(gated: str) -> None:
    p = POLICY
    section = _section(gated, "distributions")
    assert "Over the threshold" not in section and "minimum volume" not in section
    complaints = re.search(
        r'<div data-distribution="complaints.rate">.*?</div>\s*</div>', section, re.S
    )
    unanswered = re.search(
        r'<div data-distribution="unanswered.volume">.*?</div>\s*</div>', section, re.S
    )
    assert complaints and unanswered

    # Judged = the clause's outcomes (the clause table's "Checked"), plotted or not.
    rows = dict(
        re.findall(r'<tr data-clause="([^"]+)">(?:.*?<td class="num">){1}([\d,]+)<', gated, re.S)
    )
    assert rows["complaints.rate"] == "4" and rows["unanswered.volume"] == "3"
    assert 'data-figure="judged">4<' in complaints.group(0)
    assert 'data-figure="violations">2<' in complaints.group(0)
    assert 'data-figure="judged">3<' in unanswered.group(0)
    assert 'data-figure="violations">2<' in unanswered.group(0)
    # The violator without a rate is said, not silently dropped.
    unplotted = re.search(r'<tr data-unplotted="1">(.*?)</tr>', complaints.group(0), re.S)
    assert unplotted and "1 number with complaints and no attempts" in unplotted.group(1)
    assert "1 violation<" in unplotted.group(1)

    # Each caption states the clause's gates with the policy's values.
    assert (
        f"at least {p.complaints_min_count} complaints (complaints_min_count)"
        in complaints.group(0)
    )
    assert f"more than {p.complaints_max_per_1000:g} per 1,000" in complaints.group(0)
    assert f"at least {p.unanswered_min_attempts:,} outbound attempts" in unanswered.group(0)
    assert f"exceeds {p.unanswered_max_ratio:g} (unanswered_max_ratio" in unanswered.group(0)
    assert f"at least {p.unanswered_max_count:,} unanswered attempts" in unanswered.group(0)

    # The bars are split by outcome: the compliant number under the minimum
    # count is drawn right of the line in the compliant colour, the violator in red.
    threshold = p.complaints_max_per_1000
    bars = _bars(_svg(gated, "distribution-complaints.rate"))
    right = {(b["outcome"]) for b in bars if float(b["from"]) >= threshold}
    assert right == {"compliant", "violation"}
    assert all(float(b["from"]) >= threshold for b in bars if b["outcome"] == "violation")
    # unanswered.volume: the count-gate violator (exactly at the ratio) is red left
    # of the line; the ratio violator right of it; no bin straddles the line.
    threshold = p.unanswered_max_ratio
    bars = _bars(_svg(gated, "distribution-unanswered.volume"))
    violators = sorted(
        (float(b["from"]), float(b["to"])) for b in bars if b["outcome"] == "violation"
    )
    assert len(violators) == 2
    assert violators[0][1] == pytest.approx(threshold) and violators[1][0] == pytest.approx(
        threshold
    )
    for b in bars:
        assert not float(b["from"]) < threshold < float(b["to"]), b


def test_threshold_label_stays_inside_the_chart(gated: str) -> None:
    # unanswered.volume's threshold is near the right edge: its label ends at the line.
    svg = _svg(gated, "distribution-unanswered.volume")
    label = re.search(r'<text[^>]*text-anchor="(\w+)"[^>]*>threshold ([\d.]+)</text>', svg)
    assert label and label.group(1) == "end"
    svg = _svg(gated, "distribution-complaints.rate")
    label = re.search(r'<text[^>]*text-anchor="(\w+)"[^>]*>threshold ([\d.]+)</text>', svg)
    assert label and label.group(1) == "start"


def test_each_clause_links_its_result_page_for_the_month(tmp_path: Path) -> None:
    """The month's validation result page of each clause's suite, from the newest
    run that validated it (``compliance.validation_results``), found in the Data
    Docs folder as GX lays it out (``validations/<suite path>/<run id> <month>/
    <run time>/<batch>.html``, quoted as GX links it); none when the page is gone."""
    from urllib.parse import quote

    from voice_compliance.validation import results

    settings = settings_in(tmp_path)
    build_warehouse(settings.warehouse, [*clean_outcomes(POLICY), breaking("dnc.registry", POLICY)])
    older, newer = "scheduled__2026-11-01T06:00:00+00:00", "manual__2026-11-02T05:59:00.5+00:00"
    with duckdb.connect(str(settings.warehouse)) as con:
        results.ensure_tables(con)
        for run_id, at, suite in (
            (older, "2026-11-01 06:00:00+00", "clause.complaints.rate"),
            (newer, "2026-11-02 05:59:00+00", "clause.complaints.rate"),
            (newer, "2026-11-02 05:59:00+00", "clause.dnc.registry"),
            (newer, "2026-11-02 05:59:00+00", "clause.unanswered.volume"),  # another month
        ):
            month = PREVIOUS if suite == "clause.unanswered.volume" else MONTH
            con.execute(
                "insert into compliance.validation_results (run_id, dag_id, validated_at, month,"
                " suite, suite_kind, expectation_id, expectation_type, ticketing, success)"
                " values (?, 'vc_validate', ?, ?, ?, 'clause', 'e', 'E', true, true)",
                [run_id, at, month, suite],
            )
    site = tmp_path / "gx" / "local_site"
    batch = "voice_compliance-clause.complaints.rate.html"
    folder = site / "validations" / "clause" / "complaints" / "rate"
    for run_name, run_time in (
        (f"{older} {MONTH}", "20261101T060001.000001Z"),
        (f"{newer} {MONTH}", "20261102T055901.000001Z"),
        (f"{newer} {MONTH}", "20261102T055902.000001Z"),  # a retry within the run
    ):
        (folder / run_name / run_time).mkdir(parents=True)
        (folder / run_name / run_time / batch).write_text("<html></html>")
    for suite in ("unanswered/volume", "dnc/registry"):  # no page for this month's run
        (site / "validations" / "clause" / suite).mkdir(parents=True)
    links = ReportLinks(
        dbt_docs=LINKS.dbt_docs, data_docs=(site / "index.html").as_uri(), data_docs_dir=site
    )
    (path,) = build_reports(settings, [MONTH], now=NOW, links=links)
    page = path.read_text()

    found = {}
    for anchor, body in re.findall(
        r'<div class="clause" id="clause-([\w-]+)"(.*?)(?=<div class="clause"|</section>)',
        page,
        re.S,
    ):
        for url in re.findall(r'<a href="([^"]+)" data-result>', body):
            found[anchor] = url
    expected = (
        site.as_uri()
        + "/validations/clause/complaints/rate/"
        + quote(f"{newer} {MONTH}", safe="")
        + f"/20261102T055902.000001Z/{batch}"
    )
    assert found == {"complaints-rate": expected}
    assert "%3A00%202026-10/20261102T055902.000001Z/" in expected
    section = re.search(r'id="clause-complaints-rate".*?</p>\s*</div>', page, re.S)
    assert section and f"its results for {MONTH}" in section.group(0)


def test_histogram_axis_labels_do_not_run_together(gated: str) -> None:
    for chart in ("distribution-complaints.rate", "distribution-unanswered.volume"):
        svg = _svg(gated, chart)
        axis = re.search(r'aria-label="X-axis.*?role-axis-label[^>]*>(.*?)</g>', svg, re.S)
        assert axis, chart
        labels = re.findall(
            r'transform="translate\(([\d.]+),[\d.]+\)"[^>]*>([^<]+)</text>', axis.group(1)
        )
        assert len(labels) >= 3, chart
        # About 7 px a character at 11 px: neighbours' centres farther apart than their texts.
        for (x1, a), (x2, b) in pairwise(labels):
            assert float(x2) - float(x1) >= 3.5 * (len(a) + len(b)), (chart, a, b)


def test_a_zero_threshold_draws_compliant_zeros_left_of_its_line() -> None:
    """With a threshold of 0, a value of 0 complies ("more than" the threshold
    violates): its bin ends at the line instead of starting there."""
    from voice_compliance.report.charts import histogram_bins

    rows, (start, end) = histogram_bins([(0.0, False), (0.0, False), (2.5, True)], 0.0)

    left = [r for r in rows if r["to"] <= 0]
    right = [r for r in rows if r["from"] >= 0]
    assert sum(r["numbers"] for r in left) == 2 and {r["outcome"] for r in left} == {"compliant"}
    assert sum(r["numbers"] for r in right) == 1 and {r["outcome"] for r in right} == {"violation"}
    assert start < 0 < end
