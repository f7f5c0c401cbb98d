"""Phone numbers leave the warehouse only as their last four digits."""

from __future__ import annotations

import logging
import re

import pytest

from voice_compliance.masking import MaskingFilter, mask_phone, mask_text, mask_value

pytestmark = pytest.mark.quick

FULL_NUMBER = re.compile(r"\+\d{10,}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+14155550123", "***0123"),
        ("+14155550123/2026-10", "***0123/2026-10"),
        ("call to +1 (415) 555-0123 at noon", "call to ***0123 at noon"),
        ("01632 960000", "***0000"),
        ("415.555.0123", "***0123"),
        ("+442079460000 and +61491570156", "***0000 and ***0156"),
    ],
)
def test_numbers_keep_only_their_last_four_digits(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CA0123456789abcdef0123456789abcdef",  # a call SID
        "AC6513270e269e0d37f2a74de452e6b438/2026-10",  # an account-month subject
        "us_national/2026-10-14",  # a registry day
        "manual__2026-11-29T20:11:39.217724+00:00",  # an Airflow run id
        "3 complaints on 2,999 attempts",
        "2026-10-14 08:00",
    ],
)
def test_ids_dates_and_counts_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_values_are_masked_deep_inside_structures() -> None:
    value = {"examples": ["+14155550123/2026-10", "CA1"], "n": 3, "nested": {"to": "+14155550199"}}

    masked = mask_value(value)

    assert masked == {"examples": ["***0123/2026-10", "CA1"], "n": 3, "nested": {"to": "***0199"}}
    assert mask_phone("+14155550123") == "***0123"
    assert mask_phone(None) == ""


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("vc.test.masking")
    logger.addFilter(MaskingFilter())

    with caplog.at_level(logging.INFO, logger="vc.test.masking"):
        logger.info("calling %s from %s", "+14155550123", "+14155550100")

    assert caplog.records[0].getMessage() == "calling ***0123 from ***0100"
    assert not FULL_NUMBER.search(caplog.text)
