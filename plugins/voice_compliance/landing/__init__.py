"""The landing zone: list and read the raw export files, local or on S3.

The landing zone is a local folder or an ``s3://bucket/prefix`` URI with the
layout of ``contract.md``. Both are accessed through the same small
:class:`LandingZone` protocol, so loaders never care where the files live:

* :func:`open_landing` picks the implementation from ``Settings.landing``;
* ``zone.list(prefix)`` lists the files under a folder (recursively, sorted by
  key) with a cheap change marker (``fingerprint``) that needs no download;
* :func:`materialize` turns one landed object into a local, decompressed file
  (streaming, bounded memory) plus the sha256 of its raw bytes.

One module per job:

* :mod:`.objects` -- the shared types (``LandedObject``, ``LandingZone``,
  ``MaterializedFile``, ``LandingReadError``);
* :mod:`.keys` -- folder prefixes, hidden names, untrustworthy keys, path
  confinement;
* :mod:`.local` -- ``LocalLandingZone``;
* :mod:`.s3` -- ``S3LandingZone`` and ``make_s3_client`` (retries, resumed
  downloads);
* :mod:`.gunzip` and :mod:`.materialization` -- local work files, their
  clean-up and the sweep of files left by killed processes.
"""

from __future__ import annotations

from voice_compliance.config import Settings
from voice_compliance.landing.keys import HIDDEN_PREFIXES, confined_path, is_hidden, key_problem
from voice_compliance.landing.local import LocalLandingZone
from voice_compliance.landing.materialization import (
    cleanup,
    materialize,
    materialized,
    sweep_work_dir,
)
from voice_compliance.landing.objects import (
    CHUNK_SIZE,
    LandedObject,
    LandingReadError,
    LandingZone,
    MaterializedFile,
)
from voice_compliance.landing.s3 import S3LandingZone, make_s3_client

__all__ = [
    "CHUNK_SIZE",
    "HIDDEN_PREFIXES",
    "LandedObject",
    "LandingReadError",
    "LandingZone",
    "LocalLandingZone",
    "MaterializedFile",
    "S3LandingZone",
    "cleanup",
    "confined_path",
    "is_hidden",
    "key_problem",
    "make_s3_client",
    "materialize",
    "materialized",
    "open_landing",
    "sweep_work_dir",
]


def open_landing(settings: Settings) -> LandingZone:
    """The landing zone named by ``settings.landing`` (folder or ``s3://``)."""
    if settings.is_s3:
        return S3LandingZone(settings.landing, make_s3_client(settings))
    return LocalLandingZone(settings.landing)
