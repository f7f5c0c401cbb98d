"""The S3 landing zone against a real local S3 endpoint (moto's HTTP server)."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ResponseStreamingError

from s3_server import upload_tree
from voice_compliance.config import Settings
from voice_compliance.landing import (
    LocalLandingZone,
    S3LandingZone,
    cleanup,
    make_s3_client,
    materialize,
    open_landing,
)

pytestmark = pytest.mark.s3

PREFIX = "exports/landing"


def _payload(lines: int) -> bytes:
    return b"".join(f"CA{i:032x},CMP{i % 13}\n".encode() for i in range(lines))


@pytest.fixture
def local_tree(tmp_path: Path) -> Path:
    """A small landing tree with plain, gzip, multi-member, truncated, corrupt
    and hidden files."""
    root = tmp_path / "landing"
    big = _payload(40_000)  # ~1.5 MiB: several read chunks
    files = {
        "calls/region=us1/page-001.json": b'{"calls": []}',
        "calls/region=us1/page-002.jsonl.gz": gzip.compress(big),
        "calls/region=ie1/multi.csv.gz": gzip.compress(b"sid\nCA1\n") + gzip.compress(b"CA2\n"),
        "calls/region=ie1/cut.csv.gz": gzip.compress(big)[:50_000],
        "calls/region=au1/bad.csv.gz": b"this is not gzip\n",
        "calls/region=au1/.hidden.csv": b"secret",
        "calls/.tmp/x.csv": b"tmp",
        "calls_old/x.json": b"{}",  # 'calls' is a folder, not a string prefix
        "campaigns/c.csv": b"campaign_id,account_sid,brand,purpose\n",
        "campaigns/empty.csv": b"",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _settings(endpoint: str, bucket: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        landing=f"s3://{bucket}/{PREFIX}",
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        **extra,
    )


def _zone(moto_server: str, bucket: str, tmp_path: Path, **kwargs: Any) -> S3LandingZone:
    client = make_s3_client(_settings(moto_server, bucket, tmp_path))
    return S3LandingZone(f"s3://{bucket}/{PREFIX}", client, backoff_base=0.01, **kwargs)


def _count_calls(client: Any, event: str) -> list[dict[str, str]]:
    """Record the request headers of every attempt of one S3 operation."""
    seen: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        # botocore may hold header values as bytes; compare them as text.
        seen.append(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        )

    client.meta.events.register(f"before-send.s3.{event}", record)
    return seen


class _Raw:
    """The minimal raw stream botocore reads an injected response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _inject_errors(client: Any, operation: str, failures: int, status: int, code: str) -> list[int]:
    """Answer the first ``failures`` attempts of ``operation`` with an error
    response (as S3 sends it) instead of sending them; count all attempts."""
    attempts: list[int] = []

    def fail(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(1)
        if len(attempts) > failures:
            return None  # let the request through
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))

    client.meta.events.register(f"before-send.s3.{operation}", fail)
    return attempts


