"""Rendering calls as Twilio Call resources (the REST API's field set)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from .model import Call
from .phones import pretty

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
API = "2010-04-01"

CSV_FIELDS: tuple[str, ...] = (
    "sid", "date_created", "date_updated", "parent_call_sid", "account_sid", "to",
    "to_formatted", "from", "from_formatted", "phone_number_sid", "status", "start_time",
    "end_time", "duration", "price", "price_unit", "direction", "answered_by", "api_version",
    "forwarded_from", "group_sid", "caller_name", "queue_time", "trunk_sid", "uri",
)
"""Call resource fields as CSV columns (everything except the nested sub-resource URIs)."""


_HMS: list[str] = [f"{h:02d}:{m:02d}:{sec:02d} +0000"
                   for h in range(24) for m in range(60) for sec in range(60)]
_DAY_PREFIX: dict[int, str] = {}


def rfc2822(t: int | None) -> str | None:
    """Twilio's timestamp format: ``Tue, 10 Aug 2010 08:02:17 +0000``."""
    if t is None:
        return None
    day, sod = divmod(t, 86_400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        g = time.gmtime(t)
        prefix = _DAY_PREFIX[day] = (
            f"{_DAYS[g.tm_wday]}, {g.tm_mday:02d} {_MONTHS[g.tm_mon - 1]} {g.tm_year} ")
    return prefix + _HMS[sod]


def iso(t: int | None, offset_minutes: int = 0) -> str:
    """ISO 8601 with ``Z`` (offset 0) or an explicit offset; empty for None."""
    if t is None:
        return ""
    if offset_minutes == 0:
        g = time.gmtime(t)
        return (f"{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}T"
                f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d}Z")
    tz = timezone(timedelta(minutes=offset_minutes))
    return datetime.fromtimestamp(t, UTC).astimezone(tz).isoformat()


def resource(call: Call, stale: bool = False, *, pn_sid: str = "",
             stamp: Callable[[int | None], str | None] = rfc2822) -> dict[str, object]:
    """The Call resource of ``call`` (its final state, or an older in-progress copy).

    ``stamp`` renders timestamps (RFC 2822 as the API returns them by default).
    """
    status = call.status
    start = call.start
    duration: str | None = str(call.duration)
    if status == "completed":
        end: int | None = start + call.duration
    elif status in ("in-progress", "ringing", "queued"):
        end, duration = None, None
    else:
        end = start
    updated = (end if end is not None else start) + 3
    if stale:
        status = "in-progress" if call.status == "completed" else "queued"
        end, duration, updated = None, None, start + 2
    outbound = call.direction != "inbound" and call.direction != "trunking-originating"
    price = None
    if status == "completed" and not stale:
        cents = (call.duration // 60 + 1) * (13 if outbound else 85)
        price = f"-{cents / 10_000:.5f}"
    sid, acct = call.sid, call.account_sid
    base = f"/{API}/Accounts/{acct}/Calls/{sid}"
    return {
        "sid": sid,
        "date_created": stamp(start - 1),
        "date_updated": stamp(updated),
        "parent_call_sid": call.parent_sid,
        "account_sid": acct,
        "to": call.to,
        "to_formatted": pretty(call.to),
        "from": call.from_,
        "from_formatted": pretty(call.from_),
        "phone_number_sid": pn_sid or None,
        "status": status,
        "start_time": stamp(start),
        "end_time": stamp(end),
        "duration": duration,
        "price": price,
        "price_unit": "USD",
        "direction": call.direction,
        "answered_by": _answered_by(call, status),
        "annotation": None,
        "api_version": API,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": call.trunk_sid,
        "uri": base + ".json",
        "subresource_uris": {
            "feedback": base + "/Feedback.json",
            "notifications": base + "/Notifications.json",
            "recordings": base + "/Recordings.json",
            "streams": base + "/Streams.json",
            "payments": base + "/Payments.json",
            "siprec": base + "/Siprec.json",
            "events": base + "/Events.json",
            "feedback_summaries": f"/{API}/Accounts/{acct}/Calls/FeedbackSummary.json",
        },
    }


def _answered_by(call: Call, status: str) -> str | None:
    if call.direction != "outbound-api" or status != "completed" or call.duration <= 0:
        return None
    return "human" if call.sid[-1] in "0123456789ab" else "machine_end_beep"


def page(calls: list[dict[str, object]], account_sid: str, number: int, size: int,
         last: bool) -> dict[str, object]:
    """A Calls list page as ``GET /2010-04-01/Accounts/{sid}/Calls.json`` returns it."""
    uri = f"/{API}/Accounts/{account_sid}/Calls.json"
    start = number * size
    return {
        "calls": calls,
        "end": start + len(calls) - 1,
        "first_page_uri": f"{uri}?PageSize={size}&Page=0",
        "next_page_uri": None if last else f"{uri}?PageSize={size}&Page={number + 1}",
        "page": number,
        "page_size": size,
        "previous_page_uri": None if number == 0 else f"{uri}?PageSize={size}&Page={number - 1}",
        "start": start,
        "uri": f"{uri}?PageSize={size}&Page={number}",
    }
