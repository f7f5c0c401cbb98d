"""Planted violations of every clause and near-miss non-violations at the edges.

Each plant uses fresh numbers (never touched by the background) and is
otherwise compliant, so it violates exactly the clause it is written for.
``World.plant`` records the intended subjects, ``World.near`` the edges that
must stay clean; the package docstring lists them all.
"""

from __future__ import annotations

import math
from datetime import date

from .context import Ctx
from .model import (
    DAY,
    Account,
    Call,
    Campaign,
    Complaint,
    Disclosure,
    InternalDnc,
    OptOut,
    ts,
)
from .phones import zones_of

NY = "America/New_York"
CHI = "America/Chicago"
TOR = "America/Toronto"
LON = "Europe/London"
PAR = "Europe/Paris"
SYD = "Australia/Sydney"
BER = "Europe/Berlin"


def _tm_campaign(ctx: Ctx, acct: Account) -> Campaign:
    return {
        ctx.acme.sid: ctx.camp["acme_tm_fall_savings"],
        ctx.bright.sid: ctx.camp["bright_tm_switch_tariff"],
        ctx.coral.sid: ctx.camp["coral_tm_checkup_offer"],
    }[acct.sid]


def _region(acct: Account) -> str:
    return next(iter(acct.regions))


def tm(
    ctx: Ctx,
    acct: Account,
    to: str,
    start: int,
    *,
    consent: bool = True,
    status: str = "completed",
    duration: int | None = None,
    disclose: bool = True,
    campaign: Campaign | str | None = None,
    from_: str | None = None,
) -> Call:
    """A telemarketing call that is compliant unless told otherwise."""
    if consent:
        ctx.consent(to, acct.brand)
    call = ctx.add_call(
        acct, _region(acct), from_ or ctx.from_number(acct), to, start, status=status,
        duration=duration, campaign=campaign if campaign is not None else _tm_campaign(ctx, acct))
    if disclose and ctx.answered(call):
        ctx.disclose(call)
    return call


def plant_all(ctx: Ctx) -> None:
    """Plant every scenario (order fixed for determinism)."""
    _consent(ctx)
    _disclosure(ctx)
    _optout(ctx)
    _registry(ctx)
    _freshness(ctx)
    _callerid(ctx)
    _hours(ctx)
    _volume(ctx)
    _cps(ctx)
    _acd_floor(ctx)


# consent.prior_consent -------------------------------------------------------
def _consent(ctx: Ctx) -> None:
    w, f, a, b = ctx.world, ctx.factory, ctx.acme, ctx.bright
    cl = "consent.prior_consent"

    def us() -> str:
        return f.make("US", "ny")

    to = us()
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False).sid)  # no consent at all
    to = us()
    ctx.consent(to, "Brightline Energy", "express_written")
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False).sid)  # other brand only
    to = us()
    ctx.consent(to, a.brand, "express", "sms")
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False).sid)  # sms channel only
    to = us()
    ctx.consent(to, a.brand, "ebr_purchase", "voice", granted_at=ts(2026, 8, 1))
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False).sid)  # EBR is not consent
    to = us()
    start = ctx.tm_time(to)
    ctx.consent(to, a.brand, "express", granted_at=start + 1)
    w.plant(cl, tm(ctx, a, to, start, consent=False).sid)  # granted 1 s after the start
    to = us()
    ctx.consent(to, a.brand, "express", revoked_at=ts(2026, 9, 5))
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to, _d(2026, 9, 10)), consent=False).sid)
    to = us()
    start = ctx.tm_time(to)
    ctx.consent(to, a.brand, "express_written", revoked_at=start)
    w.plant(cl, tm(ctx, a, to, start, consent=False).sid)  # revoked exactly at the start
    to = us()
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False, status="no-answer").sid)
    to = us()  # campaign_id missing from campaigns -> unclassified
    w.plant(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False, campaign="acme_tm_legacy_2025").sid)
    to = us()  # no metadata: campaign from the inventory default (telemarketing)
    default_from = next(r.phone_number for r in ctx.specs[a.sid].from_rows
                        if r.default_campaign_id == "acme_tm_fall_savings")
    call = ctx.add_call(a, "us1", default_from, to, ctx.tm_time(to), campaign=None)
    ctx.disclose(call)
    w.plant(cl, call.sid)
    to = f.make("GB", "mobile")
    w.plant(cl, tm(ctx, b, to, ctx.tm_time(to), consent=False).sid)

    # near misses
    to = us()
    start = ctx.tm_time(to)
    ctx.consent(to, a.brand, "express", granted_at=start)
    w.near(cl, tm(ctx, a, to, start, consent=False).sid, "consent granted exactly at call start")
    to = us()
    start = ctx.tm_time(to)
    ctx.consent(to, a.brand, "express", granted_at=ts(2025, 5, 5), revoked_at=start + 1)
    w.near(cl, tm(ctx, a, to, start, consent=False).sid, "consent revoked 1 s after call start")
    to = us()
    w.near(cl, tm(ctx, a, to, ts(2026, 9, 12, 3), consent=False,
                  campaign=ctx.camp["acme_info_service_notice"]).sid,
           "informational campaign (metadata), no consent needed")
    to = us()
    call = ctx.add_call(a, "us1", default_from, to, ts(2026, 9, 13, 2),
                        campaign=ctx.camp["acme_info_service_notice"])
    w.near(cl, call.sid, "metadata (informational) wins over the number's telemarketing default")
    to = us()
    ctx.consent(to, a.brand, "express", "all")
    w.near(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False).sid, "consent channel 'all'")
    to = us()
    ctx.consent(to, a.brand, "express", granted_at=ts(2025, 1, 1), revoked_at=ts(2026, 8, 1))
    ctx.consent(to, a.brand, "express", granted_at=ts(2026, 8, 15))
    w.near(cl, tm(ctx, a, to, ctx.tm_time(to), consent=False).sid,
           "old grant revoked, newer grant valid")
    to = us()
    call = ctx.add_call(a, "us1", to, default_from, ts(2026, 10, 2, 17), direction="inbound")
    w.near(cl, call.sid, "inbound call from a number without consent is not a subject")


