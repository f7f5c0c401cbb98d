"""SQL expressions that replay phonenumbers' parsing rules for one entity.

Each builder mirrors one private phonenumbers routine (named in its
docstring) over a digits-only column. The expressions only use constant
regular expressions: DuckDB compiles those once per query, whereas a
pattern taken from a column would be compiled for every row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from voice_compliance.phones.catalog import Entity


def lit(value: str | None) -> str:
    """A SQL string literal (standard SQL: backslashes are not escapes)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def length_in(expr: str, values: Iterable[int]) -> str:
    """Whether length ``expr`` is one of ``values``; FALSE for none.

    Written as BETWEEN or ORed equalities: DuckDB pays a large set-up cost
    for IN lists nested deep in CASE expressions.
    """
    items = sorted(set(values))
    if not items:
        return "FALSE"
    if items == list(range(items[0], items[-1] + 1)) and len(items) > 1:
        return f"({expr} BETWEEN {items[0]} AND {items[-1]})"
    return "(" + " OR ".join(f"{expr} = {v}" for v in items) + ")"


def case_of(
    subject: str, branches: Mapping[str, str], default: str = "NULL", guard: bool = False
) -> str:
    """``CASE subject WHEN k THEN v ... ELSE default END`` (keys are SQL literals).

    ``guard`` sends NULL subjects straight to the default: otherwise DuckDB
    compares them with every branch key in turn.
    """
    if not branches:
        return default
    whens = " ".join(f"WHEN {k} THEN {v}" for k, v in branches.items())
    chain = f"(CASE {subject} {whens} ELSE {default} END)"
    return f"(CASE WHEN {subject} IS NULL THEN {default} ELSE {chain} END)" if guard else chain


def full_match(expr: str, pattern: str) -> str:
    """Whole-string match, as phonenumbers' ``fullmatch``."""
    return f"regexp_full_match({expr}, {lit(pattern)})"


def pattern_match(entity: Entity, expr: str) -> str:
    """``_match_national_number(expr, general_desc)``: pattern only, no length check."""
    general = entity.descs.get("GENERAL")
    return "FALSE" if general is None else full_match(expr, general.pattern)


_LITERALS = re.compile(r"[0-9]+(?:\|[0-9]+)*")
_DIGIT_CLASS = re.compile(r"\[([0-9]+)\]")


def _literal_alternatives(pattern: str) -> list[str] | None:
    """The alternatives of a prefix pattern made only of digit strings, in
    the order the regex engine tries them (the first that matches wins)."""
    if _LITERALS.fullmatch(pattern):
        return pattern.split("|")
    single = _DIGIT_CLASS.fullmatch(pattern)
    return list(single.group(1)) if single else None


def strip_national_prefix(entity: Entity, expr: str) -> str:
    """``_maybe_strip_national_prefix_carrier_code``: the number it returns."""
    npfp = entity.national_prefix_for_parsing
    if not npfp:
        return expr
    anchored = f"^(?:{npfp})"
    literals = None if entity.national_prefix_transform_rule else _literal_alternatives(npfp)
    if literals is not None:
        # Plain digit prefixes: string tests instead of a regex engine.
        matched = "(" + " OR ".join(f"starts_with({expr}, {lit(p)})" for p in literals) + ")"
        size = " ".join(f"WHEN starts_with({expr}, {lit(p)}) THEN {len(p) + 1}" for p in literals)
        stripped = f"substr({expr}, CASE {size} END)"
    else:
        matched = f"regexp_matches({expr}, {lit(anchored)})"
        stripped = f"substr({expr}, length(regexp_extract({expr}, {lit(anchored)})) + 1)"

    def keep_if_worse(candidate: str) -> str:
        # The library keeps the original when it was viable and the result is
        # not; the result is only tested when the original was viable.
        return (
            f"(CASE WHEN NOT {pattern_match(entity, expr)} THEN {candidate} "
            f"WHEN {pattern_match(entity, candidate)} THEN {candidate} ELSE {expr} END)"
        )

    result = keep_if_worse(stripped)
    rule = entity.national_prefix_transform_rule
    if rule:
        took_part = f"regexp_extract({expr}, {lit(anchored)}, {entity.npfp_groups}) <> ''"
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
        f"(NOT {length_in(length, local)} AND "
        f"({length_in(length, possible)} OR {length} > {max(possible)}))"
    )


def too_long(entity: Entity, length: str) -> str:
    """True when ``_test_number_length`` is TOO_LONG."""
    possible, local = _general_lengths(entity)
    if not possible:
        return "FALSE"
    return f"(NOT {length_in(length, local)} AND {length} > {max(possible)})"
