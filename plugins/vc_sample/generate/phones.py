"""Valid phone numbers per country and the messy ways exports write them.

Numbers are drawn from national-number prefixes that ``phonenumbers``
validates once (with several random suffixes); every number built from an
accepted prefix is valid for its country. Calling ``phonenumbers`` once per
generated number would be far too slow for millions of calls.
"""

from __future__ import annotations

import random
from functools import cache

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat
from phonenumbers import timezone as pn_timezone

COUNTRY_CODE: dict[str, int] = {
    "US": 1, "CA": 1, "GB": 44, "FR": 33, "AU": 61, "DE": 49, "MX": 52, "IE": 353, "NZ": 64,
}

# (national-number prefix, total national-number length) per country and kind.
_PREFIX_SEEDS: dict[tuple[str, str], list[tuple[str, int]]] = {
    ("US", "ny"): [("212", 10), ("718", 10), ("917", 10), ("646", 10)],
    ("US", "west"): [("415", 10), ("213", 10), ("650", 10), ("206", 10), ("503", 10)],
    ("US", "central"): [("312", 10), ("512", 10), ("214", 10), ("612", 10)],
    ("US", "mountain"): [("303", 10), ("602", 10), ("801", 10)],
    ("US", "east"): [("404", 10), ("617", 10), ("202", 10), ("215", 10), ("704", 10)],
    ("US", "fl"): [("305", 10), ("407", 10), ("813", 10)],
    ("US", "ok"): [("405", 10), ("918", 10)],
    ("CA", "fixed"): [("416", 10), ("647", 10), ("613", 10), ("514", 10), ("604", 10)],
    ("GB", "fixed"): [("207", 10), ("208", 10), ("121", 10), ("161", 10), ("113", 10)],
    ("GB", "mobile"): [("74", 10), ("75", 10), ("77", 10), ("78", 10), ("79", 10)],
    ("FR", "fixed"): [("1", 9), ("4", 9)],
    ("FR", "mobile"): [("6", 9), ("7", 9)],
    ("AU", "fixed"): [("2", 9), ("3", 9), ("7", 9)],
    ("AU", "mobile"): [("4", 9)],
    ("DE", "fixed"): [("30", 10), ("89", 10)],
    ("MX", "fixed"): [("55", 10), ("33", 10)],
    ("IE", "fixed"): [("1", 8)],
    ("NZ", "fixed"): [("9", 8)],
}

FL_AREA_CODES = frozenset({
    "239", "305", "321", "324", "352", "386", "407", "448", "561", "645", "656", "689",
    "727", "728", "754", "772", "786", "813", "850", "863", "904", "941", "954",
})
OK_AREA_CODES = frozenset(["405", "539", "572", "580", "918"])


def us_state_override(e164: str) -> str | None:
    """``FL`` or ``OK`` for US numbers in those states' area codes, else None."""
    if e164.startswith("+1"):
        npa = e164[2:5]
        if npa in FL_AREA_CODES:
            return "FL"
        if npa in OK_AREA_CODES:
            return "OK"
    return None


@cache
def parse_e164(e164: str) -> PhoneNumber | None:
    """Parse an E.164 string (None when it cannot be parsed)."""
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


@cache
def is_valid(e164: str) -> bool:
    """``phonenumbers.is_valid_number`` of an E.164 string (False if unparseable)."""
    num = parse_e164(e164)
    return num is not None and phonenumbers.is_valid_number(num)


@cache
def country_of(e164: str) -> str | None:
    """The ISO region of a valid number (None otherwise)."""
    num = parse_e164(e164)
    if num is None or not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.region_code_for_number(num)


@cache
def zones_of(e164: str) -> tuple[str, ...]:
    """``phonenumbers``' time zones of a number (``('Etc/Unknown',)`` if unknown)."""
    num = parse_e164(e164)
    if num is None:
        return ("Etc/Unknown",)
    return tuple(pn_timezone.time_zones_for_number(num))


