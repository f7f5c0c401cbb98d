"""In-memory model of the generated world: accounts, campaigns, inventory,
calls and the exports, with every timestamp an integer of UTC epoch seconds.

The writers render these objects in the landing-zone formats; the reference
evaluator in :mod:`.rules` reads them to compute the exact planted set. What
makes a call outbound or answered is the policy's (``rules.is_outbound``,
``rules.is_answered``), not the model's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from voice_compliance.policy import CLAUSE_IDS

PERIOD_START = int(datetime(2026, 9, 1, tzinfo=UTC).timestamp())
"""First second of generated traffic (2026-09-01T00:00:00Z, a Tuesday)."""
PERIOD_END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
"""First second after generated traffic (2026-11-01T00:00:00Z)."""
PERIOD_DAYS = (PERIOD_END - PERIOD_START) // 86_400
DAY = 86_400

CLAUSES: tuple[str, ...] = CLAUSE_IDS
"""The twelve clause ids of policy-rules.md, in table order (the policy module's)."""


def ts(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """UTC epoch seconds of a UTC wall-clock time."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp())


def utc_date(t: int) -> date:
    """The UTC calendar date of epoch seconds ``t``."""
    return datetime.fromtimestamp(t, UTC).date()


def month_of(t: int) -> str:
    """The UTC month ``YYYY-MM`` of epoch seconds ``t``."""
    g = time.gmtime(t)
    return f"{g.tm_year:04d}-{g.tm_mon:02d}"


@dataclass(frozen=True)
class Account:
    """A Twilio account and its allotted CPS per home region."""

    sid: str
    name: str
    brand: str
    regions: dict[str, int]


@dataclass(frozen=True)
class Campaign:
    """A row of ``campaigns/*.csv``."""

    campaign_id: str
    account_sid: str
    brand: str
    purpose: str


@dataclass
class InventoryRow:
    """A row of ``numbers/*.csv`` (``active_to`` None = still active)."""

    phone_number: str
    account_sid: str
    kind: str
    active_from: int
    active_to: int | None
    default_campaign_id: str | None


class Call:
    """One Twilio Call resource (its final state) plus generator bookkeeping.

    ``campaign_meta`` is the ``call_metadata`` mapping written for the call
    (None = no row). ``stale`` asks the writers to also emit an older copy of
    the same sid; ``loaded`` is False for rows that are deliberately
    malformed and must be quarantined (they never reach the evaluator).
    """

    __slots__ = (
        "account_sid",
        "answered_by",
        "campaign_meta",
        "direction",
        "duration",
        "from_",
        "loaded",
        "parent_sid",
        "region",
        "sid",
        "stale",
        "start",
        "status",
        "to",
        "trunk_sid",
    )

    def __init__(
        self,
        sid: str,
        account_sid: str,
        region: str,
        direction: str,
        from_: str,
        to: str,
        status: str,
        duration: int,
        start: int,
        campaign_meta: str | None = None,
        parent_sid: str | None = None,
        trunk_sid: str | None = None,
    ) -> None:
        self.sid = sid
        self.account_sid = account_sid
        self.region = region
        self.direction = direction
        self.from_ = from_
        self.to = to
        self.status = status
        self.duration = duration
        self.start = start
        self.campaign_meta = campaign_meta
        self.parent_sid = parent_sid
        self.trunk_sid = trunk_sid
        self.answered_by: str | None = None
        self.stale = False
        self.loaded = True


@dataclass(frozen=True)
class Consent:
    """A row of ``consent/*.csv`` (``phone`` is the intended E.164)."""

    phone: str
    brand: str
    consent_type: str
    channel: str
    granted_at: int
    revoked_at: int | None
    source: str
    evidence_ref: str


@dataclass(frozen=True)
class OptOut:
    """A row of ``optouts/*.csv`` (``brand`` None = all brands)."""

    phone: str
    brand: str | None
    requested_at: int
    method: str
    call_sid: str | None


@dataclass(frozen=True)
class InternalDnc:
    """A row of ``dnc/internal/*.csv`` (``brand`` None = all brands)."""

    phone: str
    added_at: int
    brand: str | None
    reason: str


@dataclass(frozen=True)
class Disclosure:
    """A row of ``disclosures/*.csv``."""

    call_sid: str
    identity_s: int | None
    purpose_s: int | None
    opt_out_offered: bool


@dataclass(frozen=True)
class Complaint:
    """A row of ``complaints/*.csv`` (``caller_id`` is the intended E.164)."""

    complaint_id: str
    received_at: int
    source: str
    caller_id: str
    callee: str | None
    call_sid: str | None
    category: str


@dataclass
class RegistryFile:
    """One registry file: a full snapshot (``numbers``) or a change list (``ops``)."""

    registry: str
    effective: date
    kind: str  # "full" or "changes"
    numbers: list[str] = field(default_factory=list)
    ops: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Malformed:
    """A deliberately malformed landing row or file and why it must be quarantined."""

    path: str
    line: int | None
    reason: str


@dataclass
class World:
    """Everything the generator produced, before rendering."""

    accounts: list[Account] = field(default_factory=list)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    inventory: list[InventoryRow] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    optouts: list[OptOut] = field(default_factory=list)
    internal_dnc: list[InternalDnc] = field(default_factory=list)
    disclosures: dict[str, Disclosure] = field(default_factory=dict)
    complaints: list[Complaint] = field(default_factory=list)
    registry_files: list[RegistryFile] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    malformed_consent: list[tuple[str, str, str]] = field(default_factory=list)
    """(phone, brand, bad granted_at) rows written to consent but never valid."""
    intended: dict[str, set[str]] = field(default_factory=dict)
    near_misses: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def plant(self, clause: str, subject: str) -> None:
        """Record an intended violation."""
        self.intended.setdefault(clause, set()).add(subject)

    def near(self, clause: str, subject: str, why: str) -> None:
        """Record an intended near-miss (a subject at an edge that must NOT violate)."""
        self.near_misses.setdefault(clause, []).append({"subject": subject, "why": why})
