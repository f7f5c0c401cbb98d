"""The hostile-input corpus: a small clean landing zone and cases that each add
one hostile file (or change one file) to it.

Every case says what a user relies on for the file it lands: the manifest
status, how many rows load, which physical lines go to quarantine with which
raw text. ``tests/unit/test_hostile_corpus.py`` runs every case and also checks
what must hold whatever the file: the run completes, every landed file has a
manifest row, rows read = loaded + quarantined, every base row stays loaded,
and no full phone number reaches a log line. ``docs/reliability.md`` lists
the classes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["BASE", "BASE_ROWS", "CASES", "PHONES", "Case", "Expect", "account", "sid", "write"]


def sid(prefix: str, n: int | str) -> str:
    """A Twilio SID of the right shape: two letters and 32 lowercase hex."""
    return prefix + hashlib.md5(f"{prefix}{n}".encode()).hexdigest()


def account(n: int | str = 1) -> str:
    return sid("AC", n)


ACCOUNT = account()
CAMPAIGN = "cmp-telemarketing-1"
CALLER = "+14155550100"
PHONES: tuple[str, ...] = (
    "+14155550100",
    "+14155550101",
    "+14155550102",
    "+14155550103",
    "+14155550104",
    "+14155550199",
    "+442079460018",
    "4155550101",
    "4155550102",
    "02079460018",
)
"""Every full number the corpus writes: none may appear in a log line."""


def _call(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "sid": sid("CA", n),
        "account_sid": ACCOUNT,
        "from": CALLER,
        "to": "+14155550101",
        "status": "completed",
        "direction": "outbound-api",
        "start_time": "Tue, 01 Sep 2026 15:00:00 +0000",
        "end_time": "Tue, 01 Sep 2026 15:00:45 +0000",
        "duration": "45",
        **fields,
    }


CONSENT_HEADER = "phone_number,brand,consent_type,channel,granted_at,revoked_at,source,evidence_ref"


def consent_row(phone: str = "+14155550101", brand: str = "Acme", **kw: str) -> str:
    values = {
        "consent_type": "express_written",
        "channel": "voice",
        "granted_at": "2026-08-01T00:00:00Z",
        "revoked_at": "",
        "source": "web",
        "evidence_ref": "ev-1",
        **kw,
    }
    return ",".join([phone, brand, *values.values()])


BASE: dict[str, str] = {
    "calls/region=us1/page-1.json": json.dumps(
        {"calls": [_call(1), _call(2, to="+14155550102")], "page": 0, "page_size": 50}
    ),
    "calls/region=ie1/calls.jsonl": "\n".join(json.dumps(_call(n)) for n in (3, 4)) + "\n",
    "calls/region=au1/calls.csv": "sid,account_sid,from,to,status,start_time,duration\n"
    + "".join(
        f"{sid('CA', n)},{ACCOUNT},{CALLER},+14155550103,completed,2026-09-01T15:00:00Z,30\n"
        for n in (5, 6)
    ),
    "call_metadata/metadata.csv": "call_sid,campaign_id\n"
    + "".join(f"{sid('CA', n)},{CAMPAIGN}\n" for n in (1, 2)),
    "campaigns/campaigns.csv": "campaign_id,account_sid,brand,purpose\n"
    f"{CAMPAIGN},{ACCOUNT},Acme,telemarketing\n",
    "numbers/numbers.csv": "phone_number,account_sid,kind,active_from,active_to,"
    "default_campaign_id\n"
    f"{CALLER},{ACCOUNT},twilio_owned,2026-01-01T00:00:00Z,,{CAMPAIGN}\n",
    "accounts/accounts.csv": f"account_sid,region,cps_allotted\n{ACCOUNT},us1,1\n",
    "consent/consent.csv": f"{CONSENT_HEADER}\n{consent_row()}\n{consent_row('+14155550102')}\n",
    "optouts/optouts.csv": "phone_number,brand,requested_at,method,call_sid\n"
    "+14155550103,Acme,2026-08-15T00:00:00Z,web,\n",
    "disclosures/disclosures.csv": "call_sid,identity_disclosed_at_s,purpose_disclosed_at_s,"
    "opt_out_offered\n"
    + "".join(f"{sid('CA', n)},1.5,3,true\n" for n in (1, 2)),
    "complaints/complaints.csv": "complaint_id,received_at,source,caller_id,callee,call_sid,"
    "category\n"
    f"cmp-1,2026-09-02T00:00:00Z,consumer,{CALLER},+14155550101,{sid('CA', 1)},unwanted\n",
    "dnc/internal/internal.csv": "phone_number,added_at,brand,reason\n"
    "+14155550199,2026-08-01T00:00:00Z,,asked\n",
    "dnc/us_national/full/2026-09-01/full.txt": "4155550101\n415,5550102\n2125550123\n",
    "dnc/us_national/changes/2026-09-02/changes.txt": "415,5550103,A\n212,5550123,D,2026-09-02\n",
    "dnc/uk_tps/full/2026-09-01/tps.txt": "02079460018\n0161 496 0000\n",
}
BASE_ROWS: dict[str, int] = {
    key: (
        2
        if key.endswith(".json")
        else text.count("\n") - (0 if key.endswith((".txt", ".jsonl")) else 1)
    )
    for key, text in BASE.items()
}
"""Rows each base file loads (every one of them)."""


def write(root: Path, key: str, content: bytes | str, *, gz: bool | None = None) -> Path:
    """Write ``content`` at ``root/key`` (gzip-compressed when the key ends ``.gz``)."""
    path = root.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    if gz if gz is not None else key.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class Expect:
    """What one landed file must give."""

    key: str
    status: str | None = None
    """Manifest status (``loaded``, ``partial``, ``empty``, ``unreadable``,
    ``unrecognized``), or None when any status is acceptable."""
    loaded: int | None = None
    quarantined: dict[int | None, str] | None = None
    """Exact quarantined physical lines, each with a substring of its raw text
    (``""``: any). None: not checked beyond reconciliation."""
    reason: str | None = None
    """A substring of the manifest's error or of a quarantine reason."""
    source: str | None = None


