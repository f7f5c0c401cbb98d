"""Read ``phonenumbers``' own metadata into plain records.

The vectorized path never hard-codes a numbering plan: every pattern, prefix
and length it uses comes from these records (via the tables ``install``
writes), so upgrading ``phonenumbers`` upgrades the SQL with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import phonenumberutil as pnu
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

NON_GEO_REGION = pnu.REGION_CODE_FOR_NON_GEO_ENTITY
UNKNOWN_TIME_ZONE = "Etc/Unknown"

# The order phonenumbers' _number_type_helper tests the descriptions in;
# fixed line and mobile come last and are combined specially.
SPECIAL_TYPES: tuple[tuple[str, str], ...] = (
    ("PREMIUM_RATE", "premium_rate"),
    ("TOLL_FREE", "toll_free"),
    ("SHARED_COST", "shared_cost"),
    ("VOIP", "voip"),
    ("PERSONAL_NUMBER", "personal_number"),
    ("PAGER", "pager"),
    ("UAN", "uan"),
    ("VOICEMAIL", "voicemail"),
)
DESC_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("GENERAL", "general_desc"),
    *SPECIAL_TYPES,
    ("FIXED_LINE", "fixed_line"),
    ("MOBILE", "mobile"),
)


@dataclass(frozen=True)
class DescRecord:
    """One PhoneNumberDesc: the pattern and the lengths it may match."""

    md_key: str
    desc_type: str
    pattern: str
    possible_lengths: tuple[int, ...]
    local_only_lengths: tuple[int, ...]


@dataclass(frozen=True)
class RegionRecord:
    """The parsing-relevant part of one PhoneMetadata (a region or a non-geo code)."""

    md_key: str
    region_code: str
    country_code: int
    region_rank: int
    leading_digits: str | None
    international_prefix: str | None
    national_prefix_for_parsing: str | None
    national_prefix_transform_rule: str | None
    npfp_groups: int
    npfp_last_group_nonempty: bool
    same_mobile_and_fixed_line_pattern: bool


@dataclass(frozen=True)
class CountryCodeRecord:
    """A country calling code, its regions (main first) and country-level zones."""

    country_code: int
    main_md_key: str
    region_codes: tuple[str, ...]
    geo_mobile: bool
    country_time_zones: tuple[str, ...]


def md_key(region_code: str, country_code: int) -> str:
    """Key of one metadata entity: the region code, or ``001/<cc>`` for non-geo codes."""
    return f"{NON_GEO_REGION}/{country_code}" if region_code == NON_GEO_REGION else region_code


def _metadata(region_code: str, country_code: int) -> PhoneMetadata:
    md = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region_code)
    if md is None:  # pragma: no cover - the code-to-region map only lists known entities
        raise LookupError(f"phonenumbers has no metadata for {region_code}/{country_code}")
    return md


def _last_group_min_width(pattern: str) -> int:
    """Shortest text the last capturing group of ``pattern`` can match.

    The SQL tells "group took part" from "group captured non-empty text",
    which is only the same thing when the group cannot match empty.
    """
    from re import _parser as sre_parse

    parsed = sre_parse.parse(pattern)
    wanted = re.compile(pattern).groups
    widths: list[int] = []

    def walk(items: object) -> None:
        for op, av in items:  # type: ignore[attr-defined]
            if op is sre_parse.SUBPATTERN and av[0] == wanted:
                widths.append(av[3].getwidth()[0])
            if isinstance(av, tuple | list):
                for sub in av:
                    if isinstance(sub, sre_parse.SubPattern):
                        walk(sub)
                    elif isinstance(sub, list):
                        for alt in sub:
                            if isinstance(alt, sre_parse.SubPattern):
                                walk(alt)

    walk(parsed)
    return min(widths) if widths else 0


@cache
def region_records() -> tuple[RegionRecord, ...]:
    """Every metadata entity phonenumbers knows, in country-code order."""
    out: list[RegionRecord] = []
    for cc, regions in sorted(pnu.COUNTRY_CODE_TO_REGION_CODE.items()):
        for rank, region in enumerate(regions):
            md = _metadata(region, cc)
            npfp = md.national_prefix_for_parsing or None
            groups = re.compile(npfp).groups if npfp else 0
            out.append(
                RegionRecord(
                    md_key=md_key(region, cc),
                    region_code=region,
                    country_code=cc,
                    region_rank=rank,
                    leading_digits=md.leading_digits,
                    international_prefix=md.international_prefix,
                    national_prefix_for_parsing=npfp,
                    national_prefix_transform_rule=md.national_prefix_transform_rule or None,
                    npfp_groups=groups,
                    npfp_last_group_nonempty=bool(groups) and _last_group_min_width(npfp or "") > 0,
                    same_mobile_and_fixed_line_pattern=bool(md.same_mobile_and_fixed_line_pattern),
                )
            )
    return tuple(out)


def _desc_record(key: str, desc_type: str, desc: PhoneNumberDesc | None) -> DescRecord | None:
    # A missing description or pattern never matches in phonenumbers.
    if desc is None or not desc.national_number_pattern:
        return None
    return DescRecord(
        md_key=key,
        desc_type=desc_type,
        pattern=desc.national_number_pattern,
        possible_lengths=tuple(desc.possible_length or ()),
        local_only_lengths=tuple(desc.possible_length_local_only or ()),
    )


@cache
def desc_records() -> tuple[DescRecord, ...]:
    """Every general and per-type number description of every entity."""
    out: list[DescRecord] = []
    for rec in region_records():
        md = _metadata(rec.region_code, rec.country_code)
        for desc_type, attr in DESC_ATTRIBUTES:
            item = _desc_record(rec.md_key, desc_type, getattr(md, attr))
            if item is not None:
                out.append(item)
    return tuple(out)


def _country_level_zones(cc: int) -> tuple[str, ...]:
    # Mirrors phonenumbers.timezone._country_level_time_zones_for_number,
    # including its habit of never trying a prefix shorter than two digits.
    text = str(cc)
    for prefix_len in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        prefix = text[: 1 + prefix_len]
        if prefix in TIMEZONE_DATA:
            return tuple(TIMEZONE_DATA[prefix])
    return (UNKNOWN_TIME_ZONE,)


@cache
def country_code_records() -> tuple[CountryCodeRecord, ...]:
    """Every country calling code with its regions and country-level zones."""
    geo_mobile = pnu._GEO_MOBILE_COUNTRIES  # no public accessor; mirrors timezone.py
    return tuple(
        CountryCodeRecord(
            country_code=cc,
            main_md_key=md_key(regions[0], cc),
            region_codes=tuple(regions),
            geo_mobile=cc in geo_mobile,
            country_time_zones=_country_level_zones(cc),
        )
        for cc, regions in sorted(pnu.COUNTRY_CODE_TO_REGION_CODE.items())
    )


@cache
def time_zone_prefixes() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The E.164-digit prefix to time-zone map used for geographic numbers."""
    return tuple(sorted((k, tuple(v)) for k, v in TIMEZONE_DATA.items()))


def country_code_for_digits(digits: str) -> int:
    """The country code phonenumbers reads at the start of ``digits`` (0 if none)."""
    if not digits or digits[0] == "0":
        return 0
    for size in range(1, min(len(digits), pnu._MAX_LENGTH_COUNTRY_CODE) + 1):
        if int(digits[:size]) in pnu.COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:size])
    return 0


def library_version() -> str:
    """The installed phonenumbers version, stamped on the installed tables."""
    return str(phonenumbers.__version__)
