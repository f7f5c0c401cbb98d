"""Outbound text: what every sink (tickets, Slack, the outboxes, CSV files) writes.

``outbound_text`` masks phone numbers (:func:`voice_compliance.masking.mask_text`)
and then neutralises spreadsheet formulas (:func:`neutralise`); ``outbound``
does the same to every string inside a payload. Masking comes first: a bare
``+14155550199`` is a number, and becomes ``***0199``, not ``'+14155550199``.

Formulas: a value such as a call sid ``=HYPERLINK("http://…","sid")`` opens
as a live formula when a ticket or message is exported to a spreadsheet.
Following OWASP's CSV-injection guidance, a value that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, which
spreadsheets read as "text" and do not display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voice_compliance.masking import mask_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a cell as a formula."""


def neutralise(text: str) -> str:
    """``text`` with a ``'`` in front when it would start a formula; idempotent."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def outbound_text(text: str) -> str:
    """One string as it may leave: phone numbers masked, then formulas neutralised."""
    return neutralise(mask_text(text))


def outbound(value: Any) -> Any:
    """``value`` with every string inside it made ``outbound_text``.

    Dicts (their values; keys are our own field names), lists and tuples are
    walked; numbers, booleans and ``None`` pass unchanged. Idempotent.
    """
    if isinstance(value, str):
        return outbound_text(value)
    if isinstance(value, Mapping):
        return {key: outbound(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [outbound(item) for item in value]
    return value
