"""Landed names: folder prefixes, hidden names, untrustworthy keys, path confinement.

The one place that decides which listed names are files of the landing zone
(:func:`is_hidden`), which keys cannot be trusted as paths
(:func:`key_problem`) and how a key becomes a path that stays under the
root (:func:`confined_path`). Both zones apply the same rules, so a local
folder and a bucket with the same layout list exactly the same keys.
"""

from __future__ import annotations

import os
from pathlib import Path


def clean_prefix(prefix: str) -> str:
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
