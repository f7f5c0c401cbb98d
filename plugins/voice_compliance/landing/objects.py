"""What the landing zone hands out: listed objects, the zone protocol, local files.

Shared by every other module of the package: :class:`LandedObject` (one
listed file), the :class:`LandingZone` protocol that the local and S3 zones
implement, :class:`MaterializedFile` (a landed object made a local file) and
:class:`LandingReadError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

CHUNK_SIZE = 1024 * 1024
"""Bytes read (and at most bytes inflated) per step: bounds memory per file."""


@dataclass(frozen=True)
class LandedObject:
    """One file in the landing zone, as listed (nothing downloaded yet)."""

    key: str
    """Path relative to the landing root, ``/``-separated."""
    uri: str
    """``file:///abs/path`` (percent-encoded where needed) or ``s3://bucket/prefix/key``."""
    size: int
    fingerprint: str
    """Change marker: the S3 ETag without quotes, or ``f"{size}-{mtime_ns}"`` locally."""
    refused: str | None = None
    """Why the object must not be read although it was listed (a symbolic link
    leading out of the landing zone, a FIFO, a key with ``..`` segments...).
    The loader records it in the manifest with this reason and never opens it."""


@runtime_checkable
class LandingZone(Protocol):
    """A landing zone: a root that can be listed and read."""

    root: str

    def list(self, prefix: str) -> list[LandedObject]:
        """Every file under ``root/prefix`` (recursive), sorted by key."""
        ...

    def open(self, obj: LandedObject) -> BinaryIO:
        """A binary stream of the object's raw (still compressed) bytes."""
        ...


@dataclass(frozen=True)
class MaterializedFile:
    """A landed object made available as a local file.

    ``path`` holds the decompressed content for ``.gz`` keys, a copy for S3
    plain files, or is the original file for local plain files. ``sha256``
    and ``raw_size`` describe the raw bytes as stored in the landing zone.
    ``truncated`` means the gzip stream ended inside a member: ``path`` then
    holds everything decompressed before the cut. ``error`` is set when the
    content could not be read at all (not gzip, corrupt data, read failure);
    ``path`` is then an empty file (or absent) and must not be loaded. After a
    read failure ``sha256`` is ``""`` because the raw bytes are unknown.
    ``temporary`` says whether ``path`` was created by :func:`materialize`
    and is deleted by :func:`cleanup`.
    """

    path: Path
    sha256: str
    raw_size: int
    truncated: bool
    error: str | None
    temporary: bool = False
    note: str | None = None
    """Something worth recording that did not stop the read (gzip trailing garbage)."""


class LandingReadError(OSError):
    """Reading a landed object failed for good (retries exhausted, or the
    object changed while it was being downloaded)."""
