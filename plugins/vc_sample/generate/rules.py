"""A small reference evaluator of the twelve clauses of policy-rules.md.

It runs on the generator's in-memory :class:`~.model.World` (intended E.164
numbers, integer UTC epoch seconds) with the default thresholds, and is the
source of ``planted.json``: the exact violating subjects per clause.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .model import (
    DAY,
    REGISTRY_COUNTRY,
    REGISTRY_MAX_AGE,
    Call,
    Campaign,
    Consent,
    InventoryRow,
    World,
    month_of,
)
from .phones import country_of, is_valid, us_state_override, zones_of

DISCLOSURE_MAX_OFFSET_S = 15
CONSENT_TYPES = frozenset({"express_written", "express"})
VOICE_CHANNELS = frozenset({"voice", "all"})
EBR_PURCHASE_DAYS = 548
EBR_INQUIRY_DAYS = 90
COMPLAINTS_MIN_COUNT = 3
COMPLAINTS_MAX_PER_1000 = 1.0
UNANSWERED_MIN_ATTEMPTS = 300
UNANSWERED_MAX_RATIO = 0.5
UNANSWERED_MAX_COUNT = 3000
ACD_MIN_ANSWERED = 100
ACD_MIN_SECONDS = 30
CPS_BUCKET_S = 60
CPS_WINDOW_BUCKETS = 1440
CPS_MAX_HOT_BUCKETS = 360

_H = 3600
_EVERY_DAY_8_21 = ((8 * _H, 21 * _H),) * 7


def calling_windows(
    country: str | None, state: str | None, weekday: int
) -> tuple[tuple[int, int], ...]:
    """Allowed local windows ``[start, end)`` in seconds of day (weekday 0 = Monday)."""
    if country == "US":
        if state in ("FL", "OK"):
            return ((8 * _H, 20 * _H),)
        return ((8 * _H, 21 * _H),)
    if country == "CA":
        return ((9 * _H, 21 * _H + 1800),) if weekday < 5 else ((10 * _H, 18 * _H),)
    if country == "FR":
        return ((10 * _H, 13 * _H), (14 * _H, 20 * _H)) if weekday < 5 else ()
    if country == "AU":
        if weekday < 5:
            return ((9 * _H, 20 * _H),)
        return ((9 * _H, 17 * _H),) if weekday == 5 else ()
    return _EVERY_DAY_8_21[weekday : weekday + 1]


_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo."""
    z = _ZONES.get(name)
    if z is None:
        z = _ZONES[name] = ZoneInfo(name)
    return z


def hours_ok(to: str, start: int) -> bool:
    """True when a telemarketing call to ``to`` at ``start`` is within the calling hours
    in every time zone of the number (or when the zone is unknown)."""
    zones = zones_of(to)
    country = country_of(to)
    if country is None or zones == ("Etc/Unknown",):
        return True
    state = us_state_override(to) if country == "US" else None
    for name in zones:
        if name == "Etc/Unknown":
            continue
        local = datetime.fromtimestamp(start, zone(name))
        sod = local.hour * 3600 + local.minute * 60 + local.second
        if not any(a <= sod < b for a, b in calling_windows(country, state, local.weekday())):
            return False
    return True


def business_deadline(d0: date, n: int) -> date:
    """The n-th Monday-Friday date strictly after ``d0``."""
    d = d0
    while n:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _day(t: int) -> date:
    return datetime.fromtimestamp(t, UTC).date()


class Resolver:
    """Campaign resolution: call_metadata first, else the inventory default."""

    def __init__(self, world: World) -> None:
        self.campaigns = world.campaigns
        self.inv: dict[tuple[str, str], list[InventoryRow]] = defaultdict(list)
        for row in world.inventory:
            self.inv[(row.phone_number, row.account_sid)].append(row)

    def active_row(self, number: str, account: str, t: int):
        """The inventory row of ``number`` for ``account`` active at ``t``, if any."""
        for row in self.inv.get((number, account), ()):
            if row.active_from <= t and (row.active_to is None or t < row.active_to):
                return row
        return None

    def campaign(self, call: Call) -> Campaign | None:
        """The call's campaign (None = unclassified)."""
        cid = call.campaign_meta
        if cid is None:
            row = self.active_row(call.from_, call.account_sid, call.start)
            cid = row.default_campaign_id if row is not None else None
        return self.campaigns.get(cid) if cid else None


