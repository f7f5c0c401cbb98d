"""Render and write the monthly compliance reports.

``build_reports(settings)`` writes ``<data_dir>/reports/compliance-<YYYY-MM>.html``
for every month in the marts (or the months asked for): one self-contained
file each (inline CSS, charts as inline SVG, no script, no external
resource), written atomically so a reader never sees half a report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voice_compliance import atomic_files, warehouse
from voice_compliance.config import Settings
from voice_compliance.docs_site import model_url, suite_url
from voice_compliance.docs_site.data_docs import site_page_url
from voice_compliance.masking import mask_text
from voice_compliance.report import charts
from voice_compliance.report.clauses import account_label, clause_texts, model_name
from voice_compliance.report.data import (
    MonthData,
    ReportDataError,
    check_month,
    months_in_marts,
    read_month,
)
from voice_compliance.report.links import (
    clause_anchor,
    report_file_name,
    report_path,
    validation_result_page,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

__all__ = [
    "ReportDataError",
    "ReportError",
    "ReportLinks",
    "build_reports",
    "build_run_reports",
    "render_report",
]


class ReportError(Exception):
    """A report cannot be built (bad month, no marts): one line for the user."""


@dataclass(frozen=True)
class ReportLinks:
    """Where the report points: the dbt docs site and the Data Docs index.

    ``data_docs_dir``: the Data Docs site's folder on this machine (the one
    ``data_docs`` publishes or is), where a month's validation result pages
    are looked up; ``None``: the report links the suites' pages only.
    """

    dbt_docs: str
    data_docs: str
    data_docs_dir: Path | None = None

    def dbt_model(self, model: str) -> str:
        return model_url(self.dbt_docs, model)

    def suite(self, suite: str) -> str:
        return suite_url(self.data_docs, suite)

    def result(self, suite: str, run_id: str | None, month: str) -> str:
        """The page of ``suite``'s result for ``month`` in validation run ``run_id``
        (``""`` when the site does not hold it)."""
        if not run_id or not self.data_docs or self.data_docs_dir is None:
            return ""
        # The validation run names each GX run "<run_id> <month>" (validation.run).
        page = validation_result_page(self.data_docs_dir, suite, f"{run_id} {month}")
        return "" if page is None else site_page_url(self.data_docs, page)

    @classmethod
    def for_settings(cls, settings: Settings) -> ReportLinks:
        from voice_compliance.docs_site.links import docs_links, docs_paths

        dbt_docs, data_docs = docs_links(settings)
        return cls(
            dbt_docs=dbt_docs, data_docs=data_docs, data_docs_dir=docs_paths(settings)[1].parent
        )


def _environment() -> Any:
    import jinja2
    from markupsafe import Markup

    def finalize(value: Any) -> Any:
        # Every value printed by the template is masked; the charts' SVG
        # (Markup) was built from masked labels already.
        if isinstance(value, str) and not isinstance(value, Markup):
            return mask_text(value)
        return value

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["n"] = _number
    env.filters["pct"] = _percent
    env.filters["signed"] = _signed
    env.filters["setting"] = _setting
    env.filters["inline_code"] = _inline_code
    env.filters["plural"] = _plural
    env.filters["breakable"] = _breakable
    return env


def _number(value: Any) -> str:
    """Counts with thousands separators (a bare run of 7+ digits would read as
    a phone number to the masking step), ratios with 3 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _signed(value: int | None) -> str:
    if value is None:
        return "–"
    return f"+{value:,}" if value > 0 else f"{value:,}" if value < 0 else "±0"


