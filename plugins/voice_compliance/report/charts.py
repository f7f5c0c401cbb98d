"""The report's charts: Vega-Lite specifications (altair) rendered to static SVG.

``vl-convert`` renders a spec to SVG in-process (its Vega engine is bundled
in the wheel), so the report carries finished drawings: no JavaScript, no
CDN, nothing to load when the file is opened offline, printed or mailed
(decision 0015). Every label that reaches a chart is already masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from voice_compliance.report.data import ClauseRow, Distribution

SEVERITY_COLORS = {
    "critical": "#c0392b",
    "high": "#e67e22",
    "medium": "#f1c40f",
    "low": "#3498db",
}
WIDTH = 560
_FONT = "Helvetica, Arial, sans-serif"


def to_svg(chart: alt.TopLevelMixin) -> str:
    """One chart as an ``<svg>`` element (no XML prolog, ready to inline)."""
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(chart.to_dict())
    return svg[svg.index("<svg") :]


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    # Left padding: the browser's font may be wider than the one vl-convert
    # measured the axis labels with.
    return (
        chart.properties(padding={"left": 30, "top": 5, "right": 5, "bottom": 5})
        .configure(font=_FONT)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, grid=True, gridColor="#eee")
        .configure_legend(labelFontSize=11, titleFontSize=11, orient="bottom")
    )


def _severity_scale(present: Sequence[str]) -> alt.Scale:
    domain = [s for s in SEVERITY_COLORS if s in present] + sorted(
        {s for s in present if s not in SEVERITY_COLORS}
    )
    return alt.Scale(domain=domain, range=[SEVERITY_COLORS.get(s, "#95a5a6") for s in domain])


def severity_trend(trend: list[dict[str, Any]]) -> str:
    """Violations per month, stacked by severity: the months up to the report's."""
    severities = sorted({row["severity"] for row in trend})
    chart = (
        alt.Chart(alt.Data(values=trend))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(violations):Q", title="Violations"),
            color=alt.Color("severity:N", title="Severity", scale=_severity_scale(severities)),
            order=alt.Order("severity_rank:Q"),
            tooltip=["month:O", "severity:N", "sum(violations):Q"],
        )
        .transform_calculate(
            severity_rank="indexof(['critical','high','medium','low'], datum.severity)"
        )
        .properties(width=WIDTH - 120, height=220, title="Violations per month by severity")
    )
    return to_svg(_config(chart))


def clause_heatmap(trend: list[dict[str, Any]], clause_ids: Sequence[str]) -> str:
    """Violations per clause (rows) and month (columns), the count in each cell."""
    base = alt.Chart(alt.Data(values=trend)).encode(
        x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("clause_id:N", title=None, sort=list(clause_ids), axis=alt.Axis(labelLimit=260)),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "violations:Q",
            title="Violations",
            scale=alt.Scale(scheme="orangered", domainMin=0),
            legend=None,
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("violations:Q", format=","),
        color=alt.condition("datum.violations > 0", alt.value("black"), alt.value("#aaa")),
    )
    months = len({row["month"] for row in trend}) or 1
    chart = (cells + text).properties(
        width=min(WIDTH, max(320, 70 * months)),
        height=22 * max(1, len(clause_ids)),
        title="Violations per clause and month",
    )
    return to_svg(_config(chart))


def clause_bars(clauses: Sequence[ClauseRow]) -> str:
    """This month's violations per clause, coloured by severity; the previous
    month as a black tick."""
    rows = [
        {
            "clause_id": c.clause_id,
            "severity": c.severity,
            "violations": c.violations,
            "previous": c.previous_violations,
        }
        for c in clauses
    ]
    order = [c.clause_id for c in clauses]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("clause_id:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)),
    )
    bars = base.mark_bar().encode(
        x=alt.X("violations:Q", title="Violations this month"),
        color=alt.Color(
            "severity:N",
            title="Severity",
            scale=_severity_scale([c.severity for c in clauses]),
        ),
        tooltip=["clause_id:N", "severity:N", "violations:Q", "previous:Q"],
    )
    layers: Any = bars
    if any(c.previous_violations is not None for c in clauses):
        ticks = (
            base.transform_filter("isValid(datum.previous)")
            .mark_tick(color="black", thickness=2, size=16)
            .encode(x=alt.X("previous:Q"))
        )
        layers = bars + ticks
    chart = layers.properties(
        width=WIDTH - 160,
        height=22 * max(1, len(rows)),
        title="Violations per clause (black tick: previous month)",
    )
    return to_svg(_config(chart))


def distribution(dist: Distribution) -> str:
    """A histogram of one clause's per-subject ratio, with its threshold as a red rule."""
    values = [{"value": v} for v in dist.values]
    hist = (
        alt.Chart(alt.Data(values=values))
        .mark_bar(color="#5b7fa6")
        .encode(
            x=alt.X("value:Q", bin=alt.Bin(maxbins=30), title=dist.label),
            y=alt.Y("count():Q", title="Numbers"),
        )
    )
    layers: Any = hist
    if dist.threshold is not None:
        rule = (
            alt.Chart(alt.Data(values=[{"threshold": dist.threshold}]))
            .mark_rule(color="#c0392b", strokeWidth=2, strokeDash=[6, 3])
            .encode(x="threshold:Q")
        )
        label = rule.mark_text(
            align="left", dx=4, dy=-4, color="#c0392b", fontSize=11, baseline="top"
        ).encode(text=alt.value(f"threshold {dist.threshold:g}"), y=alt.value(0))
        layers = hist + rule + label
    chart = layers.properties(width=WIDTH - 120, height=180, title=dist.clause_id)
    return to_svg(_config(chart))
