"""Unit tests for the local landing zone and ``materialize``."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest

from voice_compliance import landing
from voice_compliance.config import Settings
from voice_compliance.landing import (
    LandedObject,
    LocalLandingZone,
    S3LandingZone,
    cleanup,
    materialize,
    materialized,
    open_landing,
)

pytestmark = pytest.mark.quick

CSV = b"call_sid,campaign_id\nCA1,CMP1\nCA2,CMP2\n"


def _payload(lines: int = 20_000) -> bytes:
    """Some compressible but not trivial content (several gzip blocks)."""
    return b"".join(
        f"CA{i:032x},CMP{i % 97},{hashlib.md5(str(i).encode()).hexdigest()}\n".encode()
        for i in range(lines)
    )


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _one(zone: LocalLandingZone, key: str) -> LandedObject:
    [obj] = [o for o in zone.list("") if o.key == key]
    return obj


def _gzip_prefix_reference(data: bytes) -> tuple[bytes, bool]:
    """What the ``gzip`` module yields for ``data`` before it gives up.

    Returns (content decompressed before the cut, truncated?).
    """
    out = bytearray()
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
        try:
            while piece := f.read(4096):
                out += piece
        except EOFError:
            return bytes(out), True
    return bytes(out), False


@pytest.fixture
def zone(tmp_path: Path) -> LocalLandingZone:
    return LocalLandingZone(tmp_path / "landing")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


# ---------------------------------------------------------------- listing


def test_list_is_recursive_sorted_and_skips_hidden(zone: LocalLandingZone) -> None:
    root = zone.path
    for rel in [
        "calls/region=us1/page-002.json",
        "calls/region=us1/page-001.json.gz",
        "calls/region=ie1/a.jsonl",
        "campaigns/c.csv",
        "calls/.hidden.json",
        "calls/region=us1/.~lock.page.json#",
        "calls/.tmp/region=us1/x.json",
        ".staging/calls/y.json",
    ]:
        _write(root / rel, b"{}")
    (root / "calls" / "region=au1").mkdir()  # an empty folder lists nothing

    keys = [o.key for o in zone.list("calls")]
    assert keys == [
        "calls/region=ie1/a.jsonl",
        "calls/region=us1/page-001.json.gz",
        "calls/region=us1/page-002.json",
    ]
    assert [o.key for o in zone.list("")] == [*keys, "campaigns/c.csv"]
    assert [o.key for o in zone.list("/calls/region=us1/")] == keys[1:]


def test_list_object_fields(zone: LocalLandingZone) -> None:
    path = _write(zone.path / "calls" / "region=us1" / "p 1.json", b"hello")
    [obj] = zone.list("calls")
    st = path.stat()
    assert obj.key == "calls/region=us1/p 1.json"
    assert obj.size == 5
    assert obj.fingerprint == f"5-{st.st_mtime_ns}"
    assert obj.uri == "file://" + str(zone.path) + "/calls/region=us1/p%201.json"
    assert obj.uri.startswith("file:///")


def test_list_prefix_is_a_folder_not_a_string_prefix(zone: LocalLandingZone) -> None:
    _write(zone.path / "dnc" / "internal" / "a.csv", b"x")
    _write(zone.path / "dnc" / "internal_old" / "b.csv", b"x")
    assert [o.key for o in zone.list("dnc/internal")] == ["dnc/internal/a.csv"]


def test_list_missing_prefix_is_empty_and_escapes_are_refused(zone: LocalLandingZone) -> None:
    assert zone.list("complaints") == []
    with pytest.raises(ValueError):
        zone.list("../etc")


def test_fingerprint_changes_when_file_changes(zone: LocalLandingZone) -> None:
    path = _write(zone.path / "campaigns" / "c.csv", CSV)
    first = zone.list("campaigns")[0].fingerprint

    # Same size, different content: only the mtime can tell; force it to move
    # because two writes may land in the same filesystem timestamp tick.
    path.write_bytes(CSV.replace(b"CMP1", b"CMP9"))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    second = zone.list("campaigns")[0].fingerprint
    assert second != first

    path.write_bytes(CSV + b"CA3,CMP3\n")
    third = zone.list("campaigns")[0].fingerprint
    assert third not in (first, second)
    assert third.startswith(f"{len(CSV) + 9}-")


# ------------------------------------------------------------ materialize


def test_materialize_plain_local_file_in_place(zone: LocalLandingZone, work: Path) -> None:
    path = _write(zone.path / "campaigns" / "c.csv", CSV)
    mat = materialize(zone, _one(zone, "campaigns/c.csv"), work)
    assert mat.path == path
    assert mat.sha256 == _sha(CSV)
    assert mat.raw_size == len(CSV)
    assert (mat.truncated, mat.error, mat.temporary) == (False, None, False)
    cleanup(mat)
    assert path.exists(), "cleanup must never delete a landed file"


def test_materialize_gzip(zone: LocalLandingZone, work: Path) -> None:
    data = _payload()
    raw = gzip.compress(data)
    _write(zone.path / "calls" / "region=us1" / "page-001.jsonl.gz", raw)
    obj = _one(zone, "calls/region=us1/page-001.jsonl.gz")

    mat = materialize(zone, obj, work)
    assert mat.path.parent == work
    assert mat.path.name.endswith(".jsonl"), "keeps the inner extension"
    assert mat.path.read_bytes() == data
    assert mat.sha256 == _sha(raw)
    assert mat.raw_size == len(raw) == obj.size
    assert (mat.truncated, mat.error, mat.temporary) == (False, None, True)
    cleanup(mat)
    assert not mat.path.exists()
    cleanup(mat)  # idempotent


def test_materialize_multi_member_gzip_with_padding(zone: LocalLandingZone, work: Path) -> None:
    parts = [b"a,b\n1,2\n", b"", _payload(3000), b"3,4\n"]
    raw = b"".join(gzip.compress(p) for p in parts) + b"\x00" * 7
    _write(zone.path / "x" / "multi.csv.gz", raw)
    assert gzip.decompress(raw) == b"".join(parts)  # the reference agrees

    mat = materialize(zone, _one(zone, "x/multi.csv.gz"), work)
    assert mat.path.read_bytes() == b"".join(parts)
    assert (mat.truncated, mat.error) == (False, None)
    assert mat.sha256 == _sha(raw)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_materialize_gzip_across_tiny_chunks(
    zone: LocalLandingZone, work: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Member boundaries, magic bytes and NUL padding split across reads."""
    monkeypatch.setattr(landing.materialization, "CHUNK_SIZE", chunk)  # reads
    monkeypatch.setattr(landing.gunzip, "CHUNK_SIZE", chunk)  # inflation steps
    parts = [b"first\n", b"second line\n" * 50, b"third\n"]
    raw = gzip.compress(parts[0]) + b"\x00\x00" + gzip.compress(parts[1]) + gzip.compress(parts[2])
    _write(zone.path / "x" / "m.txt.gz", raw)
    mat = materialize(zone, _one(zone, "x/m.txt.gz"), work)
    assert (mat.error, mat.truncated) == (None, False)
    assert mat.path.read_bytes() == b"".join(parts)
    assert mat.sha256 == _sha(raw)


