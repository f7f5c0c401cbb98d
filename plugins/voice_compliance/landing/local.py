"""The landing zone in a local folder (``file://`` or a plain path)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from voice_compliance.landing.keys import clean_prefix, confined_path, is_hidden, key_problem
from voice_compliance.landing.objects import LandedObject

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
        clean = clean_prefix(prefix)
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
