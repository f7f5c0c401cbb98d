"""Expand phonenumbers' number patterns into finite sets of digit "boxes".

Every national-number and leading-digits pattern in the metadata is built
from digits, character classes, alternation, groups and bounded repeats.
Such a pattern matches exactly the digit strings described by a finite set
of boxes: a box is a tuple of digit sets, one per position, and a string of
the box's length matches it when each digit is in its position's set. The
boxes make the patterns analysable (which prefixes decide a number's type)
without running a regular-expression engine per number.
"""

from __future__ import annotations

from re import _constants as sre
from re import _parser as sre_parse

DIGITS: frozenset[str] = frozenset("0123456789")
Box = tuple[frozenset[str], ...]

# Guards against a future pattern whose expansion would explode.
MAX_BOXES = 200_000
MAX_REPEAT = 20


class UnsupportedPattern(ValueError):
    """The pattern uses syntax (or a size) the expansion does not handle."""


def _class_digits(items: list[tuple[object, object]]) -> frozenset[str]:
    chars: set[str] = set()
    negate = False
    for op, arg in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            chars.add(chr(arg))  # type: ignore[arg-type]
        elif op is sre.RANGE:
            low, high = arg  # type: ignore[misc]
            chars.update(chr(c) for c in range(low, high + 1))
        elif op is sre.CATEGORY and arg is sre.CATEGORY_DIGIT:
            chars.update(DIGITS)
        else:
            raise UnsupportedPattern(f"character class item {op} {arg}")
    chars &= DIGITS
    return frozenset(DIGITS - chars) if negate else frozenset(chars)


def _concat(left: set[Box], right: set[Box]) -> set[Box]:
    out = {a + b for a in left for b in right}
    if len(out) > MAX_BOXES:
        raise UnsupportedPattern("pattern expands to too many boxes")
    return out


def _sequence(items: sre_parse.SubPattern | list[tuple[object, object]]) -> set[Box]:
    result: set[Box] = {()}
    for op, arg in items:
        result = _concat(result, _item(op, arg))
    return result


def _item(op: object, arg: object) -> set[Box]:
    if op is sre.LITERAL:
        char = chr(arg)  # type: ignore[arg-type]
        if char not in DIGITS:
            raise UnsupportedPattern(f"non-digit literal {char!r}")
        return {(frozenset(char),)}
    if op is sre.IN:
        return {(_class_digits(arg),)}  # type: ignore[arg-type]
    if op is sre.SUBPATTERN:
        return _sequence(arg[3])  # type: ignore[index]
    if op is sre.BRANCH:
        out: set[Box] = set()
        for alternative in arg[1]:  # type: ignore[index]
            out |= _sequence(alternative)
        return out
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        low, high, sub = arg  # type: ignore[misc]
        if high is sre.MAXREPEAT or high > MAX_REPEAT:
            raise UnsupportedPattern("unbounded repeat")
        # Greedy or lazy does not matter: every use is a whole-string or
        # a prefix match, which only depends on the set of strings.
        unit, out, current = _sequence(sub), set(), {()}
        for count in range(high + 1):
            if count >= low:
                out |= current
            current = _concat(current, unit)
        return out
    raise UnsupportedPattern(f"regular-expression construct {op}")


def boxes(pattern: str) -> frozenset[Box]:
    """The boxes of ``pattern`` (a phonenumbers national-number or leading-digits pattern)."""
    return frozenset(_sequence(sre_parse.parse(pattern)))


def box_matches(box: Box, digits: str) -> bool:
    """True when ``digits`` (of the box's length) matches the box."""
    return len(box) == len(digits) and all(d in s for d, s in zip(digits, box, strict=True))