class _BreakingBody:
    """A GetObject body that breaks off after ``limit`` bytes."""

    def __init__(self, body: Any, limit: int, on_break: Callable[[], None] | None) -> None:
        self._body = body
        self._left = limit
        self._on_break = on_break

    def read(self, amt: int | None = None) -> bytes:
        if self._left <= 0:
            if self._on_break:
                self._on_break()
            raise ResponseStreamingError(error=ConnectionResetError("connection reset by peer"))
        data = self._body.read(min(amt or self._left, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._body.close()


def _break_bodies(
    client: Any, breaks: int, limit: int, on_break: Callable[[], None] | None = None
) -> None:
    """Make the first ``breaks`` GetObject bodies fail mid-stream."""
    count = [0]

    def wrap(parsed: dict[str, Any], **_: Any) -> None:
        if "Body" in parsed and count[0] < breaks:
            count[0] += 1
            parsed["Body"] = _BreakingBody(parsed["Body"], limit, on_break)

    client.meta.events.register("after-call.s3.GetObject", wrap)


# ---------------------------------------------------------------- listing


def test_listing_matches_local_and_skips_hidden(
    moto_server: str, s3_bucket: tuple[Any, str], local_tree: Path, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    upload_tree(client, bucket, PREFIX, local_tree)
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/calls/region=us1/", Body=b"")  # folder marker
    client.put_object(Bucket=bucket, Key="outside/calls/y.json", Body=b"{}")

    zone = _zone(moto_server, bucket, tmp_path)
    local = LocalLandingZone(local_tree)
    for prefix in ("", "calls", "calls/region=ie1", "campaigns", "nothing"):
        s3_objs = zone.list(prefix)
        local_objs = local.list(prefix)
        assert [o.key for o in s3_objs] == [o.key for o in local_objs], prefix
        assert [o.size for o in s3_objs] == [o.size for o in local_objs]
    objs = zone.list("calls")
    assert objs[0].uri == f"s3://{bucket}/{PREFIX}/{objs[0].key}"
    assert not any(o.key.startswith("calls_old") for o in objs)


def test_listing_paginates(moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, bucket = s3_bucket
    keys = [f"numbers/part-{i:03d}.csv" for i in range(23)]
    for key in reversed(keys):
        client.put_object(Bucket=bucket, Key=f"{PREFIX}/{key}", Body=key.encode())
    zone = _zone(moto_server, bucket, tmp_path, page_size=5)
    pages = _count_calls(zone.client, "ListObjectsV2")
    assert [o.key for o in zone.list("numbers")] == keys
    assert len(pages) == 5  # ceil(23 / 5): every page was fetched


@pytest.mark.slow
def test_listing_more_than_one_default_page(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client, bucket = s3_bucket
    keys = [f"dnc/us_national/full/2026-01-01/part-{i:04d}.txt" for i in range(1100)]

    def put(key: str) -> None:
        client.put_object(Bucket=bucket, Key=f"{PREFIX}/{key}", Body=b"1")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))
    zone = _zone(moto_server, bucket, tmp_path)
    pages = _count_calls(zone.client, "ListObjectsV2")
    assert [o.key for o in zone.list("dnc/us_national")] == keys
    assert len(pages) == 2


def test_fingerprint_is_the_etag_and_changes_with_the_object(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    key = f"{PREFIX}/campaigns/c.csv"
    client.put_object(Bucket=bucket, Key=key, Body=b"v1\n")
    zone = _zone(moto_server, bucket, tmp_path)
    [obj] = zone.list("campaigns")
    etag = client.head_object(Bucket=bucket, Key=key)["ETag"]
    assert obj.fingerprint == etag.strip('"') == hashlib.md5(b"v1\n").hexdigest()
    first = materialize(zone, obj, tmp_path / "work")

    client.put_object(Bucket=bucket, Key=key, Body=b"v2\n")  # same key, same size
    [changed] = zone.list("campaigns")
    assert changed.fingerprint != obj.fingerprint
    second = materialize(zone, changed, tmp_path / "work")
    assert first.sha256 == hashlib.sha256(b"v1\n").hexdigest()
    assert second.sha256 == hashlib.sha256(b"v2\n").hexdigest()
    assert second.path.read_bytes() == b"v2\n"
    cleanup(first)
    cleanup(second)


# ------------------------------------------------------------ materialize


def test_materialize_from_s3_matches_local(
    moto_server: str, s3_bucket: tuple[Any, str], local_tree: Path, tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    upload_tree(client, bucket, PREFIX, local_tree)
    s3 = open_landing(_settings(moto_server, bucket, tmp_path))
    local = LocalLandingZone(local_tree)
    s3_objs, local_objs = s3.list(""), local.list("")
    assert len(s3_objs) == 8
    seen_truncated = seen_error = False
    for s3_obj, local_obj in zip(s3_objs, local_objs, strict=True):
        a = materialize(s3, s3_obj, tmp_path / "work")
        b = materialize(local, local_obj, tmp_path / "work")
        assert (a.sha256, a.raw_size, a.truncated) == (b.sha256, b.raw_size, b.truncated)
        assert (a.error is None) == (b.error is None), (a.error, b.error)
        assert a.path.read_bytes() == b.path.read_bytes(), s3_obj.key
        assert a.temporary and a.path.parent == tmp_path / "work"
        seen_truncated |= a.truncated
        seen_error |= a.error is not None
        cleanup(a)
        cleanup(b)
    assert seen_truncated and seen_error
    assert not any((tmp_path / "work").iterdir())
    assert (local_tree / "campaigns" / "c.csv").exists()


# ---------------------------------------------------------------- retries


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError")])
def test_throttling_and_5xx_are_retried(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path, status: int, code: str
) -> None:
    client, bucket = s3_bucket
    data = _payload(1000)
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/consent/a.csv.gz", Body=gzip.compress(data))
    zone = _zone(moto_server, bucket, tmp_path)
    listed = _inject_errors(zone.client, "ListObjectsV2", 2, status, code)
    got = _inject_errors(zone.client, "GetObject", 2, status, code)

    [obj] = zone.list("consent")
    mat = materialize(zone, obj, tmp_path / "work")
    assert len(listed) == 3 and len(got) == 3  # two injected failures, then success
    assert mat.error is None and mat.path.read_bytes() == data
    cleanup(mat)


def test_broken_body_is_resumed_with_a_ranged_get(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    data = _payload(60_000)
    raw = gzip.compress(data)
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/calls/region=us1/p.jsonl.gz", Body=raw)
    zone = _zone(moto_server, bucket, tmp_path)
    gets = _count_calls(zone.client, "GetObject")
    step = len(raw) // 4 + 1
    _break_bodies(zone.client, breaks=3, limit=step)

    [obj] = zone.list("calls")
    mat = materialize(zone, obj, tmp_path / "work")
    assert mat.error is None and not mat.truncated
    assert mat.sha256 == hashlib.sha256(raw).hexdigest() and mat.raw_size == len(raw)
    assert mat.path.read_bytes() == data
    ranges = [h.get("Range") for h in gets]
    assert ranges == [None, f"bytes={step}-", f"bytes={2 * step}-", f"bytes={3 * step}-"]
    assert all(h.get("If-Match") for h in gets[1:])
    cleanup(mat)


def test_object_replaced_mid_download_is_a_read_failure(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    key = f"{PREFIX}/optouts/o.csv"
    client.put_object(Bucket=bucket, Key=key, Body=_payload(10_000))
    zone = _zone(moto_server, bucket, tmp_path)
    [obj] = zone.list("optouts")

    def replace() -> None:  # another writer replaces the object mid-download
        client.put_object(Bucket=bucket, Key=key, Body=_payload(20_000))

    _break_bodies(zone.client, breaks=1, limit=obj.size // 2, on_break=replace)
    mat = materialize(zone, obj, tmp_path / "work")
    assert mat.error is not None and "changed during download" in mat.error
    assert mat.sha256 == "" and mat.path.read_bytes() == b""
    cleanup(mat)


def test_body_failing_every_time_gives_up(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/accounts/a.csv", Body=b"x" * 1000)
    zone = _zone(moto_server, bucket, tmp_path, read_attempts=3)
    _break_bodies(zone.client, breaks=100, limit=0)
    [obj] = zone.list("accounts")
    mat = materialize(zone, obj, tmp_path / "work")
    assert mat.error is not None and mat.error.startswith("read failure")
    assert "3 times" in mat.error
    cleanup(mat)


def test_missing_object_is_a_read_failure(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/accounts/a.csv.gz", Body=b"x")
    zone = _zone(moto_server, bucket, tmp_path)
    [obj] = zone.list("accounts")
    client.delete_object(Bucket=bucket, Key=f"{PREFIX}/accounts/a.csv.gz")
    mat = materialize(zone, obj, tmp_path / "work")
    assert mat.error is not None and "NoSuchKey" in mat.error
    cleanup(mat)


# ------------------------------------------------------- Airflow connection


def test_client_from_an_airflow_connection(
    moto_server: str,
    s3_bucket: tuple[Any, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``aws_conn_id`` takes credentials and endpoint from the connection."""
    import json

    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/campaigns/c.csv", Body=b"c\n")
    if "AIRFLOW_HOME" not in os.environ:  # keep Airflow out of ~/airflow
        monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    conn = {
        "conn_type": "aws",
        "login": "testing-conn",
        "password": "testing-conn",
        "extra": {"endpoint_url": moto_server, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_VC_LANDING_TEST", json.dumps(conn))
    settings = Settings(
        landing=f"s3://{bucket}/{PREFIX}",
        warehouse=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        airflow_home=tmp_path / "airflow",
        aws_conn_id="vc_landing_test",
    )
    zone = open_landing(settings)
    assert isinstance(zone, S3LandingZone)
    assert zone.client.meta.endpoint_url == moto_server
    assert zone.client._request_signer._credentials.access_key == "testing-conn"
    assert zone.client.meta.config.retries["mode"] == "standard"
    [obj] = zone.list("campaigns")
    mat = materialize(zone, obj, tmp_path / "work")
    assert mat.path.read_bytes() == b"c\n"
    cleanup(mat)
