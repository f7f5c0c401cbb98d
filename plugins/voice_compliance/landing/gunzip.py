"""An incremental gzip decoder with bounded memory, for landed ``.gz`` files."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from typing import Any

from voice_compliance.landing.objects import CHUNK_SIZE

_GZIP_MAGIC = b"\x1f\x8b"


class GzipError(Exception):
    pass


class _ReadFailure(Exception):
    pass


class Gunzip:
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
                        raise GzipError("not a gzip file (bad magic bytes)")
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
            raise GzipError(f"corrupt gzip data in member {self.members + 1}: {exc}") from exc
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
                raise GzipError("not a gzip file (bad magic bytes)")
            self.trailing += len(self._pending)
            self._pending = b""
        if self._inflater is not None:
            # Emit whatever the inflater still holds; a cut stream may refuse.
            with contextlib.suppress(zlib.error):
                self._write(self._inflater.flush())
            return True
        return False
