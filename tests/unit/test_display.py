"""Values in messages and tickets read as a person reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from voice_compliance.display import display_pairs, display_value

pytestmark = pytest.mark.quick


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("unclassified_share", 0.003348588012054917, "0.334859 %"),
        ("valid_callee_share", 0.9712, "97.12 %"),
        ("valid_callee_share", 0.98951, "98.951 %"),  # not 99 % next to "at least 99 %"
        ("valid_callee_share", 1.0, "100 %"),
        ("valid_callee_share", Decimal("0.5"), "50 %"),
        ("share_of_nothing", 2.5, "2.5"),  # not a share name: as a number
        ("complaints_per_1000", 12.3456, "12.3"),
        ("rate", 0.000012345, "0.0000123"),
        ("attempts", 1234567.0, "1234567"),
        ("caller", 14155550100.0, "14155550100"),  # a digit run the masking recognises
        ("attempts", 3, "3"),
        ("account_sid", "AC0001", "AC0001"),
        ("is_hot", True, "True"),
    ],
)
def test_display_value(column: str, value: object, shown: str) -> None:
    assert display_value(column, value) == shown


def test_display_pairs_skip_nulls_and_put_the_checked_column_last() -> None:
    row = {"unclassified_share": 0.25, "account_key": "AC1", "month": None, "n": 2}

    assert display_pairs(row, last="unclassified_share") == [
        "account_key=AC1",
        "n=2",
        "unclassified_share=25 %",
    ]
