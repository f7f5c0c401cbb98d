"""The report's charts: Vega-Lite specifications (altair) rendered to static SVG.

``vl-convert`` renders a spec to SVG in-process (its Vega engine is bundled
in the wheel), so the report carries finished drawings: no JavaScript, no
CDN, nothing to load when the file is opened offline, printed or mailed
(decision 0015). Every label that reaches a chart is already masked.
"""

from __future__ import annotations

import math
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
    """Violations per clause (rows) and month (columns), the count in each cell:
    no grid line through the cells, white figures on the dark ones."""
    top = max((int(row["violations"]) for row in trend), default=0)
    rows = [{**row, "ink": _cell_ink(int(row["violations"]), top)} for row in trend]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(
            "month:O",
            title="Month",
            axis=alt.Axis(labelAngle=0, orient="top", grid=False, ticks=False, domain=False),
        ),
        y=alt.Y(
            "clause_id:N",
            title=None,
            sort=list(clause_ids),
            axis=alt.Axis(labelLimit=260, grid=False, ticks=False, domain=False),
        ),
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
        color=alt.Color("ink:N", scale=None, legend=None),
    )
    months = len({row["month"] for row in trend}) or 1
    chart = (
        (cells + text)
        .resolve_scale(color="independent")
        .properties(
            width=min(WIDTH, max(320, 70 * months)),
            height=22 * max(1, len(clause_ids)),
            title="Violations per clause and month",
        )
    )
    return to_svg(_config(chart))


HEATMAP_DARK_SHARE = 0.6
"""A heatmap cell above this share of the largest count is dark: white figures."""


def _cell_ink(violations: int, top: int) -> str:
    if violations and violations > HEATMAP_DARK_SHARE * top:
        return "#ffffff"
    return "#1f2933" if violations else "#616e7c"


def clause_bars(clauses: Sequence[ClauseRow]) -> str:
    """This month's violations per clause, coloured by severity; the previous
    month as a black tick."""
    has_previous = any(c.previous_violations is not None for c in clauses)
    rows = [
        {
            "clause_id": c.clause_id,
            "severity": c.severity,
            "violations": c.violations,
            **({"previous": c.previous_violations} if c.previous_violations is not None else {}),
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
        # The previous month only where there is one: no "previous: null".
        tooltip=["clause_id:N", "severity:N", "violations:Q"]
        + (["previous:Q"] if has_previous else []),
    )
    layers: Any = bars
    if has_previous:
        ticks = (
            base.transform_filter("isValid(datum.previous)")
            .mark_tick(color="black", thickness=2, size=16)
            .encode(x=alt.X("previous:Q"))
        )
        layers = bars + ticks
    chart = layers.properties(
        width=WIDTH - 160,
        height=22 * max(1, len(rows)),
        title="Violations per clause"
        + (" (black tick: previous month)" if has_previous else " this month"),
    )
    return to_svg(_config(chart))


VIOLATION_COLOR = "#c0392b"
COMPLIANT_COLOR = "#5b7fa6"
_MAX_BINS = 30


def _nice_step(span: float, bins: int = _MAX_BINS) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that cuts ``span``
    into at most ``bins`` bins."""
    if span <= 0:
        return 1.0
    raw = span / bins
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def histogram_bins(
    points: Sequence[tuple[float, bool]], threshold: float | None
) -> tuple[list[dict[str, Any]], tuple[float, float]]:
    """Bins of ``(value, is_violation)`` counted per outcome, and the x domain.

    A bin edge falls on the threshold and bins are closed on the right, as
    the clauses' rules are ("more than"): a value equal to the threshold is
    counted left of the line, so only what exceeds it is drawn right of it.
    With no negative value, the first bin starts at 0 at the lowest (below
    it only for a threshold of 0, so that 0 is left of the line).
    """
    values = [v for v, _ in points]
    low, high = min(values), max(values)
    anchor = threshold if threshold is not None else low
    # Ratios are drawn from 0 (a narrow spread near the threshold stays in context).
    step = _nice_step(max(high, anchor) - min(low, anchor, 0.0 if low >= 0 else low))

    def upper(value: float) -> int:
        # The bin (anchor + (k-1) step, anchor + k step] holding value.
        return math.ceil(round((value - anchor) / step, 9))

    # Bins start at 0 when no value is negative, unless the threshold is 0
    # itself: a value of 0 is then compliant and is drawn left of the line.
    floor = 0.0 if low >= 0 and (threshold is None or threshold > 0) else None
    first = upper(low)
    if floor is not None and anchor + first * step <= floor:
        first += 1  # a bin ending at 0 would have no width: 0 goes in the next
    counts: dict[tuple[int, bool], int] = {}
    for value, violation in points:
        key = (max(first, upper(value)), violation)
        counts[key] = counts.get(key, 0) + 1
    last = max(k for k, _ in counts)
    if threshold is not None:
        last = max(last, upper(threshold) + 1)  # room right of the line

    def edge(k: int) -> float:
        value = anchor + k * step
        return round(max(value, floor) if floor is not None else value, 12)

    rows = [
        {
            "from": edge(k - 1),
            "to": edge(k),
            "outcome": "violation" if violation else "compliant",
            "numbers": count,
        }
        for (k, violation), count in sorted(counts.items())
    ]
    return rows, (floor if floor is not None else edge(first - 1), edge(last))


def distribution(dist: Distribution) -> str:
    """A histogram of one clause's per-subject ratio, violators and compliant
    subjects stacked in their own colours, with the threshold as a red rule."""
    rows, (start, end) = histogram_bins(dist.points, dist.threshold)
    x_scale = alt.Scale(domain=[start, end], nice=False, zero=False)
    hist = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X(
                "from:Q",
                bin="binned",
                title=dist.label,
                scale=x_scale,
                axis=alt.Axis(tickCount=8, labelOverlap=True, labelFlush=True, grid=False),
            ),
            x2="to:Q",
            y=alt.Y("numbers:Q", title="Numbers", stack="zero", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "outcome:N",
                title="Outcome",
                scale=alt.Scale(
                    domain=["violation", "compliant"], range=[VIOLATION_COLOR, COMPLIANT_COLOR]
                ),
            ),
            order=alt.Order("outcome:N", sort="descending"),
            # The outcome and the count are said by the colour and the height.
            tooltip=[
                alt.Tooltip("from:Q", title="from (exclusive)"),
                alt.Tooltip("to:Q", title="to"),
            ],
        )
    )
    layers: Any = hist
    if dist.threshold is not None:
        rule = (
            alt.Chart(alt.Data(values=[{"threshold": dist.threshold}]))
            .mark_rule(color=VIOLATION_COLOR, strokeWidth=2, strokeDash=[6, 3])
            .encode(x=alt.X("threshold:Q", scale=x_scale))
        )
        # Near the right edge the label goes left of the line, not off the chart.
        near_end = dist.threshold - start > 0.6 * (end - start)
        label = rule.mark_text(
            align="right" if near_end else "left",
            dx=-4 if near_end else 4,
            dy=-4,
            color=VIOLATION_COLOR,
            fontSize=11,
            baseline="top",
        ).encode(text=alt.value(f"threshold {dist.threshold:g}"), y=alt.value(0))
        layers = hist + rule + label
    chart = layers.properties(width=WIDTH - 120, height=180, title=dist.clause_id)
    return to_svg(_config(chart))