def evaluate(world: World) -> dict[str, list[str]]:
    """Every violating subject per clause id (sorted), default thresholds."""
    out: dict[str, set[str]] = defaultdict(set)
    res = Resolver(world)
    calls = [c for c in world.calls if c.loaded]
    outbound = [c for c in calls if c.outbound]

    consents: dict[tuple[str, str], list[Consent]] = defaultdict(list)
    for row in world.consents:
        if row.channel in VOICE_CHANNELS:
            consents[(row.phone, row.brand)].append(row)
    optouts: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for o in world.optouts:
        optouts[o.phone].append((o.requested_at, o.brand))
    for d in world.internal_dnc:
        optouts[d.phone].append((d.added_at, d.brand))
    reg_states = _registry_states(world)

    tm_days: dict[str, set[date]] = defaultdict(set)  # country -> UTC days with TM calls
    attempts: dict[tuple[str, str], int] = defaultdict(int)
    unanswered: dict[tuple[str, str], int] = defaultdict(int)
    acd: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    for c in outbound:
        month = month_of(c.start)
        key = (c.from_, month)
        attempts[key] += 1
        if c.answered:
            a = acd[(c.account_sid, month)]
            a[0] += 1
            a[1] += c.duration
        else:
            unanswered[key] += 1

        # callerid.misleading
        if not is_valid(c.from_) or res.active_row(c.from_, c.account_sid, c.start) is None:
            out["callerid.misleading"].add(c.sid)

        camp = res.campaign(c)
        if camp is not None and camp.purpose != "telemarketing":
            continue
        brand = camp.brand if camp is not None else None
        country = country_of(c.to)
        if country is not None:
            tm_days[country].add(_day(c.start))
        grants: list[Consent] = consents.get((c.to, brand), []) if brand is not None else []

        if not any(
            g.consent_type in CONSENT_TYPES
            and g.granted_at <= c.start
            and (g.revoked_at is None or c.start < g.revoked_at)
            for g in grants
        ):
            out["consent.prior_consent"].add(c.sid)

        if c.answered:
            disc = world.disclosures.get(c.sid)
            limit = DISCLOSURE_MAX_OFFSET_S
            if disc is None or disc.identity_s is None or disc.purpose_s is None or (
                disc.identity_s > limit or disc.purpose_s > limit
            ):
                out["disclosure.identity_purpose"].add(c.sid)
            if disc is None or not disc.opt_out_offered:
                out["optout.mechanism"].add(c.sid)

        for requested, obrand in optouts.get(c.to, ()):
            if obrand is not None and obrand != brand:
                continue
            if country == "US":
                if _day(c.start) > business_deadline(_day(requested), 10):
                    out["optout.honored"].add(c.sid)
            elif country == "CA":
                if _day(c.start) > _day(requested) + timedelta(days=14):
                    out["optout.honored"].add(c.sid)
            elif requested < c.start:
                out["optout.honored"].add(c.sid)

        for reg, reg_country in REGISTRY_COUNTRY.items():
            if reg_country != country:
                continue
            dates, states = reg_states.get(reg, ([], []))
            i = bisect.bisect_right(dates, _day(c.start)) - 1
            if i < 0 or c.to not in states[i]:
                continue
            if not _exempt(grants, c.start):
                out["dnc.registry"].add(c.sid)

        if not hours_ok(c.to, c.start):
            out["country.calling_hours"].add(c.sid)

    # dnc.registry_freshness
    file_dates: dict[str, list[date]] = defaultdict(list)
    for f in world.registry_files:
        file_dates[f.registry].append(f.effective)
    for reg, reg_country in REGISTRY_COUNTRY.items():
        dates = sorted(set(file_dates.get(reg, [])))
        for day in tm_days.get(reg_country, ()):
            i = bisect.bisect_right(dates, day) - 1
            if i < 0 or (day - dates[i]).days > REGISTRY_MAX_AGE[reg]:
                out["dnc.registry_freshness"].add(f"{reg}/{day.isoformat()}")

    # complaints.rate
    by_sid = {c.sid: c for c in calls}
    seen: set[str] = set()
    complaints: dict[tuple[str, str], int] = defaultdict(int)
    for comp in world.complaints:
        if comp.complaint_id in seen:
            continue
        seen.add(comp.complaint_id)
        call = by_sid.get(comp.call_sid) if comp.call_sid else None
        number = call.from_ if call is not None else comp.caller_id
        complaints[(number, month_of(comp.received_at))] += 1
    for (number, month), count in complaints.items():
        n = attempts.get((number, month), 0)
        if count >= COMPLAINTS_MIN_COUNT and (n == 0 or count * 1000 > COMPLAINTS_MAX_PER_1000 * n):
            out["complaints.rate"].add(f"{number}/{month}")

    # unanswered.volume
    for key, n in attempts.items():
        u = unanswered.get(key, 0)
        too_many = u > UNANSWERED_MAX_RATIO * n or u >= UNANSWERED_MAX_COUNT
        if n >= UNANSWERED_MIN_ATTEMPTS and too_many:
            out["unanswered.volume"].add(f"{key[0]}/{key[1]}")

    # duration.average
    for (account, month), (n, total) in acd.items():
        if n >= ACD_MIN_ANSWERED and total < ACD_MIN_SECONDS * n:
            out["duration.average"].add(f"{account}/{month}")

    # cps.multi_region
    for subject in cps_violations(world, outbound):
        out["cps.multi_region"].add(subject)

    return {k: sorted(v) for k, v in out.items()}


