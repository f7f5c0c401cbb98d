"""A small reference evaluator of the twelve clauses of policy-rules.md.

It runs on the generator's in-memory :class:`~.model.World` (intended E.164
numbers, integer UTC epoch seconds) and is the source of ``planted.json``:
the exact violating subjects per clause. Every threshold, window and list
comes from the policy file (:class:`voice_compliance.policy.Policy`, the one
dbt and the expectation suites read), never from a copy here.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from voice_compliance.policy import WEEKDAYS, Policy, load_policy

from .model import (
    DAY,
    Call,
    Campaign,
    Consent,
    InventoryRow,
    World,
    month_of,
)
from .phones import country_of, is_valid, us_state_override, zones_of


def _seconds(clock: str) -> int:
    """Seconds of day of an ``HH:MM`` clock (``24:00`` = 86400)."""
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


Windows = tuple[tuple[tuple[int, int], ...], ...]
_WINDOWS: dict[tuple[int, str | None, str | None], tuple[Policy, Windows]] = {}


def _windows(policy: Policy, country: str | None, state: str | None) -> Windows:
    """The policy's calling windows of a country (US state) per weekday, in seconds.

    Cached per policy object (a ``Policy`` holds mappings: it is not hashable).
    """
    key = (id(policy), country, state)
    hit = _WINDOWS.get(key)
    if hit is None or hit[0] is not policy:
        hours = policy.calling_hours(country, state)
        days = tuple(
            tuple((_seconds(w.start), _seconds(w.end)) for w in hours.get(day, ()))
            for day in WEEKDAYS
        )
        hit = _WINDOWS[key] = (policy, days)
    return hit[1]


def calling_windows(
    policy: Policy, country: str | None, state: str | None, weekday: int
) -> tuple[tuple[int, int], ...]:
    """Allowed local windows ``[start, end)`` in seconds of day (weekday 0 = Monday)."""
    return _windows(policy, country, state)[weekday]


_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo."""
    z = _ZONES.get(name)
    if z is None:
        z = _ZONES[name] = ZoneInfo(name)
    return z


def hours_ok(policy: Policy, to: str, start: int) -> bool:
    """True when a telemarketing call to ``to`` at ``start`` is within the calling hours
    in every time zone of the number (or when the zone is unknown), and not on a
    public holiday of the number's country."""
    zones = zones_of(to)
    country = country_of(to)
    if country is None or zones == ("Etc/Unknown",):
        return True
    state = us_state_override(to) if country == "US" else None
    holidays = policy.calling_hours_holidays.get(country, ())
    for name in zones:
        if name == "Etc/Unknown":
            continue
        local = datetime.fromtimestamp(start, zone(name))
        if local.date() in holidays:
            return False
        sod = local.hour * 3600 + local.minute * 60 + local.second
        windows = calling_windows(policy, country, state, local.weekday())
        if not any(a <= sod < b for a, b in windows):
            return False
    return True


def is_outbound(policy: Policy, call: Call) -> bool:
    """True for an outbound attempt (a rule subject) under ``policy``."""
    return call.direction in policy.outbound_directions


def is_answered(policy: Policy, call: Call) -> bool:
    """True when the call has the policy's answered status and a positive duration."""
    return call.status == policy.answered_status and call.duration > 0


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

    def active_row(
        self, number: str, account: str, t: int, kinds: Iterable[str] | None = None
    ) -> InventoryRow | None:
        """The inventory row of ``number`` for ``account`` active at ``t`` (of one of
        ``kinds``, when given), if any."""
        for row in self.inv.get((number, account), ()):
            if kinds is not None and row.kind not in kinds:
                continue
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


