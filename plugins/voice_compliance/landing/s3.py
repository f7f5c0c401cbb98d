"""The landing zone under ``s3://bucket/prefix``, read with a boto3 client.

S3 reads are retried twice over: botocore's own retry mode handles throttling
and 5xx answers to each API call, and :class:`S3LandingZone` resumes a GET
whose body breaks off mid-stream with a ranged, ``If-Match`` conditional GET
from the byte reached, so a long download survives a dropped connection and
can never splice two versions of an object together. Those resumes wait as
every retry of the package does (:mod:`voice_compliance.retry`).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from voice_compliance.config import Settings
from voice_compliance.landing.keys import clean_prefix, is_hidden, key_problem
from voice_compliance.landing.objects import CHUNK_SIZE, LandedObject, LandingReadError
from voice_compliance.retry import RetryCallState, backoff, retrying

if TYPE_CHECKING:  # boto3 is only needed for S3; keep local use import-light.
    from botocore.config import Config

S3_MAX_ATTEMPTS = 10
"""botocore attempts per S3 API call (first try included), standard mode."""

READ_ATTEMPTS = 5
"""Consecutive failed body reads tolerated before a download is given up."""


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


class _BrokenBody(Exception):
    """The body stream broke off (the cause says how): resume it from ``_pos``."""


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
        retry = retrying(
            retry_on=_BrokenBody,
            attempts=self._max_failures,
            wait=backoff(self._backoff_base, self._backoff_cap, jitter=True),
            before_sleep=self._count_resume,
            sleep=self._sleep,
        )
        try:
            data = retry(self._read_once, len(view))
        except _BrokenBody as broken:
            exc = broken.__cause__
            raise LandingReadError(
                f"s3://{self._bucket}/{self._key}: body read failed "
                f"{self._max_failures} times at byte {self._pos}: {exc!r}"
            ) from exc
        n = len(data)
        view[:n] = data
        self._pos += n
        return n

    def _read_once(self, size: int) -> bytes:
        """One read of the body (re-opened from ``_pos`` after a break)."""
        if self._body is None:
            self._get()  # botocore retries this call itself
        try:
            data = self._body.read(size)
            if not data:
                # A clean EOF before Content-Length is still a broken body.
                raise http.client.IncompleteRead(b"", self._size - self._pos)
        except self._transient as exc:
            self._drop_body()
            raise _BrokenBody from exc
        return bytes(data)

    def _count_resume(self, _state: RetryCallState) -> None:
        self.resumes += 1

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
        clean = clean_prefix(prefix)
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