def test_materialize_highly_compressed_gzip(zone: LocalLandingZone, work: Path) -> None:
    """64 MiB from a ~64 KiB file: output is written in bounded steps."""
    data = b"\x00" * (64 * 1024 * 1024)
    raw = gzip.compress(data, compresslevel=9)
    _write(zone.path / "x" / "zeros.bin.gz", raw)
    mat = materialize(zone, _one(zone, "x/zeros.bin.gz"), work)
    assert mat.error is None
    assert mat.path.stat().st_size == len(data)
    with open(mat.path, "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("cut", [1, 5, 10, 11, 20, 0.25, 0.5, 0.9, -8, -4, -1])
def test_materialize_truncated_gzip_keeps_the_good_prefix(
    zone: LocalLandingZone, work: Path, cut: float
) -> None:
    data = _payload()
    full = gzip.compress(data)
    n = int(len(full) * cut) if isinstance(cut, float) else cut % len(full)
    raw = full[:n]
    _write(zone.path / "calls" / "t.jsonl.gz", raw)

    mat = materialize(zone, _one(zone, "calls/t.jsonl.gz"), work)
    got = mat.path.read_bytes()
    assert (mat.truncated, mat.error) == (True, None)
    assert mat.sha256 == _sha(raw) and mat.raw_size == n
    assert data.startswith(got)
    # gzip calls a lone first magic byte "not a gzip file"; we call it cut short.
    expected, truncated = _gzip_prefix_reference(raw) if n >= 2 else (b"", True)
    assert truncated
    # zlib can only release what it has verified so far; we must keep at least
    # everything the gzip module itself hands out before the cut.
    assert len(got) >= len(expected)
    if cut in (0.5, 0.9, -8):
        assert len(got) > len(data) // 3
    if cut in (-8, -4, -1):  # cut inside the CRC/size trailer: all content is there
        assert got == data


def test_materialize_truncated_second_member(zone: LocalLandingZone, work: Path) -> None:
    first, second = b"one\n" * 100, _payload(2000)
    full = gzip.compress(first) + gzip.compress(second)
    raw = full[: len(gzip.compress(first)) + 200]
    _write(zone.path / "x" / "t2.csv.gz", raw)
    mat = materialize(zone, _one(zone, "x/t2.csv.gz"), work)
    assert (mat.truncated, mat.error) == (True, None)
    got = mat.path.read_bytes()
    assert got.startswith(first) and (first + second).startswith(got)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (CSV, "not a gzip file"),
        (b"x", "not a gzip file"),
        (b"\x1f\x8b\x09\x00" + b"\x00" * 20, "corrupt gzip data"),  # unknown method
    ],
)
def test_materialize_corrupt_gzip_sets_error(
    zone: LocalLandingZone, work: Path, raw: bytes, message: str
) -> None:
    _write(zone.path / "x" / "bad.csv.gz", raw)
    obj = _one(zone, "x/bad.csv.gz")
    mat = materialize(zone, obj, work)
    assert mat.error is not None and mat.error.startswith(message), mat.error
    assert obj.uri in mat.error
    assert mat.truncated is False
    assert mat.sha256 == _sha(raw), "the raw checksum is still recorded"
    assert mat.raw_size == len(raw)
    assert mat.path.read_bytes() == b"", "no half-decoded content is left to load"
    cleanup(mat)
    assert not mat.path.exists()


