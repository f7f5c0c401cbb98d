"""Tests of the sample landing-zone generator (vc_sample.generate)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import phonenumbers
import pytest

from vc_sample.generate import CLAUSES, GenerationReport, generate
from vc_sample.generate.model import (
    Account,
    Call,
    Campaign,
    Complaint,
    Consent,
    Disclosure,
    InternalDnc,
    InventoryRow,
    OptOut,
    RegistryFile,
    World,
)
from vc_sample.generate.registry import SCHEDULE, schedule
from vc_sample.generate.rules import evaluate
from voice_compliance.policy import CLAUSE_IDS, load_policy

SMALL = 2_000

CONTRACT_PATTERNS = [
    re.compile(p)
    for p in (
        r"calls/region=[a-z0-9]+/[^/]+\.(json|jsonl|csv)(\.gz)?",
        r"call_metadata/[^/]+\.csv(\.gz)?",
        r"campaigns/[^/]+\.csv(\.gz)?",
        r"numbers/[^/]+\.csv(\.gz)?",
        r"accounts/[^/]+\.csv(\.gz)?",
        r"consent/[^/]+\.csv(\.gz)?",
        r"optouts/[^/]+\.csv(\.gz)?",
        r"disclosures/[^/]+\.csv(\.gz)?",
        r"complaints/[^/]+\.csv(\.gz)?",
        r"dnc/internal/[^/]+\.csv(\.gz)?",
        r"dnc/(us_national|uk_tps|uk_ctps|ca_dncl)/(full|changes)/\d{4}-\d{2}-\d{2}/[^/]+\.txt(\.gz)?",
    )
]
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
REGISTRIES = ("us_national", "uk_tps", "uk_ctps", "ca_dncl")


def _files(root: Path) -> dict[str, bytes]:
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}


def _digest(root: Path) -> dict[str, str]:
    return {k: hashlib.sha256(v).hexdigest() for k, v in _files(root).items()}


def _planted(root: Path) -> dict:
    return json.loads((root / "_generator" / "planted.json").read_text())


def _truncated(root: Path) -> set[str]:
    return {m["path"] for m in _planted(root)["malformed"] if "truncated gzip" in m["reason"]}


def _broken_paths(root: Path) -> set[str]:
    return {m["path"] for m in _planted(root)["malformed"]}


def _call_records(root: Path) -> list[dict]:
    """Every well-formed call record of the landing zone (skips the malformed files)."""
    records: list[dict] = []
    skip = _broken_paths(root)
    for path in sorted((root / "calls").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel in skip:
            continue
        data = path.read_bytes()
        if rel.endswith(".gz"):
            data = gzip.decompress(data)
        text = data.decode()
        name = rel.removesuffix(".gz")
        if name.endswith(".jsonl"):
            records.extend(json.loads(line) for line in text.splitlines() if line)
        elif name.endswith(".json"):
            records.extend(json.loads(text)["calls"])
        else:
            records.extend(csv.DictReader(io.StringIO(text)))
    return records


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    out = tmp_path_factory.mktemp("landing") / "zone"
    return out, generate(out, seed=7, calls=SMALL)


@pytest.mark.quick
def test_report_and_planted_cover_every_clause(small: tuple[Path, GenerationReport]) -> None:
    out, report = small
    assert report.out == out
    assert report.files > 100
    assert set(report.planted) == set(CLAUSES)
    doc = _planted(out)
    assert set(doc["clauses"]) == set(CLAUSES)
    for clause in CLAUSES:
        entry = doc["clauses"][clause]
        assert entry["subjects"], clause
        assert entry["subjects"] == report.planted[clause]
        assert entry["match"] in ("exact", "at_least")
    # Everything planted was intended and nothing intended went missing.
    assert doc["unintended"] == {}
    assert doc["missing"] == {}


@pytest.mark.quick
def test_subject_formats(small: tuple[Path, GenerationReport]) -> None:
    _, report = small
    sid = re.compile(r"^CA[0-9a-f]{32}$")
    acct = r"AC[0-9a-f]{32}"
    formats = {
        "registry_day": re.compile(r"^(us_national|uk_tps|uk_ctps|ca_dncl)/\d{4}-\d{2}-\d{2}$"),
        "number_month": re.compile(r"^\+[1-9]\d{6,14}/\d{4}-\d{2}$"),
        "account_month": re.compile(rf"^{acct}/\d{{4}}-\d{{2}}$"),
        "account_day": re.compile(rf"^{acct}/\d{{4}}-\d{{2}}-\d{{2}}$"),
    }
    kind = {
        "dnc.registry_freshness": "registry_day",
        "complaints.rate": "number_month",
        "unanswered.volume": "number_month",
        "duration.average": "account_month",
        "cps.multi_region": "account_day",
    }
    for clause, subjects in report.planted.items():
        pattern = formats[kind[clause]] if clause in kind else sid
        assert all(pattern.match(s) for s in subjects), clause


@pytest.mark.quick
def test_layout_matches_contract(small: tuple[Path, GenerationReport]) -> None:
    out, _ = small
    paths = [p for p in _files(out) if not p.startswith("_generator/")]
    for rel in paths:
        assert any(p.fullmatch(rel) for p in CONTRACT_PATTERNS), rel
    for registry in REGISTRIES:
        for kind in ("full", "changes"):
            folder = out / "dnc" / registry / kind
            assert folder.is_dir() and any(folder.iterdir()), f"{registry}/{kind}"
    regions = {p.name for p in (out / "calls").iterdir()}
    assert regions == {"region=us1", "region=ie1", "region=au1"}
    suffixes = {re.sub(r"^[^.]*", "", Path(p).name) for p in paths if p.startswith("calls/")}
    assert {".json", ".jsonl", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz"} <= suffixes
    assert (out / "_generator" / "planted.json").is_file()


@pytest.mark.quick
def test_registry_line_formats(small: tuple[Path, GenerationReport]) -> None:
    out, _ = small
    nanp_full = re.compile(r"^\d{3},?\d{7}$")
    nanp_change = re.compile(r"^\d{3},\d{7},[AD](,.*)?$")
    uk_full = re.compile(r"^0\d{2,4} ?\d{6,8}$")
    uk_change = re.compile(r"^0\d{2,4} ?\d{6,8},[AD]$")
    for registry in REGISTRIES:
        uk = registry.startswith("uk_")
        for path in (out / "dnc" / registry).rglob("*.txt"):
            kind = path.parent.parent.name
            pattern = (uk_change if uk else nanp_change) if kind == "changes" else (
                uk_full if uk else nanp_full)
            lines = path.read_text().splitlines()
            assert lines, path
            bad = [line for line in lines if not pattern.match(line)]
            assert not bad, (path, bad[:3])


@pytest.mark.quick
def test_gzip_files_valid_except_the_truncated_one(small: tuple[Path, GenerationReport]) -> None:
    out, _ = small
    truncated = _truncated(out)
    assert len(truncated) == 1
    gz = [p for p in out.rglob("*.gz")]
    assert len(gz) > 10
    for path in gz:
        rel = path.relative_to(out).as_posix()
        if rel in truncated:
            with pytest.raises((EOFError, OSError, zlib.error)):
                gzip.decompress(path.read_bytes())
            partial = zlib.decompressobj(wbits=31).decompress(path.read_bytes())
            assert partial.count(b"\n") >= 3
        else:
            gzip.decompress(path.read_bytes())
            assert path.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # mtime 0


@pytest.mark.quick
def test_call_records_are_twilio_shaped(small: tuple[Path, GenerationReport]) -> None:
    out, report = small
    records = _call_records(out)
    assert len(records) >= report.calls
    sid = re.compile(r"^CA[0-9a-f]{32}$")
    rfc = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    directions = Counter(r["direction"] for r in records)
    statuses = Counter(r["status"] for r in records)
    assert set(directions) == {"inbound", "outbound-api", "outbound-dial", "trunking-terminating",
                               "trunking-originating"}
    assert {"completed", "busy", "failed", "no-answer", "canceled", "in-progress"} <= set(statuses)
    for r in records:
        assert sid.match(r["sid"]) and r["account_sid"].startswith("AC")
        assert rfc.match(r["start_time"]) or iso.match(r["start_time"])
        assert r["duration"] in (None, "") or str(r["duration"]).isdigit()
        assert isinstance(r["duration"], str | None)
        assert E164.match(r["to"]) and E164.match(r["from"]), (r["to"], r["from"])
    # Duplicates of a sid with different date_updated.
    by_sid: dict[str, set[str]] = {}
    for r in records:
        by_sid.setdefault(r["sid"], set()).add(r["date_updated"])
    assert any(len(v) > 1 for v in by_sid.values())
    # CSV files carry extra unknown columns.
    csv_path = next((out / "calls").rglob("*.csv"))
    header = csv_path.read_text().splitlines()[0].split(",")
    assert "exported_at" in header and "sid" in header


@pytest.mark.quick
def test_callees_valid_and_exports_normalize(small: tuple[Path, GenerationReport]) -> None:
    out, _ = small
    records = _call_records(out)
    callees = {r["to"] for r in records if r["direction"] != "inbound"
               and r["direction"] != "trunking-originating"}
    invalid = [n for n in callees if not phonenumbers.is_valid_number(phonenumbers.parse(n))]
    assert not invalid
    countries = {phonenumbers.region_code_for_number(phonenumbers.parse(n)) for n in callees}
    assert {"US", "CA", "GB", "FR", "AU"} <= countries
    for rel, column in (("consent/consent_crm_export.csv", "phone_number"),
                        ("optouts/optouts.csv", "phone_number"),
                        ("dnc/internal/internal_dnc.csv", "phone_number"),
                        ("complaints/complaints.csv", "caller_id")):
        rows = list(csv.DictReader(io.StringIO((out / rel).read_text())))
        assert rows
        raw = [r[column] for r in rows]
        assert any(not E164.match(v) for v in raw), rel  # messy formats present
        for value in raw:
            num = phonenumbers.parse(value, "US")
            assert phonenumbers.is_valid_number(num), (rel, value)


@pytest.mark.quick
def test_accounts_and_campaigns(small: tuple[Path, GenerationReport]) -> None:
    out, _ = small
    rows = list(csv.DictReader(io.StringIO((out / "accounts/accounts.csv").read_text())))
    per_account = Counter(r["account_sid"] for r in rows)
    assert 3 <= len(per_account) <= 4
    assert max(per_account.values()) == 2
    camps = list(csv.DictReader(io.StringIO((out / "campaigns/campaigns.csv").read_text())))
    assert {c["purpose"] for c in camps} == {"telemarketing", "informational", "transactional",
                                              "other"}
    inv = list(csv.DictReader(io.StringIO((out / "numbers/caller_id_inventory.csv").read_text())))
    assert {r["kind"] for r in inv} == {"twilio_owned", "verified_caller_id"}
    assert any(r["default_campaign_id"] for r in inv) and any(r["active_to"] for r in inv)


@pytest.mark.quick
def test_malformed_inputs_recorded(small: tuple[Path, GenerationReport]) -> None:
    out, _ = small
    malformed = _planted(out)["malformed"]
    reasons = " | ".join(m["reason"] for m in malformed)
    for needle in ("without a sid", "unparseable start_time", "wrong column count",
                   "invalid UTF-8", "truncated gzip", "empty file", "not valid JSON",
                   "unparseable granted_at"):
        assert needle in reasons
    for m in malformed:
        assert (out / m["path"]).is_file(), m
    empty = next(m for m in malformed if "empty file" in m["reason"])
    assert (out / empty["path"]).stat().st_size == 0
    utf = next(m for m in malformed if "UTF-8" in m["reason"])
    lines = (out / utf["path"]).read_bytes().split(b"\n")
    with pytest.raises(UnicodeDecodeError):
        lines[utf["line"] - 1].decode()


def test_deterministic_and_regenerate_is_clean(
    small: tuple[Path, GenerationReport], tmp_path: Path
) -> None:
    out, _ = small
    again = tmp_path / "again"
    again.mkdir()
    (again / "stale.txt").write_text("left over")
    (again / "calls").mkdir()
    (again / "calls" / "old.json").write_text("{}")
    generate(again, seed=7, calls=SMALL)
    assert _digest(again) == _digest(out)
    other = tmp_path / "other"
    generate(other, seed=8, calls=SMALL)
    assert _digest(other) != _digest(out)


def test_scales_with_calls(small: tuple[Path, GenerationReport], tmp_path: Path) -> None:
    out, report = small
    big_report = generate(tmp_path / "big", seed=7, calls=10 * SMALL)
    small_records = len(_call_records(out))
    big_records = len(_call_records(tmp_path / "big"))
    grown = big_records - small_records
    assert 0.9 * 9 * SMALL <= grown <= 1.2 * 9 * SMALL
    assert 0.9 * 9 * SMALL <= big_report.calls - report.calls <= 1.1 * 9 * SMALL
    assert _planted(tmp_path / "big")["unintended"] == {}
    assert _planted(tmp_path / "big")["missing"] == {}


# --- round trip: read the landing zone back like a loader and re-evaluate ------------------
def _ts(value: str | None) -> int | None:
    if not value:
        return None
    if value[0].isdigit():
        return int(datetime.fromisoformat(value).timestamp())
    return int(parsedate_to_datetime(value).timestamp())


def _rows(root: Path, folder: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted((root / folder).glob("*.csv*")):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        rows.extend(csv.DictReader(io.StringIO(data.decode())))
    return rows


def _reload(root: Path) -> World:
    """A loader in miniature: the landing zone back as a generator World."""
    norm_cache: dict[str, str] = {}

    def norm(value: str) -> str:
        if value not in norm_cache:
            num = phonenumbers.parse(value, "US")
            norm_cache[value] = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        return norm_cache[value]

    w = World()
    latest: dict[str, tuple[int, Call]] = {}
    skip = _broken_paths(root)
    for path in sorted((root / "calls").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel in skip:
            continue
        region = path.parent.name.removeprefix("region=")
        data = path.read_bytes()
        if rel.endswith(".gz"):
            data = gzip.decompress(data)
        name = rel.removesuffix(".gz")
        text = data.decode()
        if name.endswith(".jsonl"):
            recs = [json.loads(line) for line in text.splitlines() if line]
        elif name.endswith(".json"):
            recs = json.loads(text)["calls"]
        else:
            recs = list(csv.DictReader(io.StringIO(text)))
        for r in recs:
            updated = _ts(r["date_updated"]) or 0
            call = Call(r["sid"], r["account_sid"], region, r["direction"], r["from"], r["to"],
                        r["status"], int(r["duration"] or 0), _ts(r["start_time"]) or 0)
            if r["sid"] not in latest or latest[r["sid"]][0] < updated:
                latest[r["sid"]] = (updated, call)
    meta = {r["call_sid"]: r["campaign_id"] for r in _rows(root, "call_metadata")}
    for _, call in latest.values():
        call.campaign_meta = meta.get(call.sid)
        w.calls.append(call)
    regions: dict[str, dict[str, int]] = {}
    for r in _rows(root, "accounts"):
        regions.setdefault(r["account_sid"], {})[r["region"]] = int(r["cps_allotted"])
    w.accounts = [Account(sid, sid, sid, regs) for sid, regs in regions.items()]
    for r in _rows(root, "campaigns"):
        w.campaigns[r["campaign_id"]] = Campaign(r["campaign_id"], r["account_sid"], r["brand"],
                                                 r["purpose"])
    w.inventory = [InventoryRow(r["phone_number"], r["account_sid"], r["kind"],
                                _ts(r["active_from"]) or 0, _ts(r["active_to"]),
                                r["default_campaign_id"] or None) for r in _rows(root, "numbers")]
    for r in _rows(root, "consent"):
        try:
            granted = _ts(r["granted_at"])
        except ValueError:
            continue  # the deliberately unparseable row
        assert granted is not None
        w.consents.append(Consent(norm(r["phone_number"]), r["brand"], r["consent_type"],
                                  r["channel"], granted, _ts(r["revoked_at"]), "", ""))
    w.optouts = [OptOut(norm(r["phone_number"]), r["brand"] or None,
                        _ts(r["requested_at"]) or 0, r["method"], r["call_sid"] or None)
                 for r in _rows(root, "optouts")]
    w.internal_dnc = [InternalDnc(norm(r["phone_number"]), _ts(r["added_at"]) or 0,
                                  r["brand"] or None, r["reason"])
                      for r in _rows(root, "dnc/internal")]
    for r in _rows(root, "disclosures"):
        w.disclosures[r["call_sid"]] = Disclosure(
            r["call_sid"],
            int(r["identity_disclosed_at_s"]) if r["identity_disclosed_at_s"] else None,
            int(r["purpose_disclosed_at_s"]) if r["purpose_disclosed_at_s"] else None,
            r["opt_out_offered"] == "true")
    w.complaints = [Complaint(r["complaint_id"], _ts(r["received_at"]) or 0, r["source"],
                              norm(r["caller_id"]), None, r["call_sid"] or None, r["category"])
                    for r in _rows(root, "complaints")]
    for registry in REGISTRIES:
        uk = registry.startswith("uk_")
        for kind in ("full", "changes"):
            for folder in sorted((root / "dnc" / registry / kind).iterdir()):
                f = RegistryFile(registry, date.fromisoformat(folder.name), kind)
                for path in sorted(folder.glob("*.txt")):
                    for line in path.read_text().splitlines():
                        parts = line.split(",")
                        if uk:
                            number = "+44" + parts[0].replace(" ", "")[1:]
                            op = parts[1] if kind == "changes" else ""
                        else:
                            number = "+1" + parts[0] + (parts[1] if len(parts) > 1 else "")
                            op = parts[2] if kind == "changes" else ""
                        if kind == "full":
                            f.numbers.append(number)
                        else:
                            f.ops.append((number, op))
                w.registry_files.append(f)
    return w


@pytest.mark.quick
def test_round_trip_reproduces_planted(small: tuple[Path, GenerationReport]) -> None:
    """Reading the written files back and re-evaluating gives exactly planted.json."""
    out, report = small
    world = _reload(out)
    assert len(world.calls) == report.calls
    got = evaluate(world)
    for clause in CLAUSES:
        assert got.get(clause, []) == report.planted[clause], clause



@pytest.mark.quick
def test_clause_ids_are_the_policy_modules() -> None:
    """The generator names clauses with the policy's ids, not a copy of them."""
    assert CLAUSES is CLAUSE_IDS


