"""Materialisation: one landed object -> its raw sha256 + a local (decompressed) file.

:func:`materialize` writes into ``work_dir`` under unique names and marks
those files ``temporary=True``; delete them with :func:`cleanup` (or use the
:func:`materialized` context manager, which does it for you). A plain local
file is returned in place (``temporary=False``) and :func:`cleanup` leaves
it alone. :func:`sweep_work_dir` removes what a killed process left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from voice_compliance.landing.gunzip import Gunzip, GzipError
from voice_compliance.landing.local import LocalLandingZone
from voice_compliance.landing.objects import (
    CHUNK_SIZE,
    LandedObject,
    LandingZone,
    MaterializedFile,
)


class _ReadFailure(Exception):
    pass


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
    gunzip: Gunzip | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            gunzip = Gunzip(out.write) if is_gz else None
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
                            except GzipError as exc:
                                # Keep reading: the checksum of a corrupt file is
                                # still worth recording in the load manifest.
                                error = str(exc)
                if gunzip is not None and error is None:
                    truncated = gunzip.finish()
            except GzipError as exc:
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