def _valid_in(cc: int, national: str, country: str) -> bool:
    num = PhoneNumber(country_code=cc, national_number=int(national))
    return (
        phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == country
    )


class NumberFactory:
    """Draws unique valid numbers; never returns the same number twice."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()
        self._prefixes: dict[tuple[str, str], list[tuple[str, int]]] = {}

    def _accepted(self, country: str, kind: str) -> list[tuple[str, int]]:
        key = (country, kind)
        if key not in self._prefixes:
            accepted: list[tuple[str, int]] = []
            check = random.Random(f"{country}/{kind}")
            for seed_prefix, length in _PREFIX_SEEDS[key]:
                # Extend each seed to all but four digits, then probe it.
                for _ in range(8):
                    extra = length - 4 - len(seed_prefix)
                    prefix = seed_prefix + f"{check.randrange(10**extra):0{extra}d}"
                    if country in ("US", "CA") and (
                        prefix[3] in "01" or prefix[4:6] == "11" or prefix[3:6] == "555"
                    ):
                        continue
                    probes = [
                        prefix + "0000",
                        prefix + "9999",
                        *(prefix + f"{check.randrange(10_000):04d}" for _ in range(8)),
                    ]
                    cc = COUNTRY_CODE[country]
                    if all(_valid_in(cc, p, country) for p in probes):
                        accepted.append((prefix, length))
            if not accepted:
                raise RuntimeError(f"no valid prefix for {country}/{kind}")
            self._prefixes[key] = accepted
        return self._prefixes[key]

    def make(self, country: str, kind: str = "fixed") -> str:
        """A fresh valid E.164 number of ``country`` (``kind``: see the prefix table)."""
        prefixes = self._accepted(country, kind)
        cc = COUNTRY_CODE[country]
        rng = self._rng
        while True:
            prefix, length = prefixes[rng.randrange(len(prefixes))]
            rest = length - len(prefix)
            e164 = f"+{cc}{prefix}{rng.randrange(10**rest):0{rest}d}"
            if e164 not in self._used:
                self._used.add(e164)
                return e164

    def reserve(self, e164: str) -> None:
        """Mark a number as used so ``make`` never returns it."""
        self._used.add(e164)


@cache
def _international(e164: str) -> str:
    num = parse_e164(e164)
    assert num is not None
    return phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)


def messy(e164: str, rng: random.Random) -> str:
    """The number the way a CRM export might write it.

    NANP numbers use the national forms users type ('(415) 555-2671',
    '415.555.2671', '1-415-555-2671', '+1 415 555 2671', ...). Other
    countries use international forms ('+44 20 7946 0018', '011 44 ...'),
    because exports without a country column are parsed with default
    region US. Every form parses back to ``e164`` with default region US.
    """
    if e164.startswith("+1"):
        a, b, c = e164[2:5], e164[5:8], e164[8:12]
        forms = (
            f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", f"+1 {a} {b} {c}",
            f"{a}{b}{c}", e164, f"{a}-{b}-{c}", f"+1 ({a}) {b}-{c}",
        )
        return forms[rng.randrange(len(forms))]
    intl = _international(e164)
    pick = rng.randrange(4)
    if pick == 0:
        return intl
    if pick == 1:
        return "011 " + intl[1:]
    if pick == 2:
        return e164
    return intl.replace(" ", "-")


def nanp_parts(e164: str) -> tuple[str, str]:
    """Area code and the seven remaining digits of a +1 number."""
    return e164[2:5], e164[5:12]


@cache
def uk_national(e164: str) -> tuple[str, str]:
    """(dialling code, remainder) of a UK number in national format."""
    num = parse_e164(e164)
    assert num is not None
    national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    code, _, rest = national.partition(" ")
    return code, rest.replace(" ", "")


@cache
def pretty(e164: str) -> str:
    """The ``*_formatted`` rendering Twilio returns (national for NANP)."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    num = parse_e164(e164)
    if num is None:
        return e164
    return _international(e164) if phonenumbers.is_valid_number(num) else e164