Apply = Callable[[Path, Path], None]
"""``apply(landing, outside)``: land the hostile file; ``outside`` is a folder
beside the landing zone, for link targets."""


@dataclass(frozen=True)
class Case:
    id: str
    cls: str
    apply: Apply
    expect: tuple[Expect, ...] = ()
    changes_base: tuple[str, ...] = ()
    """Base files the case replaces (their own expectation is in ``expect``)."""
    listed: bool = True
    """False when the landed file is hidden by convention (no manifest row)."""
    extra: dict[str, Any] = field(default_factory=dict)


def _land(key: str, content: bytes | str, **kw: Any) -> Apply:
    def apply(landing: Path, outside: Path) -> None:
        write(landing, key, content, **kw)

    return apply


def _consent(*rows: str, header: str = CONSENT_HEADER, newline: str = "\n") -> str:
    return newline.join([header, *rows]) + newline


def _case(id: str, cls: str, key: str, content: bytes | str, *expect: Expect, **kw: Any) -> Case:
    return Case(id, cls, _land(key, content), expect or (Expect(key),), **kw)


def _symlink(key: str, target: Callable[[Path, Path], Path]) -> Apply:
    def apply(landing: Path, outside: Path) -> None:
        link = landing.joinpath(*key.split("/"))
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target(landing, outside), link)

    return apply


def _outside_file(landing: Path, outside: Path) -> Path:
    secret = outside / "secret.csv"
    secret.write_text(_consent(consent_row("+14155550199", "Secret")))
    return secret


def _fifo(landing: Path, outside: Path) -> None:
    path = landing / "consent" / "pipe.csv"
    os.mkfifo(path)


def _touch_base(landing: Path, outside: Path) -> None:
    path = landing / "consent" / "consent.csv"
    os.utime(path, ns=(10**18, 10**18))