@pytest.mark.quick
def test_evaluator_reads_thresholds_from_the_policy(
    small: tuple[Path, GenerationReport],
) -> None:
    """A stricter policy changes the reference evaluator's result (no threshold copy)."""
    out, report = small
    world = _reload(out)
    policy = load_policy()
    stricter = replace(policy, acd_min_seconds=policy.acd_min_seconds + 1,
                       unanswered_min_attempts=policy.unanswered_min_attempts - 1)
    got = evaluate(world, stricter)
    # Coral's September averages exactly the minimum: one second more makes it violate.
    assert set(got["duration.average"]) > set(report.planted["duration.average"])
    # A number one attempt below the minimum now qualifies (and is 2/3 unanswered).
    assert set(got["unanswered.volume"]) > set(report.planted["unanswered.volume"])
    assert evaluate(world, policy) == {k: v for k, v in report.planted.items() if v}

# --- planted output is frozen; clean mode and the correction re-export -------------------
# sha256 over the sorted {path: sha256(bytes)} map, and of planted.json, for seed 7,
# computed before clean mode existed: the planted output must never change. (A change
# of the phonenumbers metadata or tzdata would change them too: then regenerate these
# constants deliberately, after checking that only the expected bytes moved.)
PLANTED_DIGESTS: dict[int, tuple[str, str]] = {
    1_500: ("70bae84871354cfac9ad146c6933ac6f842efb450e38ac997ee2dc50f2886c19",
            "6f5ad74f8863c811012ebffaf745027467151e62cd4fe91bc3f64e64cd7d0a12"),
    SMALL: ("ba43610ce8a65f5751d2c863909f27d54ba70b4dd5bc7997a475015dc0eea5e7",
            "ae80d07f621667095b2250a0ba0112c144102ead442456ae5238873162ea5c1f"),
}
CLEAN_CALLS = 1_500
# The contract's CSV headers (contract.md), written independently of the generator.
CONTRACT_HEADERS: dict[str, list[str]] = {
    "call_metadata/": ["call_sid", "campaign_id"],
    "campaigns/": ["campaign_id", "account_sid", "brand", "purpose"],
    "numbers/": ["phone_number", "account_sid", "kind", "active_from", "active_to",
                 "default_campaign_id"],
    "accounts/": ["account_sid", "region", "cps_allotted"],
    "consent/": ["phone_number", "brand", "consent_type", "channel", "granted_at",
                 "revoked_at", "source", "evidence_ref"],
    "optouts/": ["phone_number", "brand", "requested_at", "method", "call_sid"],
    "disclosures/": ["call_sid", "identity_disclosed_at_s", "purpose_disclosed_at_s",
                     "opt_out_offered"],
    "complaints/": ["complaint_id", "received_at", "source", "caller_id", "callee",
                    "call_sid", "category"],
    "dnc/internal/": ["phone_number", "added_at", "brand", "reason"],
}


