"""The landing zone: list and read the raw export files, local or on S3.

The landing zone is a local folder or an ``s3://bucket/prefix`` URI with the
layout of ``contract.md``. Both are accessed through the same small
:class:`LandingZone` protocol, so loaders never care where the files live:

* :func:`open_landing` picks the implementation from ``Settings.landing``;
* ``zone.list(prefix)`` lists the files under a folder (recursively, sorted by
  key) with a cheap change marker (``fingerprint``) that needs no download;
* :func:`materialize` turns one landed object into a local, decompressed file
  (streaming, bounded memory) plus the sha256 of its raw bytes.

Temporary files: :func:`materialize` writes into ``work_dir`` under unique
names and marks those files ``temporary=True``; delete them with
:func:`cleanup` (or use the :func:`materialized` context manager, which does
it for you). A plain local file is returned in place (``temporary=False``) and
:func:`cleanup` leaves it alone.

S3 reads are retried twice over: botocore's own retry mode handles throttling
and 5xx answers to each API call, and :class:`S3LandingZone` resumes a GET
whose body breaks off mid-stream with a ranged, ``If-Match`` conditional GET
from the byte reached, so a long download survives a dropped connection and
can never splice two versions of an object together.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import os
import random
import re
import stat
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable
from urllib.parse import quote

from voice_compliance.config import Settings

if TYPE_CHECKING:  # boto3 is only needed for S3; keep local use import-light.
    from botocore.config import Config

__all__ = [
    "CHUNK_SIZE",
    "LandedObject",
    "LandingReadError",
    "LandingZone",
    "LocalLandingZone",
    "MaterializedFile",
    "S3LandingZone",
    "cleanup",
    "make_s3_client",
    "materialize",
    "materialized",
    "open_landing",
    "sweep_work_dir",
]

CHUNK_SIZE = 1024 * 1024
"""Bytes read (and at most bytes inflated) per step: bounds memory per file."""

S3_MAX_ATTEMPTS = 10
"""botocore attempts per S3 API call (first try included), standard mode."""

READ_ATTEMPTS = 5
"""Consecutive failed body reads tolerated before a download is given up."""

_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------
# API types
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Local folder
# --------------------------------------------------------------------------


def _clean_prefix(prefix: str) -> str:
    """Normalize a folder prefix to ``a/b`` (no leading/trailing slash).

    Prefixes are folders, not string prefixes, so ``calls`` never matches
    ``calls_old/...`` and the local and S3 zones list exactly the same keys.
    Prefixes come from the code, never from landed names: ``..`` is refused.
    """
    parts = [p for p in prefix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"landing prefix must stay inside the root: {prefix!r}")
    return "/".join(parts)


HIDDEN_PREFIXES = (".", "_")
"""Names starting with these are not landed files: in-progress uploads
(``.x.csv.part``), markers (``_SUCCESS``), tool folders (``_generator/``).
Hadoop, Spark and most S3 writers use the same convention."""


def is_hidden(key: str) -> bool:
    """True for names that, by convention, are not landed files (any segment)."""
    # '..x' is not a hidden-file convention but an odd name: it is listed.
    return any(
        part.startswith(HIDDEN_PREFIXES) and not part.startswith("..") for part in key.split("/")
    )


def key_problem(key: str) -> str | None:
    """Why a landed key cannot be trusted as a path, or None when it can.

    The one check every zone applies to the names it lists: a key is split
    on ``/`` only (a backslash is an ordinary character of a name), and an
    empty, ``.`` or ``..`` segment would mean a different file on a file
    system than in the bucket, so such keys are refused, never normalized.
    """
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "refused: the key has an empty, '.' or '..' path segment"
    if any(ord(ch) < 32 for ch in key):
        return "refused: the key contains control characters"
    return None


def confined_path(root: Path, key: str) -> Path:
    """The file ``key`` names under ``root``, guaranteed to stay inside it.

    One mechanism for path confinement: :func:`key_problem` refuses odd
    segments, and the fully resolved path (every symbolic link followed)
    must still lie under the resolved root.
    """
    problem = key_problem(key)
    if problem:
        raise ValueError(f"{problem}: {key!r}")
    path = root.joinpath(*key.split("/"))
    resolved = Path(os.path.realpath(path))
    if not resolved.is_relative_to(root):
        raise ValueError(f"refused: {key!r} resolves outside the landing zone")
    return path


# Path.as_uri() would percent-encode '=' in 'region=us1'; RFC 3986 allows
# sub-delims in path segments, so keep URIs readable and still valid.
_URI_SAFE = "/=:@!$&'()*+,;-._~"


def _file_uri(path: Path) -> str:
    return "file://" + quote(str(path), safe=_URI_SAFE)


class LocalLandingZone:
    """A landing zone in a local folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root_str = str(root)
        if root_str.startswith("file://"):
            root_str = root_str[len("file://") :]
        self.path = Path(root_str).expanduser().resolve()
        self.root = str(self.path)

    def __repr__(self) -> str:
        return f"LocalLandingZone({self.root!r})"

    def list(self, prefix: str = "") -> list[LandedObject]:
        """Every non-hidden file under ``root/prefix``, recursively, sorted by key.

        A missing folder lists as empty: a source with no exports yet is not
        an error.
        """
        clean = _clean_prefix(prefix)
        if clean and is_hidden(clean):
            return []
        base = self.path / clean if clean else self.path
        if not base.is_dir():
            return []
        found: list[LandedObject] = []
        for dirpath, dirnames, filenames in os.walk(base):
            # Prune hidden folders in place so os.walk never descends into them;
            # links to folders are listed (refused), never followed.
            links = [d for d in dirnames if Path(dirpath, d).is_symlink()]
            dirnames[:] = [d for d in dirnames if not is_hidden(d) and d not in links]
            for name in (*filenames, *links):
                if is_hidden(name):
                    continue
                obj = self._listed(Path(dirpath, name))
                if obj is not None:
                    found.append(obj)
        found.sort(key=lambda o: o.key)
        return found

    def _listed(self, full: Path) -> LandedObject | None:
        """The listing entry for one path found by the walk (None if it vanished)."""
        key = full.relative_to(self.path).as_posix()
        uri = _file_uri(full)
        try:
            lst = full.lstat()
        except FileNotFoundError:  # deleted while listing
            return None
        marker = f"{lst.st_size}-{lst.st_mtime_ns}"
        refused = key_problem(key)
        if refused is None and full.is_symlink():
            target = Path(os.path.realpath(full))
            if not target.is_relative_to(self.path):
                refused = "refused: a symbolic link leading outside the landing zone"
            elif not target.exists():
                refused = "refused: a dangling symbolic link"
            elif target.is_dir():
                refused = "refused: a symbolic link to a folder (links to folders are not followed)"
        if refused is None:
            try:
                st = full.stat()
            except OSError as exc:
                return LandedObject(key, uri, lst.st_size, marker, f"refused: {exc.strerror}")
            if not stat.S_ISREG(st.st_mode):
                refused = "refused: not a regular file (a FIFO, socket or device)"
            else:
                return LandedObject(key, uri, st.st_size, f"{st.st_size}-{st.st_mtime_ns}")
        return LandedObject(key, uri, lst.st_size, marker, refused)

    def local_path(self, obj: LandedObject) -> Path:
        """The file behind ``obj`` (refuses keys and links that escape the root)."""
        return confined_path(self.path, obj.key)

    def open(self, obj: LandedObject) -> BinaryIO:
        """Open the file for binary reading."""
        return open(self.local_path(obj), "rb")  # the caller closes it


