"""E.164 for do-not-call registry number fields, as one cheap SQL expression.

Registry files hold hundreds of millions of lines in two fixed shapes, so
they get a closed form instead of the general path:

* ``us_national`` and ``ca_dncl``: ``AAANNNNNNN`` or ``AAA,NNNNNNN``. The
  comma separates fields; it is not part of the number (phonenumbers would
  read ``,NNNNNNN`` as an extension). For any ten digits phonenumbers gives
  ``+1`` followed by them in region US and CA alike: no NANPA national
  prefix or country-code reading applies to ten digits.
* ``uk_tps`` and ``uk_ctps``: UK national format, ``0`` then a non-zero
  digit, 10 or 11 digits in all, with optional single spaces between
  digits. phonenumbers (region GB) strips the national prefix ``0``.

Surrounding blanks (space, tab, CR) are tolerated; anything else gives NULL.
The closed forms are checked against phonenumbers the first time they are
used, so a metadata change that broke them fails loudly, and the
differential tests check them on generated lines.
"""

from __future__ import annotations

from functools import cache

from voice_compliance.phones.reference import normalize

_BLANKS = r"[ \t\r]*"
_NANP = (r"[2-9][0-9]{2},?[0-9]{7}", "+1", 0)
_UK = (r"0[1-9](?: ?[0-9]){8,9}", "+44", 1)
REGISTRY_FORMATS: dict[str, tuple[str, str, int]] = {
    "us_national": _NANP,
    "ca_dncl": _NANP,
    "uk_tps": _UK,
    "uk_ctps": _UK,
}
REGISTRY_REGIONS: dict[str, str] = {
    "us_national": "US",
    "ca_dncl": "CA",
    "uk_tps": "GB",
    "uk_ctps": "GB",
}
# Lines that exercise the edges of each closed form (leading 0/1 area codes,
# both UK lengths, mobile and non-geographic ranges).
_PROBES: dict[str, tuple[str, ...]] = {
    "us_national": ("2015550123", "1234567890", "0123456789", "9995551234", "8002345678"),
    "ca_dncl": ("4165550123", "1234567890", "0123456789", "3065551234", "6135550000"),
    "uk_tps": ("01632960000", "0207946001", "07700900123", "08001234567", "0113496000"),
    "uk_ctps": ("01632960000", "02079460018", "03001234567", "05001234567"),
}


def registry_digits(line: str, registry: str) -> str | None:
    """The digits phonenumbers is given for a registry field (None if malformed)."""
    import re

    pattern, _, _ = REGISTRY_FORMATS[registry]
    match = re.fullmatch(_BLANKS + "(" + pattern + ")" + _BLANKS, line)
    return None if match is None else re.sub(r"[^0-9]", "", match.group(1))


@cache
def _check_closed_form(registry: str) -> None:
    _, country_prefix, drop = REGISTRY_FORMATS[registry]
    for digits in _PROBES[registry]:
        expected = normalize(digits, REGISTRY_REGIONS[registry]).e164
        if expected != country_prefix + digits[drop:]:
            raise RuntimeError(
                f"phonenumbers no longer agrees with the {registry} closed form on {digits}: "
                f"{expected}; registry_e164_sql needs updating"
            )


def registry_e164_sql(expr: str, registry: str) -> str:
    """A SQL expression turning registry number field ``expr`` into E.164 (NULL if malformed).

    ``registry`` is one of ``us_national``, ``ca_dncl`` (``AAANNNNNNN`` or
    ``AAA,NNNNNNN``, region US/CA) or ``uk_tps``, ``uk_ctps`` (UK national
    format with optional spaces, region GB). ``expr`` is evaluated several
    times: pass a column or a cheap expression.
    """
    pattern, country_prefix, drop = _checked_format(registry)
    field = f"({expr})"
    full = (_BLANKS + pattern + _BLANKS).replace("'", "''")
    trimmed = f"trim({field}, ' ' || chr(9) || chr(13))"
    separator = "','" if drop == 0 else "' '"
    digits = f"replace({trimmed}, {separator}, '')"
    return (
        f"(CASE {_plain_branches(field, registry)} WHEN regexp_full_match({field}, '{full}') "
        f"THEN '{country_prefix}' || substr({digits}, {drop + 1}) END)"
    )


def registry_plain_number_sql(expr: str, registry: str) -> str:
    """The E.164 digits of ``expr`` as a BIGINT when it is exactly the registry's
    common form, else NULL.

    The common form is the bare number (``AAANNNNNNN``, ``AAA,NNNNNNN``, or a
    UK number without spaces): one regex and integer arithmetic, no string
    built. Where it is not NULL it equals the digits of
    ``registry_e164_sql(expr, registry)`` (the number ``raw.registry_lines``
    stores), so callers try it first and keep the general form for the rest.
    """
    _checked_format(registry)
    return f"(CASE {_plain_branches(f'({expr})', registry, number=True)} END)"


def _checked_format(registry: str) -> tuple[str, str, int]:
    """The registry's closed form, once checked against phonenumbers."""
    if registry not in REGISTRY_FORMATS:
        raise ValueError(
            f"unknown registry {registry!r}; expected one of {sorted(REGISTRY_FORMATS)}"
        )
    _check_closed_form(registry)
    return REGISTRY_FORMATS[registry]


def _plain_forms(field: str, registry: str) -> list[tuple[str, str, str]]:
    """The registry's common exact forms: (regex, E.164 text, E.164 digits as
    an integer). Blanks around the field or spaces inside it are not one of
    them: those lines take the general branch."""
    if registry in ("us_national", "ca_dncl"):
        # +1 and the ten digits; as an integer 10^10 + NPA NXX XXXX
        return [
            (
                "[2-9][0-9]{9}",
                f"'+1' || {field}",
                f"10000000000 + cast({field} as bigint)",
            ),
            (
                "[2-9][0-9]{2},[0-9]{7}",
                f"'+1' || left({field}, 3) || right({field}, 7)",
                f"10000000000 + cast(left({field}, 3) as bigint) * 10000000"
                f" + cast(right({field}, 7) as bigint)",
            ),
        ]
    # +44 and the digits after the national prefix 0 (9 or 10 of them)
    return [
        (
            "0[1-9][0-9]{8,9}",
            f"'+44' || substr({field}, 2)",
            f"(CASE length({field}) WHEN 10 THEN 44000000000 ELSE 440000000000 END)"
            f" + cast(substr({field}, 2) as bigint)",
        )
    ]


def _plain_branches(field: str, registry: str, *, number: bool = False) -> str:
    # One regex and a concatenation (or arithmetic) per form.
    return " ".join(
        f"WHEN regexp_full_match({field}, '{regex}') THEN {digits if number else text}"
        for regex, text, digits in _plain_forms(field, registry)
    )
