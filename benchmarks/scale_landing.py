"""A landing zone at a chosen scale, written by DuckDB, with a known violation set.

Design
------
1. The sample generator (:func:`vc_sample.generate.generate`) writes a
   small *planted world*: four accounts, every planted violation and near
   miss, malformed inputs, and ``_generator/planted.json`` with the exact
   expected violations per clause.
2. This module then adds a *bulk background* that is compliant by
   construction, written vectorized by DuckDB (``COPY (select ... from
   range(lo, hi)) TO ...``, pseudo-randomness from ``hash(i, k, seed)``):

   - background accounts, each with ONE home region (``us1``, ``ie1`` or
     ``au1``; so ``cps.multi_region`` cannot fire), two campaigns each (one
     telemarketing, one informational) and a few inventory numbers
     (``twilio_owned`` or ``verified_caller_id``, active since 2025, default
     campaign = the telemarketing one);
   - calls from those numbers to a pool of US callees, each with an
     ``express_written`` voice consent for the account's brand since 2025;
     telemarketing starts between 17:00 and 22:59 UTC (09:00-18:59 local in
     every zone the callee area codes map to, before and after the DST
     change); every answered call has a disclosure row (identity and purpose
     well inside ``disclosure_max_offset_s``, opt-out offered); informational
     calls always carry a ``call_metadata`` row, telemarketing calls half of
     the time (else the inventory default classifies them);
   - about 22% of attempts unanswered, per number and month far fewer than
     ``unanswered_max_count / 5`` attempts, answered durations of 45-644 s
     (above ``acd_min_seconds``); no complaints; opt-outs only for numbers
     never called;
   - bulk do-not-call numbers: extra lines in the two latest full snapshots
     of every registry (``us_national``: ``us_registry`` numbers each) and
     in every change list of the generator's schedule (same dates, so the
     planted freshness gaps stay), in area codes no call ever reaches;
     every tenth background callee is also listed on ``us_national``, which
     their ``express_written`` consent exempts.

   All numbers live in area codes the planted world never uses, so no
   background row can change a planted subject. The policy thresholds are
   read from ``dbt_project/policy.yml`` and checked against the layout
   (:func:`check_policy`), never hard-coded.

Hence ``compliance.policy_violations`` on the whole zone must equal
``_generator/planted.json``; ``tests/integration/test_bench_scale.py``
checks it through ingestion and ``dbt build``.

:func:`land_next_day` adds the incremental day (2026-11-01): one more day of
background calls with their metadata and disclosures, and one
``us_national`` change list.

Run ``python benchmarks/scale_landing.py --size small --out /tmp/zone``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "plugins") not in sys.path:
    sys.path.insert(0, str(REPO / "plugins"))

import duckdb  # noqa: E402
import phonenumbers  # noqa: E402
import yaml  # noqa: E402
from phonenumbers import PhoneNumber  # noqa: E402
from phonenumbers import timezone as pn_timezone  # noqa: E402

from vc_sample.generate import generate  # noqa: E402
from vc_sample.generate.phones import (  # noqa: E402
    _PREFIX_SEEDS,
    FL_AREA_CODES,
    OK_AREA_CODES,
)
from vc_sample.generate.registry import SCHEDULE  # noqa: E402

BENCH_META = "_bench/scale.json"
"""Parameters and counts of the bulk part (outside every contract prefix)."""

START_DAY = date(2026, 9, 1)
DAYS = 61  # 2026-09-01 .. 2026-10-31, the planted world's period
NEXT_DAY = START_DAY + timedelta(days=DAYS)  # 2026-11-01: the incremental day
REGIONS = ("us1", "ie1", "au1")
FORMATS = ("json", "jsonl", "csv", "json.gz", "jsonl.gz", "csv.gz")
PAGE_SIZE = 1000  # Twilio's largest list page
TM_START_S = 17 * 3600  # telemarketing starts in [17:00, 23:00) UTC
TM_SPAN_S = 6 * 3600
TM_SHARE_PCT = 70
UNANSWERED_PCT = 22  # statuses below: 2 completed-0 + 10 no-answer + 5 busy + 3 failed + 2 canceled
DUR_MIN_S, DUR_SPAN_S = 45, 600
CPS_ALLOTTED = 50
REGISTRY_FILE_LINES = 5_000_000
CONSENT_FILE_ROWS = 2_000_000
MAX_CALLS_PER_FILE = 20_000
MAX_ATTEMPTS_PER_NUMBER_MONTH = 2_000
PLANTED_CALLS = 2_000
"""``calls`` of the planted world (it adds ~47,000 planted calls, mostly CPS blocks)."""


@dataclass(frozen=True)
class Scale:
    """How big the bulk background is."""

    name: str
    calls: int  # background calls over the 61 days (rounded to whole files)
    us_registry: int  # extra numbers in each of the two latest us_national full snapshots
    consents: int  # background callees, one express_written consent each

    @property
    def registry_extra(self) -> dict[str, int]:
        """Extra numbers per full snapshot and registry."""
        n = self.us_registry
        return {"us_national": n, "uk_tps": n // 10, "uk_ctps": n // 50, "ca_dncl": n // 10}


SIZES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("tiny", 6_000, 20_000, 600),
        Scale("small", 50_000, 1_250_000, 5_000),
        Scale("250k", 250_000, 6_250_000, 25_000),
        Scale("1M", 1_000_000, 25_000_000, 100_000),
        Scale("national", 10_000_000, 250_000_000, 1_000_000),
    )
}


# ---------------------------------------------------------------- area codes

_GENERATOR_CODES: frozenset[str] = frozenset(
    prefix[:3] for (country, _kind), seeds in _PREFIX_SEEDS.items()
    if country in ("US", "CA") for prefix, _len in seeds
)
_GENERATOR_UK: frozenset[str] = frozenset(
    prefix for (country, _kind), seeds in _PREFIX_SEEDS.items()
    if country == "GB" for prefix, _len in seeds
)
_UK_CITY_CODES = ("113", "114", "115", "116", "117", "118", "121", "131", "141", "151", "161",
                  "191")
"""UK national numbers ``1XX`` + 7 digits whose dialling code is ``01XX`` (else ``01XXX``)."""
_PROBES = ("2000000", "9999999", "5551234", "3456789", "7000001", "8642086")


def _probe(cc: int, npa: str, region: str) -> set[str] | None:
    """Time zones of ``npa`` numbers when every probe is valid in ``region``, else None."""
    zones: set[str] = set()
    for rest in _PROBES:
        num = PhoneNumber(country_code=cc, national_number=int(npa + rest))
        if not phonenumbers.is_valid_number(num):
            return None
        if phonenumbers.region_code_for_number(num) != region:
            return None
        zones.update(pn_timezone.time_zones_for_number(num))
    return zones


def _uk_ok(prefix: str) -> bool:
    """True when every ``prefix`` + 7 digits with a first digit 2-9 is a valid GB number."""
    for first in "23456789":
        for rest in ("000000", "999999", "345678"):
            num = PhoneNumber(country_code=44, national_number=int(prefix + first + rest))
            if not phonenumbers.is_valid_number(num):
                return False
    return True


def _zone_ok(zone: str) -> bool:
    """True when [17:00, 23:00) UTC is inside 09:00-20:00 local, before and after DST."""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        return False
    for day in (START_DAY, NEXT_DAY + timedelta(days=1)):
        for secs in (TM_START_S, TM_START_S + TM_SPAN_S - 1):
            at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=secs)
            local = at.astimezone(tz)
            if not 9 <= local.hour < 20:
                return False
    return True


@dataclass(frozen=True)
class AreaCodes:
    """Disjoint area codes per number family (none used by the planted world)."""

    callees: tuple[str, ...]  # US, one zone each (calling hours hold)
    ours: tuple[str, ...]  # US, the background caller-ID inventory
    us_registry: tuple[str, ...]  # US, bulk registry numbers (never called)
    ca_registry: tuple[str, ...]
    uk_registry: tuple[str, ...]


@cache
def area_codes() -> AreaCodes:
    """Pick the area codes with ``phonenumbers`` (deterministic)."""
    us: list[tuple[str, set[str]]] = []
    ca: list[str] = []
    for npa_int in range(201, 1000):
        npa = str(npa_int)
        if npa[1:] == "11" or npa in _GENERATOR_CODES:
            continue
        if (zones := _probe(1, npa, "US")) is not None:
            if npa not in FL_AREA_CODES and npa not in OK_AREA_CODES:
                us.append((npa, zones))
        elif _probe(1, npa, "CA") is not None:
            ca.append(npa)
    single = [npa for npa, zones in us
              if len(zones) == 1 and next(iter(zones)) in ("America/New_York", "America/Chicago")
              and all(_zone_ok(z) for z in zones)]
    callees = tuple(single[:6])
    ours = tuple(single[6:8])
    rest = tuple(npa for npa, _ in us if npa not in callees + ours)
    uk = tuple(str(c) for c in range(110, 200)
               if str(c) not in _GENERATOR_UK and _uk_ok(str(c)))
    codes = AreaCodes(callees, ours, rest, tuple(ca), uk)
    if len(callees) < 6 or len(ours) < 2 or len(rest) < 40 or len(ca) < 8 or len(uk) < 5:
        raise RuntimeError(f"not enough area codes: {codes}")
    return codes


def _sql_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{x}'" for x in items) + "]"


# 7-digit subscriber part: a bijection of k in [0, 8e6) onto 2000000..9999999.
_LOCAL_MULT = 3_999_997


def _local7(k: str) -> str:
    return f"(2000000 + (({k}) * {_LOCAL_MULT}) % 8000000)::varchar"


def _nanp(codes: tuple[str, ...], k: str) -> str:
    """SQL: (area code, 7 digits) of number ``k`` of a family (unique for k < 8e6*len)."""
    n = len(codes)
    return f"{_sql_list(codes)}[(({k}) % {n}) + 1]", _local7(f"({k}) // {n}")


def _e164(codes: tuple[str, ...], k: str) -> str:
    area, rest = _nanp(codes, k)
    return f"('+1' || {area} || {rest})"


def _pretty(codes: tuple[str, ...], k: str) -> str:
    area, rest = _nanp(codes, k)
    return f"('(' || {area} || ') ' || ({rest})[1:3] || '-' || ({rest})[4:7])"


# ---------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Derived sizes: how call indexes map to files, accounts, numbers and callees.

    Call ``i`` lives in file ``f = i // per_file``; file ``f`` holds day
    ``f // (3 * parts)``, region ``(f // parts) % 3``; so every file is a
    contiguous range of ``i`` and a day is ``3 * parts * per_file`` calls.
    """

    seed: int
    parts: int  # files per region and day
    per_file: int
    accounts_per_region: int
    numbers_per_account: int
    callees_per_account: int

    @property
    def accounts(self) -> int:
        return 3 * self.accounts_per_region

    @property
    def per_day(self) -> int:
        return 3 * self.parts * self.per_file

    @property
    def calls(self) -> int:
        return DAYS * self.per_day

    @property
    def numbers(self) -> int:
        return self.accounts * self.numbers_per_account

    @property
    def pool(self) -> int:
        return self.accounts * self.callees_per_account

    @classmethod
    def for_scale(cls, scale: Scale, seed: int) -> Layout:
        per_region_day = max(1, -(-scale.calls // (DAYS * 3)))
        parts = max(1, -(-per_region_day // MAX_CALLS_PER_FILE))
        per_file = max(1, -(-per_region_day // parts))
        apr = max(1, min(20, scale.calls // 150_000))
        # attempts per number and month <= MAX_ATTEMPTS_PER_NUMBER_MONTH
        per_account_month = per_file * parts * 31 / apr
        npa = max(3, -(-int(per_account_month) // MAX_ATTEMPTS_PER_NUMBER_MONTH))
        cpa = max(20, scale.consents // (3 * apr))
        return cls(seed, parts, per_file, apr, npa, cpa)


def check_policy(layout: Layout, policy: dict[str, object]) -> None:
    """Fail when the background would not be compliant under ``policy``."""
    unanswered_max_ratio = float(policy["unanswered_max_ratio"])  # type: ignore[arg-type]
    unanswered_max_count = int(policy["unanswered_max_count"])  # type: ignore[call-overload]
    problems = []
    if unanswered_max_ratio / 2 <= UNANSWERED_PCT / 100:
        problems.append("unanswered share too close to unanswered_max_ratio")
    per_number_month = layout.per_file * layout.parts * 31 / (
        layout.accounts_per_region * layout.numbers_per_account)
    # Hash draws scatter around the mean: allow 50% on top.
    if per_number_month * 1.5 * UNANSWERED_PCT / 100 >= unanswered_max_count:
        problems.append("unanswered count per number-month may reach unanswered_max_count")
    if float(policy["acd_min_seconds"]) > DUR_MIN_S:  # type: ignore[arg-type]
        problems.append("answered durations below acd_min_seconds")
    if int(policy["disclosure_max_offset_s"]) < 10 + 4:  # type: ignore[call-overload]
        problems.append("disclosure offsets above disclosure_max_offset_s")
    if "express_written" not in policy["dnc_exemption_consent_types"]:  # type: ignore[operator]
        problems.append("express_written no longer exempts listed callees")
    accepted = policy["consent_accepted_types_by_country"].get(  # type: ignore[attr-defined]
        "US", policy["consent_accepted_types_default"])
    if "express_written" not in accepted or "voice" not in policy["consent_channels"]:  # type: ignore[operator]
        problems.append("express_written voice consent not accepted for US")
    if policy["calling_hours_holidays"]:
        problems.append("calling-hours holidays configured: background may fall on one")
    if problems:
        raise RuntimeError("background not compliant under this policy: " + "; ".join(problems))


def load_policy() -> dict[str, object]:
    import os

    path = os.environ.get("VC_POLICY_FILE") or str(REPO / "dbt_project" / "policy.yml")
    return dict(yaml.safe_load(Path(path).read_text()))


# ---------------------------------------------------------------- SQL


def _calls_base(layout: Layout, lo: int, hi: int) -> str:
    """One row per call index in [lo, hi): the drawn facts (no formatting)."""
    s, apr, nacc = layout.seed, layout.accounts_per_region, layout.accounts
    p, pf = layout.parts, layout.per_file
    epoch0 = int(datetime(START_DAY.year, START_DAY.month, START_DAY.day, tzinfo=UTC).timestamp())
    return f"""
    select *,
        case when status = 'completed' then t0 + dur else t0 end as t1,
        'AC' || md5('bench-acct-{s}-' || a) as account_sid,
        'CA' || md5('bench-call-{s}-' || i) as sid
    from (
        select i, d, r, a, j, c, dirn, tm,
            case when st < {100 - UNANSWERED_PCT} then 'completed'
                 when st < {102 - UNANSWERED_PCT} then 'completed'
                 when st < 90 then 'no-answer' when st < 95 then 'busy'
                 when st < 98 then 'failed' else 'canceled' end as status,
            case when st < {100 - UNANSWERED_PCT} then {DUR_MIN_S} + dr else 0 end as dur,
            {epoch0} + d * 86400 + case when tm and dirn >= 5
                then {TM_START_S} + h8 % {TM_SPAN_S} else h8 % 86400 end as t0
        from (
            select i, d, r, a,
                a + {nacc} * (hash(i, 2, {s}) % {layout.numbers_per_account})::bigint as j,
                a + {nacc} * (hash(i, 3, {s}) % {layout.callees_per_account})::bigint as c,
                (hash(i, 4, {s}) % 100)::int as dirn,
                (hash(i, 5, {s}) % 100)::int < {TM_SHARE_PCT} as tm,
                (hash(i, 6, {s}) % 100)::int as st,
                (hash(i, 7, {s}) % {DUR_SPAN_S})::int as dr,
                (hash(i, 8, {s}) % 86400)::bigint as h8
            from (
                select i, f // {3 * p} as d, (f // {p}) % 3 as r,
                    (f // {p}) % 3 + 3 * (hash(i, 1, {s}) % {apr})::bigint as a
                from (select i, i // {pf} as f from range({lo}, {hi}) t(i))
            )
        )
    )"""


def _ts(expr: str, iso: bool) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ" if iso else "%a, %d %b %Y %H:%M:%S +0000"
    return f"strftime(make_timestamp(({expr})::bigint * 1000000), '{fmt}')"


def _call_columns(iso: bool, nested: bool) -> list[tuple[str, str]]:
    """(name, SQL) of every Call resource field, over :func:`_calls_base`."""
    codes = area_codes()
    ours, ours_pretty = _e164(codes.ours, "j"), _pretty(codes.ours, "j")
    callee, callee_pretty = _e164(codes.callees, "c"), _pretty(codes.callees, "c")
    inbound = "dirn < 5"
    direction = ("case when dirn < 5 then 'inbound' when dirn < 70 then 'outbound-api' "
                 "when dirn < 85 then 'outbound-dial' else 'trunking-terminating' end")
    base = "'/2010-04-01/Accounts/' || account_sid || '/Calls/' || sid"
    cols = [
        ("sid", "sid"),
        ("date_created", _ts("t0 - 1", iso)),
        ("date_updated", _ts("t1 + 3", iso)),
        ("parent_call_sid", "null::varchar"),
        ("account_sid", "account_sid"),
        ("to", f"case when {inbound} then {ours} else {callee} end"),
        ("to_formatted", f"case when {inbound} then {ours_pretty} else {callee_pretty} end"),
        ("from", f"case when {inbound} then {callee} else {ours} end"),
        ("from_formatted", f"case when {inbound} then {callee_pretty} else {ours_pretty} end"),
        ("phone_number_sid", "'PN' || md5('bench-pn-' || j)"),
        ("status", "status"),
        ("start_time", _ts("t0", iso)),
        ("end_time", _ts("t1", iso)),
        ("duration", "dur::varchar"),
        ("price", "case when status = 'completed' then "
                  "printf('-%.5f', (dur // 60 + 1) * 0.0013) end"),
        ("price_unit", "'USD'"),
        ("direction", direction),
        ("answered_by", "case when dirn >= 5 and dirn < 70 and dur > 0 then 'human' end"),
        ("api_version", "'2010-04-01'"),
        ("forwarded_from", "null::varchar"),
        ("group_sid", "null::varchar"),
        ("caller_name", "null::varchar"),
        ("queue_time", "'0'"),
        ("trunk_sid", "case when dirn >= 85 then 'TK' || md5('bench-trunk-' || a) end"),
        ("uri", f"{base} || '.json'"),
    ]
    if nested:
        cols.append(("subresource_uris", "{" + ", ".join(
            f"'{k}': {base} || '/{v}.json'"
            for k, v in (("feedback", "Feedback"), ("notifications", "Notifications"),
                         ("recordings", "Recordings"), ("events", "Events"))) + "}"))
    return cols


def _quote(name: str) -> str:
    return '"' + name + '"'


# ---------------------------------------------------------------- writing


class Writer:
    """Runs COPY statements into the landing folder and counts files and rows."""

    def __init__(self, out: Path, threads: int | None = None) -> None:
        self.out = out
        self.con = duckdb.connect()
        self.con.execute("set preserve_insertion_order = true")
        if threads:
            self.con.execute(f"set threads = {threads}")
        self.files = 0
        self.rows: dict[str, int] = {}

    def copy(self, rel: str, select: str, options: str, kind: str, rows: int) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        gz = ", COMPRESSION gzip" if rel.endswith(".gz") else ""
        self.con.execute(f"COPY ({select}) TO '{path}' ({options}{gz})")
        self.files += 1
        self.rows[kind] = self.rows.get(kind, 0) + rows

    def csv(self, rel: str, select: str, kind: str, rows: int) -> None:
        self.copy(rel, select, "FORMAT csv, HEADER true", kind, rows)

    def lines(self, rel: str, select: str, kind: str, rows: int) -> None:
        """One text column, no header, no quoting (tab never occurs in a line)."""
        self.copy(rel, select, "FORMAT csv, HEADER false, DELIMITER '\t'", kind, rows)


def _file_names(layout: Layout, f: int) -> tuple[str, str]:
    day_index, rest = divmod(f, 3 * layout.parts)
    region_index, part = divmod(rest, layout.parts)
    day = (START_DAY + timedelta(days=day_index)).isoformat()
    return REGIONS[region_index], f"bench_calls_{day}_{part:03d}"


def write_calls(w: Writer, layout: Layout, days: range) -> None:
    """The call files of ``days`` (day indexes), formats rotating per file."""
    pf = layout.per_file
    for f in range(days.start * 3 * layout.parts, days.stop * 3 * layout.parts):
        region, stem = _file_names(layout, f)
        day_index, rest = divmod(f, 3 * layout.parts)
        fmt = FORMATS[(day_index + sum(divmod(rest, layout.parts))) % len(FORMATS)]
        lo = f * pf
        folder = f"calls/region={region}"
        if fmt.startswith("json") and not fmt.startswith("jsonl"):
            cols = _call_columns(iso=False, nested=True)
            struct = "{" + ", ".join(f"'{n}': {e}" for n, e in cols) + "}"
            gz = ".gz" if fmt.endswith(".gz") else ""
            pages = range(0, pf, PAGE_SIZE)
            for page, start in enumerate(pages):
                hi = min(lo + start + PAGE_SIZE, lo + pf)
                uri = "/2010-04-01/Accounts/bench/Calls.json?PageSize=1000"
                nxt = f"'{uri}&Page={page + 1}'" if page + 1 < len(pages) else "null::varchar"
                select = (f"select list({struct} order by i) as calls, {page} as page, "
                          f"{PAGE_SIZE} as page_size, {page * PAGE_SIZE} as start, "
                          f"'{uri}&Page={page}' as uri, {nxt} as next_page_uri "
                          f"from ({_calls_base(layout, lo + start, hi)})")
                w.copy(f"{folder}/{stem}_page{page:03d}.json{gz}", select, "FORMAT json",
                       "calls", hi - lo - start)
        elif fmt.startswith("jsonl"):
            cols = _call_columns(iso=False, nested=True)
            select = ", ".join(f"{e} as {_quote(n)}" for n, e in cols)
            w.copy(f"{folder}/{stem}.{fmt}",
                   f"select {select} from ({_calls_base(layout, lo, lo + pf)}) order by i",
                   "FORMAT json", "calls", pf)
        else:
            iso = fmt.endswith(".gz")  # like the generator: .csv.gz files use ISO 8601
            cols = [*_call_columns(iso=iso, nested=False),
                    ("exported_at", f"'{stem[12:22]}T23:59:59Z'"),
                    ("export_batch", f"'bench-{stem[12:22]}-{region}'")]
            random.Random(f"{layout.seed}/{f}").shuffle(cols)
            select = ", ".join(f"{e} as {_quote(n)}" for n, e in cols)
            w.csv(f"{folder}/{stem}.{fmt}",
                  f"select {select} from ({_calls_base(layout, lo, lo + pf)}) order by i",
                  "calls", pf)


def _day_range(layout: Layout, days: range) -> tuple[int, int]:
    return days.start * layout.per_day, days.stop * layout.per_day


def write_call_exports(w: Writer, layout: Layout, days: range, label: str, gz: bool) -> None:
    """call_metadata and disclosures for the calls of ``days``."""
    lo, hi = _day_range(layout, days)
    base = _calls_base(layout, lo, hi)
    s = layout.seed
    suffix = ".csv.gz" if gz else ".csv"
    # Informational calls always name their campaign; telemarketing half of the time.
    with_meta = f"dirn >= 5 and (not tm or hash(i, 9, {s}) % 2 = 0)"
    w.csv(f"call_metadata/bench_call_metadata_{label}{suffix}",
          f"""select sid as call_sid,
                case when tm then 'bench_tm_' else 'bench_info_' end || a as campaign_id
              from ({base}) where {with_meta} order by i""",
          "call_metadata", _count(w, base, with_meta))
    w.csv(f"disclosures/bench_disclosures_{label}{suffix}",
          f"""select sid as call_sid,
                1 + (hash(i, 10, {s}) % 10)::int as identity_disclosed_at_s,
                1 + (hash(i, 10, {s}) % 10)::int + (hash(i, 11, {s}) % 5)::int
                    as purpose_disclosed_at_s,
                'true' as opt_out_offered
              from ({base}) where dirn >= 5 and dur > 0 order by i""",
          "disclosures", _count(w, base, "dirn >= 5 and dur > 0"))


def _count(w: Writer, base: str, where: str) -> int:
    row = w.con.execute(f"select count(*) from ({base}) where {where}").fetchone()
    return int(row[0]) if row else 0


def write_exports(w: Writer, layout: Layout) -> None:
    """Accounts, campaigns, inventory, consents, opt-outs, and per month the
    call metadata and disclosures."""
    s, nacc = layout.seed, layout.accounts
    acct = f"'AC' || md5('bench-acct-{s}-' || a)"
    brand = "'Bench Brand ' || a"
    w.csv("accounts/bench_accounts.csv",
          f"select {acct} as account_sid, {_sql_list(REGIONS)}[a % 3 + 1] as region, "
          f"{CPS_ALLOTTED} as cps_allotted from range({nacc}) t(a)", "accounts", nacc)
    w.csv("campaigns/bench_campaigns.csv",
          f"""select p || a as campaign_id, {acct} as account_sid, {brand} as brand,
                case when p = 'bench_tm_' then 'telemarketing' else 'informational' end as purpose
              from range({nacc}) t(a), (values ('bench_tm_'), ('bench_info_')) v(p)
              order by a, p desc""", "campaigns", 2 * nacc)
    codes = area_codes()
    w.csv("numbers/bench_numbers.csv",
          f"""select {_e164(codes.ours, 'j')} as phone_number,
                'AC' || md5('bench-acct-{s}-' || (j % {nacc})) as account_sid,
                case when j % 7 = 3 then 'verified_caller_id' else 'twilio_owned' end as kind,
                '2025-01-01T00:00:00Z' as active_from, null::varchar as active_to,
                'bench_tm_' || (j % {nacc}) as default_campaign_id
              from range({layout.numbers}) t(j)""", "numbers", layout.numbers)
    # Consents: callee c belongs to account c % nacc; messy but US-parseable forms.
    area, rest = _nanp(codes.callees, "c")
    phone = (f"case c % 3 when 0 then '+1' || {area} || {rest} "
             f"when 1 then '(' || {area} || ') ' || ({rest})[1:3] || '-' || ({rest})[4:7] "
             f"else {area} || '.' || ({rest})[1:3] || '.' || ({rest})[4:7] end")
    pool = layout.pool
    for n, lo in enumerate(range(0, pool, CONSENT_FILE_ROWS)):
        hi = min(pool, lo + CONSENT_FILE_ROWS)
        suffix = ".csv.gz" if n % 2 else ".csv"
        w.csv(f"consent/bench_consent_{n:03d}{suffix}",
              f"""select {phone} as phone_number, 'Bench Brand ' || (c % {nacc}) as brand,
                    'express_written' as consent_type,
                    case when c % 4 = 0 then 'all' else 'voice' end as channel,
                    strftime(make_timestamp(1735689600000000
                        + (hash(c, 12, {s}) % 31536000)::bigint * 1000000),
                        '%Y-%m-%dT%H:%M:%SZ') as granted_at,
                    null::varchar as revoked_at, 'bench_crm' as source, 'EV-B' || c as evidence_ref
                  from range({lo}, {hi}) t(c)""", "consent", hi - lo)
    # Opt-outs of callees that are never called (indexes past the pool).
    optouts = max(10, pool // 100)
    w.csv("optouts/bench_optouts.csv",
          f"""select {_e164(codes.callees, 'c')} as phone_number,
                case when c % 2 = 0 then 'Bench Brand ' || (c % {nacc}) end as brand,
                '2026-06-15T12:00:00Z' as requested_at, 'web' as method, null::varchar as call_sid
              from range({pool}, {pool + optouts}) t(c)""", "optouts", optouts)
    write_call_exports(w, layout, range(0, 30), "2026-09", gz=False)
    write_call_exports(w, layout, range(30, DAYS), "2026-10", gz=True)


def _registry_line(registry: str, k: str, changes: str | None, day: str) -> str:
    """SQL of one registry line for extra number ``k`` (``changes``: SQL of 'A'/'D')."""
    codes = area_codes()
    if registry.startswith("uk_"):
        n = len(codes.uk_registry)
        code = f"{_sql_list(codes.uk_registry)}[(({k}) % {n}) + 1]"
        rest = _local7(f"({k}) // {n}")
        # A space between dialling code and remainder on every other line.
        space = (f"case when ({k}) % 2 = 0 and {code} in {tuple(_UK_CITY_CODES)} then ' ' "
                 f"when ({k}) % 2 = 0 then (({rest})[1:1] || ' ') else '' end")
        rest_spaced = (f"case when ({k}) % 2 = 0 and {code} not in {tuple(_UK_CITY_CODES)} "
                       f"then ({rest})[2:] else {rest} end")
        number = f"'0' || {code} || {space} || {rest_spaced}"
        return number if changes is None else f"{number} || ',' || {changes}"
    family = codes.us_registry if registry == "us_national" else codes.ca_registry
    area, rest = _nanp(family, k)
    if changes is None:
        return f"{area} || case when ({k}) % 2 = 0 then ',' else '' end || {rest}"
    dated = f" || ',{day}'" if registry == "us_national" else ""
    return f"{area} || ',' || {rest} || ',' || {changes}{dated}"


def _registry_plan(scale: Scale) -> Iterator[tuple[str, str, str, int, int, int, int]]:
    """(registry, kind, day, lo, hi, del_lo, del_hi) of every extra registry file set.

    Full snapshots hold extra numbers ``[lo, hi)``; change lists add the new
    numbers ``[lo, hi)`` and delete ``[del_lo, del_hi)``, numbers of the
    first snapshot.
    """
    for registry, dated in SCHEDULE.items():
        n = scale.registry_extra[registry]
        fulls = [day for day, kind in dated if kind == "full"][-2:]
        changes = [day for day, kind in dated if kind == "changes"]
        for idx, day in enumerate(fulls):
            shift = idx * (n // 100)  # the later snapshot drops 1% and adds 1%
            yield registry, "full", day, shift, n + shift, 0, 0
        adds, deletes = max(1, n // 1000), max(1, n // 2000)
        for idx, day in enumerate(changes):
            lo = n + n // 50 + idx * adds
            del_lo = n // 4 + idx * deletes
            yield registry, "changes", day, lo, lo + adds, del_lo, del_lo + deletes


def write_registry_set(w: Writer, registry: str, kind: str, day: str, lo: int, hi: int,
                       del_lo: int, del_hi: int, tag: str = "bench_extra") -> None:
    folder = f"dnc/{registry}/{kind}/{day}"
    if kind == "full":
        for n, start in enumerate(range(lo, hi, REGISTRY_FILE_LINES)):
            stop = min(hi, start + REGISTRY_FILE_LINES)
            suffix = ".txt.gz" if n % 2 else ".txt"
            w.lines(f"{folder}/{tag}_{n:03d}{suffix}",
                    f"select {_registry_line(registry, 'k', None, day)} "
                    f"from range({start}, {stop}) t(k)", "registry_lines", stop - start)
        return
    add = _registry_line(registry, "k", "'A'", day)
    delete = _registry_line(registry, "k", "'D'", day)
    select = (f"select {add} from range({lo}, {hi}) t(k) union all "
              f"select {delete} "
              f"from range({del_lo}, {del_hi}) t(k)")
    w.lines(f"{folder}/{tag}.txt", select, "registry_lines", hi - lo + del_hi - del_lo)


def write_callee_listings(w: Writer, layout: Layout) -> None:
    """Every tenth callee on us_national (exempt: express_written consent)."""
    codes = area_codes()
    area, rest = _nanp(codes.callees, "c")
    listed = -(-layout.pool // 10)
    for registry, dated in (("us_national", SCHEDULE["us_national"]),):
        for day in [d for d, kind in dated if kind == "full"][-2:]:
            w.lines(f"dnc/{registry}/full/{day}/bench_callees.txt",
                    f"select {area} || {rest} from range(0, {layout.pool}, 10) t(c)",
                    "registry_lines", listed)


def build(out: Path, scale: Scale, seed: int = 7, threads: int | None = None) -> dict[str, object]:
    """Write the planted world, then the bulk background, into ``out`` (replaced)."""
    layout = Layout.for_scale(scale, seed)
    check_policy(layout, load_policy())
    timings: dict[str, float] = {}
    started = time.monotonic()
    report = generate(out, seed=seed, calls=PLANTED_CALLS)
    timings["planted_world_s"] = time.monotonic() - started
    w = Writer(out, threads)
    t = time.monotonic()
    write_calls(w, layout, range(0, DAYS))
    timings["calls_s"] = time.monotonic() - t
    t = time.monotonic()
    write_exports(w, layout)
    timings["exports_s"] = time.monotonic() - t
    t = time.monotonic()
    for plan in _registry_plan(scale):
        write_registry_set(w, *plan)
    write_callee_listings(w, layout)
    timings["registries_s"] = time.monotonic() - t
    timings["total_s"] = time.monotonic() - started
    meta: dict[str, object] = {
        "scale": asdict(scale),
        "layout": {**asdict(layout), "accounts": layout.accounts, "calls": layout.calls,
                   "per_day": layout.per_day, "numbers": layout.numbers, "pool": layout.pool},
        "area_codes": asdict(area_codes()),
        "planted_world": {"calls": report.calls, "files": report.files},
        "bulk": {"files": w.files, "rows": w.rows},
        "timings": timings,
        "next_day": None,
    }
    (out / "_bench").mkdir(exist_ok=True)
    (out / BENCH_META).write_text(json.dumps(meta, indent=2) + "\n")
    w.con.close()
    return meta


def land_next_day(out: Path) -> dict[str, object]:
    """Land the incremental day (2026-11-01): calls, their exports, a us_national change list."""
    meta = json.loads((out / BENCH_META).read_text())
    layout = Layout(**{k: meta["layout"][k] for k in (
        "seed", "parts", "per_file", "accounts_per_region", "numbers_per_account",
        "callees_per_account")})
    scale = Scale(**meta["scale"])
    w = Writer(out)
    started = time.monotonic()
    write_calls(w, layout, range(DAYS, DAYS + 1))
    write_call_exports(w, layout, range(DAYS, DAYS + 1), NEXT_DAY.isoformat(), gz=False)
    n = scale.registry_extra["us_national"]
    lo = 2 * n  # fresh numbers, never listed before
    del_lo = n // 2
    write_registry_set(w, "us_national", "changes", NEXT_DAY.isoformat(), lo,
                       lo + max(1, n // 1000), del_lo, del_lo + max(1, n // 2000))
    meta["next_day"] = {"day": NEXT_DAY.isoformat(), "files": w.files, "rows": w.rows,
                        "seconds": time.monotonic() - started}
    (out / BENCH_META).write_text(json.dumps(meta, indent=2) + "\n")
    w.con.close()
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--next-day", action="store_true",
                        help="land the incremental day into an existing scale zone")
    args = parser.parse_args(argv)
    if args.next_day:
        meta = land_next_day(args.out)
    else:
        meta = build(args.out, SIZES[args.size], args.seed, args.threads)
    print(json.dumps({k: meta[k] for k in ("bulk", "timings", "next_day") if k in meta}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