def evaluate(world: World, policy: Policy | None = None) -> dict[str, list[str]]:
    """Every violating subject per clause id (sorted) under ``policy``
    (default: :func:`voice_compliance.policy.load_policy`, the pipeline's file)."""
    p = policy if policy is not None else load_policy()
    out: dict[str, set[str]] = defaultdict(set)
    res = Resolver(world)
    calls = [c for c in world.calls if c.loaded]
    outbound = [c for c in calls if is_outbound(p, c)]

    consents: dict[tuple[str, str], list[Consent]] = defaultdict(list)
    for row in world.consents:
        if row.channel in p.consent_channels:
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
        answered = is_answered(p, c)
        if answered:
            a = acd[(c.account_sid, month)]
            a[0] += 1
            a[1] += c.duration
        else:
            unanswered[key] += 1

        # callerid.misleading
        if not is_valid(c.from_) or res.active_row(
            c.from_, c.account_sid, c.start, p.callerid_inventory_kinds
        ) is None:
            out["callerid.misleading"].add(c.sid)

        camp = res.campaign(c)
        if camp is not None and camp.purpose != "telemarketing":
            continue
        if camp is None and not p.treat_unclassified_as_telemarketing:
            continue
        brand = camp.brand if camp is not None else None
        country = country_of(c.to)
        if country is not None:
            tm_days[country].add(_day(c.start))
        grants: list[Consent] = consents.get((c.to, brand), []) if brand is not None else []

        accepted = p.accepted_consent_types(country)
        if not any(
            g.consent_type in accepted
            and g.granted_at <= c.start
            and (g.revoked_at is None or c.start < g.revoked_at)
            for g in grants
        ):
            out["consent.prior_consent"].add(c.sid)

        if answered:
            disc = world.disclosures.get(c.sid)
            limit = p.disclosure_max_offset_s
            if disc is None or disc.identity_s is None or disc.purpose_s is None or (
                disc.identity_s > limit or disc.purpose_s > limit
            ):
                out["disclosure.identity_purpose"].add(c.sid)
            if disc is None or not disc.opt_out_offered:
                out["optout.mechanism"].add(c.sid)

        window = p.honor_window(country)
        for requested, obrand in optouts.get(c.to, ()):
            if obrand is not None and obrand != brand:
                continue
            if window.days == 0:
                late = requested < c.start  # no deadline date: any later call violates
            elif window.kind == "business":
                late = _day(c.start) > business_deadline(_day(requested), window.days)
            else:
                late = _day(c.start) > _day(requested) + timedelta(days=window.days)
            if late:
                out["optout.honored"].add(c.sid)

        for reg in p.dnc_registries_by_country.get(country or "", ()):
            dates, states = reg_states.get(reg, ([], []))
            i = bisect.bisect_right(dates, _day(c.start)) - 1
            if i < 0 or c.to not in states[i]:
                continue
            if not _exempt(p, grants, c.start):
                out["dnc.registry"].add(c.sid)

        if not hours_ok(p, c.to, c.start):
            out["country.calling_hours"].add(c.sid)

    # dnc.registry_freshness
    file_dates: dict[str, list[date]] = defaultdict(list)
    for f in world.registry_files:
        file_dates[f.registry].append(f.effective)
    for reg_country, registries in p.dnc_registries_by_country.items():
        for reg in registries:
            dates = sorted(set(file_dates.get(reg, [])))
            max_age = p.dnc_registry_max_age_days[reg]
            for day in tm_days.get(reg_country, ()):
                i = bisect.bisect_right(dates, day) - 1
                if i < 0 or (day - dates[i]).days > max_age:
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
        too_many = n == 0 or count * 1000 > p.complaints_max_per_1000 * n
        if count >= p.complaints_min_count and too_many:
            out["complaints.rate"].add(f"{number}/{month}")

    # unanswered.volume
    for key, n in attempts.items():
        u = unanswered.get(key, 0)
        too_many = u > p.unanswered_max_ratio * n or u >= p.unanswered_max_count
        if n >= p.unanswered_min_attempts and too_many:
            out["unanswered.volume"].add(f"{key[0]}/{key[1]}")

    # duration.average
    for (account, month), (n, total) in acd.items():
        if n >= p.acd_min_answered and total < p.acd_min_seconds * n:
            out["duration.average"].add(f"{account}/{month}")

    # cps.multi_region
    for subject in cps_violations(p, world, outbound):
        out["cps.multi_region"].add(subject)

    return {k: sorted(v) for k, v in out.items()}


def _exempt(policy: Policy, grants: Iterable[Consent], start: int) -> bool:
    """True when a grant active at ``start`` exempts the call from the registries."""
    ebr_days = {
        "ebr_purchase": policy.dnc_ebr_purchase_days,
        "ebr_inquiry": policy.dnc_ebr_inquiry_days,
    }
    for g in grants:
        if not (g.granted_at <= start and (g.revoked_at is None or start < g.revoked_at)):
            continue
        if g.consent_type in policy.dnc_exemption_consent_types:
            return True
        days = ebr_days.get(g.consent_type)
        if days is not None and start <= g.granted_at + days * DAY:
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


def cps_violations(policy: Policy, world: World, outbound: list[Call]) -> list[str]:
    """``<account>/<day>`` of each episode start of the multi-region CPS rule."""
    bucket_s = policy.cps_bucket_seconds
    window_buckets = policy.cps_window_hours * 3600 // bucket_s
    max_hot_buckets = policy.cps_max_concurrent_hot_hours * 3600 // bucket_s
    subjects: list[str] = []
    for acct in world.accounts:
        if len(acct.regions) < policy.cps_min_hot_regions:
            continue
        counts: dict[tuple[str, int], int] = defaultdict(int)
        for c in outbound:
            if c.account_sid == acct.sid:
                counts[(c.region, c.start // bucket_s)] += 1
        hot_regions: dict[int, int] = defaultdict(int)
        hot_share = Fraction(str(policy.cps_hot_share_of_allotted))
        for (region, bucket), n in counts.items():
            cps = acct.regions.get(region)
            # Exact, as the model is: a region at exactly the share is not hot.
            if cps is not None and Fraction(n, bucket_s) > hot_share * Fraction(str(cps)):
                hot_regions[bucket] += 1
        hot = sorted(b for b, k in hot_regions.items() if k >= policy.cps_min_hot_regions)
        if not hot:
            continue
        lo = 0
        hi = 0
        prev = False
        for b in range(hot[0], hot[-1] + window_buckets):
            while hi < len(hot) and hot[hi] <= b:
                hi += 1
            while lo < hi and hot[lo] <= b - window_buckets:
                lo += 1
            exceeding = hi - lo > max_hot_buckets
            if exceeding and not prev:
                day = datetime.fromtimestamp(b * bucket_s, UTC).date().isoformat()
                subjects.append(f"{acct.sid}/{day}")
            prev = exceeding
    return subjects