# disclosure.identity_purpose and optout.mechanism ------------------------------
def _disclosure(ctx: Ctx) -> None:
    w, f, a = ctx.world, ctx.factory, ctx.acme
    dc, mc = "disclosure.identity_purpose", "optout.mechanism"

    def call(**kw: object) -> Call:
        to = f.make("US", "west")
        return tm(ctx, a, to, ctx.tm_time(to), disclose=False, **kw)  # type: ignore[arg-type]

    limit = ctx.policy.disclosure_max_offset_s
    c = call()
    ctx.disclose(c, limit + 1, 5, True)
    w.plant(dc, c.sid)
    c = call()
    ctx.world.disclosures[c.sid] = _disc(c, 4, None, True)
    w.plant(dc, c.sid)
    c = call()  # no disclosure row at all
    w.plant(dc, c.sid)
    w.plant(mc, c.sid)
    c = call()
    ctx.world.disclosures[c.sid] = _disc(c, None, None, True)
    w.plant(dc, c.sid)
    c = call()
    ctx.disclose(c, 3, 6, False)
    w.plant(mc, c.sid)
    c = call()
    ctx.disclose(c, 2, 30, False)
    w.plant(dc, c.sid)
    w.plant(mc, c.sid)

    c = call()
    ctx.disclose(c, limit, limit, True)
    w.near(dc, c.sid, f"identity and purpose disclosed at exactly {limit} s")
    c = call(status="no-answer")
    w.near(dc, c.sid, "unanswered telemarketing call needs no disclosure row")
    w.near(mc, c.sid, "unanswered telemarketing call needs no opt-out offer")
    c = call(status="completed", duration=0)
    w.near(dc, c.sid, "completed with duration 0 is not answered")
    to = f.make("US", "west")
    c = ctx.add_call(a, "us1", ctx.from_number(a), to, ts(2026, 10, 8, 4),
                     campaign=ctx.camp["acme_info_service_notice"])
    ctx.disclose(c, 40, None, False)
    w.near(mc, c.sid, "informational call without opt-out offer")


def _disc(c: Call, identity: int | None, purpose: int | None, offered: bool) -> Disclosure:
    return Disclosure(c.sid, identity, purpose, offered)


