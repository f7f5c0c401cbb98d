"""Deliberately malformed landing inputs, each recorded with the reason it must
be quarantined. Broken call rows are inbound calls (never rule subjects) or
stale copies of calls whose final version is elsewhere, so the violations
are the same whether a loader salvages them or not."""

from __future__ import annotations

import gzip
import json
import zlib

from .context import Ctx
from .model import Call, Malformed, ts
from .twilio import CSV_FIELDS, resource
from .writers import EXTRA_COLUMNS, Sink, csv_bytes


def _inbound(ctx: Ctx, region: str, start: int) -> Call:
    acct = ctx.dispatch
    ours = ctx.specs[acct.sid].from_rows[0].phone_number
    callee = ctx.specs[acct.sid].pool[0].phone
    return Call(ctx.sid(), acct.sid, region, "inbound", callee, ours, "completed", 42, start)


def _stale_sources(ctx: Ctx, region: str, count: int) -> list[Call]:
    pool = [c for c in ctx.world.calls if c.loaded and c.region == region and ctx.outbound(c)]
    if not pool:
        # Only a clean world with almost no background calls has none to copy.
        return []
    return [pool[ctx.rng.randrange(len(pool))] for _ in range(count)]


def write_malformed(ctx: Ctx, sink: Sink) -> None:
    """Write the broken files and record every malformed row or file."""
    bad = ctx.world.malformed
    dumps = json.dumps

    # 1. JSONL with a call missing its sid, an unparseable start_time, and a non-JSON line.
    rel = "calls/region=us1/calls_replay_2026-10-03.jsonl"
    lines = [dumps(resource(_inbound(ctx, "us1", ts(2026, 10, 3, 9, i)))) for i in range(4)]
    lines += [dumps(resource(c, stale=True)) for c in _stale_sources(ctx, "us1", 3)]
    no_sid = resource(_inbound(ctx, "us1", ts(2026, 10, 3, 10)))
    del no_sid["sid"]
    lines.append(dumps(no_sid))
    bad.append(Malformed(rel, len(lines), "call resource without a sid"))
    bad_time = resource(_inbound(ctx, "us1", ts(2026, 10, 3, 11)))
    bad_time["start_time"] = "Thu, 31 Sep 2026 25:61:00 +0000"
    lines.append(dumps(bad_time))
    bad.append(Malformed(rel, len(lines), "unparseable start_time"))
    lines.append(dumps(resource(_inbound(ctx, "us1", ts(2026, 10, 3, 12))))[:57])
    bad.append(Malformed(rel, len(lines), "line is not valid JSON (cut off)"))
    lines += [dumps(resource(_inbound(ctx, "us1", ts(2026, 10, 3, 13, i)))) for i in range(2)]
    sink.write(rel, ("\n".join(lines) + "\n").encode())

    # 2. CSV with a short row and a row with invalid UTF-8 bytes.
    rel = "calls/region=ie1/calls_backfill_2026-09-20.csv"
    cols = list(CSV_FIELDS) + list(EXTRA_COLUMNS)
    items = [resource(_inbound(ctx, "ie1", ts(2026, 9, 20, 8, i))) for i in range(3)]
    items += [resource(c, stale=True) for c in _stale_sources(ctx, "ie1", 2)]
    rows = [[it.get(c) for c in cols] for it in items]
    body = csv_bytes(cols, rows)
    short = resource(_inbound(ctx, "ie1", ts(2026, 9, 20, 9)))
    short_row = [short.get(c) for c in cols][:-6]
    body += csv_bytes(["x"], [short_row]).split(b"\n", 1)[1]
    reason = f"wrong column count ({len(short_row)} of {len(cols)})"
    bad.append(Malformed(rel, len(rows) + 2, reason))
    broken = resource(_inbound(ctx, "ie1", ts(2026, 9, 20, 10)))
    broken["caller_name"] = "CALLER_NAME_PLACEHOLDER"
    raw = csv_bytes(["x"], [[broken.get(c) for c in cols]]).split(b"\n", 1)[1]
    body += raw.replace(b"CALLER_NAME_PLACEHOLDER", b"M\xfcller \xff\xfe GmbH")
    bad.append(Malformed(rel, len(rows) + 3, "invalid UTF-8 bytes in caller_name"))
    tail = resource(_inbound(ctx, "ie1", ts(2026, 9, 20, 11)))
    body += csv_bytes(["x"], [[tail.get(c) for c in cols]]).split(b"\n", 1)[1]
    sink.write_raw(rel, body)

    # 3. A gzip file cut mid-stream: stale copies only, several whole lines survive.
    rel = "calls/region=us1/calls_retry_2026-10-09.jsonl.gz"
    sources = _stale_sources(ctx, "us1", 60)
    data = "".join(dumps(resource(c, stale=True)) + "\n" for c in sources).encode()
    packed = gzip.compress(data, compresslevel=6, mtime=0)
    cut = packed[: len(packed) * 55 // 100]
    recovered = zlib.decompressobj(wbits=31).decompress(cut)
    whole = recovered.count(b"\n")
    sink.write_raw(rel, cut)
    bad.append(Malformed(rel, None, f"truncated gzip stream ({len(cut)} of {len(packed)} bytes; "
                                    f"{whole} complete lines of {len(sources)} before the cut, "
                                    "all stale copies of calls whose final version is elsewhere)"))

    # 4. An empty file.
    rel = "calls/region=au1/calls_2026-10-31_tail.jsonl"
    sink.write_raw(rel, b"")
    bad.append(Malformed(rel, None, "empty file (no rows)"))
