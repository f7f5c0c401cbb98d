"""Files of the landing zone that belong to no source: recorded, never lost.

Each source lists only its own folder, so a file dropped anywhere else
(``consent.csv`` at the root, ``dnc/other_list/...``, an S3 key such as
``consent%2Fx.csv`` or ``consent/../x.csv``) would otherwise be invisible.
:func:`record_unassigned` lists the whole zone once and gives every such file
a ``compliance.load_manifest`` row with status ``unrecognized``, source
``unassigned`` and the reason, plus one quarantine row (the file as one
unit, like any unrecognized file), so ``rows_read = rows_loaded +
rows_quarantined`` holds for it too. Nothing is read from these files.
"""

from __future__ import annotations

import duckdb

from voice_compliance.landing import LandedObject, LandingZone
from voice_compliance.loading.results import FileResult
from voice_compliance.loading.sources import SOURCES

__all__ = ["UNASSIGNED", "layout_folders", "record_unassigned", "unassigned_objects"]

UNASSIGNED = "unassigned"
"""The ``source`` of manifest rows for files outside every source folder."""


def layout_folders() -> tuple[str, ...]:
    """The folder of every source, as listed by the sources (``calls/``, ...)."""
    return tuple(sorted({spec.prefix for spec in SOURCES.values()}))


def unassigned_objects(zone: LandingZone) -> list[LandedObject]:
    """Every listed file of ``zone`` that lies in no source's folder."""
    folders = layout_folders()
    return [o for o in zone.list("") if not o.key.startswith(folders)]


def _reason(obj: LandedObject) -> str:
    where = ", ".join(layout_folders())
    text = f"unrecognized file: not in any folder of the landing-zone layout ({where})"
    return f"{text}; {obj.refused}" if obj.refused else text


def record_unassigned(con: duckdb.DuckDBPyConnection, zone: LandingZone) -> list[FileResult]:
    """Record every file outside the layout's folders; return one result per file.

    Files already recorded with the same fingerprint are skipped, so re-runs
    are no-ops; a changed file replaces its rows (one transaction per run).
    """
    # Imported here: loader imports this package's siblings, not the reverse.
    from voice_compliance.loading.loader import file_id

    objects = unassigned_objects(zone)
    if not objects:
        return []
    known = dict(
        con.execute(
            "select file_id, fingerprint from compliance.load_manifest"
            " where file_id in (select unnest(?::varchar[]))",
            [[file_id(o.uri) for o in objects]],
        ).fetchall()
    )
    results: list[FileResult] = []
    rows: list[tuple[str, str, str, int, str, str]] = []
    for obj in objects:
        fid = file_id(obj.uri)
        if known.get(fid) == obj.fingerprint:
            results.append(FileResult(obj.key, "unchanged", 0, 0, 0, skipped=True))
            continue
        rows.append((fid, obj.uri, obj.key, obj.size, obj.fingerprint, _reason(obj)))
        results.append(FileResult(obj.key, "unrecognized", 1, 0, 1))
    if rows:
        con.execute(
            "create or replace temp table _unassigned (file_id varchar, uri varchar,"
            " landing_key varchar, size_bytes bigint, fingerprint varchar, reason varchar)"
        )
        con.executemany("insert into _unassigned values (?, ?, ?, ?, ?, ?)", rows)
        con.begin()
        try:
            con.execute(
                "delete from compliance.quarantine"
                " where file_id in (select file_id from _unassigned)"
            )
            con.execute(
                """
                insert into compliance.quarantine
                select file_id, ?, uri, null, null, reason, now() from _unassigned
                """,
                [UNASSIGNED],
            )
            con.execute(
                """
                insert or replace into compliance.load_manifest
                select u.file_id, ?, u.uri, u.landing_key, null, u.size_bytes, null,
                    u.fingerprint, 'unrecognized', u.reason, 1, 0, 1,
                    coalesce(m.load_count, 0) + 1, now()
                from _unassigned as u
                left join compliance.load_manifest as m using (file_id)
                """,
                [UNASSIGNED],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        con.execute("drop table _unassigned")
    return results