# optout.honored ----------------------------------------------------------------
def _optout(ctx: Ctx) -> None:
    w, f, a, b, c = ctx.world, ctx.factory, ctx.acme, ctx.bright, ctx.coral
    cl = "optout.honored"

    # US: requested Fri 2026-09-04; deadline = 10th business day after = Fri 09-18.
    to = f.make("US", "ny")
    w.optouts.append(OptOut(to, a.brand, ts(2026, 9, 4, 15), "verbal", None))
    w.near(cl, tm(ctx, a, to, ts(2026, 9, 10, 14)).sid, "US opt-out within 10 business days")
    w.near(cl, tm(ctx, a, to, ts(2026, 9, 18, 23, 30)).sid,
           "US call on the deadline date 09-18 (UTC) is still allowed")
    w.plant(cl, tm(ctx, a, to, ts(2026, 9, 19, 15)).sid)  # Sat after the deadline
    # CA: requested 2026-09-10, 14 calendar days -> 09-24 allowed, 09-25 violates.
    to = f.make("CA", "fixed")
    w.optouts.append(OptOut(to, None, ts(2026, 9, 10, 16), "web", None))
    w.near(cl, tm(ctx, a, to, ctx.local(_tz(to, TOR), 2026, 9, 24, 14)).sid,
           "CA call on day 14 after the opt-out")
    w.plant(cl, tm(ctx, a, to, ctx.local(_tz(to, TOR), 2026, 9, 25, 14)).sid)
    # GB: window 0.
    to = f.make("GB", "fixed")
    w.optouts.append(OptOut(to, b.brand, ts(2026, 10, 6, 10), "web", None))
    w.near(cl, tm(ctx, b, to, ts(2026, 10, 6, 10)).sid,
           "GB call starting exactly at requested_at (not after)")
    w.plant(cl, tm(ctx, b, to, ts(2026, 10, 6, 13)).sid)
    # Opt-out for another brand only.
    to = f.make("US", "ny")
    w.optouts.append(OptOut(to, "Brightline Energy", ts(2026, 9, 1, 12), "email", None))
    w.near(cl, tm(ctx, a, to, ts(2026, 10, 5, 16)).sid, "opt-out was for another brand")
    # Internal DNC, all brands, added Tue 2026-09-01 -> deadline Tue 09-15.
    to = f.make("US", "east")
    w.internal_dnc.append(InternalDnc(to, ts(2026, 9, 1, 12), None, "customer_request"))
    w.near(cl, tm(ctx, a, to, ts(2026, 9, 15, 16)).sid, "internal DNC, on the deadline date")
    w.plant(cl, tm(ctx, a, to, ts(2026, 9, 22, 16)).sid)
    # Internal DNC for another brand.
    to = f.make("GB", "fixed")
    w.internal_dnc.append(InternalDnc(to, ts(2026, 9, 2, 9), a.brand, "customer_request"))
    w.near(cl, tm(ctx, b, to, ts(2026, 10, 1, 11)).sid, "internal DNC entry for another brand")
    # FR: window 0.
    to = f.make("FR", "mobile")
    w.optouts.append(OptOut(to, None, ts(2026, 9, 8, 9), "email", None))
    w.plant(cl, tm(ctx, b, to, ctx.local(PAR, 2026, 9, 9, 10, 30)).sid)
    # AU: DTMF opt-out during a call, called again the next day.
    to = f.make("AU", "fixed")
    syd = _tz(to, SYD)
    first = tm(ctx, c, to, ctx.local(syd, 2026, 9, 14, 10), duration=60)
    w.optouts.append(OptOut(to, None, first.start + 20, "dtmf", first.sid))
    w.near(cl, first.sid, "the call during which the DTMF opt-out was made")
    w.plant(cl, tm(ctx, c, to, ctx.local(syd, 2026, 9, 15, 11)).sid)


