"""The compliant background: accounts, campaigns, caller-ID inventory,
consented callee pools, everyday traffic, opt-outs, complaints.

Everything here is built so that no clause is violated: telemarketing goes to
consented callees at comfortable local hours with full disclosures, every
caller number is an active inventory number, per-number volumes stay far below
the unanswered and complaint thresholds, and the only two-region account is
never hot outside the planted CPS blocks. The one exception is documented in
the package docstring: a small share of unclassified calls (no campaign) to
callees without consent, planted ``consent.prior_consent`` violations, which
clean mode (``ctx.violations`` False) leaves out.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .context import AccountSpec, Callee, Ctx
from .model import (
    PERIOD_END,
    PERIOD_START,
    Account,
    Call,
    Campaign,
    Complaint,
    InternalDnc,
    OptOut,
    month_of,
    ts,
)

# Status mix of background outbound attempts: ~31% unanswered.
_STATUSES: list[str] = (
    ["completed"] * 68 + ["completed0"] * 2 + ["no-answer"] * 15 + ["busy"] * 6
    + ["failed"] * 4 + ["canceled"] * 4 + ["in-progress", "ringing"]
)
_INBOUND_STATUSES: list[str] = ["completed"] * 8 + ["no-answer", "busy"]
_US_KINDS = (("ny", 3), ("west", 3), ("central", 2), ("mountain", 1), ("east", 3), ("fl", 1),
             ("ok", 1))


def setup(ctx: Ctx) -> None:
    """Accounts, campaigns and inventory (before any traffic)."""
    w = ctx.world
    ctx.acme = Account(ctx.sid("AC"), "Acme Solar Inc.", "Acme Solar", {"us1": 30})
    ctx.bright = Account(ctx.sid("AC"), "Brightline Energy Ltd", "Brightline Energy", {"ie1": 10})
    ctx.coral = Account(ctx.sid("AC"), "Coral Health Pty", "Coral Health", {"au1": 10})
    ctx.dispatch = Account(ctx.sid("AC"), "Dispatch Logistics", "Dispatch Logistics",
                           {"us1": 1, "ie1": 1})
    w.accounts = [ctx.acme, ctx.bright, ctx.coral, ctx.dispatch]

    def camp(key: str, account: Account, purpose: str) -> Campaign:
        c = Campaign(key, account.sid, account.brand, purpose)
        w.campaigns[key] = c
        ctx.camp[key] = c
        return c

    a_tm = camp("acme_tm_fall_savings", ctx.acme, "telemarketing")
    a_wb = camp("acme_tm_winback", ctx.acme, "telemarketing")
    a_in = camp("acme_info_service_notice", ctx.acme, "informational")
    b_tm = camp("bright_tm_switch_tariff", ctx.bright, "telemarketing")
    b_tx = camp("bright_tx_billing_alert", ctx.bright, "transactional")
    c_tm = camp("coral_tm_checkup_offer", ctx.coral, "telemarketing")
    c_ot = camp("coral_other_survey", ctx.coral, "other")
    c_in = camp("coral_info_appointment", ctx.coral, "informational")
    d_tx = camp("dispatch_tx_delivery", ctx.dispatch, "transactional")
    d_in = camp("dispatch_info_eta", ctx.dispatch, "informational")

    n = ctx.n_bg
    ctx.specs = {
        ctx.acme.sid: AccountSpec(ctx.acme, [("us1", 1.0)],
                                  [(a_tm, 0.5), (a_wb, 0.25), (a_in, 0.25)]),
        ctx.bright.sid: AccountSpec(ctx.bright, [("ie1", 1.0)], [(b_tm, 0.75), (b_tx, 0.25)]),
        ctx.coral.sid: AccountSpec(ctx.coral, [("au1", 1.0)],
                                   [(c_tm, 0.6), (c_ot, 0.2), (c_in, 0.2)]),
        ctx.dispatch.sid: AccountSpec(ctx.dispatch, [("us1", 0.6), ("ie1", 0.4)],
                                      [(d_tx, 0.6), (d_in, 0.4)]),
    }
    share = {ctx.acme.sid: 0.40, ctx.bright.sid: 0.22, ctx.coral.sid: 0.18, ctx.dispatch.sid: 0.20}
    home = {ctx.acme.sid: ("US", "ny"), ctx.bright.sid: ("GB", "fixed"),
            ctx.coral.sid: ("AU", "fixed"), ctx.dispatch.sid: ("US", "east")}
    for sid, spec in ctx.specs.items():
        spec.trunk_sid = ctx.sid("TK")
        # At most half the policy's unanswered maximum of attempts per number and
        # month (~1500) keeps the unanswered count far below that maximum.
        per_number = ctx.policy.unanswered_max_count // 2
        count = max(6, math.ceil(n * share[sid] / 2 / per_number))
        tm_default = next((c for c, _ in spec.campaigns if c.purpose == "telemarketing"),
                          spec.campaigns[0][0])
        for i in range(count):
            country, kind = home[sid]
            if sid == ctx.dispatch.sid and i % 3 == 2:
                country, kind = "GB", "mobile"
            default = tm_default.campaign_id if i % 2 == 0 else None
            row = ctx.inventory(
                spec.account, ctx.factory.make(country, kind),
                kind="verified_caller_id" if i % 7 == 3 else "twilio_owned",
                active_from=ts(2025, 1, 1) + ctx.rng.randrange(400 * 86_400), default=default)
            spec.from_rows.append(row)
        # Retired numbers, never used in the period.
        for _ in range(2):
            ctx.inventory(spec.account, ctx.factory.make(*home[sid]),
                          active_from=ts(2024, 2, 1), active_to=ts(2026, 6, 30))
    _pools(ctx, share)


def _pools(ctx: Ctx, share: dict[str, float]) -> None:
    rng = ctx.rng
    us_kinds = [k for k, wgt in _US_KINDS for _ in range(wgt)]
    mix = {
        ctx.acme.sid: [("US", 85), ("CA", 15)],
        ctx.bright.sid: [("GB", 65), ("FR", 25), ("DE", 5), ("IE", 5)],
        ctx.coral.sid: [("AU", 90), ("NZ", 10)],
        ctx.dispatch.sid: [("US", 50), ("GB", 20), ("FR", 10), ("CA", 10), ("MX", 5), ("DE", 5)],
    }
    for sid, spec in ctx.specs.items():
        size = max(150, int(ctx.n_bg * share[sid] / 15))
        countries = [c for c, wgt in mix[sid] for _ in range(wgt)]
        brand = spec.account.brand
        for _ in range(size):
            country = countries[rng.randrange(len(countries))]
            if country == "US":
                kind = us_kinds[rng.randrange(len(us_kinds))]
            elif country in ("GB", "FR", "AU"):
                kind = "mobile" if rng.random() < 0.35 else "fixed"
            else:
                kind = "fixed"
            phone = ctx.factory.make(country, kind)
            ctype = "express_written" if rng.random() < 0.4 else "express"
            spec.pool.append(Callee(phone, country, ctype))
            if sid == ctx.dispatch.sid:
                continue  # transactional traffic needs no consent
            ctx.consent(phone, brand, ctype, "voice" if rng.random() < 0.6 else "all")
            extra = rng.random()
            if extra < 0.05:
                ctx.consent(phone, brand, "express", "sms")
            elif extra < 0.08:
                ctx.consent(phone, brand, "ebr_inquiry", "voice",
                            granted_at=ts(2026, 1, 1) + rng.randrange(200 * 86_400))
            # Written consent makes a registry listing harmless (exempt).
            if ctype == "express_written" and rng.random() < 0.25:
                if country == "US":
                    ctx.registry.list_from_start("us_national", phone)
                elif country == "CA":
                    ctx.registry.list_from_start("ca_dncl", phone)
                elif country == "GB":
                    ctx.registry.list_from_start("uk_tps" if rng.random() < 0.8 else "uk_ctps",
                                                 phone)


def traffic(ctx: Ctx) -> list[Call]:
    """The everyday calls (about ``ctx.n_bg``), with their disclosures."""
    rng = ctx.rng
    w = ctx.world
    span = PERIOD_END - PERIOD_START
    specs = list(ctx.specs.values())
    cum = []
    acc = 0.0
    for s, wgt in zip(specs, (0.40, 0.22, 0.18, 0.20), strict=True):
        acc += wgt
        cum.append((acc, s))
    calls: list[Call] = []
    last_tm: dict[str, Call] = {}
    unclassified_from = {
        s.account.sid: [r.phone_number for r in s.from_rows if r.default_campaign_id is None]
        for s in specs
    }
    for _ in range(ctx.n_bg):
        r = rng.random()
        spec = next(s for c, s in cum if r < c) if r < cum[-1][0] else cum[-1][1]
        acct = spec.account
        region = spec.region_weights[0][0]
        if len(spec.region_weights) > 1 and rng.random() >= spec.region_weights[0][1]:
            region = spec.region_weights[1][0]
        rows = spec.from_rows
        our = rows[rng.randrange(len(rows))]
        callee = spec.pool[rng.randrange(len(spec.pool))]
        d = rng.random()
        if d < 0.12:
            direction = "inbound" if d < 0.09 else "trunking-originating"
            status = _INBOUND_STATUSES[rng.randrange(len(_INBOUND_STATUSES))]
            dur = int(rng.lognormvariate(4.2, 0.8)) + 1 if status == "completed" else 0
            call = ctx.add_call(acct, region, callee.phone, our.phone_number,
                                PERIOD_START + rng.randrange(span), status=status,
                                duration=dur, direction=direction)
            calls.append(call)
            continue
        direction = "outbound-api" if d < 0.72 else (
            "outbound-dial" if d < 0.82 else "trunking-terminating")
        status = _STATUSES[rng.randrange(len(_STATUSES))]
        dur = 0
        if status == "completed":
            dur = min(3600, int(rng.lognormvariate(4.5, 0.8)) + 1)
        elif status == "completed0":
            status = "completed"
        # ctx.violations is tested first so the planted mode draws exactly the
        # same random numbers as before clean mode existed (same bytes).
        if ctx.violations and acct is ctx.acme and rng.random() < 0.003:
            # Unclassified (no metadata, no default campaign) to a callee without consent.
            to = ctx.factory.make("US", "east")
            start = ctx.tm_time(to)
            call = ctx.add_call(acct, region, unclassified_from[acct.sid][0], to, start,
                                status=status, duration=dur, direction=direction)
            if ctx.answered(call):
                ctx.disclose(call)
            w.plant("consent.prior_consent", call.sid)
            calls.append(call)
            continue
        x = rng.random()
        campaign = spec.campaigns[-1][0]
        for c, wgt in spec.campaigns:
            if x < wgt:
                campaign = c
                break
            x -= wgt
        meta: Campaign | None = campaign
        if our.default_campaign_id == campaign.campaign_id and rng.random() < 0.5:
            meta = None
        tm = campaign.purpose == "telemarketing"
        start = ctx.tm_time(callee.phone) if tm else PERIOD_START + rng.randrange(span)
        call = ctx.add_call(acct, region, our.phone_number, callee.phone, start, status=status,
                            duration=dur, direction=direction, campaign=meta)
        if ctx.answered(call) and (tm or rng.random() < 0.3):
            if tm:
                ctx.disclose(call)
            else:
                ctx.disclose(call, rng.choice((None, 5, 20, 40)), rng.randint(1, 60),
                             rng.random() < 0.5)
        if tm:
            prev = last_tm.get(callee.phone)
            if prev is None or prev.start < start:
                last_tm[callee.phone] = call
        if rng.random() < 0.01:
            call.stale = True
        calls.append(call)
    _optouts(ctx, last_tm)
    _complaints(ctx, [c for c in calls if ctx.outbound(c) and c.from_ != ""])
    return calls


def _optouts(ctx: Ctx, last_tm: dict[str, Call]) -> None:
    """DTMF opt-outs during a callee's last telemarketing call, plus opt-outs and
    internal do-not-call entries for numbers that telemarketing never calls."""
    rng = ctx.rng
    w = ctx.world
    brands = {s.account.sid: s.account.brand for s in ctx.specs.values()}
    for phone, call in last_tm.items():
        if ctx.answered(call) and rng.random() < 0.01:
            brand = brands[call.account_sid] if rng.random() < 0.6 else None
            w.optouts.append(OptOut(phone, brand, call.start + call.duration, "dtmf", call.sid))
    extra = max(20, ctx.n_bg // 400)
    for i in range(extra):
        country = ("US", "US", "US", "CA", "GB")[i % 5]
        phone = ctx.factory.make(country, "ny" if country == "US" else "fixed")
        t = ts(2026, 3, 1) + rng.randrange(240 * 86_400)
        brand = rng.choice((None, "Acme Solar", "Brightline Energy", "Coral Health"))
        w.optouts.append(OptOut(phone, brand, t, rng.choice(("web", "email", "sms", "verbal")),
                                None))
    for i in range(max(15, ctx.n_bg // 600)):
        country = ("US", "US", "GB", "AU")[i % 4]
        phone = ctx.factory.make(country, "west" if country == "US" else "fixed")
        t = ts(2025, 6, 1) + rng.randrange(500 * 86_400)
        w.internal_dnc.append(InternalDnc(
            phone, t, rng.choice((None, None, "Acme Solar")),
            rng.choice(("customer_request", "litigator", "deceased", "wrong_party"))))


def _complaints(ctx: Ctx, outbound: list[Call]) -> None:
    """A few complaints, never the policy's minimum count (3) for one number and month."""
    rng = ctx.rng
    per: dict[tuple[str, str], int] = defaultdict(int)
    want = max(5, ctx.n_bg // 2500)
    tries = 0
    while want and tries < want * 20 and outbound:
        tries += 1
        call = outbound[rng.randrange(len(outbound))]
        received = call.start + rng.randrange(3600, 3 * 86_400)
        key = (call.from_, month_of(received))
        if per[key] >= ctx.policy.complaints_min_count - 1:
            continue
        per[key] += 1
        want -= 1
        ctx.world.complaints.append(Complaint(
            f"CMP-{rng.getrandbits(40):010X}", received,
            rng.choice(("consumer", "consumer", "carrier", "regulator")),
            call.from_, call.to if rng.random() < 0.7 else None,
            call.sid if rng.random() < 0.7 else None,
            rng.choice(("unwanted_call", "robocall", "wrong_number", "harassment"))))