def _aggregate(root: Path) -> tuple[str, str]:
    digest = _digest(root)
    whole = hashlib.sha256(json.dumps(digest, sort_keys=True).encode()).hexdigest()
    return whole, digest["_generator/planted.json"]


def _contract_paths(root: Path) -> set[str]:
    """Files the loader reads: under a contract folder, no hidden part."""
    prefixes = ("calls/", *CONTRACT_HEADERS, *(f"dnc/{r}/" for r in REGISTRIES))
    return {p for p in _files(root) if p.startswith(prefixes)
            and not any(part.startswith(".") for part in p.split("/"))}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    out = tmp_path_factory.mktemp("clean") / "zone"
    return out, generate(out, seed=7, calls=CLEAN_CALLS, violations=False)


@pytest.fixture(scope="module")
def clean_evaluated(clean: tuple[Path, GenerationReport]) -> dict[str, list[str]]:
    """The clean landing zone read back from its files and re-evaluated."""
    return evaluate(_reload(clean[0]))


@pytest.mark.quick
def test_planted_default_unchanged(small: tuple[Path, GenerationReport]) -> None:
    """The default (planted) output is byte-for-byte what it was before clean mode."""
    out, report = small
    assert report.violations is True and report.emptied == ()
    assert _aggregate(out) == PLANTED_DIGESTS[SMALL]
    assert "violations" not in _planted(out)["generator"]