# dnc.registry ------------------------------------------------------------------
def _registry(ctx: Ctx) -> None:
    w, f, a, b = ctx.world, ctx.factory, ctx.acme, ctx.bright
    reg = ctx.registry
    cl = "dnc.registry"

    def us() -> str:
        return f.make("US", "ny")

    x = us()
    reg.add_on("us_national", "2026-09-16", x)
    w.near(cl, tm(ctx, a, x, ts(2026, 9, 15, 16)).sid, "day before the change list adds it")
    w.plant(cl, tm(ctx, a, x, ts(2026, 9, 16, 0, 30)).sid)  # 20:30 local on 09-15, UTC 09-16
    w.plant(cl, tm(ctx, a, x, ts(2026, 9, 17, 16)).sid)
    x = us()
    reg.add_at_full("us_national", "2026-09-01", x)
    reg.delete_on("us_national", "2026-09-16", x)
    w.plant(cl, tm(ctx, a, x, ts(2026, 9, 10, 16)).sid)
    w.near(cl, tm(ctx, a, x, ts(2026, 9, 25, 16)).sid, "deleted by the 09-16 change list")
    x = us()
    reg.add_at_full("us_national", "2026-10-01", x)
    reg.delete_on("us_national", "2026-10-01", x)
    w.near(cl, tm(ctx, a, x, ts(2026, 10, 2, 16)).sid,
           "in the 10-01 snapshot, deleted by the same-day change list (applies after)")
    x = us()
    reg.add_on("us_national", "2026-10-01", x)
    w.plant(cl, tm(ctx, a, x, ts(2026, 10, 3, 16)).sid)
    x = us()
    reg.list_from_start("us_national", x)
    reg.drop_at_full("us_national", "2026-10-01", x)
    w.plant(cl, tm(ctx, a, x, ts(2026, 9, 20, 16)).sid)
    w.near(cl, tm(ctx, a, x, ts(2026, 10, 5, 16)).sid,
           "absent from the 10-01 full snapshot (replaces the list)")

    def listed() -> str:
        n = us()
        reg.list_from_start("us_national", n)
        return n

    x = listed()
    ctx.consent(x, a.brand, "express_written")
    w.near(cl, tm(ctx, a, x, ts(2026, 9, 29, 16), consent=False).sid,
           "express_written consent exempts")
    start = ts(2026, 9, 30, 16)
    purchase, inquiry = ctx.policy.dnc_ebr_purchase_days, ctx.policy.dnc_ebr_inquiry_days
    x = listed()
    ctx.consent(x, a.brand, "ebr_purchase", granted_at=start - purchase * DAY)
    w.near(cl, tm(ctx, a, x, start).sid,
           f"ebr_purchase exactly {purchase} days before (inclusive)")
    x = listed()
    ctx.consent(x, a.brand, "ebr_purchase", granted_at=start - purchase * DAY - 1)
    w.plant(cl, tm(ctx, a, x, start).sid)
    x = listed()
    ctx.consent(x, a.brand, "ebr_inquiry", granted_at=start - inquiry * DAY)
    w.near(cl, tm(ctx, a, x, start).sid,
           f"ebr_inquiry exactly {inquiry} days before (inclusive)")
    x = listed()
    ctx.consent(x, a.brand, "ebr_inquiry", granted_at=start - inquiry * DAY - 1)
    w.plant(cl, tm(ctx, a, x, start).sid)
    x = listed()
    ctx.consent(x, a.brand, "ebr_purchase", granted_at=start - 100 * DAY,
                revoked_at=start - 10 * DAY)
    w.plant(cl, tm(ctx, a, x, start).sid)
    x = listed()
    ctx.consent(x, a.brand, "ebr_purchase", "sms", granted_at=start - 100 * DAY)
    w.plant(cl, tm(ctx, a, x, start).sid)
    x = listed()
    ctx.consent(x, "Brightline Energy", "express_written")
    w.plant(cl, tm(ctx, a, x, start).sid)
    x = listed()
    w.near(cl, tm(ctx, a, x, ts(2026, 10, 6, 2), consent=False,
                  campaign=ctx.camp["acme_info_service_notice"]).sid,
           "registered number, informational call")

    g = f.make("GB", "fixed")
    reg.list_from_start("uk_tps", g)
    w.plant(cl, tm(ctx, b, g, ts(2026, 10, 7, 11)).sid)
    g = f.make("GB", "mobile")
    reg.list_from_start("uk_ctps", g)
    w.plant(cl, tm(ctx, b, g, ts(2026, 10, 7, 12)).sid)
    k = f.make("CA", "fixed")
    reg.list_from_start("ca_dncl", k)
    w.plant(cl, tm(ctx, a, k, ctx.local(_tz(k, TOR), 2026, 10, 15, 13)).sid)


