"""Per-value phone normalization with ``phonenumbers``: the reference.

Every other path in this package must return exactly what :func:`normalize`
returns; the differential tests compare them column by column. Keep this
module a thin, literal wrapper around the library so that it stays the
definition of "correct".
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as pn_timezone

_UNKNOWN_REGION = "ZZ"


@dataclass(frozen=True)
class PhoneInfo:
    """What ``phonenumbers`` says about one raw value parsed in one region."""

    raw: str | None
    default_region: str | None
    e164: str | None
    is_valid: bool
    country_code: int | None
    region_code: str | None
    number_type: str | None
    time_zones: tuple[str, ...]


def normalize(raw: str | None, default_region: str | None) -> PhoneInfo:
    """Parse ``raw`` with ``default_region`` and describe the result.

    Unparseable input (``NumberParseException``, including ``None``) gives an
    info with every derived field empty and ``is_valid`` False. A number that
    parses but is invalid still gets its E.164 form, as ``phonenumbers`` does.
    """
    try:
        # parse() rejects None itself, but its type hints do not allow it.
        numobj = phonenumbers.parse(raw, default_region)  # type: ignore[arg-type]
    except phonenumbers.NumberParseException:
        return PhoneInfo(raw, default_region, None, False, None, None, None, ())
    region = phonenumbers.region_code_for_number(numobj)
    return PhoneInfo(
        raw=raw,
        default_region=default_region,
        e164=phonenumbers.format_number(numobj, phonenumbers.PhoneNumberFormat.E164),
        is_valid=phonenumbers.is_valid_number(numobj),
        country_code=numobj.country_code,
        region_code=None if region in (None, _UNKNOWN_REGION) else region,
        number_type=phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(numobj)),
        time_zones=tuple(pn_timezone.time_zones_for_number(numobj)),
    )