@pytest.mark.quick
@pytest.mark.parametrize("clause", CLAUSES)
def test_clean_mode_has_no_violation(
    clean: tuple[Path, GenerationReport], clean_evaluated: dict[str, list[str]], clause: str
) -> None:
    """Clean mode: zero subjects for every clause, in memory and read back from the files."""
    out, report = clean
    assert report.planted[clause] == []
    assert clean_evaluated.get(clause, []) == []
    entry = _planted(out)["clauses"][clause]
    assert entry == {"match": "exact", "count": 0, "subjects": []}


@pytest.mark.quick
def test_clean_mode_planted_json(
    clean: tuple[Path, GenerationReport], small: tuple[Path, GenerationReport]
) -> None:
    out, report = clean
    doc = _planted(out)
    assert report.violations is False
    assert doc["generator"]["violations"] is False
    assert doc["generator"]["emptied"] == [] == list(report.emptied)  # a fresh folder
    assert doc["unintended"] == {} and doc["missing"] == {} and doc["near_misses"] == {}
    assert set(doc["clauses"]) == set(CLAUSES)
    # Same accounts as the planted world of the seed; only the background traffic.
    planted_doc = _planted(small[0])
    assert doc["generator"]["accounts"] == planted_doc["generator"]["accounts"]
    assert report.calls == CLEAN_CALLS
    # The malformed inputs stay: they are data quality, not violations.
    assert [(m["path"], m["reason"].split(" (")[0]) for m in doc["malformed"]] == [
        (m["path"], m["reason"].split(" (")[0]) for m in planted_doc["malformed"]]
    for m in doc["malformed"]:
        assert (out / m["path"]).is_file(), m


