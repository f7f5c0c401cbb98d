"""The hostile-input corpus (``tests/hostile_corpus.py``) through the real loaders.

Each case is the clean base landing zone plus one hostile file or change,
ingested the way the ingestion DAGs do it (every source, then the files
outside every source folder) into a copy of the base's warehouse. Whatever
the file, a user relies on this:

- the run completes (no exception from any source);
- every landed file has a manifest row, unreadable and unrecognized ones
  included, with the reason;
- rows read = rows loaded + rows quarantined for every file;
- every row of the clean base stays loaded;
- nothing outside the landing zone is read;
- no full phone number reaches a log line;

and the case's own expectation: status, rows loaded, the exact physical
lines quarantined with their raw text.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hostile_corpus import BASE, BASE_ROWS, CASES, PHONES, Case, write
from voice_compliance import ingest, masking
from voice_compliance.config import Settings
from voice_compliance.landing import is_hidden


@dataclass(frozen=True)
class Template:
    landing: Path
    warehouse: Path
    outside: Path
    settings: Settings


def _ingest_all(settings: Settings) -> None:
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    ingest.record_unassigned_files(settings)


def _settings(root: Path) -> Settings:
    settings = Settings.from_env(
        landing=str(root / "landing"), warehouse=str(root / "warehouse.duckdb")
    )
    return settings.replace(data_dir=root / "data")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The base landing zone, loaded once; cases start from copies of both."""
    root = tmp_path_factory.mktemp("hostile")
    settings = _settings(root / "template")
    landing = Path(settings.landing)
    for key, text in BASE.items():
        write(landing, key, text)
    _ingest_all(settings)
    outside = root / "outside"
    outside.mkdir()
    return Template(landing, settings.warehouse, outside, settings)


@pytest.fixture
def case_zone(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The case's own copy of the base, at the template's paths (so landing
    URIs, and with them file ids, are the template's: the copy is a re-run)."""
    backup = tmp_path_factory.mktemp("backup")
    shutil.copytree(template.landing, backup / "landing", symlinks=True)
    shutil.copy2(template.warehouse, backup / "warehouse.duckdb")
    try:
        yield template.settings
    finally:
        shutil.rmtree(template.landing)
        shutil.copytree(backup / "landing", template.landing, symlinks=True)
        shutil.copy2(backup / "warehouse.duckdb", template.warehouse)
        for child in template.outside.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def _query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _landed_keys(landing: Path) -> set[str]:
    """Every non-hidden entry a user landed: files, links, FIFOs (not folders)."""
    keys = set()
    for dirpath, dirnames, filenames in os.walk(landing):
        names = [*filenames, *(d for d in dirnames if Path(dirpath, d).is_symlink())]
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        for name in names:
            key = Path(dirpath, name).relative_to(landing).as_posix()
            if not is_hidden(key):
                keys.add(key)
    return keys


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}:{c.id}" for c in CASES])
def test_hostile_case(
    case: Case, template: Template, case_zone: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = case_zone
    masking.install_log_masking()
    case.apply(template.landing, template.outside)
    with caplog.at_level(logging.DEBUG):
        _ingest_all(settings)  # the run completes

    manifest = {
        row[0]: row[1:]
        for row in _query(
            settings,
            "select landing_key, source, status, error, rows_read, rows_loaded,"
            " rows_quarantined from compliance.load_manifest",
        )
    }
    missing = _landed_keys(template.landing) - set(manifest)
    assert not missing, f"landed files without a manifest row: {missing}"
    for key, (_source, status, _error, read, loaded, quarantined) in manifest.items():
        assert read == loaded + quarantined, f"{key} ({status}) does not reconcile"

    for key, rows in BASE_ROWS.items():
        if key in case.changes_base:
            continue
        _source, status, _error, _read, loaded, _q = manifest[key]
        assert (status, loaded) == ("loaded", rows), f"base file {key} lost rows"

    for expect in case.expect:
        assert expect.key in manifest, f"no manifest row for {expect.key!r}"
        source, status, error, _read, loaded, _q = manifest[expect.key]
        if expect.status is not None:
            assert status == expect.status, (expect.key, error)
        if expect.loaded is not None:
            assert loaded == expect.loaded, (expect.key, status, error)
        if expect.source is not None:
            assert source == expect.source
        lines = _query(
            settings,
            "select q.line_number, q.raw_text, q.reason from compliance.quarantine as q"
            " join compliance.load_manifest as m using (file_id) where m.landing_key = ?",
            [expect.key],
        )
        if expect.quarantined is not None:
            assert {line for line, _raw, _reason in lines} == set(expect.quarantined), lines
            for line, raw, _reason in lines:
                assert expect.quarantined[line] in (raw or ""), (line, raw)
        if expect.reason is not None:
            texts = [error or "", *(reason for _line, _raw, reason in lines)]
            assert any(expect.reason in text for text in texts), texts
    hidden = [k for k in manifest if is_hidden(k)]
    assert not hidden, f"hidden files (uploads in progress, markers) were loaded: {hidden}"

    # Nothing outside the landing zone is read into the warehouse.
    leaked = (
        _query(
            settings,
            "select count(*) from compliance.quarantine where raw_text like '%Secret%'",
        )[0][0]
        + _query(settings, "select count(*) from raw.consent where brand = 'Secret'")[0][0]
    )
    assert leaked == 0

    logged = caplog.text
    shown = [phone for phone in PHONES if phone in logged]
    assert not shown, f"full numbers in the log: {shown}"


def test_corpus_covers_the_classes() -> None:
    """At least 60 cases, over every class the reliability table lists."""
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    classes = {c.cls for c in CASES}
    assert classes >= {
        "encoding",
        "line endings",
        "columns",
        "compression",
        "huge",
        "names",
        "links",
        "registry",
        "values",
        "duplicates",
        "injection",
        "quoting",
        "control",
    }
