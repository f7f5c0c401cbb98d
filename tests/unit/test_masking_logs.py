"""``install_log_masking``: every log line of the process is masked, whoever logs it,
whatever handler or formatter writes it, tracebacks included."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from voice_compliance.masking import (
    install_log_masking,
    log_masking_installed,
    uninstall_log_masking,
)

pytestmark = pytest.mark.quick

FULL_NUMBER = re.compile(r"\d{7,}")


@pytest.fixture
def masking() -> Iterator[None]:
    """Install the masking for the test; leave it as found (an entry point may
    already have installed it in this session)."""
    was_installed = log_masking_installed()
    install_log_masking()
    install_log_masking()  # idempotent: a second call adds no second layer
    yield
    if not was_installed:
        uninstall_log_masking()


@pytest.fixture
def stream_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through a plain StreamHandler with a classic formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("voice_compliance.loading.loader.test_masking_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _fail_loading(key: str) -> None:
    raise ValueError(f"cannot read {key}: bad row for +14155550123")


def test_loader_log_line_and_traceback_are_masked_in_a_real_handler(
    masking: None, stream_logger: tuple[logging.Logger, io.StringIO]
) -> None:
    # Arrange
    logger, stream = stream_logger
    key = "calls/region=us1/export_+14155550199.csv"

    # Act: the loader's own line, then a failure logged with its traceback
    logger.info("loaded %s: %d rows", key, 3)
    try:
        _fail_loading(key)
    except ValueError:
        logger.exception("batch of %s failed", key)

    # Assert
    text = stream.getvalue()
    assert "loaded calls/region=us1/export_***0199.csv: 3 rows" in text
    assert "batch of calls/region=us1/export_***0199.csv failed" in text
    assert "Traceback (most recent call last)" in text
    assert "ValueError: cannot read calls/region=us1/export_***0199.csv" in text
    assert "bad row for ***0123" in text
    assert FULL_NUMBER.search(text) is None


def test_a_formatter_that_renders_exc_info_itself_is_masked_too(masking: None) -> None:
    # Arrange: a formatter that ignores exc_text, like structlog's ProcessorFormatter
    class OwnTraceback(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            text = f"{record.getMessage()} | {record.exc_info[1] if record.exc_info else ''}"
            return text

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OwnTraceback())
    logger = logging.getLogger("vc.test.masking_logs.own")
    logger.addHandler(handler)
    logger.propagate = False

    # Act
    try:
        try:
            _fail_loading("x+14155550199")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)

    # Assert
    assert "x***0199" in stream.getvalue()
    assert FULL_NUMBER.search(stream.getvalue()) is None


def test_records_read_without_a_handler_are_masked(
    masking: None, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange
    logger = logging.getLogger("airflow.task.test_masking_logs")
    caplog.set_level(logging.INFO, logger="airflow.task.test_masking_logs")

    # Act
    logger.info("Task failed: %s", RuntimeError("no consent for a14155550199"))

    # Assert: the record itself carries the masked message
    assert caplog.records[0].getMessage() == "Task failed: no consent for a***0199"
    assert FULL_NUMBER.search(caplog.text) is None


def test_a_format_string_with_a_percent_sign_survives_masking(
    masking: None, stream_logger: tuple[logging.Logger, io.StringIO]
) -> None:
    logger, stream = stream_logger

    logger.info("%s is 97%% valid", "+14155550199")

    assert "***0199 is 97% valid" in stream.getvalue()


def test_structlog_loggers_are_masked_even_when_bound_before_install() -> None:
    # Arrange: a structlog setup like Airflow's task process (JSON, cached loggers)
    saved = structlog.get_config()
    was_installed = log_masking_installed()
    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    logger = structlog.get_logger("task")
    logger.info("warm up")  # bound and cached before the masking is installed
    try:
        install_log_masking()

        # Act
        try:
            _fail_loading("export_+14155550199.csv")
        except ValueError:
            logger.exception("Task failed with exception", key="export_+14155550199.csv")
    finally:
        if not was_installed:
            uninstall_log_masking()
        structlog.reset_defaults()
        structlog.configure(**saved)

    # Assert
    lines: list[dict[str, Any]] = [json.loads(line) for line in out.getvalue().splitlines()]
    failure = lines[-1]
    assert failure["event"] == "Task failed with exception"
    assert failure["key"] == "export_***0199.csv"
    assert "***0123" in json.dumps(failure["exception"])
    assert FULL_NUMBER.search(out.getvalue()) is None


def test_a_loaded_file_line_keeps_its_counts_of_a_million_rows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A registry file of millions of lines: its counts are not phone numbers
    and must stay readable in the task log, which masks any 7-digit run."""
    from voice_compliance.loading import loader
    from voice_compliance.loading.results import FileResult
    from voice_compliance.masking import MaskingFilter

    caplog.handler.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger=loader.__name__):
        result = FileResult("dnc/us_national/full/x.txt", "partial", 25_000_017, 25_000_000, 17)
        loader._logged(result)

    line = caplog.records[-1].getMessage()
    assert "25_000_017 read, 25_000_000 loaded, 17 quarantined (partial)" in line
    assert "***" not in line
