"""Shared generator state and the helpers that background and plants use."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from voice_compliance.policy import Policy

from .model import (
    PERIOD_END,
    PERIOD_START,
    Account,
    Call,
    Campaign,
    Consent,
    Disclosure,
    InventoryRow,
    World,
    ts,
)
from .phones import NumberFactory, country_of, zones_of
from .registry import RegistryPlan, schedule
from .rules import hours_ok, is_answered, is_outbound, zone

_H = 3600


def _safe_windows(country: str | None, weekday: int) -> tuple[tuple[int, int], ...]:
    """Local windows well inside the allowed calling hours (background traffic)."""
    if country == "US":
        return ((9 * _H, 19 * _H + 1800),)
    if country == "CA":
        return ((9 * _H + 1800, 20 * _H + 1800),) if weekday < 5 else ((10 * _H + 1800, 17 * _H),)
    if country == "FR":
        if weekday >= 5:
            return ()
        return ((10 * _H + 900, 12 * _H + 2700), (14 * _H + 900, 19 * _H + 1800))
    if country == "AU":
        if weekday < 5:
            return ((9 * _H + 1800, 19 * _H + 1800),)
        return ((9 * _H + 1800, 16 * _H + 1800),) if weekday == 5 else ()
    return ((9 * _H, 20 * _H),)


@dataclass
class Callee:
    """A background callee: a number with standing consent for one brand."""

    phone: str
    country: str
    consent_type: str


@dataclass
class AccountSpec:
    """Background traffic parameters of one account."""

    account: Account
    region_weights: list[tuple[str, float]]
    campaigns: list[tuple[Campaign, float]]
    from_rows: list[InventoryRow] = field(default_factory=list)
    pool: list[Callee] = field(default_factory=list)
    trunk_sid: str = ""


class Ctx:
    """Random source, number factory, the world being built and helpers."""

    def __init__(self, seed: int, calls: int, policy: Policy, violations: bool = True) -> None:
        self.rng = random.Random(seed)
        # The thresholds and windows the plants sit at the edges of, and the
        # reference evaluator applies: the pipeline's policy file.
        self.policy = policy
        self.factory = NumberFactory(self.rng)
        self.world = World()
        self.n_bg = calls
        # False = clean mode: nothing may violate (see the package docstring).
        self.violations = violations
        self.registry = RegistryPlan(self.rng, self.factory, calls, schedule(violations))
        self.specs: dict[str, AccountSpec] = {}
        self.acme: Account
        self.bright: Account
        self.coral: Account
        self.dispatch: Account
        self.camp: dict[str, Campaign] = {}

    # policy predicates ------------------------------------------------------
    def outbound(self, call: Call) -> bool:
        """True when the policy counts ``call`` as an outbound attempt."""
        return is_outbound(self.policy, call)

    def answered(self, call: Call) -> bool:
        """True when the policy counts ``call`` as answered."""
        return is_answered(self.policy, call)

    # identifiers -----------------------------------------------------------
    def sid(self, prefix: str = "CA") -> str:
        """A Twilio-style sid: two letters and 32 hex digits."""
        return f"{prefix}{self.rng.getrandbits(128):032x}"

    # world builders --------------------------------------------------------
    def add_call(
        self,
        account: Account,
        region: str,
        from_: str,
        to: str,
        start: int,
        *,
        status: str = "completed",
        duration: int | None = None,
        direction: str = "outbound-api",
        campaign: Campaign | str | None = None,
    ) -> Call:
        """Append a call (``campaign``: call_metadata row, None = no row)."""
        if duration is None:
            duration = self.rng.randint(40, 400) if status == "completed" else 0
        meta = campaign.campaign_id if isinstance(campaign, Campaign) else campaign
        call = Call(self.sid(), account.sid, region, direction, from_, to, status, duration,
                    start, meta)
        if direction.startswith("trunking"):
            call.trunk_sid = self.specs[account.sid].trunk_sid
        if direction == "outbound-dial":
            call.parent_sid = self.sid()
        self.world.calls.append(call)
        return call

    def consent(
        self,
        phone: str,
        brand: str,
        consent_type: str = "express",
        channel: str = "voice",
        granted_at: int | None = None,
        revoked_at: int | None = None,
    ) -> None:
        """Append a consent row (granted in 2025 unless given)."""
        if granted_at is None:
            granted_at = ts(2025, 1, 1) + self.rng.randrange(300 * 86_400)
        self.world.consents.append(Consent(
            phone, brand, consent_type, channel, granted_at, revoked_at,
            self.rng.choice(("web_form", "ivr", "paper", "crm_import")),
            f"EV-{self.rng.getrandbits(32):08X}",
        ))

    def disclose(self, call: Call, identity: int | None = None, purpose: int | None = None,
                 offered: bool = True) -> None:
        """Append a compliant disclosure row unless values are given."""
        if identity is None:
            identity = self.rng.randint(1, 8)
        if purpose is None:
            purpose = self.rng.randint(2, 14)
        self.world.disclosures[call.sid] = Disclosure(call.sid, identity, purpose, offered)

    def from_number(self, account: Account) -> str:
        """A background caller number of the account that carries no default campaign."""
        rows = [r for r in self.specs[account.sid].from_rows if r.default_campaign_id is None]
        return rows[self.rng.randrange(len(rows))].phone_number

    def inventory(self, account: Account, phone: str, *, kind: str = "twilio_owned",
                  active_from: int | None = None, active_to: int | None = None,
                  default: str | None = None) -> InventoryRow:
        """Append an inventory row."""
        row = InventoryRow(phone, account.sid, kind,
                           ts(2025, 3, 1) if active_from is None else active_from,
                           active_to, default)
        self.world.inventory.append(row)
        return row

    # time helpers ----------------------------------------------------------
    def tm_time(self, to: str, day: date | None = None) -> int:
        """A start time that is comfortably inside the callee's calling hours
        in every time zone of the number (random day in the period unless given)."""
        rng = self.rng
        zones = zones_of(to)
        country = country_of(to)
        z = zone(zones[0])
        base = date(2026, 9, 1)
        for _ in range(200):
            d = day or base + timedelta(days=rng.randrange(61))
            windows = _safe_windows(country, d.weekday())
            if not windows:
                if day is not None:
                    raise ValueError(f"no calling window on {d} for {to}")
                continue
            a, b = windows[rng.randrange(len(windows))]
            sod = rng.randrange(a, b)
            t = int(datetime(d.year, d.month, d.day, sod // 3600, sod // 60 % 60, sod % 60,
                             tzinfo=z).timestamp())
            if PERIOD_START <= t < PERIOD_END and hours_ok(self.policy, to, t):
                return t
        raise RuntimeError(f"no safe calling time for {to}")

    @staticmethod
    def local(zone_name: str, y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> int:
        """Epoch seconds of a local wall-clock time in ``zone_name``."""
        return int(datetime(y, mo, d, h, mi, s, tzinfo=zone(zone_name)).timestamp())

    def disclosure_row(self, sid: str) -> Disclosure | None:
        """The disclosure row of a call, if any."""
        return self.world.disclosures.get(sid)
