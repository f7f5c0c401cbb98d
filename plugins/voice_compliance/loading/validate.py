"""Typing and field checks for staged records, as SQL generated from specs.

A staged record is loaded when every declared column parses as its type,
every required column is present and has its declared shape (a Twilio SID),
and no field holds a NUL byte; otherwise it goes to quarantine with all the
reasons at once (``missing sid; unparseable start_time: 'yesterday'``).

An optional column with a declared shape (a reference such as
``parent_call_sid`` or a complaint's ``call_sid``) does not quarantine its
record when the value has the wrong shape: the record still carries facts
the rules need (the complaint, the opt-out, the call). The value is loaded as
NULL instead and kept, with the reason, in ``_extra`` under
``_nulled_<column>`` (see ``nulled_note``).
"""

from __future__ import annotations

from collections.abc import Callable

from voice_compliance.loading.sources import Column

# Twilio's API returns RFC 2822 dates; everything else is ISO 8601.
RFC2822 = "%a, %d %b %Y %H:%M:%S %z"
NUL_REASON = "NUL byte in record"
MAX_RECORD_CHARS = 100_000
"""The longest record text loaded or kept in quarantine, in characters.

A real call record, consent or opt-out row is at most a few kilobytes. A
longer record is quarantined (``record too long``), and a quarantined
record's raw text is cut to this length: DuckDB (1.5) stores a string longer
than one storage block (256 KiB) across several overflow blocks, and scanning
such a column of a persisted table re-reads the whole string for the rows
that follow it, which exhausts any memory limit (a 5 MB ``caller_name`` made
every data test on ``stg_twilio__calls`` fail with out of memory)."""
# A JSON text holding an escaped NUL (``\\u0000`` not preceded by an escaped backslash).
_JSON_NUL = r"(?:^|[^\\])(?:\\\\)*\\u0000"


def kept_raw(raw_sql: str) -> str:
    """SQL: the raw text a quarantine row keeps (at most ``MAX_RECORD_CHARS``)."""
    return f"left({raw_sql}, {MAX_RECORD_CHARS})"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def has_nul(text_sql: str) -> str:
    """SQL: whether a VARCHAR holds a NUL byte."""
    return f"strpos({text_sql}, chr(0)) > 0"


def nulled_note(column: Column, value_sql: str) -> str:
    """SQL of the ``_extra`` note (a JSON object, or NULL) recording an optional
    shaped column's value that does not have its shape (it is loaded as NULL)."""
    v = f"nullif(trim({value_sql}), '')"
    return (
        f"case when {v} is not null and not regexp_full_match({v}, {_literal(column.pattern)})"
        f" then json_object({_literal('_nulled_' + column.name)},"
        f" {_literal(column.shape + ': ')} || {value_sql}) end"
    )


def with_nulled_notes(
    columns: tuple[Column, ...], extra_sql: str, value_of: Callable[[Column], str]
) -> str:
    """``extra_sql`` (a JSON or NULL) with the notes of ``nulled_note`` merged in;
    ``value_of(column)`` is the SQL of the column's staged value."""
    out = extra_sql
    for column in columns:
        if column.pattern and not column.required:
            note = nulled_note(column, value_of(column))
            out = f"coalesce(json_merge_patch(coalesce({out}, '{{}}'::json), {note}), {out})"
    return out


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _text(column: Column) -> str:
    return f"nullif(trim(s.{_q(column.name)}), '')"


EVENT_RANGE = ("1970-01-01", "2200-01-01")
"""When a call, a consent's grant, an opt-out or a complaint can be dated: ``[first, end)``.
DuckDB reads timestamps from 290,309 BC to 294,247 AD, and date arithmetic
near either end (a deadline, a month's end, a local time) stops the whole dbt
build; a year 10000 month stops validation. A date outside this range is a
broken export, quarantined with its value."""