def _deep_json(depth: int) -> str:
    return json.dumps(_call(90))[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"


C = "consent/hostile.csv"
GOOD = consent_row("+14155550102", "Beta")
NUL = "\x00"

_CASES: tuple[Case, ...] = (
    # -- encodings ---------------------------------------------------------
    _case("bom", "encoding", C, "\ufeff" + _consent(GOOD), Expect(C, "loaded", 1)),
    _case(
        "latin1-line",
        "encoding",
        C,
        _consent(GOOD).encode() + consent_row(brand="Caf\xe9").encode("latin-1") + b"\n",
        Expect(C, "partial", 1, {3: ""}, "UTF-8"),
    ),
    _case(
        "utf16",
        "encoding",
        C,
        _consent(GOOD).encode("utf-16"),
        Expect(C, None, 0),
    ),
    _case(
        "jsonl-bad-utf8",
        "encoding",
        "calls/region=us1/bad-utf8.jsonl",
        json.dumps(_call(20)).encode() + b"\n" + b'{"sid": "\xff\xfe"}\n',
        Expect("calls/region=us1/bad-utf8.jsonl", "partial", 1, {2: ""}),
    ),
    _case(
        "registry-latin1",
        "encoding",
        "dnc/us_national/full/2026-09-03/latin.txt",
        b"4155550101\n\xe9\xe9\xe9\n",
        Expect("dnc/us_national/full/2026-09-03/latin.txt", "partial", 1, {2: ""}),
    ),
    _case(
        "unicode-brand",
        "encoding",
        C,
        _consent(consent_row(brand="Acme 東京 🚀")),
        Expect(C, "loaded", 1),
    ),
    _case(
        "page-bom",
        "encoding",
        "calls/region=us1/bom-page.json",
        "\ufeff" + json.dumps({"calls": [_call(40), _call(41)]}),
        Expect("calls/region=us1/bom-page.json", "loaded", 2),
    ),
    # -- line endings ------------------------------------------------------
    _case("crlf", "line endings", C, _consent(GOOD, GOOD, newline="\r\n"), Expect(C, "loaded", 2)),
    _case(
        "no-final-newline",
        "line endings",
        C,
        _consent(GOOD).rstrip("\n"),
        Expect(C, "loaded", 1),
    ),
    _case(
        "mixed-endings",
        "line endings",
        C,
        f"{CONSENT_HEADER}\r\n{GOOD}\n{GOOD}\r\n",
        Expect(C, "loaded", 2),
    ),
    _case("cr-only", "line endings", C, _consent(GOOD, GOOD, newline="\r"), Expect(C, "loaded", 2)),
    _case(
        "jsonl-crlf",
        "line endings",
        "calls/region=ie1/crlf.jsonl",
        json.dumps(_call(21)) + "\r\n" + json.dumps(_call(22)) + "\r\n",
        Expect("calls/region=ie1/crlf.jsonl", "loaded", 2),
    ),
    _case(
        "registry-crlf",
        "line endings",
        "dnc/us_national/changes/2026-09-03/crlf.txt",
        "415,5550101,A\r\n415,5550102,D\r\n",
        Expect("dnc/us_national/changes/2026-09-03/crlf.txt", "loaded", 2),
    ),
    _case(
        "blank-lines",
        "line endings",
        C,
        f"{CONSENT_HEADER}\n\n{GOOD}\n\n\n{GOOD}\n\n",
        Expect(C, "loaded", 2),
    ),
    # -- column chaos ------------------------------------------------------
    _case(
        "reordered",
        "columns",
        C,
        "brand,channel,phone_number,granted_at,consent_type\n"
        "Acme,voice,+14155550102,2026-08-01T00:00:00Z,express\n",
        Expect(C, "loaded", 1),
    ),
    _case(
        "extra-columns",
        "columns",
        C,
        _consent(GOOD + ",x,y", header=CONSENT_HEADER + ",note,owner"),
        Expect(C, "loaded", 1),
    ),
    _case(
        "missing-required",
        "columns",
        C,
        "phone_number,brand,consent_type,channel\n+14155550102,Acme,express,voice\n",
        Expect(C, "partial", 0, {2: "Acme"}, "granted_at"),
    ),
    _case(
        "duplicate-header",
        "columns",
        C,
        _consent(GOOD + ",Other", header=CONSENT_HEADER + ",brand"),
        Expect(C, "loaded", 1),
    ),
    _case("header-only", "columns", C, CONSENT_HEADER + "\n", Expect(C, None, 0, {})),
    _case(
        "too-many-fields",
        "columns",
        C,
        _consent(GOOD, GOOD + ",extra,fields", GOOD),
        Expect(C, "partial", 2, {3: "extra,fields"}),
    ),
    _case(
        "too-few-fields",
        "columns",
        C,
        _consent(GOOD, "+14155550102,Acme", GOOD),
        Expect(C, "partial", 2, {3: "Acme"}),
    ),
    _case(
        "upper-case-header",
        "columns",
        C,
        _consent(GOOD, header=CONSENT_HEADER.upper().replace(",", " , ")),
        Expect(C, "loaded", 1),
    ),
    _case(
        "blank-first-line",
        "columns",
        C,
        "\n" + _consent(GOOD),
        Expect(C, None, 0),
    ),
    _case("only-blank-lines", "columns", C, "\n\n\n", Expect(C, None, 0)),
    _case(
        "calls-csv-shuffled",
        "columns",
        "calls/region=au1/shuffled.csv",
        f"duration,to,sid,status,account_sid,start_time,from,extra\n"
        f"12,+14155550102,{sid('CA', 23)},completed,{ACCOUNT},2026-09-01T10:00:00Z,{CALLER},z\n",
        Expect("calls/region=au1/shuffled.csv", "loaded", 1),
    ),
    _case(
        "semicolon-delimited",
        "columns",
        C,
        _consent(GOOD.replace(",", ";"), header=CONSENT_HEADER.replace(",", ";")),
        Expect(C, None, 0),
    ),
    # -- compression -------------------------------------------------------
    Case(
        "gzip-truncated",
        "compression",
        _land(
            C + ".gz",
            (lambda b: b[: len(b) // 2])(
                gzip.compress(
                    _consent(*[consent_row(brand=f"B{n:05d}") for n in range(2000)]).encode(),
                    mtime=0,
                )
            ),
            gz=False,
        ),
        (Expect(C + ".gz", "partial"),),
    ),
    Case(
        "not-gzip",
        "compression",
        _land(C + ".gz", b"phone_number,brand\n", gz=False),
        (Expect(C + ".gz", "unreadable", 0, {None: ""}, "not a gzip file"),),
    ),
    Case(
        "gzip-trailing-garbage",
        "compression",
        _land(C + ".gz", gzip.compress(_consent(GOOD).encode()) + b"garbage", gz=False),
        (Expect(C + ".gz", "partial", 1, {}, "trailing garbage"),),
    ),
    Case(
        "gzip-members",
        "compression",
        _land(
            C + ".gz",
            gzip.compress(_consent(GOOD).encode()) + gzip.compress(f"{GOOD}\n".encode()),
            gz=False,
        ),
        (Expect(C + ".gz", "loaded", 2),),
    ),
    _case("gzip-empty", "compression", C + ".gz", b"", Expect(C + ".gz", "empty", 0)),
    Case(
        "zero-byte-gz",
        "compression",
        _land(C + ".gz", b"", gz=False),
        (Expect(C + ".gz", "empty", 0),),
    ),
    Case(
        "gzip-corrupt",
        "compression",
        _land(
            C + ".gz",
            (lambda b: b[:30] + bytes(x ^ 0xA5 for x in b[30:60]) + b[60:])(
                gzip.compress(_consent(*[GOOD] * 50).encode(), mtime=0)
            ),
            gz=False,
        ),
        (Expect(C + ".gz", "unreadable", 0),),
    ),
    Case(
        "double-gzip",
        "compression",
        _land(C + ".gz", gzip.compress(gzip.compress(_consent(GOOD).encode())), gz=False),
        (Expect(C + ".gz", None, 0),),
    ),
    _case(
        "binary-as-csv",
        "compression",
        C,
        bytes(range(256)) * 20,
        Expect(C, None, 0),
    ),
    # -- huge and deep records ---------------------------------------------
    _case(
        "huge-line",
        "huge",
        C,
        _consent(GOOD, consent_row(brand="x" * (20 * 1024 * 1024)), GOOD),
        Expect(C, "partial", 2, {3: ""}),
    ),
    _case(
        "deep-json",
        "huge",
        "calls/region=us1/deep.jsonl",
        json.dumps(_call(24)) + "\n" + _deep_json(5000) + "\n",
        Expect("calls/region=us1/deep.jsonl", None),
    ),
    _case(
        "big-page",
        "huge",
        "calls/region=us1/big-page.json",
        json.dumps({"calls": [_call(1000 + i) for i in range(3000)]}),
        Expect("calls/region=us1/big-page.json", "loaded", 3000),
    ),
    _case(
        "huge-field-page",
        "huge",
        "calls/region=us1/huge-field.json",
        json.dumps({"calls": [_call(25, caller_name="n" * 5_000_000), _call(26)]}),
        Expect("calls/region=us1/huge-field.json", "partial", 1, reason="record too long"),
    ),
    _case(
        "registry-100k",
        "huge",
        "dnc/us_national/full/2026-09-04/big.txt",
        "".join(f"212{n:07d}\n" for n in range(100_000)),
        Expect("dnc/us_national/full/2026-09-04/big.txt", "loaded", 100_000),
    ),
    # -- odd names and links -----------------------------------------------
    _case(
        "name-240",
        "names",
        "consent/" + "n" * 233 + ".csv.gz",
        _consent(GOOD),
        Expect("consent/" + "n" * 233 + ".csv.gz", "loaded", 1),
    ),
    _case(
        "backslash-dots",
        "names",
        "consent/x\\..\\..\\evil.csv",
        _consent(GOOD),
        Expect("consent/x\\..\\..\\evil.csv", "loaded", 1),
    ),
    _case(
        "backslash-root",
        "names",
        "..\\..\\evil.csv",
        _consent(GOOD),
        Expect("..\\..\\evil.csv", "unrecognized", 0, {None: ""}, source="unassigned"),
    ),
    _case(
        "root-file",
        "names",
        "consent.csv",
        _consent(GOOD),
        Expect("consent.csv", "unrecognized", 0, {None: ""}, "not in any folder", "unassigned"),
    ),
    _case(
        "unknown-folder",
        "names",
        "contacts/list.csv",
        _consent(GOOD),
        Expect("contacts/list.csv", "unrecognized", 0, {None: ""}, source="unassigned"),
    ),
    _case(
        "unknown-registry",
        "names",
        "dnc/other_list/full/2026-09-01/x.txt",
        "4155550101\n",
        Expect("dnc/other_list/full/2026-09-01/x.txt", "unrecognized", 0, source="unassigned"),
    ),
    Case(
        "symlink-outside",
        "links",
        _symlink("consent/link.csv", _outside_file),
        (Expect("consent/link.csv", "unreadable", 0, {None: ""}, "outside"),),
    ),
    Case(
        "symlink-inside",
        "links",
        _symlink("consent/alias.csv", lambda landing, outside: landing / "consent" / "consent.csv"),
        (Expect("consent/alias.csv", "loaded", 2),),
    ),
    Case(
        "symlink-dangling",
        "links",
        _symlink("consent/dangling.csv", lambda landing, outside: outside / "missing.csv"),
        (Expect("consent/dangling.csv", "unreadable", 0, None, "symbolic link"),),
    ),
    Case(
        "symlink-folder",
        "links",
        _symlink("consent/folder", lambda landing, outside: landing / "numbers"),
        (Expect("consent/folder", "unreadable", 0, None, "folder"),),
    ),
    Case("fifo", "links", _fifo, (Expect("consent/pipe.csv", "unreadable", 0, None, "FIFO"),)),
    Case("hidden-part", "names", _land("consent/.upload.csv.part", _consent(GOOD)), listed=False),
    Case("success-marker", "names", _land("consent/_SUCCESS", ""), listed=False),
    _case(
        "upper-extension",
        "names",
        "consent/export.CSV",
        _consent(GOOD),
        Expect("consent/export.CSV", "unrecognized", 0, {None: ""}),
    ),
    _case(
        "spaces-unicode-name",
        "names",
        "consent/Export (1) é.csv",
        _consent(GOOD),
        Expect("consent/Export (1) é.csv", "loaded", 1),
    ),
    _case(
        "phone-in-name",
        "names",
        "consent/export_+14155550199.csv",
        _consent(consent_row("+14155550199")),
        Expect("consent/export_+14155550199.csv", "loaded", 1),
    ),
    _case(
        "newline-in-name",
        "names",
        "consent/line\nbreak.csv",
        _consent(GOOD),
        Expect("consent/line\nbreak.csv", "unreadable", 0, None, "control characters"),
    ),
    _case(
        "empty-region",
        "names",
        "calls/region=/x.json",
        json.dumps({"calls": [_call(26)]}),
        Expect("calls/region=/x.json", "unrecognized", 0),
    ),
    _case(
        "calls-outside-region",
        "names",
        "calls/x.json",
        json.dumps({"calls": [_call(27)]}),
        Expect("calls/x.json", "unrecognized", 0),
    ),
    _case(
        "quote-in-name",
        "names",
        "consent/o'brien.csv",
        _consent(GOOD),
        Expect("consent/o'brien.csv", "loaded", 1),
    ),
    _case(
        "glob-in-name",
        "names",
        "consent/[a]*{b}?.csv",
        _consent(GOOD),
        Expect("consent/[a]*{b}?.csv", "loaded", 1),
    ),
    # -- registry format faults --------------------------------------------
    _case(
        "registry-letters",
        "registry",
        "dnc/us_national/full/2026-09-05/letters.txt",
        "4155550101\nCALLME\n415555O101\n",
        Expect("dnc/us_national/full/2026-09-05/letters.txt", "partial", 1, {2: "CALLME", 3: ""}),
    ),
    _case(
        "registry-bad-action",
        "registry",
        "dnc/us_national/changes/2026-09-05/x.txt",
        "415,5550101,A\n415,5550102,X\n",
        Expect("dnc/us_national/changes/2026-09-05/x.txt", "partial", 1, {2: ",X"}),
    ),
    _case(
        "registry-full-with-actions",
        "registry",
        "dnc/us_national/full/2026-09-06/x.txt",
        "415,5550101,A\n",
        Expect("dnc/us_national/full/2026-09-06/x.txt", "partial", 0, {1: ""}),
    ),
    _case(
        "registry-bad-date-folder",
        "registry",
        "dnc/us_national/full/2026-13-45/x.txt",
        "4155550101\n",
        Expect("dnc/us_national/full/2026-13-45/x.txt", "partial", 0, {1: ""}, "date"),
    ),
    _case(
        "registry-uk-short",
        "registry",
        "dnc/uk_tps/full/2026-09-05/short.txt",
        "02079460018\n0207\n",
        Expect("dnc/uk_tps/full/2026-09-05/short.txt", "partial", 1, {2: "0207"}),
    ),
    _case(
        "registry-nul",
        "registry",
        "dnc/us_national/full/2026-09-07/nul.txt",
        f"4155550101\n41555{NUL}50102\n",
        Expect("dnc/us_national/full/2026-09-07/nul.txt", "partial", 1, {2: ""}),
    ),
    # -- out-of-range values ------------------------------------------------
    _case(
        "negative-duration",
        "values",
        "calls/region=ie1/negative.jsonl",
        json.dumps(_call(28, duration="-5")) + "\n",
        Expect("calls/region=ie1/negative.jsonl"),
    ),
    _case(
        "impossible-date",
        "values",
        C,
        _consent(GOOD, consent_row(granted_at="2026-02-30T00:00:00Z")),
        Expect(C, "partial", 1, {3: "2026-02-30"}),
    ),
    _case(
        "far-future-consent",
        "values",
        C,
        _consent(GOOD, consent_row(granted_at="9999-12-31T00:00:00Z")),
        Expect(C, "partial", 1, {3: "9999-12-31"}, "out of range granted_at"),
    ),
    _case(
        "call-past-year-9999",
        "values",
        "calls/region=us1/far.jsonl",
        "".join(
            json.dumps(_call(n, **kw)) + "\n"
            for n, kw in ((46, {}), (47, {"start_time": "294247-01-05T00:00:00Z"}))
        ),
        Expect("calls/region=us1/far.jsonl", "partial", 1, {2: "294247"}, "out of range"),
    ),
    _case(
        "optout-before-1970",
        "values",
        "optouts/old.csv",
        "phone_number,brand,requested_at,method,call_sid\n+14155550102,Acme,1900-01-01T00:00:00Z,web,\n",
        Expect("optouts/old.csv", "partial", 0, {2: "1900-01-01"}, "out of range requested_at"),
    ),
    _case(
        "number-open-ended",
        "values",
        "numbers/open.csv",
        "phone_number,account_sid,kind,active_from,active_to,default_campaign_id\n"
        f"+14155550104,{ACCOUNT},twilio_owned,0001-01-01T00:00:00Z,9999-12-31T23:59:59Z,\n",
        Expect("numbers/open.csv", "loaded", 1),
    ),
    _case(
        "future-call",
        "values",
        "calls/region=us1/future.jsonl",
        json.dumps(_call(29, start_time="2099-01-01T00:00:00Z")) + "\n",
        Expect("calls/region=us1/future.jsonl", "loaded", 1),
    ),
    _case(
        "cps-not-number",
        "values",
        "accounts/more.csv",
        f"account_sid,region,cps_allotted\n{account(2)},ie1,abc\n",
        Expect("accounts/more.csv", "partial", 0, {2: "abc"}),
    ),
    _case(
        "purpose-unknown",
        "values",
        "campaigns/more.csv",
        f"campaign_id,account_sid,brand,purpose\ncmp-2,{ACCOUNT},Acme,spam\n",
        Expect("campaigns/more.csv", "partial", 0, {2: "spam"}),
    ),
    _case(
        "boolean-unknown",
        "values",
        "disclosures/more.csv",
        f"call_sid,identity_disclosed_at_s,purpose_disclosed_at_s,opt_out_offered\n"
        f"{sid('CA', 3)},1,2,maybe\n",
        Expect("disclosures/more.csv", "partial", 0, {2: "maybe"}),
    ),
    _case(
        "overflowing-integer",
        "values",
        "calls/region=ie1/overflow.jsonl",
        json.dumps(_call(30, duration="99999999999999999999999")) + "\n",
        Expect("calls/region=ie1/overflow.jsonl", None, 0, {1: ""}),
    ),
    _case(
        "fractional-duration",
        "values",
        "calls/region=ie1/fraction.jsonl",
        "".join(json.dumps(_call(n, duration=d)) + "\n" for n, d in ((42, "0.4"), (43, "45.0"))),
        Expect("calls/region=ie1/fraction.jsonl", "partial", 1, {1: "0.4"}, "unparseable duration"),
    ),
    _case(
        "cps-nan",
        "values",
        "accounts/nan.csv",
        f"account_sid,region,cps_allotted\n{account(3)},ie1,NaN\n{account(3)},au1,2.5\n",
        Expect("accounts/nan.csv", "partial", 1, {2: "NaN"}, "unparseable cps_allotted"),
    ),
    # -- duplicates and changes ----------------------------------------------
    _case(
        "copy-of-base",
        "duplicates",
        "consent/consent-copy.csv",
        BASE["consent/consent.csv"],
        Expect("consent/consent-copy.csv", "loaded", 2),
    ),
    _case(
        "same-sid-twice",
        "duplicates",
        "calls/region=us1/again.jsonl",
        json.dumps(_call(1)) + "\n",
        Expect("calls/region=us1/again.jsonl", "loaded", 1),
    ),
    _case(
        "changed-base",
        "duplicates",
        "consent/consent.csv",
        _consent(GOOD),
        Expect("consent/consent.csv", "loaded", 1),
        changes_base=("consent/consent.csv",),
    ),
    Case(
        "touched-base",
        "duplicates",
        _touch_base,
        (Expect("consent/consent.csv", "loaded", 2),),
    ),
    # -- injection strings -----------------------------------------------------
    _case(
        "formula-sid",
        "injection",
        "calls/region=us1/formula.jsonl",
        json.dumps(_call(31, sid='=HYPERLINK("http://evil.example","sid")')) + "\n",
        Expect("calls/region=us1/formula.jsonl", "partial", 0, {1: "HYPERLINK"}, "sid"),
    ),
    _case(
        "formula-account",
        "injection",
        "calls/region=us1/formula-account.jsonl",
        json.dumps(_call(32, account_sid="@SUM(1+1)")) + "\n",
        Expect("calls/region=us1/formula-account.jsonl", "partial", 0, {1: "@SUM"}),
    ),
    _case(
        "formula-brand",
        "injection",
        C,
        _consent(consent_row(brand="=cmd|' /C calc'!A0")),
        Expect(C, "loaded", 1),
    ),
    _case(
        "sql-in-value",
        "injection",
        C,
        _consent(consent_row(brand="'); drop table raw.calls; --")),
        Expect(C, "loaded", 1),
    ),
    # -- CSV quoting -------------------------------------------------------------
    _case(
        "unbalanced-quote",
        "quoting",
        C,
        _consent(GOOD, consent_row(brand='"Acme'), GOOD, GOOD),
        Expect(C, "partial", 3, {3: '"Acme'}),
    ),
    _case(
        "multiline-then-wide",
        "quoting",
        C,
        _consent(consent_row(brand='"Acme\nInc"'), GOOD + ",too,many", GOOD),
        Expect(C, "partial", 2, {4: "too,many"}),
    ),
    _case(
        "quoted-commas",
        "quoting",
        C,
        _consent(consent_row(brand='"Acme, Inc ""Best"""')),
        Expect(C, "loaded", 1),
    ),
    # -- control characters ------------------------------------------------------
    _case(
        "nul-in-field",
        "control",
        C,
        _consent(GOOD, consent_row(brand=f"Ac{NUL}me"), GOOD),
        Expect(C, "partial", 2, {3: ""}, "NUL"),
    ),
    _case(
        "nul-in-jsonl",
        "control",
        "calls/region=us1/nul.jsonl",
        json.dumps(_call(33)) + "\n" + json.dumps(_call(34, caller_name="a\u0000b")) + "\n",
        Expect("calls/region=us1/nul.jsonl", "partial", 1, {2: ""}, "NUL"),
    ),
    _case(
        "x01-registry",
        "control",
        "dnc/us_national/full/2026-09-08/x01.txt",
        "4155550101\n4155550102\x01not a number\n",
        Expect("dnc/us_national/full/2026-09-08/x01.txt", "partial", 1, {2: "not a number"}),
    ),
    _case(
        "x01-jsonl",
        "control",
        "calls/region=us1/x01.jsonl",
        json.dumps(_call(44)) + "\n" + json.dumps(_call(45)) + '\x01{"garbage": true}\n',
        Expect("calls/region=us1/x01.jsonl", "partial", 1, {2: "garbage"}),
    ),
    _case(
        "x01-csv",
        "control",
        C,
        _consent(GOOD, consent_row(brand="Ac\x01me"), GOOD),
        Expect(C),
    ),
)


def _own_name(case: Case) -> Case:
    """The case with ``consent/hostile.csv[.gz]`` renamed after the case, so
    every case can land in one zone beside the others (the pipeline test)."""
    own = f"consent/{case.id}.csv"

    def key(k: str) -> str:
        return own + k[len(C) :] if k.startswith(C) else k

    def apply(landing: Path, outside: Path) -> None:
        case.apply(landing, outside)
        for suffix in ("", ".gz"):
            landed = landing / f"{C}{suffix}"
            if landed.exists() or landed.is_symlink():
                landed.rename(landing / f"{own}{suffix}")

    expect = tuple(replace(e, key=key(e.key)) for e in case.expect)
    return replace(case, apply=apply, expect=expect)


CASES: tuple[Case, ...] = tuple(_own_name(c) for c in _CASES)
"""Every case, each landing under its own name."""
