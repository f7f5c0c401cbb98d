"""Ingestion from S3 end to end, against a real S3 endpoint over HTTP (moto)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from batch_zone import mixed_zone, snapshot
from s3_server import upload_tree
from voice_compliance import ingest
from voice_compliance.config import Settings

pytestmark = pytest.mark.s3


def _landing(root: Path) -> None:
    files: dict[str, bytes] = {
        "calls/region=us1/page-0.json.gz": gzip.compress(
            json.dumps(
                {
                    "calls": [
                        {
                            "sid": "CA1",
                            "account_sid": "AC1",
                            "from": "+14155550100",
                            "to": "+14155550101",
                            "direction": "outbound-api",
                            "status": "completed",
                            "duration": "31",
                            "start_time": "Tue, 01 Sep 2026 15:00:00 +0000",
                        },
                        {"sid": "", "account_sid": "AC1"},
                    ]
                }
            ).encode(),
            mtime=0,
        ),
        "consent/consent.csv": b"phone_number,brand,consent_type,channel,granted_at\n"
        b"(415) 555-0101,Acme,express,voice,2026-08-01T00:00:00Z\n",
        "dnc/us_national/full/2026-09-01/list.txt": b"4155550101\n415,5550102\n",
        "dnc/us_national/changes/2026-09-05/delta.txt": b"415,5550102,D\n",
    }
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    tables = [
        f"{schema}.{name}"
        for schema, name in _rows(
            settings,
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('raw', 'compliance') order by all",
        )
    ]
    return {t: sorted(map(repr, _rows(settings, f"select * from {t}"))) for t in tables}


def test_s3_landing_loads_detects_changes_and_reruns_idempotently(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, bucket = s3_bucket
    local = tmp_path / "landing"
    _landing(local)
    upload_tree(client, bucket, "exports/prod", local)
    settings = Settings.from_env(
        landing=f"s3://{bucket}/exports/prod",
        warehouse=str(tmp_path / "wh.duckdb"),
        s3_endpoint_url=moto_server,
        data_dir=tmp_path / "data",
    )

    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)

    manifest = _rows(
        settings,
        "select source_uri, status, rows_read, rows_loaded, rows_quarantined"
        " from compliance.load_manifest order by source_uri",
    )
    assert [m[0] for m in manifest] == [
        f"s3://{bucket}/exports/prod/calls/region=us1/page-0.json.gz",
        f"s3://{bucket}/exports/prod/consent/consent.csv",
        f"s3://{bucket}/exports/prod/dnc/us_national/changes/2026-09-05/delta.txt",
        f"s3://{bucket}/exports/prod/dnc/us_national/full/2026-09-01/list.txt",
    ]
    assert all(read == loaded + quarantined for _, _, read, loaded, quarantined in manifest)
    assert manifest[0][1:] == ("partial", 2, 1, 1)
    assert _rows(
        settings, "select list_kind, e164, action from raw.registry_entries order by all"
    ) == [
        ("changes", "+14155550102", "D"),
        ("full", "+14155550101", "L"),
        ("full", "+14155550102", "L"),
    ]

    before = _snapshot(settings)
    for source in ingest.ALL_SOURCES:
        summary = ingest.ingest_source(settings, source)
        assert summary.files_loaded == 0, source
    assert _snapshot(settings) == before

    client.put_object(
        Bucket=bucket,
        Key="exports/prod/consent/consent.csv",
        Body=b"phone_number,brand,consent_type,channel,granted_at\n"
        b"+1 415 555 0199,Acme,express_written,all,2026-08-02T00:00:00Z\n"
        b"+1 415 555 0198,Acme,express_written,all,not-a-date\n",
    )
    summary = ingest.ingest_source(settings, "consent")

    assert (summary.files_loaded, summary.rows_loaded, summary.rows_quarantined) == (1, 1, 1)
    assert _rows(settings, "select phone_number from raw.consent") == [("+1 415 555 0199",)]
    assert _rows(
        settings,
        "select load_count, rows_read from compliance.load_manifest where source = 'consent'",
    ) == [(2, 2)]


def test_s3_batches_match_per_file_loading(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    """Objects materialized from S3 load the same in batches as one by one."""
    from voice_compliance import warehouse
    from voice_compliance.landing import S3LandingZone, make_s3_client
    from voice_compliance.loading import loader
    from voice_compliance.loading.sources import SOURCES

    client, bucket = s3_bucket
    local = tmp_path / "landing"
    mixed_zone(local)
    upload_tree(client, bucket, "mixed", local)
    settings = Settings.from_env(
        landing=f"s3://{bucket}/mixed",
        warehouse=str(tmp_path / "unused.duckdb"),
        s3_endpoint_url=moto_server,
        data_dir=tmp_path / "data",
    )
    zone = S3LandingZone(settings.landing, make_s3_client(settings))
    outcomes = []
    for name, batch_files in (("one", 1), ("batch", loader.BATCH_FILES)):
        db = tmp_path / name / "w.duckdb"
        with warehouse.connect(db) as con:
            results = [
                r
                for source in ingest.ALL_SOURCES
                for r in loader.load_source(
                    con, zone, SOURCES[source], tmp_path / name / "work", batch_files=batch_files
                )
            ]
        # Materialized copies are temporary: nothing stays in the work folder.
        assert list((tmp_path / name / "work").iterdir()) == []
        outcomes.append((results, snapshot(db)))

    (one, one_tables), (batch, batch_tables) = outcomes
    assert one == batch
    for table, rows in one_tables.items():
        assert set(rows) ^ set(batch_tables[table]) == set(), table
    assert {r.status for r in batch} >= {"loaded", "partial", "unreadable", "empty"}