_ISO_OTHER_FORMS = ", ".join(
    f"'{form}'"
    for form in ("%Y-%m-%dT%H:%M%z", "%Y%m%dT%H%M%S%z", "%Y%m%dT%H%M%S.%f%z", "%Y%m%dT%H%M%z")
)
_ISO_OTHER_PATTERN = (
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(Z|[+-]\d{2}(:?\d{2})?)"
    r"|\d{8}T\d{4}(\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)"
)
"""ISO 8601 forms DuckDB's cast does not read (after upper-casing, with ``Z`` as
``+0000``): minutes without seconds, and the basic format. The contract's
timestamps are ISO 8601 with an offset or ``Z``; its lower case (RFC 3339)
is read by the cast of the upper-cased text. ``strptime`` alone also takes
one-digit fields (``2026111T120000Z`` as 1 November): only values of exactly
these shapes are parsed."""

_INTEGER = r"[+-]?[0-9]+"
_DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def typed_expr(column: Column) -> str:
    """The SQL that turns a staged VARCHAR into the column's type (NULL when
    it does not parse)."""
    v = _text(column)
    if column.kind == "timestamp":
        # Each form is tried only on the values the ones before it left null
        # (DuckDB's coalesce), so the common forms cost nothing more.
        upper = f"upper({v})"
        return (
            f"coalesce(try_strptime({v}, '{RFC2822}'), try_cast({v} as timestamptz),"
            f" try_cast({upper} as timestamptz),"
            f" case when regexp_full_match({upper}, '{_ISO_OTHER_PATTERN}') then"
            f" try_strptime(regexp_replace({upper}, 'Z$', '+0000'), [{_ISO_OTHER_FORMS}]) end)"
        )
    if column.kind == "integer":
        # Digits, or a decimal number with a whole value ("45.0", "1e3"). Not
        # DuckDB's own cast alone: it rounds "45.7" to 46 and reads hex.
        return (
            f"case when regexp_full_match({v}, '{_INTEGER}') then try_cast({v} as bigint)"
            f" when regexp_full_match({v}, '{_DECIMAL}')"
            f" and try_cast({v} as double) = floor(try_cast({v} as double))"
            f" then try_cast(try_cast({v} as double) as bigint) end"
        )
    if column.kind == "number":
        # A finite decimal number: not "nan", "inf" or hex.
        return (
            f"case when regexp_full_match({v}, '{_DECIMAL}')"
            f" and isfinite(try_cast({v} as double)) then try_cast({v} as double) end"
        )
    if column.kind == "boolean":
        return (
            f"case when lower({v}) in ('true', 't', '1', 'yes', 'y') then true"
            f" when lower({v}) in ('false', 'f', '0', 'no', 'n') then false end"
        )
    if column.kind == "enum":
        allowed = ", ".join(f"'{value}'" for value in column.values)
        return f"case when lower({v}) in ({allowed}) then lower({v}) end"
    if column.pattern:
        return f"case when regexp_full_match({v}, {_literal(column.pattern)}) then {v} end"
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
    # A NUL in the raw text (CSV, JSON Lines), in a decoded JSON string (an
    # escaped \\u0000 in a declared field) or in an undeclared field.
    fields = ", ".join(f"s.{_q(c.name)}" for c in columns)
    checks = [
        f"case when {has_nul('s._raw')} or {has_nul(f'concat({fields})')}"
        f" or (strpos(s._extra::varchar, '\\u0000') > 0"
        f" and regexp_matches(s._extra::varchar, {_literal(_JSON_NUL)}))"
        f" then '{NUL_REASON}' end"
    ]
    checks.append(
        f"case when length(s._raw) > {MAX_RECORD_CHARS} then 'record too long: '"
        f" || length(s._raw) || ' characters (limit {MAX_RECORD_CHARS:,})' end"
    )
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
        if column.pattern and column.required:
            checks.append(
                f"case when {v} is not null and ({typed}) is null"
                f" then {_literal(column.name + ': ' + column.shape)} end"
            )
        if column.kind == "timestamp" and column.bounded:
            first, end = EVENT_RANGE
            checks.append(
                f"case when ({typed}) < timestamptz '{first} 00:00:00+00'"
                f" or ({typed}) >= timestamptz '{end} 00:00:00+00'"
                f" then 'out of range {column.name}: ' || left({v}, 80)"
                f" || ' (an event is dated from {first} to before {end})' end"
            )
        if column.kind in ("integer", "number") and column.name in (
            "duration",
            "queue_time",
            "cps_allotted",
        ):
            checks.append(f"case when ({typed}) < 0 then 'negative {column.name}' end")
    return "nullif(concat_ws('; ', " + ", ".join(checks) + "), '')"
