"""Lookup structures derived from the metadata, computed once per process.

Zone sets number the distinct time-zone lists (0 is phonenumbers'
``Etc/Unknown`` answer); the decision levels come from ``typetrie``; parse
keys map what the SQL knows before parsing (``+`` and three digits, or a
default region) to the country code and metadata it implies.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from voice_compliance.phones import metadata, typetrie
from voice_compliance.phones.patterns import UnsupportedPattern, boxes


@cache
def zone_sets() -> dict[tuple[str, ...], int]:
    """Every time-zone list phonenumbers can return, numbered (unknown is 0)."""
    numbered: dict[tuple[str, ...], int] = {(metadata.UNKNOWN_TIME_ZONE,): 0}
    for _, zones in metadata.time_zone_prefixes():
        numbered.setdefault(zones, len(numbered))
    for code in metadata.country_code_records():
        numbered.setdefault(code.country_time_zones, len(numbered))
    return numbered


def _zone_keys(country_code: int) -> dict[str, int]:
    """Time-zone prefixes relative to the code's digits ("" = the longest
    prefix covering the whole code)."""
    text, ids = str(country_code), zone_sets()
    keys: dict[str, int] = {}
    covering = [p for p, _ in metadata.time_zone_prefixes() if text.startswith(p)]
    if covering:
        keys[""] = ids[dict(metadata.time_zone_prefixes())[max(covering, key=len)]]
    for prefix, zones in metadata.time_zone_prefixes():
        if prefix.startswith(text) and len(prefix) > len(text):
            keys[prefix[len(text) :]] = ids[zones]
    return keys


def code_specs() -> dict[int, tuple[list[typetrie.EntitySpec], typetrie.CodeSpec]]:
    """The inputs of the decision trie of every calling code."""
    records = {r.md_key: r for r in metadata.region_records()}
    descs: dict[str, dict[str, tuple[str, tuple[int, ...]]]] = defaultdict(dict)
    for d in metadata.desc_records():
        descs[d.md_key][d.desc_type] = (d.pattern, d.possible_lengths)
    codes = {}
    for code in metadata.country_code_records():
        entities = [
            typetrie.EntitySpec(
                records[key].leading_digits,
                records[key].same_mobile_and_fixed_line_pattern,
                descs[key],
            )
            for key in (metadata.md_key(r, code.country_code) for r in code.region_codes)
        ]
        spec = typetrie.CodeSpec(
            geo_mobile=code.geo_mobile,
            country_zone=zone_sets()[code.country_time_zones],
            unknown_zone=0,
            zone_keys=_zone_keys(code.country_code),
        )
        codes[code.country_code] = (entities, spec)
    return codes


@cache
def type_tables() -> typetrie.Built:
    """Region/type/zone decision levels for every calling code (a few seconds)."""
    return typetrie.build(code_specs())


_TRANSFORM_RULE = re.compile(r"[0-9]*(?:\\[1-9])?[0-9]*")
ALL_DIGITS_MASK = (1 << 10) - 1
MAX_IDD_PREFIXES = 3


def sql_supported(record: metadata.RegionRecord) -> bool:
    """Whether this entity's national-prefix rule can be replayed in RE2 SQL:
    a transform rule must be digits around one group reference, and its
    last group must not match empty (the SQL tells "took part" from "non-empty")."""
    rule = record.national_prefix_transform_rule
    if not rule:
        return True
    return (
        record.npfp_groups > 0
        and record.npfp_last_group_nonempty
        and _TRANSFORM_RULE.fullmatch(rule) is not None
    )


def strip_mask(national_prefix_for_parsing: str | None) -> int:
    """Bit d set: a national-prefix match can start with digit d (all if unknown)."""
    if not national_prefix_for_parsing:
        return 0
    try:
        # Dropping end anchors only widens the language: still a safe superset.
        found = boxes(national_prefix_for_parsing.replace("$", ""))
    except (UnsupportedPattern, ValueError):
        return ALL_DIGITS_MASK
    if any(len(box) == 0 for box in found):
        return ALL_DIGITS_MASK  # an empty match: keep every number on the full rules
    return sum(1 << int(d) for d in set().union(*(box[0] for box in found)))


def idd_prefixes(international_prefix: str | None) -> tuple[str, ...]:
    """Literal prefixes that every international-dialling-prefix match starts with.

    National input starting with one goes to the fallback (phonenumbers may
    read a country code after it). A superset is safe, so when there are
    more than MAX_IDD_PREFIXES they are cut to their first digits.
    """
    if not international_prefix:
        return ()
    found: set[str] = set()
    for box in boxes(international_prefix):
        literal = ""
        for digits in box:
            if len(digits) != 1:
                break
            literal += next(iter(digits))
        found.update([literal] if literal else box[0])
    minimal = sorted(p for p in found if not any(q != p and p.startswith(q) for q in found))
    if len(minimal) > MAX_IDD_PREFIXES:
        minimal = sorted({p[0] for p in minimal})
    if len(minimal) > MAX_IDD_PREFIXES:
        return ("",)  # starts with anything: every national number falls back
    return tuple(minimal)


@dataclass(frozen=True)
class ParseKey:
    """What the SQL knows before parsing -- three digits after a '+', or a
    default region -- and what it implies: the country code, the metadata
    for national-prefix rules (by md_id, the row number in phone_regions),
    the digits such a prefix can start with, international dialling
    prefixes to send to the fallback, and the code's decision-level depths."""

    key_id: int
    parse_key: str
    country_code: int
    cc_len: int
    md_id: int
    main_md_id: int
    strip_mask: int
    main_strip_mask: int
    idd_prefixes: tuple[str, ...]
    sql_ok: bool
    type_depths: tuple[int, ...]


@cache
def md_ids() -> dict[str, int]:
    """Metadata key -> small integer id (row order of phone_regions)."""
    return {r.md_key: i for i, r in enumerate(metadata.region_records())}


@cache
def parse_keys() -> tuple[ParseKey, ...]:
    """Keys: three digits after a '+' (the country code phonenumbers reads
    there) and every supported default region (its own country code). The
    two kinds cannot collide: digits versus letters."""
    records = {r.md_key: r for r in metadata.region_records()}
    mains = {c.country_code: c.main_md_key for c in metadata.country_code_records()}
    depths = type_tables()[0]
    ids = md_ids()
    out: list[ParseKey] = []

    def add(key: str, cc: int, md: str, idd: tuple[str, ...]) -> None:
        main = mains[cc]
        out.append(
            ParseKey(
                key_id=len(out),
                parse_key=key,
                country_code=cc,
                cc_len=len(str(cc)),
                md_id=ids[md],
                main_md_id=ids[main],
                strip_mask=strip_mask(records[md].national_prefix_for_parsing),
                main_strip_mask=strip_mask(records[main].national_prefix_for_parsing),
                idd_prefixes=idd,
                sql_ok=sql_supported(records[md]) and sql_supported(records[main]),
                type_depths=depths[cc],
            )
        )

    for value in range(1000):
        digits = f"{value:03d}"
        cc = metadata.country_code_for_digits(digits)
        if cc:
            add(digits, cc, mains[cc], ())
    for record in metadata.region_records():
        if record.region_code != metadata.NON_GEO_REGION:
            add(
                record.region_code,
                record.country_code,
                record.md_key,
                idd_prefixes(record.international_prefix),
            )
    return tuple(out)
