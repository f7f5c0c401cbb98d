"""Correction re-export: clean data generated into a folder that held planted data.

The loader replaces the rows of a landing file whose content changed, but a
file that disappears from the landing zone keeps its rows (the landing zone is
append-only). A clean landing zone written over a planted one would therefore
leave the rows of every planted-only file (a CPS-block day, a second page of a
busy day) in the warehouse. So, before the folder is cleared, every contract
file in it is remembered; after the clean zone is written, each remembered path
the clean generation did not write is written again as an empty but valid file
of the same name and format, which the loader sees as a changed file with zero
rows and whose old rows it drops:

- CSV: the header row of its source (:data:`.writers.EXPORT_HEADERS`, or the
  calls CSV columns under ``calls/``);
- a Twilio list page (``calls/**.json``): ``{"calls": []}`` with the usual page
  keys (page number from ``_pageNNN`` in the name, account from the name's
  account tag, else from the old file, else a placeholder sid);
- JSON lines, registry ``.txt`` files and anything else: no bytes at all;
- a name ending in ``.gz`` stays gzip-compressed (an empty member, ``mtime=0``).

Only paths the loader reads are remembered: files under the folder prefixes of
contract.md, skipping hidden names as the loader does; ``_generator/`` and
other stray files are simply removed with the rest of the folder.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

from .twilio import page
from .writers import CALL_CSV_COLUMNS, EXPORT_HEADERS, PAGE_SIZE, Sink, csv_bytes

REGISTRY_PREFIXES: tuple[str, ...] = (
    "dnc/us_national/", "dnc/uk_tps/", "dnc/uk_ctps/", "dnc/ca_dncl/",
)
CONTRACT_PREFIXES: tuple[str, ...] = ("calls/", *EXPORT_HEADERS, *REGISTRY_PREFIXES)
"""The landing folders of contract.md (the prefixes the loader lists)."""

PLACEHOLDER_ACCOUNT = "AC" + "0" * 32
"""Account sid of an emptied list page whose account cannot be recovered."""

_PAGE_NUMBER = re.compile(r"_page(\d+)\.json$")
_ACCOUNT_TAG = re.compile(r"_([0-9a-f]{8})(?:_page\d+)?\.json$")
_ACCOUNT_IN_TEXT = re.compile(rb"/Accounts/(AC[0-9a-fA-F]{32})/")


def contract_files(out: Path) -> list[str]:
    """The contract files under ``out`` as sorted landing keys (``a/b/c.csv``)."""
    if not out.is_dir():
        return []
    keys = []
    for path in out.rglob("*"):
        rel = path.relative_to(out).as_posix()
        # Hidden files and folders are invisible to the loader: never loaded, never emptied.
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if rel.startswith(CONTRACT_PREFIXES) and path.is_file():
            keys.append(rel)
    return sorted(keys)


def empty_bodies(out: Path, accounts: Sequence[str]) -> dict[str, bytes]:
    """For every contract file now under ``out``: the uncompressed content of an
    empty but valid file of the same name and format.

    Call this before ``out`` is cleared: a list page whose name does not carry
    one of ``accounts`` takes its account sid from the old file's content.
    """
    return {rel: empty_body(rel, accounts, out / rel) for rel in contract_files(out)}


def empty_body(rel: str, accounts: Sequence[str], old: Path | None = None) -> bytes:
    """The uncompressed content of an empty but valid file named ``rel``."""
    name = rel.removesuffix(".gz")
    if name.endswith(".csv"):
        if rel.startswith("calls/"):
            return csv_bytes(CALL_CSV_COLUMNS, [])
        for prefix, header in EXPORT_HEADERS.items():
            if rel.startswith(prefix):
                return csv_bytes(header, [])
        return b""  # a CSV under a registry folder is no registry file: nothing to keep
    if name.endswith(".json") and rel.startswith("calls/"):
        number = _PAGE_NUMBER.search(name)
        body = page([], _page_account(name, accounts, old),
                    int(number.group(1)) if number else 0, PAGE_SIZE, True)
        return json.dumps(body).encode()
    return b""


def _page_account(name: str, accounts: Sequence[str], old: Path | None) -> str:
    """The account of a list page: its name's tag (the generator's ``calls_<day>_<tag>``
    names), else the first account URI in the old file, else a placeholder."""
    tag = _ACCOUNT_TAG.search(name)
    if tag:
        for sid in accounts:
            if sid.endswith(tag.group(1)):
                return sid
    if old is not None and old.is_file():
        data = old.read_bytes()
        if old.name.endswith(".gz"):
            try:
                data = zlib.decompressobj(wbits=31).decompress(data)
            except zlib.error:
                data = b""
        found = _ACCOUNT_IN_TEXT.search(data)
        if found:
            return found.group(1).decode()
    return PLACEHOLDER_ACCOUNT


def write_emptied(sink: Sink, bodies: dict[str, bytes]) -> list[str]:
    """Write every remembered path that ``sink`` has not written as its empty
    body (gzip-compressed for ``.gz`` names); return those paths, sorted."""
    written = set(sink.files)
    emptied = [rel for rel in sorted(bodies) if rel not in written]
    for rel in emptied:
        sink.write(rel, bodies[rel])
    return emptied

