"""Writing the world as a landing zone in exactly the contract.md layout.

Calls go to ``calls/region=<r>/`` as Twilio list pages (``.json``), JSON
lines (``.jsonl``) and CSV (``.csv``, with extra unknown columns and a
per-file column order), a third of them gzip-compressed; exports are CSV
with messy phone formats; registries are text files per effective date.
All output is deterministic: no clocks, gzip ``mtime=0``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from .model import Call, Malformed, World, month_of, utc_date
from .phones import messy, nanp_parts, uk_national
from .twilio import CSV_FIELDS, iso, page, resource, rfc2822

FORMATS = ("json", "jsonl", "csv", "json.gz", "jsonl.gz", "csv.gz")
PAGE_SIZE = 500
EXTRA_COLUMNS = ("exported_at", "export_batch")
CALL_CSV_COLUMNS: tuple[str, ...] = CSV_FIELDS + EXTRA_COLUMNS
"""Columns of the calls CSV files (each file shuffles their order)."""

EXPORT_HEADERS: dict[str, tuple[str, ...]] = {
    "call_metadata/": ("call_sid", "campaign_id"),
    "campaigns/": ("campaign_id", "account_sid", "brand", "purpose"),
    "numbers/": ("phone_number", "account_sid", "kind", "active_from", "active_to",
                 "default_campaign_id"),
    "accounts/": ("account_sid", "region", "cps_allotted"),
    "consent/": ("phone_number", "brand", "consent_type", "channel", "granted_at", "revoked_at",
                 "source", "evidence_ref"),
    "optouts/": ("phone_number", "brand", "requested_at", "method", "call_sid"),
    "disclosures/": ("call_sid", "identity_disclosed_at_s", "purpose_disclosed_at_s",
                     "opt_out_offered"),
    "complaints/": ("complaint_id", "received_at", "source", "caller_id", "callee", "call_sid",
                    "category"),
    "dnc/internal/": ("phone_number", "added_at", "brand", "reason"),
}
"""The CSV header of each export folder of contract.md, in the contract's column
order (one place, shared with the empty files of a correction re-export)."""


class Sink:
    """Writes files under ``out`` and counts them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: list[str] = []

    def write(self, rel: str, data: bytes) -> None:
        """Write ``data`` (gzip-compressed deterministically when ``rel`` ends with .gz)."""
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".gz"):
            data = gzip.compress(data, compresslevel=4, mtime=0)
        path.write_bytes(data)
        self.files.append(rel)

    def write_raw(self, rel: str, data: bytes) -> None:
        """Write bytes as they are (used for deliberately broken files)."""
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files.append(rel)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV with a header row; None renders as an empty field."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode()


def _csv_value(v: object) -> object:
    return "" if v is None else v


def write_calls(sink: Sink, world: World, rng: random.Random) -> int:
    """Write every loaded call (plus stale copies); return the number of records."""
    groups: dict[tuple[str, str, str], list[Call]] = defaultdict(list)
    for call in world.calls:
        if call.loaded:
            groups[(call.region, utc_date(call.start).isoformat(), call.account_sid)].append(call)
    keys = sorted(groups)
    # Stale copies go to the next day's file of the same region and account.
    stale: dict[tuple[str, str, str], list[Call]] = defaultdict(list)
    by_ra: dict[tuple[str, str], list[str]] = defaultdict(list)
    for region, day, acct in keys:
        by_ra[(region, acct)].append(day)
    for (region, acct), days in by_ra.items():
        for i, day in enumerate(days):
            target = days[i + 1] if i + 1 < len(days) else days[i - 1] if i else day
            stale[(region, target, acct)].extend(
                c for c in groups[(region, day, acct)] if c.stale)
    records = 0
    pn_sids: dict[str, str] = {}
    for n, key in enumerate(keys):
        region, day, acct = key
        calls = sorted(groups[key], key=lambda c: (c.start, c.sid))
        fmt = FORMATS[(n * 7 + len(region)) % len(FORMATS)]
        stamp = iso if fmt == "csv.gz" else rfc2822
        items = [resource(c, pn_sid=_pn(pn_sids, c, rng), stamp=stamp) for c in calls]
        items += [resource(c, stale=True, pn_sid=_pn(pn_sids, c, rng), stamp=stamp)
                  for c in stale[key]]
        records += len(items)
        stem = f"calls/region={region}/calls_{day}_{acct[-8:]}"
        if fmt in ("json", "json.gz"):
            gz = ".gz" if fmt.endswith(".gz") else ""
            pages = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)] or [[]]
            for p, chunk in enumerate(pages):
                body = page(chunk, acct, p, PAGE_SIZE, p == len(pages) - 1)
                sink.write(f"{stem}_page{p:03d}.json{gz}", json.dumps(body).encode())
        elif fmt.startswith("jsonl"):
            gz = ".gz" if fmt.endswith(".gz") else ""
            data = "".join(json.dumps(it, separators=(",", ":")) + "\n" for it in items)
            sink.write(f"{stem}.jsonl{gz}", data.encode())
        else:
            gz = ".gz" if fmt.endswith(".gz") else ""
            cols = list(CALL_CSV_COLUMNS)
            rng.shuffle(cols)
            batch = f"batch-{day}-{region}"
            exported = f"{day}T23:59:59Z"
            rows = []
            for it in items:
                it = dict(it, exported_at=exported, export_batch=batch)
                rows.append([_csv_value(it[c]) for c in cols])
            sink.write(f"{stem}.csv{gz}", csv_bytes(cols, rows))
    return records


