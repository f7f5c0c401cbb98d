"""Pytest fixtures for a real local S3 endpoint (moto's HTTP server).

``tests/conftest.py`` star-imports this module, so the fixtures are available
to every test. The server is a real HTTP endpoint on 127.0.0.1: boto3,
Airflow's S3Hook and DuckDB httpfs all talk to it like to any S3-compatible
store, which exercises the exact code paths (signing, pagination, ranged
GETs, retries) that production uses.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["FAKE_AWS_ENV", "moto_server", "s3_bucket", "upload_tree"]

FAKE_AWS_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Fake credentials: moto accepts anything, and real ones must never be used."""


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Start moto's threaded S3 server for the session; yield its endpoint URL.

    Also points the AWS environment at fake credentials (and away from any
    ~/.aws files) for the whole session.
    """
    from moto.server import ThreadedMotoServer

    patch = pytest.MonkeyPatch()
    for name, value in FAKE_AWS_ENV.items():
        patch.setenv(name, value)
    # A developer's profile or shared files must not leak into the tests.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        patch.delenv(name, raising=False)
    missing = os.devnull
    patch.setenv("AWS_CONFIG_FILE", missing)
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", missing)

    # Port 0: the OS picks a free port when the server binds, so there is no
    # race between "find a free port" and "bind it" (a failed bind would make
    # ThreadedMotoServer.start() wait forever).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        patch.undo()


def _client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(moto_server: str) -> Iterator[tuple[Any, str]]:
    """A fresh, uniquely named bucket on the moto server: ``(client, bucket)``.

    The bucket and its objects are deleted afterwards so a long session does
    not pile up objects in the server's memory.
    """
    client = _client(moto_server)
    bucket = f"vc-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield client, bucket
    finally:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=bucket)


def upload_tree(
    client: Any, bucket: str, prefix: str, local_dir: str | os.PathLike[str]
) -> list[str]:
    """Upload every file under ``local_dir`` to ``s3://bucket/prefix/...``.

    Keys mirror the relative paths ('/'-separated); hidden files are uploaded
    too, so tests can check that listings skip them. Returns the keys, sorted.
    """
    root = Path(local_dir)
    base = prefix.strip("/")
    keys: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        key = f"{base}/{rel}" if base else rel
        client.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys
