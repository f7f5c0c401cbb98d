"""Do-not-call registry timelines: full snapshots and change lists per date.

The plan starts from background "filler" numbers (never called), lets them
churn a little at every file, and applies the planted directives (add or
delete on a change list, drop or add at a full snapshot) so point-in-time
membership is exactly what the plants need.

The planted :data:`SCHEDULE` leaves two freshness gaps on purpose (uk_ctps
before 09-03, ca_dncl 10-12..10-19); :func:`schedule` adds the files of
:data:`CLEAN_EXTRA` in clean mode so that every registry is fresh on every
day of the period.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

from .model import RegistryFile
from .phones import NumberFactory

SCHEDULE: dict[str, list[tuple[str, str]]] = {
    "us_national": [
        ("2026-08-01", "full"), ("2026-08-16", "changes"),
        ("2026-09-01", "full"), ("2026-09-01", "changes"), ("2026-09-16", "changes"),
        ("2026-10-01", "full"), ("2026-10-01", "changes"), ("2026-10-16", "changes"),
    ],
    "uk_tps": [
        ("2026-08-28", "full"), ("2026-09-11", "changes"), ("2026-09-25", "changes"),
        ("2026-10-09", "full"), ("2026-10-09", "changes"), ("2026-10-23", "changes"),
    ],
    # No uk_ctps file is effective before 2026-09-03: 09-01 and 09-02 are uncovered.
    "uk_ctps": [
        ("2026-09-03", "full"), ("2026-09-24", "changes"),
        ("2026-10-15", "full"), ("2026-10-29", "changes"),
    ],
    # ca_dncl goes stale: 2026-09-10 + 31 days = 10-11 (age 31, fine); 10-12..10-19 stale.
    "ca_dncl": [
        ("2026-08-20", "full"), ("2026-09-10", "changes"),
        ("2026-10-20", "full"), ("2026-10-25", "changes"),
    ],
}

# Clean mode only: the files the planted schedule leaves out on purpose.
CLEAN_EXTRA: dict[str, list[tuple[str, str]]] = {
    # A snapshot before the first traffic day (09-01): the age stays <= 7 days
    # until the 09-03 snapshot, so 09-01 and 09-02 are covered.
    "uk_ctps": [("2026-08-27", "full")],
    # A change list between 09-10 and 10-20: ages stay <= 21 days, which closes
    # the 10-12..10-19 stale window.
    "ca_dncl": [("2026-10-01", "changes")],
}


def schedule(violations: bool = True) -> dict[str, list[tuple[str, str]]]:
    """The registry files to render: :data:`SCHEDULE` itself when planting
    violations (so the planted output never changes), else :data:`SCHEDULE`
    plus :data:`CLEAN_EXTRA`, in date order with a same-day full snapshot
    before the change list (the order :meth:`RegistryPlan.build` applies)."""
    if violations:
        return SCHEDULE
    return {
        registry: sorted(files + CLEAN_EXTRA.get(registry, []),
                         key=lambda f: (f[0], f[1] != "full"))
        for registry, files in SCHEDULE.items()
    }


_FILLER_COUNTRY = {"us_national": "US", "ca_dncl": "CA", "uk_tps": "GB", "uk_ctps": "GB"}
_US_KINDS = ("ny", "west", "central", "mountain", "east", "fl", "ok")


class RegistryPlan:
    """Collects base members and planted directives, then renders the files."""

    def __init__(
        self,
        rng: random.Random,
        factory: NumberFactory,
        scale: int,
        files: Mapping[str, Sequence[tuple[str, str]]] = SCHEDULE,
    ) -> None:
        self._rng = rng
        self._factory = factory
        self._scale = scale
        self._schedule = files
        self.base: dict[str, list[str]] = defaultdict(list)
        self._ops: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self._full_add: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._full_drop: dict[tuple[str, str], list[str]] = defaultdict(list)

    def list_from_start(self, registry: str, number: str) -> None:
        """Member of every snapshot from the registry's first file on."""
        self.base[registry].append(number)

    def add_on(self, registry: str, day: str, number: str) -> None:
        """Added by the change list of ``day``."""
        self._ops[(registry, day)].append((number, "A"))

    def delete_on(self, registry: str, day: str, number: str) -> None:
        """Deleted by the change list of ``day``."""
        self._ops[(registry, day)].append((number, "D"))

    def add_at_full(self, registry: str, day: str, number: str) -> None:
        """Present in the full snapshot of ``day`` (and kept afterwards)."""
        self._full_add[(registry, day)].append(number)

    def drop_at_full(self, registry: str, day: str, number: str) -> None:
        """Absent from the full snapshot of ``day`` without any change-list delete."""
        self._full_drop[(registry, day)].append(number)

    def _filler(self, registry: str) -> str:
        country = _FILLER_COUNTRY[registry]
        if country == "US":
            kind = _US_KINDS[self._rng.randrange(len(_US_KINDS))]
        elif country == "GB":
            kind = "fixed" if self._rng.random() < 0.6 else "mobile"
        else:
            kind = "fixed"
        return self._factory.make(country, kind)

    def _size(self, registry: str) -> int:
        n = self._scale
        return {
            "us_national": 2500 + n // 40,
            "ca_dncl": 1000 + n // 120,
            "uk_tps": 1500 + n // 60,
            "uk_ctps": 300 + n // 400,
        }[registry]

    def build(self) -> list[RegistryFile]:
        """Every registry file in schedule order."""
        rng = self._rng
        files: list[RegistryFile] = []
        for registry, dated in self._schedule.items():
            fillers = [self._filler(registry) for _ in range(self._size(registry))]
            state: dict[str, None] = dict.fromkeys(fillers)  # insertion-ordered set
            state.update(dict.fromkeys(self.base[registry]))
            protected = set(self.base[registry])
            for (reg, _day), pairs in self._ops.items():
                if reg == registry:
                    protected.update(n for n, _op in pairs)
            for directives in (self._full_add, self._full_drop):
                for (reg, _day), numbers in directives.items():
                    if reg == registry:
                        protected.update(numbers)
            for day, kind in dated:
                eff = date.fromisoformat(day)
                if kind == "full":
                    victims = [n for n in fillers if n in state and rng.random() < 0.01]
                    for n in victims:
                        del state[n]
                    for _ in range(len(fillers) // 70):
                        state[self._filler(registry)] = None
                    for n in self._full_drop[(registry, day)]:
                        state.pop(n, None)
                    for n in self._full_add[(registry, day)]:
                        state[n] = None
                    files.append(RegistryFile(registry, eff, "full", numbers=list(state)))
                else:
                    ops: list[tuple[str, str]] = []
                    members = [n for n in state if n not in protected]
                    for n in rng.sample(members, min(len(members), len(fillers) // 300)):
                        ops.append((n, "D"))
                    for _ in range(len(fillers) // 150):
                        ops.append((self._filler(registry), "A"))
                    ops.extend(self._ops[(registry, day)])
                    for n, op in ops:
                        if op == "A":
                            state[n] = None
                        else:
                            state.pop(n, None)
                    files.append(RegistryFile(registry, eff, "changes", ops=ops))
        return files
