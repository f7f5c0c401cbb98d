"""The machine's cache of the phone metadata tables (``phones.cache``).

A new warehouse copies the tables from the cache instead of deriving them:
the copy must be the derivation exactly, normalize the same, survive a
damaged cache, and never serve a derivation of another version.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest

from voice_compliance.phones import cache, install, normalize, normalize_relation, tables

pytestmark = pytest.mark.quick

NUMBERS = [
    ("(415) 555-2671", "US"),
    ("020 7946 0018", "GB"),
    ("+1 208 200 1234", None),
    ("+39 06 698 12345", None),
    ("1-613-555-0123", "CA"),
    ("+1 555 555 1234", None),
]


def _contents(con: duckdb.DuckDBPyConnection, schema: str = "ref") -> dict[str, object]:
    return {
        table: con.execute(
            f"select * exclude (installed_at) from {schema}.{table} order by all"
            if table == "phone_metadata_stamp"
            else f"select * from {schema}.{table} order by all"
        ).fetchall()
        for table in tables.TABLES
    }


def _no_derivation(*_: object, **__: object) -> None:
    raise AssertionError("derived the tables although the cache holds them")


def test_a_new_warehouse_copies_the_derivation_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    derived = duckdb.connect(str(tmp_path / "first.duckdb"))
    install(derived, cache_dir=tmp_path / "cache")
    folder = cache.folder(tmp_path / "cache", tables.stamp())
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.parquet" for t in tables.TABLES)

    monkeypatch.setattr(tables, "_load_derived", _no_derivation)
    copied = duckdb.connect(str(tmp_path / "second.duckdb"))
    install(copied, cache_dir=tmp_path / "cache")

    assert _contents(copied) == _contents(derived)
    assert tables.installed_version(copied) == tables.stamp()
    copied.execute("create table src (raw varchar, region varchar)")
    copied.executemany("insert into src values (?, ?)", NUMBERS)
    source = "select raw, region from src"
    normalize_relation(copied, source, "out", "US", cache_dir=tmp_path / "cache")
    rows = copied.execute("select raw, e164, is_valid, region_code, time_zones from out").fetchall()
    expected = {raw: normalize(raw, region or "US") for raw, region in NUMBERS}
    assert {r[0]: (r[1], r[2], r[3], list(r[4])) for r in rows} == {
        raw: (info.e164, info.is_valid, info.region_code, list(info.time_zones))
        for raw, info in expected.items()
    }


def test_a_damaged_cache_is_derived_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = duckdb.connect()
    install(reference, cache_dir=tmp_path / "cache")
    folder = cache.folder(tmp_path / "cache", tables.stamp())
    (folder / "phone_type_answers.parquet").write_bytes(b"not parquet")

    con = duckdb.connect()
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        install(con, cache_dir=tmp_path / "cache")

    assert "unreadable" in caplog.text
    assert _contents(con) == _contents(reference)
    # ... and the derivation wrote the cache again, whole
    again = duckdb.connect()
    monkeypatch.setattr(tables, "_load_derived", _no_derivation)
    install(again, cache_dir=tmp_path / "cache")
    assert _contents(again) == _contents(reference)


def test_another_version_never_reads_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(duckdb.connect(), cache_dir=tmp_path / "cache")
    old = cache.folder(tmp_path / "cache", tables.stamp())

    monkeypatch.setattr(tables, "LAYOUT_VERSION", tables.LAYOUT_VERSION + 1)
    new = cache.folder(tmp_path / "cache", tables.stamp())
    assert new != old
    con = duckdb.connect()
    install(con, cache_dir=tmp_path / "cache")

    assert tables.installed_version(con) == tables.stamp()
    assert new.is_dir() and old.is_dir(), "each derivation in its own folder"


def test_force_derives_even_when_the_cache_holds_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(duckdb.connect(), cache_dir=tmp_path / "cache")
    calls: list[str] = []
    derive = tables._load_derived

    def counted(con: duckdb.DuckDBPyConnection, schema: str) -> int:
        calls.append(schema)
        return derive(con, schema)

    monkeypatch.setattr(tables, "_load_derived", counted)
    install(duckdb.connect(), cache_dir=tmp_path / "cache")
    assert calls == []
    install(duckdb.connect(), force=True, cache_dir=tmp_path / "cache")
    assert calls == ["ref"]


def test_the_key_follows_the_deriving_code_and_the_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when nobody bumps LAYOUT_VERSION: another derivation, Python or
    DuckDB is another folder."""
    base = cache.folder(tmp_path, tables.stamp())
    package = tmp_path / "phones"
    package.mkdir()
    for name in cache.DERIVING_MODULES:
        source = Path(cache.__file__).with_name(f"{name}.py")
        (package / f"{name}.py").write_bytes(source.read_bytes())
    monkeypatch.setattr(cache, "_PACKAGE_DIR", package)
    assert cache.folder(tmp_path, tables.stamp()) == base, "same sources, same folder"

    typetrie_copy = package / "typetrie.py"
    typetrie_copy.write_text(typetrie_copy.read_text() + "\n# changed\n")
    assert cache.folder(tmp_path, tables.stamp()) != base

    monkeypatch.setattr(cache, "_PACKAGE_DIR", Path(cache.__file__).parent)
    monkeypatch.setattr(duckdb, "__version__", "0.0.0")
    assert cache.folder(tmp_path, tables.stamp()) != base


def test_an_incomplete_cache_is_written_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install(duckdb.connect(), cache_dir=tmp_path / "cache")
    folder = cache.folder(tmp_path / "cache", tables.stamp())
    (folder / "phone_regions.parquet").unlink()

    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        install(duckdb.connect(), cache_dir=tmp_path / "cache")

    assert "incomplete" in caplog.text
    assert (folder / "phone_regions.parquet").is_file(), "the derivation filled it again"


def test_a_cache_that_cannot_be_written_only_costs_the_derivation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache folder that is not a folder (here a file: as root, permissions
    would not stop us) is a warning, never a failed load."""
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    con = duckdb.connect()

    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        install(con, cache_dir=not_a_folder)
        install(duckdb.connect(), cache_dir=not_a_folder)

    assert tables.installed_version(con) == tables.stamp()
    assert "could not write" in caplog.text