# --------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------


def _retry_config() -> Config:
    from botocore.config import Config

    return Config(
        # "standard" retries throttling (SlowDown, 503), 5xx and connection
        # errors with exponential backoff and jitter; "adaptive" would add a
        # client-side rate limiter, which a single reader does not need.
        retries={"mode": "standard", "max_attempts": S3_MAX_ATTEMPTS},
        connect_timeout=10,
        read_timeout=60,
    )


def make_s3_client(settings: Settings) -> Any:
    """A boto3 S3 client for ``settings``, with retries on throttling and 5xx.

    Credentials come from the standard boto3 chain (environment, shared
    files, instance role), or, when ``settings.aws_conn_id`` is set, from
    that Airflow connection (its session, region, endpoint and botocore
    config; ``settings.s3_endpoint_url``/``s3_region`` still win when set,
    and retry options the connection sets itself override the defaults).
    A custom endpoint (any S3-compatible store) uses path-style addressing,
    which every such store supports, unlike virtual-host buckets.
    """
    from botocore.config import Config

    config = _retry_config()
    if settings.s3_endpoint_url:
        config = config.merge(Config(s3={"addressing_style": "path"}))

    if settings.aws_conn_id:
        # Imported here: Airflow is heavy and not needed outside Airflow.
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=settings.aws_conn_id, region_name=settings.s3_region)
        session = hook.get_session(region_name=settings.s3_region or hook.region_name)
        endpoint = settings.s3_endpoint_url or hook.conn_config.get_service_endpoint_url("s3")
        if endpoint and not settings.s3_endpoint_url:
            config = config.merge(Config(s3={"addressing_style": "path"}))
        return session.client(
            "s3",
            endpoint_url=endpoint,
            # Options set explicitly in the connection's config_kwargs win
            # (merge only carries user-provided options); ours fill the rest.
            config=config.merge(hook.config),
            verify=hook.verify,
        )

    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=config,
    )


