"""Decide region, number type and time zones by digit prefix.

For a calling code, ``region_code_for_number``, ``number_type`` and
``time_zones_for_number`` are functions of the national significant number
(NSN). They only look at a bounded prefix of the NSN plus its length:
every metadata pattern ends in free ``\\d`` runs, and the time-zone map is
keyed by prefixes of at most 9 E.164 digits. This module walks the digit
trie of each calling code, tracking which pattern boxes (see ``patterns``)
and which time-zone keys can still match, and stops at the first prefix
where the answer is settled for every length. The SQL then finds a
number's answer with a few integer hash joins instead of a dozen regular
expressions and a longest-prefix search.

Answers are ``(region_rank, type_code, zone_set_id)``: the index of the
region in the code's region list (-1 for none), phonenumbers'
PhoneNumberType value, and the numbered time-zone list. Each trie leaf has
an answer per NSN length; the distinct per-length answer vectors are
numbered and stored once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import phonenumbers

from voice_compliance.phones.metadata import SPECIAL_TYPES
from voice_compliance.phones.patterns import DIGITS, boxes

MIN_NSN, MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN
# A level row's join key is prefix length * 10**17 + prefix value: leading
# zeros matter, so the length is part of the key.
KEY_LENGTH_FACTOR = 10**17
LEVEL_ROWS_FLOOR = 1000
LEVEL_ROWS_FACTOR = 4
LEADING_DIGITS = "LEADING_DIGITS"

_T = phonenumbers.PhoneNumberType
UNKNOWN = _T.UNKNOWN
_SPECIAL_NAMES = tuple(name for name, _ in SPECIAL_TYPES)

Answer = tuple[int, int, int]


@dataclass(frozen=True)
class CodeSpec:
    """What one calling code needs beyond its entities: time-zone facts."""

    geo_mobile: bool
    country_zone: int  # zone set of non-geographic types
    unknown_zone: int  # zone set for UNKNOWN or unmapped numbers
    zone_keys: Mapping[str, int]  # time-zone prefixes after the code's digits -> zone set


@dataclass(frozen=True)
class EntitySpec:
    """What region and type resolution needs from one metadata entity."""

    leading_digits: str | None
    same_mobile_and_fixed_line_pattern: bool
    descs: Mapping[str, tuple[str, tuple[int, ...]]]  # desc type -> (pattern, possible lengths)


@dataclass
class Node:
    """A trie node: the answer for NSNs ending here, and either per-length
    answers for everything below (a leaf) or ten children."""

    depth: int
    exact: Answer | None
    below: dict[int, Answer] | None = None
    children: list[Node] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _State:
    """Where a prefix leaves the walk: live pattern boxes, leading-digit tests
    already matched, the longest time-zone key matched, longer keys still live."""

    depth: int
    live: frozenset[int]
    done: frozenset[int]
    zone: int | None
    zone_keys: frozenset[str]


@dataclass(frozen=True)
class _Test:
    entity: int
    kind: str
    lengths: frozenset[int] | None


class CountryTrie:
    """The decision trie of one calling code (entities in phonenumbers' order)."""

    def __init__(self, entities: Sequence[EntitySpec], code: CodeSpec) -> None:
        self.entities = list(entities)
        self.code = code
        self.tests: list[_Test] = []
        self.index: dict[tuple[int, str], int] = {}
        box_list: list[tuple[int, tuple[frozenset[str], ...]]] = []
        for number, spec in enumerate(self.entities):
            for kind in ("GENERAL", *_SPECIAL_NAMES, "FIXED_LINE", "MOBILE"):
                if kind in spec.descs:
                    pattern, lengths = spec.descs[kind]
                    self._add(number, kind, frozenset(lengths) or None, pattern, box_list)
            if spec.leading_digits is not None:
                self._add(number, LEADING_DIGITS, None, spec.leading_digits, box_list)
        self.box_test = [t for t, _ in box_list]
        self.box_sets = [b for _, b in box_list]
        self.box_len = [len(b) for _, b in box_list]
        self.is_prefix_test = [self.tests[t].kind == LEADING_DIGITS for t in self.box_test]
        # free_from[i][k]: every position of box i from k on accepts any digit.
        self.free_from: list[list[bool]] = []
        for box in self.box_sets:
            free = [True] * (len(box) + 1)
            for pos in range(len(box) - 1, -1, -1):
                free[pos] = free[pos + 1] and box[pos] == DIGITS
            self.free_from.append(free)
        self._memo: dict[_State, Node] = {}
        done = frozenset(self.box_test[i] for i, size in enumerate(self.box_len) if size == 0)
        zone = code.zone_keys.get("")
        keys = frozenset(k for k in code.zone_keys if k)
        self.root = self._solve(_State(0, frozenset(range(len(box_list))), done, zone, keys))

    def _add(
        self,
        entity: int,
        kind: str,
        lengths: frozenset[int] | None,
        pattern: str,
        box_list: list[tuple[int, tuple[frozenset[str], ...]]],
    ) -> None:
        test = len(self.tests)
        self.index[(entity, kind)] = test
        self.tests.append(_Test(entity, kind, lengths))
        box_list.extend((test, b) for b in boxes(pattern))

    # -- three-valued evaluation: True, False, or None (not settled yet) ----

    def _status(
        self,
        candidates: Iterable[int],
        done: frozenset[int],
        depth: int,
        length: int,
    ) -> list[bool | None]:
        """Each test's outcome for NSNs of ``length`` below the current prefix.

        ``candidates`` are the live boxes that can matter for this length:
        whole-number boxes of exactly this length, leading-digit boxes.
        """
        status: list[bool | None] = [
            test in done if t.kind == LEADING_DIGITS else False for test, t in enumerate(self.tests)
        ]
        for i in candidates:
            test = self.box_test[i]
            if status[test] is True:
                continue
            if self.is_prefix_test[i]:
                if self.box_len[i] > length:
                    continue
            else:
                lengths = self.tests[test].lengths
                if lengths is not None and length not in lengths:
                    continue
            status[test] = True if self.free_from[i][depth] else None
        return status

    def _entity_type(self, entity: int, status: list[bool | None]) -> int | None:
        """phonenumbers' _number_type_helper over three-valued desc outcomes."""

        def get(kind: str) -> bool | None:
            test = self.index.get((entity, kind))
            return False if test is None else status[test]

        general = get("GENERAL")
        if general is not True:
            return UNKNOWN if general is False else None
        for name in _SPECIAL_NAMES:
            outcome = get(name)
            if outcome is None:
                return None
            if outcome:
                return int(getattr(_T, name))
        same = self.entities[entity].same_mobile_and_fixed_line_pattern
        fixed, mobile = get("FIXED_LINE"), get("MOBILE")
        if fixed is None:
            return None
        if fixed:
            if same:
                return _T.FIXED_LINE_OR_MOBILE
            if mobile is None:
                return None
            return _T.FIXED_LINE_OR_MOBILE if mobile else _T.FIXED_LINE
        if same:
            return UNKNOWN
        if mobile is None:
            return None
        return _T.MOBILE if mobile else UNKNOWN

    def _region_type(self, status: list[bool | None]) -> tuple[int, int] | None:
        """region_code_for_number then number_type, or None if not settled."""
        if len(self.entities) == 1:
            kind = self._entity_type(0, status)
            return None if kind is None else (0, kind)
        for entity, spec in enumerate(self.entities):
            if spec.leading_digits is not None:
                matched = status[self.index[(entity, LEADING_DIGITS)]]
                if matched is None:
                    return None
                if not matched:
                    continue
                kind = self._entity_type(entity, status)
                return None if kind is None else (entity, kind)
            kind = self._entity_type(entity, status)
            if kind is None:
                return None
            if kind != UNKNOWN:
                return (entity, kind)
        return (-1, UNKNOWN)

    def _answer(self, status: list[bool | None], state: _State) -> Answer | None:
        """Region, type and zone set (time_zones_for_number), or None if not settled."""
        settled = self._region_type(status)
        if settled is None:
            return None
        rank, kind = settled
        if kind == UNKNOWN:
            return (rank, kind, self.code.unknown_zone)
        geographic = kind in (_T.FIXED_LINE, _T.FIXED_LINE_OR_MOBILE) or (
            kind == _T.MOBILE and self.code.geo_mobile
        )
        if not geographic:
            return (rank, kind, self.code.country_zone)
        if state.zone_keys:
            return None  # a longer time-zone prefix may still apply
        return (rank, kind, self.code.unknown_zone if state.zone is None else state.zone)

    def _solve(self, state: _State) -> Node:
        if state in self._memo:
            return self._memo[state]
        depth, live, done = state.depth, state.live, state.done
        # Live boxes by the NSN length they can decide.
        prefix_boxes = [i for i in live if self.is_prefix_test[i]]
        by_length: dict[int, list[int]] = {}
        for i in live:
            if not self.is_prefix_test[i]:
                by_length.setdefault(self.box_len[i], []).append(i)

        def status(length: int) -> list[bool | None]:
            return self._status([*by_length.get(length, ()), *prefix_boxes], done, depth, length)

        exact = None
        if depth >= MIN_NSN:
            # Numbers ending here: no longer time-zone key can apply.
            final = _State(depth, live, done, state.zone, frozenset())
            exact = self._answer(status(depth), final)
        below: dict[int, Answer] | None = {}
        for length in range(max(depth + 1, MIN_NSN), MAX_NSN + 1):
            answer = self._answer(status(length), state)
            if answer is None:
                below = None
                break
            below[length] = answer
        node = Node(depth, exact, below)
        if below is None:
            node.children = [self._solve(self._child(state, digit)) for digit in "0123456789"]
        self._memo[state] = node
        return node

    def _child(self, state: _State, digit: str) -> _State:
        depth = state.depth
        live = frozenset(
            i for i in state.live if self.box_len[i] > depth and digit in self.box_sets[i][depth]
        )
        done = state.done | frozenset(
            self.box_test[i]
            for i in live
            if self.is_prefix_test[i] and self.box_len[i] == depth + 1
        )
        keys = frozenset(k for k in state.zone_keys if k[depth] == digit)
        zone = state.zone
        for key in keys:
            if len(key) == depth + 1:
                zone = self.code.zone_keys[key]
        return _State(depth + 1, live, done, zone, frozenset(k for k in keys if len(k) > depth + 1))

    def leaf_depths(self) -> set[int]:
        """Depths at which the trie has leaves."""
        found: set[int] = set()
        seen: set[int] = set()
        stack = [self.root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.children is None:
                found.add(node.depth)
            else:
                stack.extend(node.children)
        return found

    def lookup(self, nsn: str) -> Answer:
        """Walk the trie for one NSN (used by the tests)."""
        node = self.root
        for digit in nsn:
            if node.children is None:
                break
            node = node.children[int(digit)]
        if node.depth == len(nsn):
            assert node.exact is not None
            return node.exact
        assert node.below is not None
        return node.below[len(nsn)]


def _vector(node: Node) -> tuple[Answer | None, ...]:
    """The per-length answers a node gives (index 0 is length MIN_NSN)."""
    values: dict[int, Answer] = dict(node.below or {})
    if node.exact is not None:
        values[node.depth] = node.exact
    return tuple(values.get(length) for length in range(MIN_NSN, MAX_NSN + 1))


@dataclass(frozen=True)
class LevelRow:
    """Level-table rows for one trie node: its prefix expanded to every length
    in ``sizes`` (all digit completions), within one level of one code.

    Expansion (up to 10**k rows per node) happens in SQL, see tables.py.
    """

    country_code: int
    level_index: int
    prefix: str
    sizes: tuple[int, int]  # first and last length, inclusive
    vector: tuple[Answer | None, ...]
    deep: bool


def _walk_rows(cc: int, root: Node, levels: Sequence[int]) -> list[LevelRow]:
    """The level rows of one calling code, one per trie node that needs one."""
    rows: list[LevelRow] = []
    vectors: dict[int, tuple[Answer | None, ...]] = {}
    level_of = [
        next((i, d) for i, d in enumerate(levels) if d >= max(depth, MIN_NSN))
        for depth in range(levels[-1] + 1)
    ]
    stack: list[tuple[Node, str, int]] = [(root, "", 0)]
    while stack:
        node, prefix, floor = stack.pop()
        depth = len(prefix)
        index, level = level_of[depth]
        if node.children is None:
            # A leaf answers every NSN below it; each NSN looks itself up by
            # its first min(length, level) digits: expand down to the level.
            if id(node) not in vectors:
                vectors[id(node)] = _vector(node)
            first = max(depth, floor + 1, MIN_NSN)
            if first <= level:
                rows.append(LevelRow(cc, index, prefix, (first, level), vectors[id(node)], False))
            continue
        if depth > floor and depth >= MIN_NSN:
            exact = _vector(Node(depth, node.exact))
            rows.append(LevelRow(cc, index, prefix, (depth, depth), exact, depth == level))
        next_floor = level if depth == level else floor
        stack.extend(
            (child, prefix + digit, next_floor)
            for digit, child in zip("0123456789", node.children, strict=True)
        )
    return rows


def _count_rows(trie: CountryTrie, levels: Sequence[int]) -> int:
    memo: dict[tuple[int, int], int] = {}

    def count(node: Node, floor: int) -> int:
        key = (id(node), floor)
        if key not in memo:
            depth = node.depth
            level = next(d for d in levels if d >= max(depth, MIN_NSN))
            if node.children is None:
                memo[key] = sum(
                    10 ** (size - depth)
                    for size in range(max(depth, floor + 1, MIN_NSN), level + 1)
                )
            else:
                nxt = level if depth == level else floor
                own = int(depth > floor and depth >= MIN_NSN)
                memo[key] = own + sum(count(c, nxt) for c in node.children)
        return memo[key]

    return count(trie.root, 0)


def choose_levels(trie: CountryTrie) -> tuple[int, ...]:
    """Level depths of one calling code: one per leaf depth, then merged
    greedily (each level is one join per number) while the rows stay under
    a budget: LEVEL_ROWS_FACTOR times the unmerged count, at least
    LEVEL_ROWS_FLOOR."""
    levels = list(range(MIN_NSN, max(MIN_NSN, *trie.leaf_depths()) + 1))
    budget = max(LEVEL_ROWS_FLOOR, LEVEL_ROWS_FACTOR * _count_rows(trie, levels))
    while len(levels) > 1:
        rows, drop = min(
            (_count_rows(trie, levels[:i] + levels[i + 1 :]), i) for i in range(len(levels) - 1)
        )
        if rows > budget:
            break
        del levels[drop]
    return tuple(levels)


# Vectors are numbered per calling code: a region rank only means something
# within its code.
VectorKey = tuple[int, tuple[Answer | None, ...]]
Built = tuple[dict[int, tuple[int, ...]], list[LevelRow], dict[VectorKey, int]]


def build(codes: Mapping[int, tuple[Sequence[EntitySpec], CodeSpec]]) -> Built:
    """Per-code level depths, level rows and numbered answer vectors."""
    levels: dict[int, tuple[int, ...]] = {}
    rows: list[LevelRow] = []
    for cc, (entities, spec) in codes.items():
        trie = CountryTrie(entities, spec)
        levels[cc] = choose_levels(trie)
        rows.extend(_walk_rows(cc, trie.root, levels[cc]))
    vectors: dict[VectorKey, int] = {}
    for row in rows:
        vectors.setdefault((row.country_code, row.vector), len(vectors))
    return levels, rows, vectors