# dnc.registry_freshness ----------------------------------------------------------
def _freshness(ctx: Ctx) -> None:
    w, f, a, b = ctx.world, ctx.factory, ctx.acme, ctx.bright
    cl = "dnc.registry_freshness"
    for day, plant in ((11, False), (12, True), (15, True)):
        k = f.make("CA", "fixed")
        tm(ctx, a, k, ctx.local(_tz(k, TOR), 2026, 10, day, 14))
        if plant:
            w.plant(cl, f"ca_dncl/2026-10-{day:02d}")
        else:
            w.near(cl, f"ca_dncl/2026-10-{day:02d}", "registry age exactly 31 days")
    for day, plant in ((1, True), (2, True), (3, False)):
        g = f.make("GB", "fixed")
        tm(ctx, b, g, ts(2026, 9, day, 11))
        if plant:
            w.plant(cl, f"uk_ctps/2026-09-{day:02d}")
        else:
            w.near(cl, f"uk_ctps/2026-09-{day:02d}", "first uk_ctps snapshot effective that day")


# callerid.misleading -------------------------------------------------------------
def _callerid(ctx: Ctx) -> None:
    w, f, a, d = ctx.world, ctx.factory, ctx.acme, ctx.dispatch
    cl = "callerid.misleading"
    tx = ctx.camp["dispatch_tx_delivery"]

    def call(from_: str, start: int, acct: Account = d, **kw: object) -> Call:
        camp = tx if acct is d else ctx.camp["acme_info_service_notice"]
        return ctx.add_call(acct, "us1", from_, f.make("US", "east"), start, campaign=camp,
                            **kw)  # type: ignore[arg-type]

    w.plant(cl, call("+11234567890", ts(2026, 9, 9, 15)).sid)  # not a valid number
    w.plant(cl, call(f.make("US", "central"), ts(2026, 9, 9, 16)).sid)  # not in inventory
    other = ctx.specs[ctx.bright.sid].from_rows[0].phone_number
    w.plant(cl, call(other, ts(2026, 9, 9, 17)).sid)  # another account's number
    y = f.make("US", "east")
    ctx.inventory(d, y, active_from=ts(2025, 2, 1), active_to=ts(2026, 9, 20))
    w.near(cl, call(y, ts(2026, 9, 19, 23, 59, 59)).sid, "1 s before active_to")
    w.plant(cl, call(y, ts(2026, 9, 20)).sid)  # exactly at active_to
    w.plant(cl, call(y, ts(2026, 9, 25, 12)).sid)
    y = f.make("US", "east")
    ctx.inventory(d, y, active_from=ts(2026, 10, 5))
    w.near(cl, call(y, ts(2026, 10, 5)).sid, "exactly at active_from")
    w.plant(cl, call(y, ts(2026, 10, 4, 23)).sid)
    y = f.make("US", "east")
    ctx.inventory(d, y, kind="verified_caller_id", active_from=ts(2026, 1, 10))
    w.near(cl, call(y, ts(2026, 10, 9, 15)).sid, "verified caller ID")
    y = f.make("US", "east")
    ctx.inventory(a, y, active_from=ts(2025, 4, 1), active_to=ts(2026, 10, 1))
    ctx.inventory(d, y, active_from=ts(2026, 10, 1))
    w.near(cl, call(y, ts(2026, 9, 28, 15), a).sid, "number still with the first account")
    w.plant(cl, call(y, ts(2026, 10, 2, 15), a).sid)  # moved to another account
    w.near(cl, call(y, ts(2026, 10, 2, 16)).sid, "number now with this account")
    c = ctx.add_call(d, "ie1", f.make("GB", "fixed"), f.make("GB", "mobile"), ts(2026, 10, 12, 9),
                     campaign=tx, direction="trunking-terminating")
    w.plant(cl, c.sid)  # SIP trunk presenting a number the account does not own