@pytest.mark.quick
def test_clean_registry_schedule_fresh_every_day(clean: tuple[Path, GenerationReport]) -> None:
    """Clean mode: every registry has a file at most max_age_days old on every day of
    the period (not only on days that happen to have telemarketing calls)."""
    assert schedule(True) is SCHEDULE
    max_age = load_policy().dnc_registry_max_age_days
    clean_schedule = schedule(False)
    for registry, files in clean_schedule.items():
        assert set(SCHEDULE[registry]) <= set(files)  # only additions
        dates = sorted(date.fromisoformat(day) for day, _ in files)
        day = date(2026, 9, 1)
        while day < date(2026, 11, 1):
            newest = max(d for d in dates if d <= day)
            assert (day - newest).days <= max_age[registry], (registry, day)
            day += timedelta(days=1)
        first = next(day for day, kind in files if kind == "full")
        assert files[0] == (first, "full"), registry  # membership starts from a snapshot
    out, _ = clean
    assert any((out / "dnc/uk_ctps/full/2026-08-27").iterdir())
    assert any((out / "dnc/ca_dncl/changes/2026-10-01").iterdir())


def test_clean_mode_deterministic(clean: tuple[Path, GenerationReport], tmp_path: Path) -> None:
    out, _ = clean
    again = tmp_path / "again"
    generate(again, seed=7, calls=CLEAN_CALLS, violations=False)
    assert _digest(again) == _digest(out)


