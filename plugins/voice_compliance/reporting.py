"""Plain-text reports of what the warehouse says: violations per clause."""

from __future__ import annotations

from voice_compliance import warehouse
from voice_compliance.config import Settings


def format_table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, a rule under the header."""
    table = [header, *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(
            str(v).rjust(w) if i else str(v).ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def clause_report(settings: Settings) -> str:
    """Subjects checked and violations per clause, from ``compliance.clause_summary``.

    Says so plainly when the transform has not run yet.
    """
    if not settings.warehouse.exists():
        return f"no warehouse at {settings.warehouse}: run the pipeline first"
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        if not warehouse.table_exists(con, "compliance", "clause_summary"):
            return "no compliance.clause_summary yet: the transform (dbt) has not run"
        rows = con.execute(
            """
            select clause_id, any_value(severity), sum(subjects_checked), sum(violations)
            from compliance.clause_summary group by clause_id order by clause_id
            """
        ).fetchall()
        total = con.execute("select count(*) from compliance.policy_violations").fetchone()
    header = ("clause_id", "severity", "checked", "violations")
    lines = format_table(header, [tuple(r) for r in rows])
    count = total[0] if total else 0
    return "\n".join(
        [f"Policy violations per clause ({count} in compliance.policy_violations)", *lines]
    )
