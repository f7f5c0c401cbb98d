"""Plain-text reports of what the warehouse says: violations per clause.

Every cell is masked (no full phone number reaches the terminal); counts are
printed with thousands separators, which also keeps a large count from
looking like a phone number to the masking.
"""

from __future__ import annotations

from voice_compliance import warehouse
from voice_compliance.config import Settings
from voice_compliance.masking import mask_text
from voice_compliance.tickets.store import ticket_counts


def _cell(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return mask_text(str(value))


def format_table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, a rule under the header.

    Cells are masked; integers get thousands separators (``1,234,567``).
    """
    table = [tuple(_cell(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(
            v.rjust(w) if i else v.ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def clause_report(settings: Settings) -> str:
    """Per clause: subjects checked, violations, and ticket state (open / resolved).

    Reads ``metrics.metric_clause_totals`` (dbt sums the months) and, once
    validation has run, ``compliance.tickets``. Says so plainly when the
    transform has not run yet.
    """
    if not settings.warehouse.exists():
        return f"no warehouse at {settings.warehouse}: run the pipeline first"
    with warehouse.open_warehouse(settings, read_only=True) as con:
        if not warehouse.table_exists(con, "metrics", "metric_clause_totals"):
            return "no metrics.metric_clause_totals yet: the transform (dbt) has not run"
        has_tickets = warehouse.table_exists(con, "compliance", "tickets")
        tickets = ticket_counts(con)
        rows: list[tuple[object, ...]] = [tuple(r) for r in con.execute(_CLAUSES).fetchall()]
        total = con.execute("select count(*) from compliance.policy_violations").fetchone()
    header: tuple[str, ...] = ("clause_id", "severity", "checked", "violations")
    if has_tickets:
        header += ("open tickets", "resolved tickets")
        rows = [
            (*row, *(tickets.get(str(row[0]), {}).get(state, 0) for state in ("open", "resolved")))
            for row in rows
        ]
    lines = format_table(header, rows)
    count = int(total[0]) if total else 0
    note = "" if has_tickets else " (no tickets yet: validation has not run)"
    return "\n".join(
        [f"Policy violations per clause ({count:,} in compliance.policy_violations){note}", *lines]
    )


_CLAUSES = """
select clause_id, severity, subjects_checked, violations
from metrics.metric_clause_totals order by clause_id
"""


def output_locations(settings: Settings) -> str:
    """Where to look next: the monthly reports, docs sites, tickets, Slack outbox
    (and whether each exists yet)."""
    from voice_compliance.docs_site.links import docs_paths
    from voice_compliance.notify import NotifySettings
    from voice_compliance.report.links import reports_dir

    outbox = NotifySettings.from_env(settings.data_dir).outbox
    dbt_docs, data_docs = docs_paths(settings)
    reports = reports_dir(settings)
    places = [
        ("monthly reports", f"{reports}/compliance-<YYYY-MM>.html", reports),
        ("dbt docs", str(dbt_docs), dbt_docs),
        ("Data Docs", str(data_docs), data_docs),
        ("tickets", f"compliance.tickets in {settings.warehouse}", settings.warehouse),
        ("Slack outbox", str(outbox), outbox),
    ]
    width = max(len(name) for name, _, _ in places)
    lines = ["Outputs"]
    for name, where, path in places:
        missing = "" if path.exists() else "  (not written yet)"
        lines.append(f"  {name.ljust(width)}  {where}{missing}")
    return "\n".join(lines)