# country.calling_hours -----------------------------------------------------------
def _hours(ctx: Ctx) -> None:
    w, f, a, b, c = ctx.world, ctx.factory, ctx.acme, ctx.bright, ctx.coral
    cl = "country.calling_hours"
    L = ctx.local

    def case(acct: Account, to: str, start: int, violates: bool, why: str, **kw: object) -> None:
        call = tm(ctx, acct, to, start, **kw)  # type: ignore[arg-type]
        if violates:
            w.plant(cl, call.sid)
        else:
            w.near(cl, call.sid, why)

    ny = f.make("US", "ny")
    case(a, ny, L(NY, 2026, 9, 22, 21), True, "")
    case(a, ny, L(NY, 2026, 9, 22, 20, 59), False, "US 20:59 local")
    case(a, ny, L(NY, 2026, 9, 23, 7, 59, 59), True, "")
    case(a, ny, L(NY, 2026, 9, 23, 8), False, "US 08:00:00 local")
    fl = f.make("US", "fl")
    case(a, fl, L(NY, 2026, 9, 24, 20), True, "")
    case(a, fl, L(NY, 2026, 9, 24, 19, 59, 59), False, "FL 19:59:59 local")
    ok = f.make("US", "ok")
    case(a, ok, L(CHI, 2026, 9, 24, 20, 30), True, "")
    ca = f.make("CA", "fixed")
    tz = _tz(ca, TOR)
    case(a, ca, L(tz, 2026, 9, 26, 18), True, "")
    case(a, ca, L(tz, 2026, 9, 26, 17, 59, 59), False, "CA Saturday 17:59:59")
    case(a, ca, L(tz, 2026, 9, 28, 21, 29, 59), False, "CA weekday 21:29:59")
    case(a, ca, L(tz, 2026, 9, 28, 21, 30), True, "")
    gb = f.make("GB", "fixed")
    case(b, gb, ts(2026, 10, 20, 20, 30), True, "")  # 21:30 BST
    case(b, gb, ts(2026, 10, 27, 20, 30), False, "GB 20:30 GMT after the DST change")
    fr = f.make("FR", "fixed")
    case(b, fr, L(PAR, 2026, 10, 10, 11), True, "")  # Saturday
    case(b, fr, L(PAR, 2026, 10, 7, 13), True, "")  # lunch gap
    case(b, fr, L(PAR, 2026, 10, 7, 12, 59, 59), False, "FR 12:59:59 weekday")
    case(b, fr, L(PAR, 2026, 10, 7, 14), False, "FR 14:00:00 weekday")
    case(b, fr, L(PAR, 2026, 10, 8, 20), True, "")
    au = f.make("AU", "fixed")
    syd = _tz(au, SYD)
    case(c, au, L(syd, 2026, 10, 11, 12), True, "")  # Sunday
    case(c, au, L(syd, 2026, 10, 10, 16, 59, 59), False, "AU Saturday 16:59:59")
    case(c, au, L(syd, 2026, 10, 10, 17), True, "")
    mob = f.make("AU", "mobile")
    case(c, mob, L(SYD, 2026, 10, 13, 10), True, "")  # 07:00 in Perth
    de = f.make("DE", "fixed")
    case(b, de, L(BER, 2026, 9, 15, 21), True, "")
    case(b, de, L(BER, 2026, 9, 15, 20, 59, 59), False, "other country 20:59:59")
    ny2 = f.make("US", "ny")
    case(a, ny2, L(NY, 2026, 10, 21, 22), True, "", status="no-answer")
    call = ctx.add_call(a, "us1", ctx.from_number(a), ny2, L(NY, 2026, 10, 22, 23),
                        campaign=ctx.camp["acme_info_service_notice"])
    w.near(cl, call.sid, "informational call at 23:00")


# complaints.rate and unanswered.volume ----------------------------------------------
_UNANSWERED = ("no-answer", "busy", "failed", "canceled", "completed0")


def _dedicated(ctx: Ctx) -> str:
    number = ctx.factory.make("US", "central")
    ctx.inventory(ctx.dispatch, number, active_from=ts(2025, 6, 1))
    return number


def _series(ctx: Ctx, from_: str, month: int, total: int, unanswered: int) -> list[Call]:
    """``total`` Dispatch calls from one number in a month, ``unanswered`` of them unanswered."""
    rng = ctx.rng
    pool = ctx.specs[ctx.dispatch.sid].pool
    flags = [True] * unanswered + [False] * (total - unanswered)
    rng.shuffle(flags)
    start0 = ts(2026, month, 1)
    span = (30 if month == 9 else 31) * DAY
    calls = []
    for i, un in enumerate(flags):
        status = _UNANSWERED[i % len(_UNANSWERED)] if un else "completed"
        dur = 0 if un else rng.randint(30, 300)
        if status == "completed0":
            status = "completed"
        callee = pool[rng.randrange(len(pool))].phone
        calls.append(ctx.add_call(ctx.dispatch, "us1" if i % 2 else "ie1", from_, callee,
                                  start0 + rng.randrange(span), status=status, duration=dur,
                                  campaign=ctx.camp["dispatch_tx_delivery"]))
    return calls


def _earliest(calls: list[Call]) -> list[Call]:
    return sorted(calls, key=lambda c: c.start)