def _pn(cache: dict[str, str], call: Call, rng: random.Random) -> str:
    ours = call.to if call.direction in ("inbound", "trunking-originating") else call.from_
    if ours not in cache:
        cache[ours] = f"PN{rng.getrandbits(128):032x}"
    return cache[ours]


def write_exports(sink: Sink, world: World, rng: random.Random) -> None:
    """call_metadata, campaigns, numbers, accounts, consent, optouts, disclosures,
    complaints and the internal do-not-call list."""
    months = {c.sid: month_of(c.start) for c in world.calls}
    meta = [(c.sid, c.campaign_meta) for c in world.calls if c.campaign_meta and c.loaded]
    meta.sort()
    sink.write("call_metadata/call_metadata_2026-09.csv",
               csv_bytes(EXPORT_HEADERS["call_metadata/"],
                         [m for m in meta if months[m[0]] == "2026-09"]))
    sink.write("call_metadata/call_metadata_2026-10.csv.gz",
               csv_bytes(("campaign_id", "call_sid", "source_system"),
                         [(cid, sid, "dialer") for sid, cid in meta if months[sid] != "2026-09"]))
    sink.write("campaigns/campaigns.csv", csv_bytes(
        EXPORT_HEADERS["campaigns/"],
        [(c.campaign_id, c.account_sid, c.brand, c.purpose) for c in world.campaigns.values()]))
    sink.write("numbers/caller_id_inventory.csv", csv_bytes(
        EXPORT_HEADERS["numbers/"],
        [(r.phone_number, r.account_sid, r.kind, iso(r.active_from), iso(r.active_to),
          r.default_campaign_id) for r in world.inventory]))
    sink.write("accounts/accounts.csv", csv_bytes(
        EXPORT_HEADERS["accounts/"],
        [(a.sid, region, cps) for a in world.accounts for region, cps in a.regions.items()]))

    header = EXPORT_HEADERS["consent/"]
    rows = [(messy(c.phone, rng), c.brand, c.consent_type, c.channel,
             iso(c.granted_at, _offset(rng)), iso(c.revoked_at, _offset(rng)), c.source,
             c.evidence_ref) for c in world.consents]
    split = len(rows) * 3 // 4
    main = rows[:split]
    for phone, brand, bad in world.malformed_consent:
        at = len(main) // 2
        main.insert(at, (messy(phone, rng), brand, "express", "voice", bad, "", "web_form",
                         "EV-BROKEN"))
        world.malformed.append(Malformed("consent/consent_crm_export.csv", at + 2,
                                         f"unparseable granted_at {bad!r}"))
    sink.write("consent/consent_crm_export.csv", csv_bytes(header, main))
    sink.write("consent/consent_legacy_import.csv.gz", csv_bytes(header, rows[split:]))

    sink.write("optouts/optouts.csv", csv_bytes(
        EXPORT_HEADERS["optouts/"],
        [(messy(o.phone, rng), o.brand, iso(o.requested_at, _offset(rng)), o.method, o.call_sid)
         for o in world.optouts]))
    disc_header = EXPORT_HEADERS["disclosures/"]
    disc = sorted(world.disclosures.values(), key=lambda d: d.call_sid)
    for month, suffix in (("2026-09", ".csv"), ("2026-10", ".csv.gz")):
        sink.write(f"disclosures/disclosures_{month}{suffix}", csv_bytes(disc_header, [
            (d.call_sid, d.identity_s, d.purpose_s, "true" if d.opt_out_offered else "false")
            for d in disc if months.get(d.call_sid) == month]))
    sink.write("complaints/complaints.csv", csv_bytes(
        EXPORT_HEADERS["complaints/"],
        [(c.complaint_id, iso(c.received_at), c.source, messy(c.caller_id, rng),
          messy(c.callee, rng) if c.callee else None, c.call_sid, c.category)
         for c in world.complaints]))
    sink.write("dnc/internal/internal_dnc.csv", csv_bytes(
        EXPORT_HEADERS["dnc/internal/"],
        [(messy(d.phone, rng), iso(d.added_at, _offset(rng)), d.brand, d.reason)
         for d in world.internal_dnc]))


def _offset(rng: random.Random) -> int:
    """Mostly UTC; sometimes a US or European offset (same instant)."""
    r = rng.random()
    return 0 if r < 0.8 else (-240 if r < 0.9 else 120)


def write_registries(sink: Sink, world: World, rng: random.Random) -> None:
    """Full snapshots and change lists in the registry formats of contract.md."""
    count: dict[tuple[str, str, str], int] = defaultdict(int)
    for f in world.registry_files:
        uk = f.registry.startswith("uk_")
        day = f.effective.isoformat()
        if f.kind == "full":
            lines = [_reg_number(n, uk, rng) for n in f.numbers]
            chunks = [lines[i : i + 4000] for i in range(0, len(lines), 4000)] or [[]]
        else:
            dated = f.registry == "us_national"
            lines = [f"{_reg_number(n, uk, rng, changes=True)},{op}" + (f",{day}" if dated else "")
                     for n, op in f.ops]
            chunks = [lines]
        for chunk in chunks:
            key = (f.registry, f.kind, day)
            idx = count[key]
            count[key] += 1
            sink.write(f"dnc/{f.registry}/{f.kind}/{day}/{f.registry}_{f.kind}_{idx:03d}.txt",
                       ("\n".join(chunk) + "\n").encode() if chunk else b"")


def _reg_number(e164: str, uk: bool, rng: random.Random, changes: bool = False) -> str:
    if uk:
        code, rest = uk_national(e164)
        return f"{code} {rest}" if rng.random() < 0.5 else code + rest
    area, rest = nanp_parts(e164)
    if changes or rng.random() < 0.5:
        return f"{area},{rest}"
    return area + rest
