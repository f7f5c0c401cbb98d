"""Writing pulled days and watermarks into the landing zone (folder or S3).

The landing zone the loaders read is also where the puller keeps its state,
so a pull needs nothing but the landing zone (decision 0014):

* day files ``calls/region=<r>/twilio_<account>_<YYYY-MM-DD>.jsonl.gz``:
  JSON lines of Call resources sorted by ``sid``, each line stable JSON
  (sorted keys), gzip with ``mtime=0``: the same calls give the same bytes,
  so an unchanged day is recognised and not rewritten;
* watermarks ``_twilio/state/<account>_<region>.json`` (hidden from the
  loaders by the leading ``_``): the first day not yet pulled, and the
  sha256 of every day file written.

Writes are atomic: a local file is written under a hidden temporary name in
the same folder and renamed over the target (``os.replace``); an S3 object
is one ``PutObject`` with ``Content-MD5``. A reader never sees half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from voice_compliance import atomic_files
from voice_compliance.config import Settings

STATE_PREFIX = "_twilio/state"


def day_key(account: str, region: str, day: date) -> str:
    """The landing key of one (account, region, UTC day) file."""
    return f"calls/region={region}/twilio_{account}_{day.isoformat()}.jsonl.gz"


def encode_calls(calls: list[dict[str, Any]]) -> bytes:
    """Deterministic JSON lines: sorted by sid, keys sorted, no spaces."""
    ordered = sorted(calls, key=lambda c: str(c.get("sid") or ""))
    lines = [
        json.dumps(c, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for c in ordered
    ]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def gzip_bytes(data: bytes) -> bytes:
    """gzip without a timestamp or file name: equal input, equal output."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class Writer(Protocol):
    """Reads and atomically writes whole objects of a landing zone."""

    root: str

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Replace the object with ``data`` in one step."""
        ...


class LocalWriter:
    """A landing folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.path = Path(root).expanduser().resolve()
        self.root = str(self.path)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"refused key {key!r}")
        return self.path.joinpath(*parts)

    def read(self, key: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        """Write a hidden temporary file beside the target, fsync, rename over it."""
        atomic_files.write_bytes(self._path(key), data, durable=True)


class S3Writer:
    """A landing zone under ``s3://bucket/prefix``."""

    def __init__(self, root: str, client: Any) -> None:
        bucket, _, prefix = root[len("s3://") :].partition("/")
        if not root.startswith("s3://") or not bucket:
            raise ValueError(f"not an s3://bucket/prefix URI: {root!r}")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.root = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = response["Body"].read()
        return body

    def write(self, key: str, data: bytes) -> None:
        """One PutObject (atomic in S3), integrity-checked with Content-MD5."""
        import base64

        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentMD5=md5,
            ContentType="application/gzip" if key.endswith(".gz") else "application/json",
        )


def open_writer(settings: Settings) -> Writer:
    """The writer of ``settings.landing`` (folder or ``s3://``)."""
    if settings.is_s3:
        from voice_compliance.landing import make_s3_client

        return S3Writer(settings.landing, make_s3_client(settings))
    return LocalWriter(settings.landing)


def content_of(existing: bytes | None) -> bytes | None:
    """The JSON lines inside an existing day file (None when absent or unreadable)."""
    if existing is None:
        return None
    try:
        return gzip.decompress(existing) if existing else b""
    except (EOFError, OSError, zlib.error):
        return None  # a damaged file is rewritten


@dataclass
class Watermark:
    """What is pulled for one (account, region)."""

    account: str
    region: str
    next_day: date | None = None
    """The first UTC day not yet pulled; every day before it was pulled whole."""
    days: dict[str, str] = field(default_factory=dict)
    """sha256 of the JSON lines of every day file written, by ISO day."""

    @property
    def key(self) -> str:
        """Where this watermark lives in the landing zone."""
        return f"{STATE_PREFIX}/{self.account}_{self.region}.json"

    @classmethod
    def load(cls, writer: Writer, account: str, region: str) -> Watermark:
        """The stored watermark, or an empty one."""
        mark = cls(account, region)
        raw = writer.read(mark.key)
        if raw:
            data = json.loads(raw)
            mark.next_day = date.fromisoformat(data["next_day"]) if data.get("next_day") else None
            mark.days = dict(data.get("days") or {})
        return mark

    def save(self, writer: Writer) -> None:
        """Store it (atomically, like the day files)."""
        data = {
            "account": self.account,
            "region": self.region,
            "next_day": self.next_day.isoformat() if self.next_day else None,
            "days": dict(sorted(self.days.items())),
        }
        writer.write(self.key, (json.dumps(data, indent=1) + "\n").encode())
