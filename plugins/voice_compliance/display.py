"""Values as a person reads them in a message or a ticket.

A data-quality finding names its failing rows by their columns; stored as
JSON they carry floats at full precision (``unclassified_share=
0.003348588012054917``) next to a rule written in percent ("at most 0.0 %").
So a share (a column named ``*_share``, a fraction of 1) reads as a
percentage to six significant digits (never rounded onto a threshold: 0.98951
is 98.951 %, not 99 % next to "at least 99 %"), and any other fractional
number to three. Large numbers are not grouped: a digit run stays one the
phone-number masking recognises.
"""

from __future__ import annotations

import math
from decimal import Decimal

SIGNIFICANT = 3
SHARE_SIGNIFICANT = 6


def display_value(column: str, value: object) -> str:
    """``value`` of ``column`` for a reader: ``0.335 %`` for a share of
    0.0033486, ``12.3`` for 12.345, integers and text unchanged."""
    if isinstance(value, bool) or not isinstance(value, float | Decimal):
        return str(value)
    number = float(value)
    if column.endswith("_share") and 0.0 <= number <= 1.0:
        return f"{_number(number * 100, SHARE_SIGNIFICANT)} %"
    return _number(number, SIGNIFICANT)


def _number(number: float, significant: int) -> str:
    if not math.isfinite(number) or number == 0:
        return "0" if number == 0 else str(number)
    if number.is_integer() or abs(number) >= 10**significant:
        return f"{number:.0f}"
    decimals = max(0, significant - 1 - math.floor(math.log10(abs(number))))
    return f"{number:.{decimals}f}".rstrip("0").rstrip(".")


def present_items(row: dict[str, object], *, last: str | None = None) -> list[tuple[str, object]]:
    """The non-null ``(column, value)`` items of ``row``, ``last``'s at the end."""
    items = [(k, v) for k, v in row.items() if v is not None and k != last]
    return items + [(k, v) for k, v in row.items() if v is not None and k == last]


def display_pairs(row: dict[str, object], *, last: str | None = None) -> list[str]:
    """``column=value`` for each non-null value of ``row`` (``last``'s at the end)."""
    return [f"{k}={display_value(k, v)}" for k, v in present_items(row, last=last)]


def counted(n: int, noun: str) -> str:
    """``1 record``, ``2,000 records``. The thousands separators are not cosmetic:
    a bare run of seven digits (a large count) would look like a phone number
    to the masking step."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