def _check_empty(rel: str, data: bytes, page_keys: set[str]) -> None:
    """``data`` is a valid file of ``rel``'s format that holds no rows."""
    if rel.endswith(".gz"):
        assert data[4:8] == b"\x00\x00\x00\x00", rel  # gzip mtime 0 (deterministic)
        data = gzip.decompress(data)
    name = rel.removesuffix(".gz")
    if name.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(data.decode())))
        assert len(rows) == 1, rel  # the header only
        if rel.startswith("calls/"):
            assert {"sid", "account_sid", "from", "to", "start_time"} <= set(rows[0]), rel
        else:
            prefix = next(p for p in CONTRACT_HEADERS if rel.startswith(p))
            assert rows[0] == CONTRACT_HEADERS[prefix], rel
    elif name.endswith(".json") and rel.startswith("calls/"):
        body = json.loads(data)
        assert body["calls"] == [] and set(body) == page_keys, rel
        assert re.fullmatch(r"/2010-04-01/Accounts/AC[0-9a-f]{32}/Calls\.json\?.*", body["uri"])
        number = re.search(r"_page(\d+)\.json$", name)
        assert body["page"] == (int(number.group(1)) if number else 0), rel
    else:  # JSON lines, registry text, anything else: no bytes at all
        assert data == b"", rel


