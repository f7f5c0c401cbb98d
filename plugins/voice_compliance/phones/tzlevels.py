"""Turn phonenumbers' longest-prefix time-zone map into equi-join tables.

phonenumbers looks up the longest prefix (up to 9 digits) of the E.164
digits in its time-zone map. SQL does that best as a few hash joins on
integer keys, so the map is cut into levels of fixed depth (4, 7 and 9
digits): each level holds every digit string of a given length whose
longest key in that level's length band is known, plus a ``deep`` flag
saying that longer keys exist below it and the next level must be asked.

A level entry's key is ``length * 10**9 + int(digits)``: numbers shorter
than a level's depth look themselves up at their own length, so the length
must be part of the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product

LEVELS: tuple[int, ...] = (4, 7, 9)
KEY_LENGTH_FACTOR = 10**9


@dataclass
class LevelEntry:
    """What one digit string resolves to within one level."""

    zone_set_id: int | None = None
    key_length: int = 0
    deep: bool = False


def level_key(digits: str) -> int:
    """The join key of a digit string: its length and its value together."""
    return len(digits) * KEY_LENGTH_FACTOR + int(digits)


def build_levels(prefixes: Iterable[tuple[str, int]]) -> list[dict[str, LevelEntry]]:
    """One ``{digits: entry}`` dict per level from ``(prefix, zone_set_id)`` pairs."""
    items = list(prefixes)
    if any(len(p) > LEVELS[-1] for p, _ in items):
        raise ValueError("time-zone prefix longer than the deepest level")
    levels: list[dict[str, LevelEntry]] = []
    for index, depth in enumerate(LEVELS):
        floor = LEVELS[index - 1] if index else 0
        entries: dict[str, LevelEntry] = {}
        for prefix, zone_set_id in items:
            size = len(prefix)
            if floor < size <= depth:
                # Expand to every length up to the depth: a number shorter
                # than the depth is looked up at its own length.
                for length in range(size, depth + 1):
                    for tail in product("0123456789", repeat=length - size):
                        digits = prefix + "".join(tail)
                        entry = entries.setdefault(digits, LevelEntry())
                        if entry.key_length < size:
                            entry.zone_set_id, entry.key_length = zone_set_id, size
            elif size > depth:
                entries.setdefault(prefix[:depth], LevelEntry()).deep = True
        levels.append(entries)
    return levels


def lookup(levels: list[dict[str, LevelEntry]], digits: str) -> int | None:
    """Resolve ``digits`` the way the SQL does (used to test the tables)."""
    digits = digits[: LEVELS[-1]]
    found: int | None = None
    for depth, entries in zip(LEVELS, levels, strict=True):
        entry = entries.get(digits[:depth])
        if entry is None:
            break
        if entry.zone_set_id is not None:
            found = entry.zone_set_id
        if not entry.deep or len(digits) <= depth:
            break
    return found
