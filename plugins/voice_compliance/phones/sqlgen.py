"""SQL expressions that replay phonenumbers' parsing rules for one entity.

Each builder mirrors one private phonenumbers routine (named in its
docstring) over a digits-only column. The expressions only use constant
regular expressions: DuckDB compiles those once per query, whereas a
pattern taken from a column would be compiled for every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import phonenumbers

from voice_compliance.phones.catalog import Desc, Entity
from voice_compliance.phones.metadata import SPECIAL_TYPES

TYPE_CODES: dict[str, int] = {
    name: getattr(phonenumbers.PhoneNumberType, name)
    for name in (
        "FIXED_LINE",
        "MOBILE",
        "FIXED_LINE_OR_MOBILE",
        "TOLL_FREE",
        "PREMIUM_RATE",
        "SHARED_COST",
        "VOIP",
        "PERSONAL_NUMBER",
        "PAGER",
        "UAN",
        "VOICEMAIL",
        "UNKNOWN",
    )
}
UNKNOWN = TYPE_CODES["UNKNOWN"]


def lit(value: str | None) -> str:
    """A SQL string literal (standard SQL: backslashes are not escapes)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def in_list(expr: str, values: Iterable[int]) -> str:
    """``expr IN (...)``; FALSE for an empty list."""
    items = sorted(set(values))
    return f"{expr} IN ({', '.join(map(str, items))})" if items else "FALSE"


def case_of(subject: str, branches: Mapping[str, str], default: str = "NULL") -> str:
    """``CASE subject WHEN k THEN v ... ELSE default END`` (keys are SQL literals)."""
    if not branches:
        return default
    whens = " ".join(f"WHEN {k} THEN {v}" for k, v in branches.items())
    return f"(CASE {subject} {whens} ELSE {default} END)"


def full_match(expr: str, pattern: str) -> str:
    """Whole-string match, as phonenumbers' ``fullmatch``."""
    return f"regexp_full_match({expr}, {lit(pattern)})"


def pattern_match(entity: Entity, expr: str) -> str:
    """``_match_national_number(expr, general_desc)``: pattern only, no length check."""
    general = entity.descs.get("GENERAL")
    return "FALSE" if general is None else full_match(expr, general.pattern)


def desc_match(desc: Desc | None, expr: str, length: str) -> str:
    """``_is_number_matching_desc``: possible lengths first, then the pattern."""
    if desc is None:
        return "FALSE"
    parts = [in_list(length, desc.possible_lengths)] if desc.possible_lengths else []
    parts.append(full_match(expr, desc.pattern))
    return "(" + " AND ".join(parts) + ")"


def number_type(entity: Entity, expr: str, length: str) -> str:
    """``_number_type_helper``: a type code (phonenumbers' PhoneNumberType value)."""
    d = entity.descs
    fixed = desc_match(d.get("FIXED_LINE"), expr, length)
    mobile = desc_match(d.get("MOBILE"), expr, length)
    if entity.same_mobile_and_fixed_line_pattern:
        fixed_or_mobile = f"(CASE WHEN {fixed} THEN {TYPE_CODES['FIXED_LINE_OR_MOBILE']} ELSE {UNKNOWN} END)"
    else:
        fixed_or_mobile = (
            f"(CASE WHEN {fixed} THEN (CASE WHEN {mobile} "
            f"THEN {TYPE_CODES['FIXED_LINE_OR_MOBILE']} ELSE {TYPE_CODES['FIXED_LINE']} END) "
            f"WHEN {mobile} THEN {TYPE_CODES['MOBILE']} ELSE {UNKNOWN} END)"
        )
    specials = [(name, d[name]) for name, _ in SPECIAL_TYPES if name in d]
    whens = [f"WHEN NOT {desc_match(d.get('GENERAL'), expr, length)} THEN {UNKNOWN}"]
    if specials:
        # Most numbers are fixed or mobile: one union test lets them skip the
        # special types, which are then tried one by one in the library's order.
        union = "|".join(f"(?:{desc.pattern})" for _, desc in specials)
        whens.append(f"WHEN NOT {full_match(expr, union)} THEN {fixed_or_mobile}")
        whens += [
            f"WHEN {desc_match(desc, expr, length)} THEN {TYPE_CODES[name]}"
            for name, desc in specials
        ]
    return f"(CASE {' '.join(whens)} ELSE {fixed_or_mobile} END)"


def strip_national_prefix(entity: Entity, expr: str) -> str:
    """``_maybe_strip_national_prefix_carrier_code``: the number it returns."""
    npfp = entity.national_prefix_for_parsing
    if not npfp:
        return expr
    anchored = f"^(?:{npfp})"
    if npfp.isdigit():
        matched = f"starts_with({expr}, {lit(npfp)})"
        stripped = f"substr({expr}, {len(npfp) + 1})"
    else:
        matched = f"regexp_matches({expr}, {lit(anchored)})"
        stripped = f"substr({expr}, length(regexp_extract({expr}, {lit(anchored)})) + 1)"
    viable = pattern_match(entity, expr)

    def keep_if_worse(candidate: str) -> str:
        # The library keeps the original when it was viable and the result is not.
        return f"(CASE WHEN {viable} AND NOT {pattern_match(entity, candidate)} THEN {expr} ELSE {candidate} END)"

    result = keep_if_worse(stripped)
    rule = entity.national_prefix_transform_rule
    if rule:
        took_part = (
            f"regexp_extract({expr}, {lit(anchored)}, {entity.npfp_groups}) <> ''"
        )
        transformed = f"regexp_replace({expr}, {lit(anchored)}, {lit(rule)})"
        result = f"(CASE WHEN {took_part} THEN {keep_if_worse(transformed)} ELSE {result} END)"
    return f"(CASE WHEN {matched} THEN {result} ELSE {expr} END)"


def _general_lengths(entity: Entity) -> tuple[tuple[int, ...], tuple[int, ...]]:
    general = entity.descs.get("GENERAL")
    if general is None:
        return (), ()
    return general.possible_lengths, general.local_only_lengths


def keeps_stripped(entity: Entity, length: str) -> str:
    """True when ``_test_number_length`` is IS_POSSIBLE or TOO_LONG (parse keeps the strip)."""
    possible, local = _general_lengths(entity)
    if not possible:
        return "FALSE"
    return (
        f"(NOT {in_list(length, local)} AND "
        f"({in_list(length, possible)} OR {length} > {max(possible)}))"
    )


def too_long(entity: Entity, length: str) -> str:
    """True when ``_test_number_length`` is TOO_LONG."""
    possible, local = _general_lengths(entity)
    if not possible:
        return "FALSE"
    return f"(NOT {in_list(length, local)} AND {length} > {max(possible)})"


def idd_match(entity: Entity, expr: str) -> str:
    """True when the digits start with the region's international dialling prefix."""
    idd = entity.international_prefix
    return "FALSE" if idd is None else f"regexp_matches({expr}, {lit('^(?:' + idd + ')')})"


def leading_digits_match(entity: Entity, expr: str) -> str:
    """``re.match(leading_digits, nsn)``, as region_code_for_number uses it."""
    return f"regexp_matches({expr}, {lit('^(?:' + (entity.leading_digits or '') + ')')})"
