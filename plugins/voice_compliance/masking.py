"""Phone numbers masked to their last four digits, for every text that leaves
the warehouse: log lines, tickets, Slack messages, webhook payloads.

A phone number is any run of seven or more digits, optionally led by ``+``
and broken by spaces, dots, dashes or parentheses (``+1 (415) 555-0123``,
``01632 960000``, ``+14155550123``). It becomes ``***0123``: the last four
digits stay so an analyst can tell numbers apart, nothing else does. A
number glued to a word is still a number: ``export_+14155550199.csv``,
``x+14155550199`` and ``a14155550199`` become ``export_***0199.csv``,
``x***0199`` and ``a***0199``.

Subject ids that embed a number (``+14155550123/2026-10`` for a number-month)
keep their suffix: ``***0123/2026-10``. Left alone, because they are ids and
not numbers (a digit run inside them is a coincidence):

* Twilio SIDs: two capitals and 32 lowercase hex digits (``CA``, ``AC``,
  ``PN``…), even when a stretch of seven digits happens to occur inside;
* hex ids and checksums of 16 or more hex digits with at least one letter
  (sha256, sha1, file ids, ticket fingerprints) and UUIDs, standing alone
  (not glued to other letters or digits);
* ISO dates and timestamps (``2026-10-14``, ``2026-10``,
  ``2026-11-29T20:11:39.217724+00:00``, ``2026-10-14 08:00:01,123``), times
  (``20:11:39.217724``) and the seconds of a time with their fraction.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

MASK = "***"
"""What replaces every digit of a number but the last four."""

# One scanner, alternatives tried in order at each position: an id, date or
# time that starts here is consumed whole (and kept), so the phone
# alternative never sees the digits inside it.
_TOKEN = re.compile(
    r"""
    (?P<sid>[A-Z]{2}[0-9a-f]{32}(?![0-9a-f]))
    | (?P<uuid>(?<![0-9A-Za-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
        (?![0-9A-Za-z]))
    | (?P<hex>(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f])[0-9a-f]{16,}(?![0-9A-Za-z]))
    | (?P<date>(?<!\d)(?:19|20)\d{2}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?
        (?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?
        (?![\d:]))
    | (?P<time>(?<![\d:])\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?![\d:]))
    | (?P<phone>(?<!\d)\+?\(?\d
        # digits and separators, >= 7 characters; a space does not lead into a date
        (?:[\d().\-]|\s(?!(?:19|20)\d{2}-\d)){5,}\d)
    """,
    re.VERBOSE,
)
_DIGITS = re.compile(r"\d")
_SECONDS = re.compile(r"\d{1,2}\.\d+")  # the seconds of a time, with a fraction
_MIN_DIGITS = 7


def _replace(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.lastgroup != "phone":
        return text
    digits = _DIGITS.findall(text)
    if len(digits) < _MIN_DIGITS or _SECONDS.fullmatch(text.strip()):
        return text
    return MASK + "".join(digits[-4:])


def mask_text(text: str) -> str:
    """``text`` with every phone number reduced to ``***`` and its last four digits.

    Idempotent: a masked text comes back unchanged.
    """
    return _TOKEN.sub(_replace, text)


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


_LARGE = 1_000


def grouped(value: Any) -> Any:
    """``value`` with every number of 1,000 or more as a ``_``-grouped string.

    A count or a number of seconds of seven digits or more in a log line
    would be masked as a phone number (1,049,314 rows -> ``***9314``); grouped
    in runs of at most three digits (``"1_049_314"``) it stays readable.
    Floats keep three decimals; dicts, lists and tuples are walked.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= _LARGE else value
    if isinstance(value, float):
        value = round(value, 3)
        return f"{value:_.3f}" if abs(value) >= _LARGE else value
    if isinstance(value, Mapping):
        return {k: grouped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [grouped(v) for v in value]
    return value


def _mask_record(record: logging.LogRecord) -> None:
    """Mask a record's message and pre-format its exception text, masked, in place.

    A record whose ``msg`` is not a string (structlog passes its event dict
    this way) keeps it: its formatted output is masked by the handler.
    """
    if isinstance(record.msg, str):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            message = None
        if message is not None:
            masked = mask_text(message)
            if masked != message:
                record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        # Handlers format exc_info themselves; a formatter that finds
        # exc_text set uses it instead, so it gets the masked traceback.
        formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        masked = mask_text(formatted)
        if masked != formatted:
            record.exc_text = masked


class MaskingFilter(logging.Filter):
    """A logging filter that masks phone numbers in the record's message and exception.

    ``install_log_masking`` covers every logger of the process; this filter
    is for a handler or logger that must be masked without it::

        handler.addFilter(MaskingFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; always keep it."""
        _mask_record(record)
        return True


_install_lock = threading.Lock()
_MARK = "_vc_masked"


def _masking_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _mask_record(record)
        return record

    setattr(factory, _MARK, base)
    return factory


def _masking_format(base: Callable[[logging.Handler, logging.LogRecord], str]) -> Any:
    def format(self: logging.Handler, record: logging.LogRecord) -> str:
        return mask_text(base(self, record))

    setattr(format, _MARK, base)
    return format


class _MaskedRenderer:
    """structlog's final processor wrapped: its output (str or bytes) masked."""

    def __init__(self, renderer: Callable[..., Any]) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        rendered = self.renderer(logger, method_name, event_dict)
        if isinstance(rendered, str):
            return mask_text(rendered)
        if isinstance(rendered, bytes):
            return mask_text(rendered.decode("utf-8", "replace")).encode("utf-8")
        return rendered

    def __repr__(self) -> str:
        return f"_MaskedRenderer({self.renderer!r})"


def _install_structlog_masking() -> None:
    """Wrap the renderer of structlog's configured processors, in place.

    Airflow 3's own task logger (``log.exception("Task failed ...")``) is a
    structlog logger that never makes a ``LogRecord``. Loggers already bound
    share the configured list, so replacing its last item in place covers
    them too.
    """
    try:
        import structlog
    except ImportError:  # structlog is only there with Airflow
        return
    processors = structlog.get_config()["processors"]
    if not isinstance(processors, list) or not processors:
        return
    if not isinstance(processors[-1], _MaskedRenderer):
        processors[-1] = _MaskedRenderer(processors[-1])


def install_log_masking() -> None:
    """Mask phone numbers in every log line of this process; idempotent.

    Three places, so that no sink is left out whatever formats it:

    * a ``LogRecord`` factory masks each record's message (and pre-formats
      its exception, masked) as it is made, for code that reads records
      (``caplog``, Airflow's structlog bridge);
    * ``logging.Handler.format`` masks the formatted line, traceback
      included, of every handler, present or future, whatever its formatter;
    * the renderer of structlog's configuration (Airflow's task logs) masks
      its output, when structlog is configured.

    The package's entry points call it: the command line and ``dag_support``
    (imported by every DAG file, so by every Airflow task process).
    """
    with _install_lock:
        factory = logging.getLogRecordFactory()
        if not hasattr(factory, _MARK):
            logging.setLogRecordFactory(_masking_factory(factory))
        if not hasattr(logging.Handler.format, _MARK):
            logging.Handler.format = _masking_format(logging.Handler.format)  # type: ignore[method-assign]
        _install_structlog_masking()


def log_masking_installed() -> bool:
    """True when ``install_log_masking`` is in effect for the stdlib ``logging``."""
    return hasattr(logging.getLogRecordFactory(), _MARK) and hasattr(logging.Handler.format, _MARK)


def uninstall_log_masking() -> None:
    """Undo ``install_log_masking`` for the stdlib and structlog (tests use it)."""
    with _install_lock:
        factory = logging.getLogRecordFactory()
        if hasattr(factory, _MARK):
            logging.setLogRecordFactory(getattr(factory, _MARK))
        base_format = getattr(logging.Handler.format, _MARK, None)
        if base_format is not None:
            logging.Handler.format = base_format  # type: ignore[method-assign]
        try:
            import structlog
        except ImportError:
            return
        processors = structlog.get_config()["processors"]
        if isinstance(processors, list) and processors:
            last = processors[-1]
            if isinstance(last, _MaskedRenderer):
                processors[-1] = last.renderer