def _exempt(grants: Iterable[Consent], start: int) -> bool:
    for g in grants:
        if not (g.granted_at <= start and (g.revoked_at is None or start < g.revoked_at)):
            continue
        if g.consent_type == "express_written":
            return True
        if g.consent_type == "ebr_purchase" and start <= g.granted_at + EBR_PURCHASE_DAYS * DAY:
            return True
        if g.consent_type == "ebr_inquiry" and start <= g.granted_at + EBR_INQUIRY_DAYS * DAY:
            return True
    return False


def _registry_states(world: World) -> dict[str, tuple[list[date], list[frozenset[str]]]]:
    """Point-in-time membership: the state after all files of each effective date."""
    order = {"full": 0, "changes": 1}
    files = sorted(world.registry_files, key=lambda f: (f.registry, f.effective, order[f.kind]))
    result: dict[str, tuple[list[date], list[frozenset[str]]]] = {}
    state: set[str] = set()
    current: str | None = None
    for f in files:
        if f.registry != current:
            current, state = f.registry, set()
            result[current] = ([], [])
        if f.kind == "full":
            state = set(f.numbers)
        else:
            for number, op in f.ops:
                if op == "A":
                    state.add(number)
                else:
                    state.discard(number)
        dates, states = result[current]
        if dates and dates[-1] == f.effective:
            states[-1] = frozenset(state)
        else:
            dates.append(f.effective)
            states.append(frozenset(state))
    return result


def cps_violations(world: World, outbound: list[Call]) -> list[str]:
    """``<account>/<day>`` of each episode start of the multi-region CPS rule."""
    subjects: list[str] = []
    for acct in world.accounts:
        if len(acct.regions) < 2:
            continue
        counts: dict[tuple[str, int], int] = defaultdict(int)
        for c in outbound:
            if c.account_sid == acct.sid:
                counts[(c.region, c.start // CPS_BUCKET_S)] += 1
        hot_regions: dict[int, int] = defaultdict(int)
        for (region, bucket), n in counts.items():
            cps = acct.regions.get(region)
            if cps is not None and n / CPS_BUCKET_S > 0.5 * cps:
                hot_regions[bucket] += 1
        hot = sorted(b for b, k in hot_regions.items() if k >= 2)
        if not hot:
            continue
        lo = 0
        hi = 0
        prev = False
        for b in range(hot[0], hot[-1] + CPS_WINDOW_BUCKETS):
            while hi < len(hot) and hot[hi] <= b:
                hi += 1
            while lo < hi and hot[lo] <= b - CPS_WINDOW_BUCKETS:
                lo += 1
            exceeding = hi - lo > CPS_MAX_HOT_BUCKETS
            if exceeding and not prev:
                day = datetime.fromtimestamp(b * CPS_BUCKET_S, UTC).date().isoformat()
                subjects.append(f"{acct.sid}/{day}")
            prev = exceeding
    return subjects
