"""Phone numbers masked to their last four digits, for every text that leaves
the warehouse: log lines, tickets, Slack messages, webhook payloads.

A phone number is any run of seven or more digits, optionally led by ``+``
and broken by spaces, dots, dashes or parentheses (``+1 (415) 555-0123``,
``01632 960000``, ``+14155550123``). It becomes ``***0123``: the last four
digits stay so an analyst can tell numbers apart, nothing else does.

Subject ids that embed a number (``+14155550123/2026-10`` for a number-month)
keep their suffix: ``***0123/2026-10``. Twilio SIDs (``CA`` + 32 hex
characters) are not phone numbers and are left alone: their digit runs are
interrupted by letters, and a run of seven or more digits inside a longer
word is not masked, and neither are ISO dates (``2026-10-14``) or the seconds
of a timestamp (``20:11:39.217724``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

MASK = "***"
"""What replaces every digit of a number but the last four."""

_PHONE = re.compile(
    r"""
    (?<![\w+])              # not inside a word or right after another '+'
    \+?                     # optional international prefix
    (?:\(?\d[\d\s().\-]{5,}\d)  # digits with common separators, >= 7 chars
    (?!\w)                  # not followed by a letter or digit
    """,
    re.VERBOSE,
)
_DIGITS = re.compile(r"\d")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?|\d{4}-\d{2}")
_SECONDS = re.compile(r"\d{1,2}\.\d+")  # the seconds of a time, with a fraction
_MIN_DIGITS = 7


def _replace(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = _DIGITS.findall(text)
    stripped = text.strip()
    if len(digits) < _MIN_DIGITS or _DATE.fullmatch(stripped) or _SECONDS.fullmatch(stripped):
        return text
    return MASK + "".join(digits[-4:])


def mask_text(text: str) -> str:
    """``text`` with every phone number reduced to ``***`` and its last four digits."""
    return _PHONE.sub(_replace, text)


def mask_phone(number: str | None) -> str:
    """One phone number (any format) masked; ``""`` for ``None`` or empty."""
    if not number:
        return ""
    digits = _DIGITS.findall(number)
    if len(digits) < _MIN_DIGITS:
        return mask_text(number)
    return MASK + "".join(digits[-4:])


def mask_value(value: Any) -> Any:
    """``value`` with every string inside it masked (dicts, lists and tuples walked)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [mask_value(item) for item in value]
    return value


class MaskingFilter(logging.Filter):
    """A logging filter that masks phone numbers in the formatted message.

    Attach it to a handler (or logger) so no log line carries a full number::

        handler.addFilter(MaskingFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its masked rendering; always keep the record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add ``MaskingFilter`` to ``logger`` (default: root) and its handlers, once."""
    target = logger or logging.getLogger()
    for holder in (target, *target.handlers):
        if not any(isinstance(f, MaskingFilter) for f in holder.filters):
            holder.addFilter(MaskingFilter())
