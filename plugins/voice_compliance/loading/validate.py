"""Typing and field checks for staged records, as SQL generated from specs.

A staged record is loaded when every declared column parses as its type and
every required column is present; otherwise it goes to quarantine with all
the reasons at once (``missing sid; unparseable start_time: 'yesterday'``).
"""

from __future__ import annotations

from voice_compliance.loading.sources import Column

# Twilio's API returns RFC 2822 dates; everything else is ISO 8601.
RFC2822 = "%a, %d %b %Y %H:%M:%S %z"


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _text(column: Column) -> str:
    return f"nullif(trim(s.{_q(column.name)}), '')"


def typed_expr(column: Column) -> str:
    """The SQL that turns a staged VARCHAR into the column's type (NULL when
    it does not parse)."""
    v = _text(column)
    if column.kind == "timestamp":
        return f"coalesce(try_strptime({v}, '{RFC2822}'), try_cast({v} as timestamptz))"
    if column.kind == "integer":
        return (
            f"coalesce(try_cast({v} as bigint), case when try_cast({v} as double)"
            f" = floor(try_cast({v} as double)) then try_cast(try_cast({v} as double) as bigint)"
            " end)"
        )
    if column.kind == "number":
        return f"try_cast({v} as double)"
    if column.kind == "boolean":
        return (
            f"case when lower({v}) in ('true', 't', '1', 'yes', 'y') then true"
            f" when lower({v}) in ('false', 'f', '0', 'no', 'n') then false end"
        )
    if column.kind == "enum":
        allowed = ", ".join(f"'{value}'" for value in column.values)
        return f"case when lower({v}) in ({allowed}) then lower({v}) end"
    return v


def sql_type(column: Column) -> str:
    """The raw-table type of a column."""
    return {
        "timestamp": "timestamptz",
        "integer": "bigint",
        "number": "double",
        "boolean": "boolean",
    }.get(column.kind, "varchar")


def typed_name(column: Column) -> str:
    """The column that holds ``typed_expr(column)`` once computed (see ``reason_expr``)."""
    return _q(f"_vc_typed_{column.name}")


def reason_expr(columns: tuple[Column, ...], *, precomputed: bool = False) -> str:
    """SQL yielding every reason a staged record ``s`` cannot load, or NULL.

    With ``precomputed``, the typed values are read from ``s``'s
    ``typed_name`` columns instead of being parsed again (timestamp parsing
    is the costly part of checking a record).
    """
    checks = []
    for column in columns:
        v = _text(column)
        typed = f"s.{typed_name(column)}" if precomputed else typed_expr(column)
        if column.required:
            checks.append(f"case when {v} is null then 'missing {column.name}' end")
        if column.kind != "text":
            what = "unknown" if column.kind == "enum" else "unparseable"
            checks.append(
                f"case when {v} is not null and ({typed}) is null"
                f" then '{what} {column.name}: ' || left({v}, 80) end"
            )
        if column.kind in ("integer", "number") and column.name in (
            "duration",
            "queue_time",
            "cps_allotted",
        ):
            checks.append(f"case when ({typed}) < 0 then 'negative {column.name}' end")
    return "nullif(concat_ws('; ', " + ", ".join(checks) + "), '')"
