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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export_+14155550199.csv", "export_***0199.csv"),
        ("x+14155550199", "x***0199"),
        ("a14155550199", "a***0199"),
        ("calls/export_14155550199/part.csv", "calls/export_***0199/part.csv"),
        ("s3://landing/calls/+14155550199_calls.jsonl", "s3://landing/calls/***0199_calls.jsonl"),
        ("loaded calls/x+14155550199.csv: 3 rows", "loaded calls/x***0199.csv: 3 rows"),
        ("key=14155550199&b=1", "key=***0199&b=1"),
        ("DEADBEEF14155550199", "DEADBEEF***0199"),  # upper case: not a hex digest
        ("+14155550123 2026-10-14", "***0123 2026-10-14"),  # the date stays a date
    ],
)
def test_numbers_glued_to_words_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert mask_text(expected) == expected  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "CA1234567890abcdef0123456789abcdef",  # a SID with ten digits in a row
        "CA" + "1" * 32,  # a SID that is all digits (test fixtures have them)
        "export_CA1234567890abcdef0123456789abcdef.json",
        "PN9876543210fedcba9876543210fedcba/2026-10",
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",  # sha256
        "sha1=1234567890123456789012345678901234567abc",
        "file_id 1234567890123456789a",  # 20 hex
        "ticket vc-1234567890123abc",  # a fingerprint
        "12345678-1234-1234-1234-123456789012",  # a UUID
        "2026-11-29T20:11:39.217724+00:00",
        "2026-10-14 08:00:01,123 INFO loaded",
        "at 20:11:39.217724",
        "calls_2026-10-03.jsonl",
        "took 12.3456789 s",
        "1,234,567 rows",
    ],
)
def test_sids_checksums_and_timestamps_stay_whole(text: str) -> None:
    assert mask_text(text) == text
