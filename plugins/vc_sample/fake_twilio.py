"""A local stand-in for Twilio's REST API, serving a landing zone's calls.

Tooling, not pipeline (hence in ``vc_sample``, which no DAG imports): the
tests and ``python -m voice_compliance demo --twilio-fake`` use it so the
puller can be seen working without a Twilio account. It reads the Call
resources under ``calls/region=<r>/`` of a local landing folder (list
pages, JSON lines, CSV, gzipped or not), keeps the latest version of each
call (greatest ``date_updated``, as staging does) and serves, on one ``http://127.0.0.1:<port>``:

* ``/<region>/2010-04-01/Accounts/<AC>/Calls.json``: the Calls list of that
  home region (each region is its own base URL, with its own credentials),
  filtered by ``StartTime>`` / ``StartTime>=`` / ``StartTime<`` /
  ``StartTime`` (UTC dates), newest first, ``PageSize`` up to 1000, pages
  linked by ``next_page_uri`` (with a ``PageToken``, like Twilio);
* ``/<region>/2010-04-01/Accounts.json``: the main account and its
  subaccounts (paged like the Calls list; a subaccount's ``status`` from
  :attr:`FakeTwilio.account_status`, ``active`` by default; a region in
  :attr:`FakeTwilio.standard_key_regions` refuses it with 401, as Twilio
  refuses a Standard API key);
* ``/bulkexports/v1/Exports/Calls/Days`` (paged, ``meta.next_page_url``
  absolute on ``bulkexports.twilio.com`` as Twilio writes it) and
  ``/bulkexports/v1/Exports/Calls/Days/<day>``: a 307 redirect to
  ``/files/...``, the gzipped JSON-lines file of the main account's US1 calls
  of that day, timestamps in ISO 8601 UTC, without ``uri`` and
  ``subresource_uris`` (the BulkExport file format).

Faults are injected with :meth:`FakeTwilio.inject` (HTTP 429 with
``Retry-After``, 500/503, a slow answer, a body cut short, a dropped
connection) and calls changed between two pulls with
:meth:`FakeTwilio.update_call`. Run it alone with ``python -m
vc_sample.fake_twilio --landing DIR`` (prints the connection).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import csv
import gzip
import io
import json
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

API = "2010-04-01"
REGIONS = ("us1", "ie1", "au1")
_TIME_FIELDS = ("date_created", "date_updated", "start_time", "end_time")


def parse_time(value: Any) -> datetime | None:
    """A Twilio timestamp (RFC 2822 or ISO 8601) as an aware UTC datetime."""
    if not value:
        return None
    text = str(value).strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _iso(value: Any) -> Any:
    parsed = parse_time(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else value


def _records(key: str, data: bytes) -> list[dict[str, Any]]:
    """The Call resources in one landed file (unreadable lines are skipped)."""
    if key.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return []
        key = key[:-3]
    text = data.decode("utf-8", errors="replace")
    if key.endswith(".csv"):
        rows = csv.DictReader(io.StringIO(text))
        try:
            return [{k: (v if v != "" else None) for k, v in row.items() if k} for row in rows]
        except csv.Error:
            return []
    if key.endswith(".jsonl"):
        found = []
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                found.append(item)
        return found
    try:
        page = json.loads(text)
    except ValueError:
        return []
    calls = page.get("calls") if isinstance(page, dict) else None
    return [c for c in calls or () if isinstance(c, dict)]


@dataclass
class Fault:
    """One injected fault: the next ``times`` requests whose path contains ``match``."""

    kind: str
    """``429``, ``500``, ``503``, ``slow``, ``truncate`` or ``drop``."""
    times: int = 1
    match: str = ""
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class _Entry:
    start: float
    sid: str
    call: dict[str, Any]


class FakeTwilio:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        landing: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        main_account: str | None = None,
    ) -> None:
        self.landing = Path(landing)
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.served: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        # region -> account -> entries sorted by start time
        self._calls: dict[str, dict[str, list[_Entry]]] = {}
        self._by_sid: dict[str, tuple[str, str]] = {}
        self.skipped = 0
        self._load()
        us1 = sorted(self._calls.get("us1", {}), key=lambda a: -len(self._calls["us1"][a]))
        every = sorted({a for accounts in self._calls.values() for a in accounts})
        self.main_account = main_account or (us1[0] if us1 else every[0] if every else "")
        self.subaccounts = [a for a in every if a != self.main_account]
        self.account_status: dict[str, str] = {}
        """A subaccount's ``status`` in the Accounts list (``active`` when absent)."""
        self.standard_key_regions: set[str] = set()
        """Regions whose key may not list accounts (a Standard API key)."""
        self.credentials = {r: (f"SK{r}fake{'0' * 27}", f"fake-secret-{r}") for r in REGIONS}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- data ------------------------------------------------------------

    def _load(self) -> None:
        latest: dict[str, tuple[datetime, str, dict[str, Any]]] = {}
        root = self.landing / "calls"
        for path in sorted(root.glob("region=*/**/*")):
            rel = path.relative_to(self.landing).as_posix()
            if not path.is_file() or any(p.startswith((".", "_")) for p in rel.split("/")):
                continue
            region = path.relative_to(root).parts[0].removeprefix("region=")
            for call in _records(rel, path.read_bytes()):
                sid = call.get("sid")
                if (
                    not sid
                    or not call.get("account_sid")
                    or parse_time(call.get("start_time")) is None
                ):
                    self.skipped += 1
                    continue
                updated = parse_time(call.get("date_updated")) or datetime.min.replace(tzinfo=UTC)
                if sid not in latest or updated >= latest[sid][0]:
                    latest[sid] = (updated, region, call)
        grouped: dict[str, dict[str, list[_Entry]]] = defaultdict(lambda: defaultdict(list))
        for sid, (_, region, call) in latest.items():
            start = parse_time(call["start_time"])
            assert start is not None
            grouped[region][str(call["account_sid"])].append(_Entry(start.timestamp(), sid, call))
            self._by_sid[sid] = (region, str(call["account_sid"]))
        for accounts in grouped.values():
            for entries in accounts.values():
                entries.sort(key=lambda e: (e.start, e.sid))
        self._calls = {r: dict(a) for r, a in grouped.items()}

    @property
    def regions(self) -> list[str]:
        """The regions with calls (always the three standard ones first)."""
        return sorted(set(REGIONS) | set(self._calls))

    def call_count(self) -> int:
        """Calls served in total (latest versions)."""
        return len(self._by_sid)

    def day_range(self) -> tuple[date, date]:
        """The first day with a call and the day after the last (end exclusive)."""
        starts = [e.start for a in self._calls.values() for es in a.values() for e in es]
        first = datetime.fromtimestamp(min(starts), UTC).date()
        last = datetime.fromtimestamp(max(starts), UTC).date()
        return first, last + timedelta(days=1)

    def update_call(self, sid: str, **fields: Any) -> dict[str, Any]:
        """Change a call as Twilio would after it ended (``date_updated`` moves on)."""
        with self._lock:
            region, account = self._by_sid[sid]
            for entry in self._calls[region][account]:
                if entry.sid == sid:
                    updated = dict(entry.call)
                    updated.update(fields)
                    if "date_updated" not in fields:
                        stamp = parse_time(entry.call.get("date_updated")) or datetime.now(UTC)
                        updated["date_updated"] = format_datetime(
                            stamp + timedelta(hours=1), usegmt=False
                        ).replace("-0000", "+0000")
                    entry.call = updated
                    return updated
        raise KeyError(sid)

    def calls_of(
        self, region: str, account: str, first: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """The account's calls that started in ``[first, end)``, newest first."""
        entries = self._calls.get(region, {}).get(account, [])
        starts = [e.start for e in entries]
        lo = bisect.bisect_left(starts, first.timestamp())
        hi = bisect.bisect_left(starts, end.timestamp())
        return [e.call for e in reversed(entries[lo:hi])]

    def export_file(self, day: date) -> bytes:
        """The BulkExport Calls file of ``day`` for the main account (gzip JSON lines)."""
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        calls = self.calls_of("us1", self.main_account, start, start + timedelta(days=1))
        lines = []
        for call in sorted(calls, key=lambda c: str(c["sid"])):
            record = {k: v for k, v in call.items() if k not in ("uri", "subresource_uris")}
            for name in _TIME_FIELDS:
                if record.get(name):
                    record[name] = _iso(record[name])
            lines.append(json.dumps(record))
        return gzip.compress(("\n".join(lines) + "\n" if lines else "").encode(), mtime=0)

    def export_days(self) -> list[date]:
        """Days with a BulkExport file: every day the main account called from US1."""
        entries = self._calls.get("us1", {}).get(self.main_account, [])
        return sorted({datetime.fromtimestamp(e.start, UTC).date() for e in entries})

    # -- faults ----------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        match: str = "",
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> None:
        """Fail the next ``times`` requests whose path and query contain ``match``."""
        if kind not in ("429", "500", "503", "slow", "truncate", "drop"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.append(Fault(kind, times, match, retry_after, delay))

    def clear_faults(self) -> None:
        """Forget every fault not yet used."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.match in target:
                    fault.times -= 1
                    self.injected[fault.kind] += 1
                    return fault
        return None

    # -- server ----------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def base_url(self, region: str) -> str:
        """The base URL standing for ``api.<edge>.<region>.twilio.com``."""
        return f"{self.url}/{region}"

    @property
    def bulkexports_url(self) -> str:
        """The base URL standing for ``bulkexports.twilio.com``."""
        return f"{self.url}/bulkexports"

    def connection(self, *, bulk_export: bool = True, **extra: Any) -> dict[str, Any]:
        """An ``AIRFLOW_CONN_VC_TWILIO`` value (as a dict) pointing every host here.

        US1 uses the connection's login and password; the other regions carry
        their own key and secret, as Twilio's regional API keys require.
        """
        regions: dict[str, Any] = {}
        for region in self.regions:
            cfg: dict[str, Any] = {"base_url": self.base_url(region)}
            if region == "us1":
                cfg["bulkexports_base_url"] = self.bulkexports_url
            else:
                cfg["key"], cfg["secret"] = self.credentials[region]
            regions[region] = cfg
        login, password = self.credentials["us1"]
        return {
            "conn_type": "generic",
            "login": login,
            "password": password,
            "extra": {
                "account_sid": self.main_account,
                "subaccounts": self.subaccounts,
                "bulk_export": bulk_export,
                "regions": regions,
                **extra,
            },
        }

    def start(self) -> FakeTwilio:
        """Start serving in a daemon thread."""
        server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"code": code, "message": message, "more_info": "", "status": status}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _day_bounds(params: dict[str, str]) -> tuple[datetime, datetime]:
    def parse(value: str) -> datetime:
        parsed = parse_time(value) if "T" in value else None
        if parsed is None:
            d = date.fromisoformat(value[:10])
            parsed = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return parsed

    first = datetime(1970, 1, 1, tzinfo=UTC)
    end = datetime(9999, 1, 1, tzinfo=UTC)
    if params.get("StartTime"):
        first = parse(params["StartTime"])
        end = first + timedelta(days=1)
    if params.get("StartTime>") or params.get("StartTime>="):
        first = parse(params.get("StartTime>") or params["StartTime>="])
    if params.get("StartTime<"):
        end = parse(params["StartTime<"])
    return first, end


def _calls_page(
    fake: FakeTwilio, region: str, account: str, query: str
) -> tuple[int, dict[str, str], bytes]:
    params = dict(parse_qsl(query, keep_blank_values=True))
    try:
        size = min(1000, max(1, int(params.get("PageSize", "50"))))
        number = max(0, int(params.get("Page", "0")))
        first, end = _day_bounds(params)
    except ValueError:
        return _error(400, 20001, "Invalid paging or StartTime parameter")
    calls = fake.calls_of(region, account, first, end)
    chunk = calls[number * size : (number + 1) * size]
    uri = f"/{API}/Accounts/{account}/Calls.json"
    keep = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}"
        for k, v in params.items()
        if k.startswith("StartTime")
    )
    filters = f"&{keep}" if keep else ""

    def link(n: int) -> str:
        token = f"&PageToken=PA{n * size}" if n else ""
        return f"{uri}?PageSize={size}&Page={n}{token}{filters}"

    last = (number + 1) * size >= len(calls)
    body = {
        "calls": chunk,
        "end": number * size + len(chunk) - 1,
        "first_page_uri": link(0),
        "next_page_uri": None if last else link(number + 1),
        "page": number,
        "page_size": size,
        "previous_page_uri": link(number - 1) if number else None,
        "start": number * size,
        "uri": link(number),
    }
    fake.served["calls_page"] += 1
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _accounts_page(fake: FakeTwilio, region: str, query: str) -> tuple[int, dict[str, str], bytes]:
    if region in fake.standard_key_regions:
        return _error(401, 20003, "Authentication Error - No credentials provided")
    params = dict(parse_qsl(query))
    size = min(1000, max(1, int(params.get("PageSize", "50"))))
    number = max(0, int(params.get("Page", "0")))
    every = [fake.main_account, *fake.subaccounts]
    chunk = every[number * size : (number + 1) * size]
    uri = f"/{API}/Accounts.json"
    last = (number + 1) * size >= len(every)
    body = {
        "accounts": [
            {
                "sid": sid,
                "owner_account_sid": fake.main_account,
                "status": "active"
                if sid == fake.main_account
                else fake.account_status.get(sid, "active"),
                "type": "Full",
                "friendly_name": f"account {sid[-4:]}",
            }
            for sid in chunk
        ],
        "first_page_uri": f"{uri}?PageSize={size}&Page=0",
        "next_page_uri": None
        if last
        else f"{uri}?PageSize={size}&Page={number + 1}&PageToken=PA{(number + 1) * size}",
        "page": number,
        "page_size": size,
        "uri": f"{uri}?PageSize={size}&Page={number}",
    }
    fake.served["accounts_page"] += 1
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _days_page(fake: FakeTwilio, query: str) -> tuple[int, dict[str, str], bytes]:
    params = dict(parse_qsl(query))
    size = min(1000, max(1, int(params.get("PageSize", "50"))))
    number = max(0, int(params.get("Page", "0")))
    days = fake.export_days()
    chunk = days[number * size : (number + 1) * size]
    url = "https://bulkexports.twilio.com/v1/Exports/Calls/Days"
    last = (number + 1) * size >= len(days)
    body = {
        "days": [
            {
                "day": d.isoformat(),
                "size": 0,
                "resource_type": "Calls",
                "create_date": (d + timedelta(days=1)).isoformat(),
                "friendly_name": "daily export",
            }
            for d in chunk
        ],
        "meta": {
            "page": number,
            "page_size": size,
            "first_page_url": f"{url}?PageSize={size}&Page=0",
            "previous_page_url": f"{url}?PageSize={size}&Page={number - 1}" if number else None,
            "url": f"{url}?PageSize={size}&Page={number}",
            "next_page_url": None
            if last
            else f"{url}?PageSize={size}&Page={number + 1}&PageToken=PA{(number + 1) * size}",
            "key": "days",
        },
    }
    fake.served["days_page"] += 1
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _route(
    fake: FakeTwilio, path: str, query: str, auth: str | None
) -> tuple[int, dict[str, str], bytes]:
    parts = [p for p in path.split("/") if p]
    if len(parts) == 4 and parts[:2] == ["files", "Calls"]:
        day = date.fromisoformat(parts[3].removesuffix(".jsonl.gz"))
        fake.served["file"] += 1
        return 200, {"Content-Type": "application/gzip"}, fake.export_file(day)
    if not parts:
        return _error(404, 20404, "The requested resource was not found")
    host = parts[0]
    region = "us1" if host == "bulkexports" else host
    if region not in fake.credentials:
        return _error(404, 20404, "The requested resource was not found")
    key, secret = fake.credentials[region]
    expected = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    if auth != expected:
        return _error(401, 20003, "Authenticate")
    rest = parts[1:]
    if host == "bulkexports":
        if rest == ["v1", "Exports", "Calls", "Days"]:
            return _days_page(fake, query)
        if len(rest) == 5 and rest[:4] == ["v1", "Exports", "Calls", "Days"]:
            day = date.fromisoformat(rest[4])
            if day not in fake.export_days():
                return _error(404, 20404, "The requested resource was not found")
            fake.served["day_redirect"] += 1
            location = f"{fake.url}/files/Calls/{fake.main_account}/{day}.jsonl.gz"
            return 307, {"Location": location, "Content-Type": "application/json"}, b"{}"
        return _error(404, 20404, "The requested resource was not found")
    if len(rest) == 4 and rest[0] == API and rest[1] == "Accounts" and rest[3] == "Calls.json":
        return _calls_page(fake, region, rest[2], query)
    if rest == [API, "Accounts.json"]:
        return _accounts_page(fake, region, query)
    return _error(404, 20404, "The requested resource was not found")


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeTwilio/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read the counters instead."""

        def do_GET(self) -> None:
            target = urlsplit(self.path)
            with fake._lock:
                fake.served["requests"] += 1
            fault = fake._take_fault(self.path)
            if fault and fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault and fault.kind in ("429", "500", "503"):
                status = int(fault.kind)
                _, headers, body = _error(
                    status,
                    20429 if status == 429 else 20500,
                    "Too Many Requests" if status == 429 else "Error",
                )
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                self._send(status, headers, body)
                return
            if fault and fault.kind == "slow":
                time.sleep(fault.delay)
            try:
                status, headers, body = _route(
                    fake, target.path, target.query, self.headers.get("Authorization")
                )
            except Exception as exc:  # a bug in the fake shows as a 500, not a hang
                status, headers, body = _error(500, 20500, f"fake server: {exc}")
            if fault and fault.kind == "truncate":
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(status, headers, body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its timeout)

    return Handler


def copy_exports(sample: Path, landing: Path) -> int:
    """Empty ``landing``, then copy every file of ``sample`` but its calls into it.

    What ``demo --twilio-fake`` and the equality test start from: the same
    exports, registries and generator notes, the calls left to the puller.
    Returns the number of files copied.
    """
    import shutil

    if landing.exists():
        shutil.rmtree(landing)
    copied = 0
    for path in sorted(sample.rglob("*")):
        rel = path.relative_to(sample)
        if not path.is_file() or rel.parts[0] == "calls":
            continue
        target = landing / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    return copied


def main(argv: list[str] | None = None) -> int:
    """Serve a landing folder's calls until interrupted; print the connection JSON."""
    parser = argparse.ArgumentParser(prog="python -m vc_sample.fake_twilio")
    parser.add_argument("--landing", required=True, help="landing folder whose calls to serve")
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args(argv)
    with FakeTwilio(args.landing, port=args.port) as fake:
        first, end = fake.day_range()
        print(f"serving {fake.call_count():,} calls ({first}..{end}) on {fake.url}", flush=True)
        print(f"AIRFLOW_CONN_VC_TWILIO='{json.dumps(fake.connection())}'", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