def _setting(value: Any) -> str:
    """A threshold as one short line: scalars as they are, lists joined,
    mappings as ``key: value`` pairs (calling-hour windows condensed)."""
    if isinstance(value, dict):
        if not value:
            return "none"
        return "; ".join(f"{k}: {_setting(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
            return ", ".join(f"{a}–{b}" for a, b in value)
        return ", ".join(_setting(v) for v in value) if value else "none"
    if isinstance(value, bool):
        return str(value).lower()
    return _number(value)


_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def _inline_code(text: str) -> Any:
    """Markdown's inline code (the dbt docs blocks' ```name```) as ``<code>``
    and its ``**bold**`` as ``<strong>``, the rest escaped and masked.

    The text is escaped first, so neither can carry markup in; what is
    inside a code span stays as written (no bold there)."""
    from markupsafe import Markup, escape

    escaped = str(escape(mask_text(text)))
    parts = []
    last = 0
    for match in _CODE.finditer(escaped):
        parts.append(_STRONG.sub(r"<strong>\1</strong>", escaped[last : match.start()]))
        parts.append(f"<code>{match.group(1)}</code>")
        last = match.end()
    parts.append(_STRONG.sub(r"<strong>\1</strong>", escaped[last:]))
    return Markup("".join(parts))


def _breakable(text: str) -> Any:
    """An id that may wrap after its dots (``dnc.<wbr>registry``), escaped and masked."""
    from markupsafe import Markup, escape

    return Markup(".<wbr>".join(str(escape(part)) for part in mask_text(text).split(".")))


def _plural(count: int | None, singular: str, plural: str | None = None) -> str:
    """``1 violation``, ``2 violations`` (the count with separators)."""
    word = singular if count == 1 else (plural or singular + "s")
    return f"{_number(count)} {word}"


def _result_url(links: ReportLinks, suite: str, data: MonthData) -> Any:
    """The link to ``suite``'s result page for the month, as markup: the template
    masks every string it prints, and the page's path holds GX's run time
    (``20261206T133018.756583Z``), a digit run the masking would take for a
    phone number. The run id is the one free text in it: a run id that holds
    a number gets no link."""
    from markupsafe import Markup, escape

    run_id = data.validation_runs.get(suite)
    if not run_id or mask_text(run_id) != run_id:
        return ""
    url = links.result(suite, run_id, data.month)
    return Markup(escape(url)) if url else ""


def render_report(data: MonthData, links: ReportLinks) -> str:
    """The HTML of one month's report."""
    from markupsafe import Markup

    texts = clause_texts()
    clause_ids = [c.clause_id for c in data.clauses]
    severities = {c.clause_id: c.severity for c in data.clauses}
    figures: dict[str, Any] = {
        "severity_trend": Markup(charts.severity_trend(data.trend)) if data.trend else None,
        "clause_heatmap": Markup(charts.clause_heatmap(data.trend, clause_ids))
        if data.trend
        else None,
        "clause_bars": Markup(charts.clause_bars(data.clauses)),
        "distributions": [
            Markup(charts.distribution(d)) if d.values else None for d in data.distributions
        ],
    }
    clause_info = [
        {
            "row": c,
            "anchor": clause_anchor(c.clause_id),
            "text": texts.get(c.clause_id),
            "model": model_name(c.clause_id),
            "dbt_url": links.dbt_model(model_name(c.clause_id)),
            "suite": f"clause.{c.clause_id}",
            "suite_url": links.suite(f"clause.{c.clause_id}"),
            "result_url": _result_url(links, f"clause.{c.clause_id}", data),
        }
        for c in data.clauses
    ]
    tickets = [
        {
            **t,
            "anchor": clause_anchor(t["clause_id"]) if t["clause_id"] in severities else None,
            "suite_url": links.suite(t["clause_id"]) if t["kind"] == "data quality" else "",
            "no_account": None if t["account_sid"] else account_label(str(t["clause_id"])),
        }
        for t in data.tickets
    ]
    return str(
        _environment()
        .get_template("monthly.html.j2")
        .render(
            data=data,
            clauses=clause_info,
            figures=figures,
            tickets=tickets,
            links=links,
            other_months=[(m, report_file_name(m)) for m in data.months],
        )
    )


def build_reports(
    settings: Settings,
    months: Sequence[str] | None = None,
    *,
    latest: bool = False,
    now: datetime | None = None,
    links: ReportLinks | None = None,
) -> list[Path]:
    """Write the report of each of ``months`` (default: every month in the marts;
    ``latest``: only the newest); return the files written."""
    now = now or datetime.now(UTC)
    links = links or ReportLinks.for_settings(settings)
    try:
        chosen = sorted({check_month(m) for m in months}) if months else None
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    written: list[Path] = []
    with warehouse.open_warehouse(settings, read_only=True) as con:
        try:
            available = months_in_marts(con)
            chosen = chosen or (available[-1:] if latest else available)
            data = [read_month(con, month, now=now) for month in chosen]
        except ReportDataError as exc:
            raise ReportError(f"{exc} ({settings.warehouse})") from None
    for month_data in data:
        path = report_path(settings, month_data.month)
        atomic_files.write_text(path, render_report(month_data, links))
        written.append(path)
        log.info("Monthly report %s: %s", month_data.month, path)
    return written


def build_run_reports(settings: Settings, *, run_id: str) -> dict[str, Any]:
    """The reports of the months validation run ``run_id`` looked at (every
    month in the marts when the run is unknown): what the validation DAG's
    ``build_report`` task calls. Returns the files written, for the task log."""
    import json

    with warehouse.open_warehouse(settings, read_only=True) as con:
        months: list[str] = []
        if warehouse.table_exists(con, "compliance", "validation_runs"):
            row = con.execute(
                "select months from compliance.validation_runs where run_id = ?", [run_id]
            ).fetchone()
            months = list(json.loads(row[0])) if row and row[0] else []
        # A month validated but absent from the marts (a manual run's param) has no report.
        months = [m for m in months if m in set(months_in_marts(con))]
    written = build_reports(settings, months or None)
    return {
        "months": [p.stem.removeprefix("compliance-") for p in written],
        "reports": [str(p) for p in written],
    }
