"""Deterministic sample landing zone with planted policy violations (or none).

``generate(out, seed, calls)`` writes a realistic landing zone under ``out`` in
exactly the layout of ``contract.md`` (old contents are removed first) and
``out/_generator/planted.json`` (outside every contract prefix) with the exact
violating subjects per clause, the near misses and the malformed inputs. The
same seed, ``calls`` and ``violations`` always give the same bytes (fixed
dates, one ``random.Random(seed)``, gzip ``mtime=0``, no set iteration in
output order); in clean mode the emptied files (below) also depend on what
``out`` held before.

World
-----
Traffic runs 2026-09-01 to 2026-10-31 UTC. Four accounts: Acme Solar (us1,
30 CPS; US/CA telemarketing), Brightline Energy (ie1, 10 CPS; GB/FR/DE/IE),
Coral Health (au1, 10 CPS; AU/NZ) and Dispatch Logistics (us1 *and* ie1, 1
CPS each; transactional/informational). Ten campaigns cover the purposes
telemarketing, informational, transactional and other. About ``calls``
background records (9% inbound, 3% trunking-originating, the rest
outbound-api / outbound-dial / trunking-terminating, every status) go to
consented callees at comfortable local hours with full disclosures; campaigns
come from ``call_metadata`` or the caller number's ``default_campaign_id``.
About 1% of calls also appear as an older in-progress/queued copy (earlier
``date_updated``) in the next day's file. Calls are Twilio list pages
(``.json``), JSON lines and CSV (extra ``exported_at``/``export_batch``
columns, shuffled column order; ``.csv.gz`` files use ISO 8601 timestamps),
half of them gzip-compressed. Exports write phone numbers in messy forms that
``phonenumbers`` normalizes with default region US. Registries: us_national
(full 08-01, 09-01, 10-01; changes 08-16, 09-01, 09-16, 10-01, 10-16), uk_tps
(full 08-28, 10-09; changes 09-11, 09-25, 10-09, 10-23), uk_ctps (full 09-03,
10-15; changes 09-24, 10-29), ca_dncl (full 08-20, 10-20; changes 09-10,
10-25), thousands of numbers each, growing with ``calls``.

Planted violations (V) and near misses that must NOT violate (N)
------------------------------------------------------------------
consent.prior_consent
    V: no consent; consent for another brand only; sms-only consent; only an
    ebr_purchase row; granted 1 s after the start; revoked before the call;
    revoked exactly at the start; an unanswered (no-answer) call; a
    call_metadata campaign id missing from campaigns (unclassified); a call
    classified through the inventory default (no metadata) to a callee without
    consent; a GB call without consent; and ~0.3% of Acme's background
    outbound calls, unclassified (no metadata, caller number without default)
    to callees without any consent row.
    N: granted exactly at the start; revoked 1 s after the start; informational
    campaign; metadata (informational) overriding a telemarketing default;
    channel ``all``; an old revoked grant plus a newer grant; an inbound call.
disclosure.identity_purpose
    V: identity at 16 s; purpose empty; no disclosure row; both empty;
    purpose at 30 s. N: both at exactly 15 s; unanswered call without a row;
    completed with duration 0 without a row.
optout.mechanism
    V: ``opt_out_offered=false``; no disclosure row; purpose 30 s and no offer.
    N: unanswered call without a row; informational call without an offer.
optout.honored
    V: US opt-out Fri 09-04, called Sat 09-19 (deadline Fri 09-18); CA opt-out
    09-10, called 09-25 (allowed through 09-24); GB opt-out (window 0) called
    3 h later; internal DNC (all brands) added Tue 09-01, called 09-22
    (deadline 09-15); FR opt-out called the next day; AU DTMF opt-out during a
    call (``call_sid`` set), called the next day.
    N: US call 09-10 and 09-18 23:30Z (deadline date); CA call on day 14; GB
    call starting exactly at ``requested_at``; opt-out / internal DNC entry
    for another brand; the call during which the DTMF opt-out was made.
dnc.registry
    V: added by the 09-16 change list, called 09-16 00:30Z (20:30 local on
    09-15) and 09-17; in the 09-01 snapshot, called 09-10; added by the 10-01
    change list, called 10-03; listed from 08-01, called 09-20; listed with
    ebr_purchase 548 days + 1 s before, ebr_inquiry 90 days + 1 s before, a
    revoked EBR, an sms-channel EBR, express_written for another brand only;
    a uk_tps number; a uk_ctps number; a ca_dncl number (called on a stale
    ca_dncl day). N: called the day before the change list adds it; deleted by
    the 09-16 change list; in the 10-01 snapshot but deleted by the same-day
    change list; dropped from the 10-01 full snapshot; express_written consent;
    ebr_purchase exactly 548 days and ebr_inquiry exactly 90 days before;
    informational call to a listed number.
dnc.registry_freshness
    V: ``ca_dncl/2026-10-12`` to ``ca_dncl/2026-10-19`` (newest file 09-10, age
    32-39 > 31) on every day with CA telemarketing (plants on 10-12 and
    10-15); ``uk_ctps/2026-09-01`` and ``09-02`` (no uk_ctps file yet, later
    files exist). N: ``ca_dncl/2026-10-11`` (age exactly 31);
    ``uk_ctps/2026-09-03``.
callerid.misleading
    V: invalid ``+11234567890``; a valid number in no inventory; another
    account's number; calls exactly at and after ``active_to``; a call before
    ``active_from``; a number moved to another account, used by the old one
    after the move; a SIP trunk (trunking-terminating) presenting a foreign
    number. N: 1 s before ``active_to``; exactly at ``active_from``; a
    verified caller ID; the moved number before the move and by its new
    account.
complaints.rate
    V: a number with 3 complaints (2 via call_sid, one of which shows another
    caller ID; 1 via caller_id) on 400 attempts; a number with 3 complaints on
    2,999 attempts (1.0003 per 1,000); a spoofed number with 3 complaints and
    no attempts (one with an unknown call_sid). N: 3 complaints on exactly
    3,000 attempts (1.0 per 1,000); the caller ID shown on a complaint
    attributed by call_sid elsewhere (2 own complaints); 2 complaints plus a
    duplicated complaint_id row; 2 complaints in September and a third
    received 2026-10-01T00:00:05Z; a spoofed number with 2 complaints.
    Background complaints never exceed 2 per number and month.
unanswered.volume
    V: 300 attempts with 151 unanswered; 6,000 attempts with exactly 3,000
    unanswered (share 0.5, count rule). N: 300 with exactly 150; 299 attempts
    with 200 unanswered; 6,000 attempts with 2,999 unanswered.
duration.average
    V: Coral Health 2026-10 (all answered calls 6-40 s). N: Coral Health
    2026-09 (average exactly 30.0 s over more than 100 answered calls).
country.calling_hours
    V: US 21:00:00 and 07:59:59; FL 20:00:00; OK 20:30; CA Saturday 18:00 and
    weekday 21:30; GB 21:30 BST (10-20); FR Saturday, 13:00:00 (lunch gap)
    and 20:00; AU Sunday and Saturday 17:00; an AU mobile at 10:00 Sydney
    (07:00 in Perth: every mapped zone must allow it); DE 21:00; an
    unanswered US call at 22:00. N: US 20:59 and 08:00:00; FL 19:59:59; CA
    Saturday 17:59:59 and weekday 21:29:59; GB 20:30 GMT (10-27, after the DST
    change); FR 12:59:59 and 14:00:00; AU Saturday 16:59:59; DE 20:59:59; an
    informational call at 23:00.
cps.multi_region
    V: Dispatch Logistics 2026-10-14: 31 attempts per minute in us1 and ie1
    (allotment 1 each: hot above 30) from 02:00 for 370 minutes; the episode
    starts at 08:00 (361st concurrent-hot minute). N: the same on 2026-09-16
    for exactly 360 minutes.

Malformed inputs (each listed in planted.json with file, line and reason)
-------------------------------------------------------------------------
``calls/region=us1/calls_replay_2026-10-03.jsonl``: a call without ``sid``, a
call with ``start_time`` "Thu, 31 Sep 2026 25:61:00 +0000", a line that is not
valid JSON. ``calls/region=ie1/calls_backfill_2026-09-20.csv``: a row with the
wrong column count and a row with invalid UTF-8 bytes.
``calls/region=us1/calls_retry_2026-10-09.jsonl.gz``: gzip cut mid-stream after
several whole lines. ``calls/region=au1/calls_2026-10-31_tail.jsonl``: empty.
``consent/consent_crm_export.csv``: a row with ``granted_at`` "last Tuesday
3pm" for a number never called. Broken call rows are inbound calls or stale
copies, so the violations do not depend on how a loader salvages them.

Clean mode (``violations=False``, CLI ``generate --clean``)
-----------------------------------------------------------
The same world without a single policy violation, to show that tickets
resolve once "the violations are removed from the input". The accounts,
campaigns, caller-ID inventory and consented callee pools are the same as in
the planted world of the same seed (they are drawn first); the rest comes
from a second random stream seeded ``"clean/<seed>"``, so no clean call
reuses a planted call's sid. Left out: every planted scenario
above (``plants.plant_all``), the Coral Health duration shaping and its 240
answered floor calls, the ~0.3% unclassified Acme calls to callees without
consent, and the CPS blocks. Added: a uk_ctps full snapshot effective
2026-08-27 and a ca_dncl change list effective 2026-10-01
(``registry.CLEAN_EXTRA``), so every registry is at most 21 days old on
every day of the period. Per clause: consent, disclosure, opt-out mechanism
and calling hours hold for every background telemarketing call by
construction; opt-outs and internal do-not-call entries concern numbers that
are never called again (DTMF opt-outs end a callee's last call); registry
listings are all exempt (express_written consent); caller IDs are active
inventory numbers; complaints stay at 2 per number and month, unanswered
shares near 33%, answered durations far above 30 s, and the two-region
account far below half its CPS. The malformed inputs stay (they are data
quality, not violations). The reference evaluator must find no subject for
any clause, else :func:`generate` raises before touching ``out``;
``planted.json`` lists all twelve clauses with empty subject lists and
``"match": "exact"``, and its ``generator`` section adds ``"violations":
false`` and ``"emptied"``. The default (planted) output is byte-for-byte
what it was before clean mode existed.

Correction re-export. Clean mode is meant to be generated INTO the landing
folder that held the planted data, followed by a pipeline run on the same
warehouse. The loader replaces the rows of a changed file but keeps the rows
of a file that vanished, so :mod:`.correction` remembers every contract file
in ``out`` before clearing it and rewrites each one the clean generation did
not produce as an empty but valid file of the same name and format (CSV:
the source's header; list page: ``{"calls": []}`` with the page keys; JSON
lines and registry text: no bytes; ``.gz`` names stay gzip). The loader
sees a changed file with zero rows and drops its old rows. These paths are
listed as ``emptied`` in ``planted.json`` and in the report.

Exactness
---------
``planted.json`` is computed by re-evaluating all twelve clauses on the
generated in-memory data with the reference evaluator in :mod:`.rules`, with
the thresholds, windows and clause ids of the policy file the pipeline reads
(``voice_compliance.policy.load_policy``; no copy of them lives here), and
compared with the intended plants above: ``unintended``
and ``missing`` list any difference (both empty by construction; the tests
check it), so every clause is marked ``"match": "exact"``. The plants are
laid out for the shipped ``dbt_project/policy.yml``: the simple numeric edges
(disclosure offset, EBR days, unanswered minimum and share) follow the
policy, the calendar and clock edges do not, so under another policy some
near misses may land in ``unintended`` or some plants in ``missing``, while
the ``clauses`` section stays exact for that policy.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from voice_compliance.policy import Policy, load_policy

from . import background, correction, plants, rules
from .context import Ctx
from .malformed import write_malformed
from .model import CLAUSES, PERIOD_END, PERIOD_START
from .twilio import iso
from .writers import Sink, write_calls, write_exports, write_registries

__all__ = ["CLAUSES", "GenerationReport", "generate"]

PLANTED_PATH = "_generator/planted.json"

# Registry days that are stale by construction (any telemarketing day there violates).
_STALE_WINDOWS: dict[str, tuple[str, str]] = {
    "ca_dncl": ("2026-10-12", "2026-10-19"),
    "uk_ctps": ("2026-09-01", "2026-09-02"),
}


@dataclass(frozen=True)
class GenerationReport:
    """What :func:`generate` wrote (``files`` counts the ``emptied`` ones too)."""

    out: Path
    files: int
    calls: int
    planted: dict[str, list[str]]
    violations: bool = True
    emptied: tuple[str, ...] = ()


def _clear(out: Path) -> None:
    if out.is_dir():
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    elif out.exists():
        out.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _expected_extra(clause: str, subject: str) -> bool:
    if clause != "dnc.registry_freshness":
        return False
    registry, _, day = subject.partition("/")
    window = _STALE_WINDOWS.get(registry)
    return window is not None and window[0] <= day <= window[1]


def generate(
    out: Path,
    seed: int = 7,
    calls: int = 50_000,
    violations: bool = True,
    policy: Policy | None = None,
) -> GenerationReport:
    """Write a deterministic sample landing zone under ``out`` (replacing its contents).

    ``calls`` is the approximate number of background Twilio call records; the
    planted scenarios add about 47,000 more (mostly the two CPS blocks).
    ``violations=False`` is clean mode (see the package docstring): no planted
    scenario, no violation of any clause, and every contract file that ``out``
    held before but the clean zone lacks is rewritten as an empty valid file.
    Returns the files written, the number of distinct calls and the planted
    violations per clause id (also written to ``out/_generator/planted.json``).

    ``policy`` (default: :func:`~voice_compliance.policy.load_policy`, the
    file the pipeline reads) gives the thresholds, windows and clause ids the
    reference evaluator applies and the numeric edges the plants sit on.

    Raises RuntimeError, before ``out`` is touched, when clean mode would
    still contain a violation.
    """
    out = Path(out)
    policy = policy if policy is not None else load_policy()
    ctx = Ctx(seed, calls, policy, violations)
    background.setup(ctx)
    if violations:
        plants.plant_all(ctx)
    else:
        # Accounts, inventory and callee pools above match the planted world of
        # this seed; a separate stream from here on keeps every clean call sid
        # distinct from every planted one (one shared stream makes the two worlds
        # reuse some of the same 128-bit draws as sids of different calls).
        ctx.rng.seed(f"clean/{seed}")
    background.traffic(ctx)
    if violations:
        plants.shape_coral_durations(ctx)
    world = ctx.world
    world.registry_files = ctx.registry.build()
    world.malformed_consent.append(
        (ctx.factory.make("US", "west"), ctx.acme.brand, "last Tuesday 3pm"))

    evaluated = rules.evaluate(world, policy)
    planted = {clause: evaluated.get(clause, []) for clause in CLAUSES}
    unintended: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for clause in CLAUSES:
        got = set(planted[clause])
        want = world.intended.get(clause, set())
        # The stale registry days are planted by the schedule, not by a plant.
        extra = sorted(s for s in got - want
                       if not (violations and _expected_extra(clause, s)))
        if extra:
            unintended[clause] = extra
        lost = sorted(want - got)
        if lost:
            missing[clause] = lost
    if not violations and unintended:
        # A "clean" zone that is not clean would keep tickets open: refuse it.
        found = {clause: subjects[:3] for clause, subjects in unintended.items()}
        raise RuntimeError(f"clean mode still violates (seed {seed}, calls {calls}): {found}")

    # Remembered before clearing: what the loader may hold rows of (clean mode only).
    bodies = {} if violations else correction.empty_bodies(out, [a.sid for a in world.accounts])
    _clear(out)
    sink = Sink(out)
    records = write_calls(sink, world, ctx.rng)
    write_exports(sink, world, ctx.rng)
    write_registries(sink, world, ctx.rng)
    write_malformed(ctx, sink)
    emptied = correction.write_emptied(sink, bodies)
    landing_files = len(sink.files)

    generator: dict[str, object] = {
        "seed": seed,
        "calls_requested": calls,
        "calls": len(world.calls),
        "call_records_written": records,
        "period": [iso(PERIOD_START), iso(PERIOD_END)],
        "accounts": {a.sid: {"name": a.name, "brand": a.brand, "regions": a.regions}
                     for a in world.accounts},
    }
    if not violations:
        # Only in clean mode, so the planted planted.json keeps its exact bytes.
        generator["violations"] = False
        generator["emptied"] = emptied
    doc = {
        "generator": generator,
        "clauses": {
            clause: {"match": "exact", "count": len(planted[clause]),
                     "subjects": planted[clause]}
            for clause in CLAUSES
        },
        "near_misses": world.near_misses,
        "unintended": unintended,
        "missing": missing,
        "malformed": [
            {"path": m.path, "line": m.line, "reason": m.reason} for m in world.malformed
        ],
    }
    (out / "_generator").mkdir(exist_ok=True)
    (out / PLANTED_PATH).write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return GenerationReport(out=out, files=landing_files, calls=len(world.calls), planted=planted,
                            violations=violations, emptied=tuple(emptied))