def _split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"S3 URI without a bucket: {uri!r}")
    return bucket, prefix.strip("/")


def _transient_read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the body stream broke, not that the request is bad."""
    import botocore.exceptions as bex
    import urllib3.exceptions as uex

    return (
        bex.ResponseStreamingError,
        bex.IncompleteReadError,
        bex.ReadTimeoutError,
        bex.ConnectionClosedError,
        uex.HTTPError,  # ProtocolError, ReadTimeoutError, IncompleteRead...
        http.client.HTTPException,
        OSError,  # ConnectionResetError, TimeoutError
    )


class _S3Reader(io.RawIOBase):
    """The body of one S3 object, resumed with ranged GETs when it breaks.

    The first GET records the object's ETag and length; every resume asks for
    ``Range: bytes=<pos>-`` with ``If-Match: <etag>``, so a replaced object
    fails (412) instead of yielding a mix of old and new bytes.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        max_failures: int,
        backoff_base: float,
        backoff_cap: float,
        sleep: Callable[[float], None],
    ) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._max_failures = max_failures
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._transient = _transient_read_errors()
        self._pos = 0
        self._etag: str | None = None
        self._size = 0
        self._body: Any = None
        self.resumes = 0
        """How many times the download was resumed (for logs and tests)."""
        self._get()  # fail at open() when the object is missing or forbidden

    def _get(self) -> None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._etag is not None:
            kwargs["Range"] = f"bytes={self._pos}-"
            kwargs["IfMatch"] = self._etag
        try:
            resp = self._client.get_object(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if self._etag is not None and code in ("PreconditionFailed", "412"):
                raise LandingReadError(
                    f"s3://{self._bucket}/{self._key} changed during download"
                ) from exc
            raise
        if self._etag is None:
            self._etag = resp["ETag"]
            self._size = int(resp["ContentLength"])
        self._body = resp["Body"]

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            # The connection is already broken; closing it may fail too.
            with contextlib.suppress(Exception):
                body.close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size:
            return 0
        view = memoryview(buffer).cast("B")
        failures = 0
        while True:
            if self._body is None:
                self._get()  # botocore retries this call itself
            try:
                data = self._body.read(len(view))
                if not data:
                    # A clean EOF before Content-Length is still a broken body.
                    raise http.client.IncompleteRead(b"", self._size - self._pos)
            except self._transient as exc:
                failures += 1
                self._drop_body()
                if failures >= self._max_failures:
                    raise LandingReadError(
                        f"s3://{self._bucket}/{self._key}: body read failed "
                        f"{failures} times at byte {self._pos}: {exc!r}"
                    ) from exc
                delay = min(self._backoff_cap, self._backoff_base * 2 ** (failures - 1))
                self._sleep(random.uniform(delay / 2, delay))  # jitter
                self.resumes += 1
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            return n

    def close(self) -> None:
        self._drop_body()
        super().close()


class S3LandingZone:
    """A landing zone under ``s3://bucket/prefix`` read with a boto3 client."""

    def __init__(
        self,
        root: str,
        client: Any,
        *,
        page_size: int | None = None,
        read_attempts: int | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bucket, self.prefix = _split_s3_uri(root)
        self.root = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self.client = client
        self.page_size = page_size
        self.read_attempts = read_attempts or READ_ATTEMPTS
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"S3LandingZone({self.root!r})"

    def _full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def list(self, prefix: str = "") -> list[LandedObject]:
        """Every non-hidden object under ``root/prefix``, sorted by key.

        Paginated with the ``list_objects_v2`` paginator, so any number of
        objects is listed; folder markers (keys ending ``/``) are skipped.
        """
        clean = _clean_prefix(prefix)
        if clean and is_hidden(clean):
            return []
        # Trailing '/' keeps folder semantics: 'calls' must not match 'calls_old/'.
        s3_prefix = "/".join(p for p in (self.prefix, clean) if p)
        s3_prefix = f"{s3_prefix}/" if s3_prefix else ""
        strip = len(self.prefix) + 1 if self.prefix else 0
        pagination: dict[str, int] = {"PageSize": self.page_size} if self.page_size else {}
        paginator = self.client.get_paginator("list_objects_v2")
        found: list[LandedObject] = []
        for page in paginator.paginate(
            Bucket=self.bucket, Prefix=s3_prefix, PaginationConfig=pagination
        ):
            for item in page.get("Contents", ()):
                full_key: str = item["Key"]
                if full_key.endswith("/"):
                    continue
                key = full_key[strip:]
                if is_hidden(key):
                    continue
                found.append(
                    LandedObject(
                        key=key,
                        uri=f"s3://{self.bucket}/{full_key}",
                        size=int(item["Size"]),
                        fingerprint=str(item["ETag"]).strip('"'),
                        refused=key_problem(key),
                    )
                )
        found.sort(key=lambda o: o.key)
        return found

    def open(self, obj: LandedObject) -> BinaryIO:
        """Stream the object's raw bytes; a body that breaks off is resumed."""
        raw = _S3Reader(
            self.client,
            self.bucket,
            self._full_key(obj.key),
            max_failures=self.read_attempts,
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            sleep=self.sleep,
        )
        return io.BufferedReader(raw, buffer_size=CHUNK_SIZE)  # type: ignore[return-value]


def open_landing(settings: Settings) -> LandingZone:
    """The landing zone named by ``settings.landing`` (folder or ``s3://``)."""
    if settings.is_s3:
        return S3LandingZone(settings.landing, make_s3_client(settings))
    return LocalLandingZone(settings.landing)


# --------------------------------------------------------------------------
# Materialize: raw bytes -> sha256 + local (decompressed) file
# --------------------------------------------------------------------------


class _GzipError(Exception):
    pass


class _ReadFailure(Exception):
    pass


class _Gunzip:
    """Incremental gzip decoder with ``gzip`` module semantics.

    Handles concatenated members and NUL padding between/after them, bounds
    the output of each step to :data:`CHUNK_SIZE` (a gzip bomb cannot blow up
    memory), and tells a stream cut inside a member (truncated) from data that
    is not gzip at all or corrupt (error).
    """

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write
        self._inflater: Any = None  # None = between members
        self._pending = b""  # a lone byte at a member boundary (magic split)
        self.members = 0
        self.trailing = 0
        """Bytes after the last complete member that are not gzip (ignored)."""

    def feed(self, data: bytes) -> None:
        if self.trailing:
            self.trailing += len(data)
            return
        while data:
            if self._inflater is None:
                if self.members:
                    # gzip ignores zero padding after a member (tape blocks).
                    data = data.lstrip(b"\x00")
                    if not data:
                        return
                data = self._pending + data
                if len(data) < 2:
                    self._pending = data
                    return
                self._pending = b""
                if data[:2] != _GZIP_MAGIC:
                    if self.members == 0:
                        raise _GzipError("not a gzip file (bad magic bytes)")
                    # Like gzip(1): "decompression OK, trailing garbage ignored".
                    self.trailing = len(data)
                    return
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        """Inflate ``data``; return the bytes past the end of the member."""
        inflater = self._inflater
        try:
            out = inflater.decompress(data, CHUNK_SIZE)
            self._write(out)
            # Drain in bounded steps: leftover input waits in unconsumed_tail,
            # and a full output buffer may hide more pending output.
            while not inflater.eof and (inflater.unconsumed_tail or len(out) == CHUNK_SIZE):
                out = inflater.decompress(inflater.unconsumed_tail, CHUNK_SIZE)
                self._write(out)
        except zlib.error as exc:
            raise _GzipError(f"corrupt gzip data in member {self.members + 1}: {exc}") from exc
        if inflater.eof:
            self._inflater = None
            self.members += 1
            return bytes(inflater.unused_data)
        return b""

    def finish(self) -> bool:
        """End of input; True when the stream stopped inside a member."""
        if self._pending:
            if self._pending == _GZIP_MAGIC[:1]:
                return True  # cut right after the first magic byte
            if self.members == 0:
                raise _GzipError("not a gzip file (bad magic bytes)")
            self.trailing += len(self._pending)
            self._pending = b""
        if self._inflater is not None:
            # Emit whatever the inflater still holds; a cut stream may refuse.
            with contextlib.suppress(zlib.error):
                self._write(self._inflater.flush())
            return True
        return False


def _read_chunks(src: BinaryIO) -> Iterator[bytes]:
    """Chunks of ``src``; a failing read becomes :class:`_ReadFailure` so it is
    never confused with a failing write to the work folder."""
    errors = _read_errors()
    while True:
        try:
            chunk = src.read(CHUNK_SIZE)
        except errors as exc:
            raise _ReadFailure(str(exc) or repr(exc)) from exc
        if not chunk:
            return
        yield chunk


def _read_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)
    try:
        import botocore.exceptions as bex
        import urllib3.exceptions as uex
    except ImportError:  # local-only installs need no boto3
        return errors
    return (*errors, bex.BotoCoreError, bex.ClientError, uex.HTTPError)


def _open_source(zone: LandingZone, obj: LandedObject) -> BinaryIO:
    try:
        return zone.open(obj)
    except _read_errors() as exc:
        raise _ReadFailure(str(exc) or repr(exc)) from exc


def _hash_in_place(path: Path) -> MaterializedFile:
    sha = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as src:
            for chunk in _read_chunks(src):
                sha.update(chunk)
                size += len(chunk)
    except (_ReadFailure, OSError) as exc:
        return MaterializedFile(path, "", size, False, f"read failure: {exc}")
    return MaterializedFile(path, sha.hexdigest(), size, False, None)


_WORK_NAME = re.compile(r"^[0-9a-f]{16}-(?P<pid>\d+)-[^/]*$")
_WORK_SUFFIXES = (".csv", ".jsonl", ".json", ".txt")


def _work_file(work_dir: Path, obj: LandedObject) -> tuple[int, Path]:
    """A new, uniquely named file in ``work_dir`` for ``obj``.

    The name is short whatever the landed name (a 255-byte file name or a
    1,024-byte S3 key must not make it too long): a hash of the URI
    (traceable to its source), the writing process's pid (so a later run can
    tell files a killed process left behind, see :func:`sweep_work_dir`), a
    random part (two tasks never collide) and the decompressed file's
    extension, which readers may sniff.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    name = obj.key.rsplit("/", 1)[-1].removesuffix(".gz").lower()
    suffix = next((s for s in _WORK_SUFFIXES if name.endswith(s)), "")
    tag = hashlib.sha256(obj.uri.encode()).hexdigest()[:16]
    fd, path = tempfile.mkstemp(dir=work_dir, prefix=f"{tag}-{os.getpid()}-", suffix=suffix)
    return fd, Path(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_work_dir(work_dir: Path) -> int:
    """Delete work files left by processes that no longer exist; return how many.

    :func:`materialize` cleans up after itself, except when its process is
    killed (SIGKILL, OOM, a power cut). Files of live processes are left
    alone, so two loaders sharing a work folder never delete each other's.
    """
    if not work_dir.is_dir():
        return 0
    removed = 0
    for entry in work_dir.iterdir():
        match = _WORK_NAME.match(entry.name)
        if match and entry.is_file() and not _alive(int(match["pid"])):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def materialize(zone: LandingZone, obj: LandedObject, work_dir: Path) -> MaterializedFile:
    """Make ``obj`` available as a local file, hashing its raw bytes.

    Streams in :data:`CHUNK_SIZE` chunks. ``.gz`` keys are decompressed on
    the fly (all concatenated members); other keys are copied, except local
    plain files, which are returned in place. Problems with the content
    itself (not gzip, corrupt, cut short) and read failures are reported in
    the result, never raised; failures to write ``work_dir`` do raise.
    Delete the result with :func:`cleanup` (or use :func:`materialized`).
    """
    if obj.refused:  # never opened: a link out of the zone, a FIFO, a '..' key
        return MaterializedFile(Path(os.devnull), "", obj.size, False, obj.refused)
    is_gz = obj.key.endswith(".gz")
    if isinstance(zone, LocalLandingZone) and not is_gz:
        try:
            path = zone.local_path(obj)
        except ValueError as exc:  # changed into an escaping link since listing
            return MaterializedFile(Path(os.devnull), "", obj.size, False, str(exc))
        return _hash_in_place(path)

    fd, path = _work_file(Path(work_dir), obj)
    sha = hashlib.sha256()
    raw_size = 0
    truncated = False
    error: str | None = None
    gunzip: _Gunzip | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            gunzip = _Gunzip(out.write) if is_gz else None
            try:
                with _open_source(zone, obj) as src:
                    for chunk in _read_chunks(src):
                        sha.update(chunk)
                        raw_size += len(chunk)
                        if gunzip is None:
                            out.write(chunk)
                        elif error is None:
                            try:
                                gunzip.feed(chunk)
                            except _GzipError as exc:
                                # Keep reading: the checksum of a corrupt file is
                                # still worth recording in the load manifest.
                                error = str(exc)
                if gunzip is not None and error is None:
                    truncated = gunzip.finish()
            except _GzipError as exc:
                error = str(exc)
            except _ReadFailure as exc:
                error = f"read failure: {exc}"
            if error is not None:
                # Never leave half-decoded content that a careless caller could load.
                out.truncate(0)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if error is not None:
        if error.startswith("read failure"):
            return MaterializedFile(path, "", raw_size, False, error, temporary=True)
        error = f"{error}: {obj.uri}"
    note = None
    if gunzip is not None and gunzip.trailing and error is None:
        note = (
            f"{gunzip.trailing} bytes of trailing garbage after gzip member"
            f" {gunzip.members} ignored (everything before them was read)"
        )
    return MaterializedFile(
        path, sha.hexdigest(), raw_size, truncated, error, temporary=True, note=note
    )


def cleanup(mat: MaterializedFile) -> None:
    """Delete ``mat.path`` if :func:`materialize` created it (never a landed file)."""
    if mat.temporary:
        mat.path.unlink(missing_ok=True)


@contextlib.contextmanager
def materialized(
    zone: LandingZone, obj: LandedObject, work_dir: Path
) -> Iterator[MaterializedFile]:
    """:func:`materialize` as a context manager that always cleans up."""
    mat = materialize(zone, obj, work_dir)
    try:
        yield mat
    finally:
        cleanup(mat)