def test_clean_over_planted_empties_vanished_files(
    clean: tuple[Path, GenerationReport], tmp_path: Path
) -> None:
    """Correction re-export: clean data generated into the planted folder keeps every
    earlier contract path, emptied (valid, no rows) where the clean zone has no such file."""
    zone = tmp_path / "zone"
    generate(zone, seed=7, calls=CLEAN_CALLS, violations=True)
    assert _aggregate(zone) == PLANTED_DIGESTS[CLEAN_CALLS]  # planted output unchanged
    planted_sids = {r["sid"] for r in _call_records(zone)}
    # Files a user may have added: a nested export, an unknown format, a hidden file
    # (invisible to the loader) and files outside the contract folders.
    extra_csv = "consent/manual/late_fix.csv.gz"
    (zone / extra_csv).parent.mkdir()
    (zone / extra_csv).write_bytes(gzip.compress(b"phone_number,brand\n+12025550123,X\n"))
    (zone / "calls/region=us1/README.md").write_text("notes")
    (zone / "calls/region=us1/.upload.json").write_text("{}")
    (zone / "stray.txt").write_text("left over")
    before = _contract_paths(zone)
    assert {extra_csv, "calls/region=us1/README.md"} <= before

    report = generate(zone, seed=7, calls=CLEAN_CALLS, violations=False)
    after = _files(zone)
    clean_files = _files(clean[0])
    written = {p for p in clean_files if not p.startswith("_generator/")}
    # Every earlier contract path is still there; the emptied ones are exactly those
    # the clean generation does not write; nothing else was added or kept.
    assert before <= set(after)
    assert list(report.emptied) == sorted(before - written)
    assert set(after) == written | before | {"_generator/planted.json"}
    assert not (zone / "stray.txt").exists()
    assert not (zone / "calls/region=us1/.upload.json").exists()
    assert _planted(zone)["generator"]["emptied"] == list(report.emptied)
    assert report.files == len(written) + len(report.emptied)
    # A good share of the planted zone vanished, in every format.
    suffixes = {re.sub(r"^[^.]*", "", Path(p).name) for p in report.emptied}
    assert {".json", ".jsonl", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz", ".md"} <= suffixes
    page_keys = set(json.loads(next(
        v for k, v in clean_files.items() if k.startswith("calls/") and k.endswith(".json"))))
    for rel in report.emptied:
        _check_empty(rel, after[rel], page_keys)
    # Written files do not depend on what the folder held; no planted sid survives.
    for rel in written:
        assert after[rel] == clean_files[rel], rel
    assert not planted_sids & {r["sid"] for r in _call_records(zone)}
    # Read back (emptied files included), the corrected zone still violates nothing.
    got = evaluate(_reload(zone))
    assert all(not got.get(clause) for clause in CLAUSES), got
    # A second correction run rewrites the same bytes (idempotent).
    again = generate(zone, seed=7, calls=CLEAN_CALLS, violations=False)
    assert again.emptied == report.emptied
    assert _files(zone) == after


def test_cli_generate_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from voice_compliance.cli import main

    out = tmp_path / "cli"
    assert main(["generate", "--out", str(out), "--calls", "300", "--clean"]) == 0
    assert "0 planted violations" in capsys.readouterr().out
    doc = _planted(out)
    assert doc["generator"]["violations"] is False
    assert all(entry["subjects"] == [] for entry in doc["clauses"].values())