@pytest.mark.parametrize("garbage", [b"garbage!", b"\x1f", b"\x00\x00junk" * 1000])
def test_materialize_gzip_trailing_garbage_keeps_the_rows(
    zone: LocalLandingZone, work: Path, garbage: bytes
) -> None:
    """Like gzip(1): the members decode, the garbage after them is noted, not fatal."""
    raw = gzip.compress(CSV) + gzip.compress(CSV) + garbage
    _write(zone.path / "x" / "tail.csv.gz", raw)
    obj = _one(zone, "x/tail.csv.gz")
    with materialized(zone, obj, work) as mat:
        assert mat.error is None
        assert mat.path.read_bytes() == CSV + CSV
        if garbage == b"\x1f":  # a lone magic byte: a member cut right at its start
            assert mat.truncated and mat.note is None
        else:
            assert not mat.truncated
            assert mat.note is not None and "trailing garbage" in mat.note
            assert str(len(garbage.lstrip(b"\x00"))) in mat.note
        assert mat.sha256 == _sha(raw)


def test_materialize_corrupt_deflate_data_and_crc(zone: LocalLandingZone, work: Path) -> None:
    good = gzip.compress(_payload(5000))
    flipped = bytearray(good)
    for i in range(len(good) // 2, len(good) // 2 + 64):
        flipped[i] ^= 0xA5
    bad_crc = bytearray(good)
    bad_crc[-8] ^= 0xFF
    for name, raw in [("flip.gz", bytes(flipped)), ("crc.gz", bytes(bad_crc))]:
        _write(zone.path / "x" / name, raw)
        with pytest.raises((OSError, EOFError, zlib.error)):
            gzip.decompress(raw)  # the reference rejects it too
        mat = materialize(zone, _one(zone, f"x/{name}"), work)
        assert mat.error is not None and "corrupt gzip data" in mat.error, mat.error
        assert mat.truncated is False
        assert mat.sha256 == _sha(raw)


def test_materialize_empty_files(zone: LocalLandingZone, work: Path) -> None:
    _write(zone.path / "x" / "empty.csv", b"")
    _write(zone.path / "x" / "empty.csv.gz", b"")
    _write(zone.path / "x" / "empty-member.csv.gz", gzip.compress(b""))
    for key in ("x/empty.csv", "x/empty.csv.gz", "x/empty-member.csv.gz"):
        obj = _one(zone, key)
        mat = materialize(zone, obj, work)
        assert mat.path.read_bytes() == b""
        assert (mat.truncated, mat.error) == (False, None), key
        assert mat.sha256 == _sha(zone.local_path(obj).read_bytes())
        cleanup(mat)


def test_materialize_names_are_unique(zone: LocalLandingZone, work: Path) -> None:
    _write(zone.path / "a" / "p.csv.gz", gzip.compress(b"a\n"))
    _write(zone.path / "b" / "p.csv.gz", gzip.compress(b"b\n"))
    objs = zone.list("")
    mats = [materialize(zone, o, work) for o in [*objs, objs[0]]]
    assert len({m.path for m in mats}) == 3
    assert [m.path.read_bytes() for m in mats] == [b"a\n", b"b\n", b"a\n"]
    for m in mats:
        cleanup(m)
    assert list(work.iterdir()) == []


def test_materialized_context_manager_cleans_up_on_error(
    zone: LocalLandingZone, work: Path
) -> None:
    _write(zone.path / "a" / "p.csv.gz", gzip.compress(CSV))
    obj = _one(zone, "a/p.csv.gz")
    with pytest.raises(RuntimeError), materialized(zone, obj, work) as mat:
        assert mat.path.read_bytes() == CSV
        raise RuntimeError("loader failed")
    assert not mat.path.exists()


class _FlakyZone:
    """A zone whose stream breaks after some bytes (a read failure)."""

    root = "memory://"

    def __init__(self, data: bytes, fail_after: int | None) -> None:
        self.data = data
        self.fail_after = fail_after

    def list(self, prefix: str) -> list[LandedObject]:
        return []

    def open(self, obj: LandedObject) -> BinaryIO:
        if self.fail_after is None:
            raise PermissionError("access denied")
        zone = self

        class _Broken(io.BytesIO):
            def read(self, size: int | None = -1) -> bytes:
                if self.tell() >= zone.fail_after:  # type: ignore[operator]
                    raise ConnectionResetError("connection reset by peer")
                return super().read(min(size or 1, 10))

        return _Broken(self.data)


@pytest.mark.parametrize("fail_after", [None, 0, 30])  # reads come in 10s
@pytest.mark.parametrize("key", ["x/a.csv", "x/a.csv.gz"])
def test_materialize_read_failure_is_reported(work: Path, fail_after: int | None, key: str) -> None:
    data = gzip.compress(CSV * 20) if key.endswith(".gz") else CSV * 20
    obj = LandedObject(key, f"memory://{key}", len(data), "f")
    mat = materialize(_FlakyZone(data, fail_after), obj, work)
    assert mat.error is not None and mat.error.startswith("read failure"), mat.error
    assert mat.sha256 == "" and mat.truncated is False
    assert mat.raw_size == (fail_after or 0)
    cleanup(mat)
    assert list(work.iterdir()) == []


def test_materialize_plain_non_local_zone_copies(work: Path) -> None:
    data = CSV * 1000
    obj = LandedObject("x/a.csv", "memory://x/a.csv", len(data), "f")

    class _Mem(_FlakyZone):
        def open(self, obj: LandedObject) -> BinaryIO:
            return io.BytesIO(self.data)

    mat = materialize(_Mem(data, None), obj, work)
    assert mat.temporary and mat.path.parent == work and mat.path.name.endswith(".csv")
    assert mat.path.read_bytes() == data and mat.sha256 == _sha(data)


def test_open_landing_picks_the_implementation(tmp_path: Path) -> None:
    local = Settings.from_env(landing=str(tmp_path / "landing"))
    zone = open_landing(local)
    assert isinstance(zone, LocalLandingZone) and zone.root == str(tmp_path / "landing")
    assert isinstance(zone, landing.LandingZone)

    remote = Settings.from_env(
        landing="s3://bucket/some/prefix/", s3_endpoint_url="http://127.0.0.1:1", s3_region="x"
    )
    s3 = open_landing(remote)
    assert isinstance(s3, S3LandingZone)
    assert (s3.bucket, s3.prefix, s3.root) == ("bucket", "some/prefix", "s3://bucket/some/prefix")
    assert s3.client.meta.endpoint_url == "http://127.0.0.1:1"
    assert s3.client.meta.config.retries["mode"] == "standard"