def _complain(ctx: Ctx, caller: str, received: int, call: Call | None = None,
              call_sid: str | None = None, cid: str | None = None) -> Complaint:
    comp = Complaint(cid or f"CMP-{ctx.rng.getrandbits(40):010X}", received, "consumer", caller,
                     call.to if call else None, call.sid if call else call_sid, "unwanted_call")
    ctx.world.complaints.append(comp)
    return comp


def _volume(ctx: Ctx) -> None:
    w, f = ctx.world, ctx.factory
    cc, uc = "complaints.rate", "unanswered.volume"
    q1 = _dedicated(ctx)
    s1 = f.make("US", "central")
    calls = _earliest(_series(ctx, q1, 9, 400, 100))
    _complain(ctx, q1, calls[0].start + 3600, calls[0])
    _complain(ctx, s1, calls[1].start + 7200, calls[1])  # shows another caller ID
    _complain(ctx, q1, ts(2026, 9, 28, 12))
    w.plant(cc, f"{q1}/2026-09")
    _complain(ctx, s1, ts(2026, 9, 20, 12))
    _complain(ctx, s1, ts(2026, 9, 21, 12))
    w.near(cc, f"{s1}/2026-09", "2 own complaints; the third names it but its call_sid is q1's")
    s3 = f.make("US", "central")
    _complain(ctx, s3, ts(2026, 10, 3, 12))
    _complain(ctx, s3, ts(2026, 10, 4, 12))
    _complain(ctx, s3, ts(2026, 10, 5, 12), call_sid=ctx.sid())  # unknown call sid
    w.plant(cc, f"{s3}/2026-10")
    s8 = f.make("US", "central")
    _complain(ctx, s8, ts(2026, 10, 3, 12))
    _complain(ctx, s8, ts(2026, 10, 4, 12))
    w.near(cc, f"{s8}/2026-10", "only 2 complaints, no attempts")
    q4 = _dedicated(ctx)
    calls = _earliest(_series(ctx, q4, 10, 50, 10))
    _complain(ctx, q4, calls[0].start + 600, calls[0])
    dup = _complain(ctx, q4, calls[1].start + 600, calls[1])
    ctx.world.complaints.append(dup)  # the same complaint_id twice
    w.near(cc, f"{q4}/2026-10", "2 distinct complaints (one row duplicated)")
    q7 = _dedicated(ctx)
    sept = _earliest(_series(ctx, q7, 9, 100, 20))
    _series(ctx, q7, 10, 100, 20)
    _complain(ctx, q7, sept[0].start + 600, sept[0])
    _complain(ctx, q7, sept[1].start + 600, sept[1])
    _complain(ctx, q7, ts(2026, 10, 1, 0, 0, 5), sept[2])
    w.near(cc, f"{q7}/2026-09", "2 complaints in September, the third received 10-01")
    w.near(cc, f"{q7}/2026-10", "1 complaint in October")

    q11, q12, q13 = _dedicated(ctx), _dedicated(ctx), _dedicated(ctx)
    least, share = ctx.policy.unanswered_min_attempts, ctx.policy.unanswered_max_ratio
    at_share = int(least * share)  # unanswered at exactly the maximum share (floor)
    _series(ctx, q11, 9, least, at_share + 1)
    w.plant(uc, f"{q11}/2026-09")
    _series(ctx, q12, 9, least, at_share)
    w.near(uc, f"{q12}/2026-09", f"unanswered share exactly {share:.2f}")
    _series(ctx, q13, 10, least - 1, 2 * least // 3)
    w.near(uc, f"{q13}/2026-10", f"{least - 1} attempts, below the {least} minimum")


# cps.multi_region (+ the 3000-unanswered and 1-per-1000 complaint edges) ----------------
def _block(ctx: Ctx, start: int, minutes: int, quotas: list[tuple[str, int, int]]) -> list[Call]:
    """31 attempts per minute in each of us1 and ie1 for ``minutes`` minutes.

    ``quotas`` lists (number, attempts, unanswered); the rest of the block uses
    twelve bulk numbers with about 10% unanswered.
    """
    rng = ctx.rng
    d = ctx.dispatch
    total = minutes * 62
    slots: list[tuple[str, bool]] = []
    for number, n, un in quotas:
        slots.extend([(number, True)] * un + [(number, False)] * (n - un))
    bulk = [_dedicated(ctx) for _ in range(12)]
    while len(slots) < total:
        slots.append((bulk[len(slots) % 12], rng.random() < 0.1))
    rng.shuffle(slots)
    pool = ctx.specs[d.sid].pool
    tx = ctx.camp["dispatch_tx_delivery"]
    calls = []
    i = 0
    for m in range(minutes):
        t0 = start + 60 * m
        for region in ("us1", "ie1"):
            for _ in range(31):
                number, un = slots[i]
                status = _UNANSWERED[i % len(_UNANSWERED)] if un else "completed"
                dur = 0 if un else rng.randint(30, 240)
                if status == "completed0":
                    status = "completed"
                calls.append(ctx.add_call(d, region, number, pool[rng.randrange(len(pool))].phone,
                                          t0 + rng.randrange(60), status=status, duration=dur,
                                          campaign=tx))
                i += 1
    return calls


def _cps(ctx: Ctx) -> None:
    w = ctx.world
    d = ctx.dispatch
    q14, q2b, q15, q2 = (_dedicated(ctx) for _ in range(4))
    oct_calls = _block(ctx, ts(2026, 10, 14, 2), 370, [(q14, 6000, 3000), (q2b, 2999, 300)])
    w.plant("cps.multi_region", f"{d.sid}/2026-10-14")
    w.plant("unanswered.volume", f"{q14}/2026-10")
    sep_calls = _block(ctx, ts(2026, 9, 16, 2), 360, [(q15, 6000, 2999), (q2, 3000, 300)])
    w.near("cps.multi_region", f"{d.sid}/2026-09-16", "exactly 360 concurrent-hot minutes")
    w.near("unanswered.volume", f"{q15}/2026-09", "2999 unanswered of 6000")
    for calls, number, month in ((oct_calls, q2b, 10), (sep_calls, q2, 9)):
        mine = [c for c in calls if c.from_ == number][:3]
        for k, call in enumerate(mine):
            _complain(ctx, number, ts(2026, month, 20 + k, 12), call)
    w.plant("complaints.rate", f"{q2b}/2026-10")
    w.near("complaints.rate", f"{q2}/2026-09", "3 complaints on exactly 3000 attempts (1.0/1000)")


# duration.average ----------------------------------------------------------------
def _acd_floor(ctx: Ctx) -> None:
    """120 answered Coral calls per month so both months reach the 100-call minimum."""
    c = ctx.coral
    pool = ctx.specs[c.sid].pool
    other = ctx.camp["coral_other_survey"]
    for month, days in ((9, 30), (10, 31)):
        for _ in range(120):
            to = pool[ctx.rng.randrange(len(pool))].phone
            ctx.add_call(c, "au1", ctx.from_number(c), to,
                         ts(2026, month, 1) + ctx.rng.randrange(days * DAY), campaign=other)
    ctx.world.plant("duration.average", f"{c.sid}/2026-10")
    ctx.world.near("duration.average", f"{c.sid}/2026-09", "average exactly 30.0 s")


def shape_coral_durations(ctx: Ctx) -> None:
    """Coral's answered outbound calls: September averages exactly the policy's
    minimum (30 s), October well below it (after all traffic exists)."""
    rng = ctx.rng
    by_month: dict[int, list[Call]] = {9: [], 10: []}
    for call in ctx.world.calls:
        coral = call.account_sid == ctx.coral.sid
        if coral and ctx.outbound(call) and ctx.answered(call) and call.loaded:
            by_month[9 if call.start < ts(2026, 10, 1) else 10].append(call)
    for call in by_month[9]:
        call.duration = rng.randint(12, 48)
    # The policy's minimum (rounded up to whole seconds): an average at, not below it.
    floor = math.ceil(ctx.policy.acd_min_seconds)
    diff = floor * len(by_month[9]) - sum(c.duration for c in by_month[9])
    calls9 = by_month[9]
    while diff:
        call = calls9[rng.randrange(len(calls9))]
        step = 1 if diff > 0 else -1
        if 1 <= call.duration + step <= 600:
            call.duration += step
            diff -= step
    for call in by_month[10]:
        call.duration = rng.randint(6, 40)


def _tz(number: str, fallback: str) -> str:
    zones = zones_of(number)
    return zones[0] if len(zones) == 1 else fallback


def _d(y: int, m: int, d: int) -> date:
    return date(y, m, d)
