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
                            "sid": "CA" + "0" * 32,
                            "account_sid": "AC" + "1" * 32,
                            "from": "+14155550100",
                            "to": "+14155550101",
                            "direction": "outbound-api",
                            "status": "completed",
                            "duration": "31",
                            "start_time": "Tue, 01 Sep 2026 15:00:00 +0000",
                        },
                        {"sid": "", "account_sid": "AC" + "1" * 32},
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


def _manifest_by_key(settings: Settings) -> dict[str, tuple[Any, ...]]:
    rows = _rows(
        settings,
        "select landing_key, source, status, error, rows_read, rows_loaded, rows_quarantined"
        " from compliance.load_manifest",
    )
    return {r[0]: r[1:] for r in rows}


def _ingest_everything(settings: Settings) -> None:
    for source in ingest.ALL_SOURCES:
        ingest.ingest_source(settings, source)
    ingest.record_unassigned_files(settings)


def test_s3_odd_keys_are_recorded_and_never_stop_a_source(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path
) -> None:
    """Keys no file system would accept as they are: each gets a manifest row
    with its reason, and the good files beside them still load."""
    client, bucket = s3_bucket
    good = b"phone_number,brand,consent_type,channel,granted_at\n"
    good += b"+14155550101,Acme,express,voice,2026-08-01T00:00:00Z\n"
    long_key = "consent/" + "k" * 292 + ".csv.gz"  # 300 characters
    objects = {
        "consent/a.csv": good,
        long_key: gzip.compress(good),
        "consent/../evil.csv": good,
        "consent//double.csv": good,
        "consent%2Fencoded.csv": good,
        "consent/x\\..\\..\\back.csv": good,
        "consent/z.csv": good,
    }
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=f"zone/{key}", Body=body)
    settings = Settings.from_env(
        landing=f"s3://{bucket}/zone",
        warehouse=str(tmp_path / "wh.duckdb"),
        s3_endpoint_url=moto_server,
        data_dir=tmp_path / "data",
    )

    _ingest_everything(settings)

    manifest = _manifest_by_key(settings)
    assert set(manifest) == set(objects)
    for key, (_source, status, error, read, loaded, quarantined) in manifest.items():
        assert read == loaded + quarantined, key
        if key in ("consent/a.csv", long_key, "consent/x\\..\\..\\back.csv", "consent/z.csv"):
            assert (status, loaded) == ("loaded", 1), (key, error)
        else:
            assert loaded == 0 and status in ("unreadable", "unrecognized"), (key, status)
            assert error, key
    assert "'..'" in manifest["consent/../evil.csv"][2]
    assert manifest["consent%2Fencoded.csv"][0] == "unassigned"
    assert not any((tmp_path / "data" / "work").glob("*")), "work files left behind"

    before = _manifest_by_key(settings)
    _ingest_everything(settings)  # a re-run changes nothing
    assert {k: v[:5] for k, v in _manifest_by_key(settings).items()} == {
        k: v[:5] for k, v in before.items()
    }


def test_s3_read_failure_is_recorded_then_retried_by_the_next_run(
    moto_server: str, s3_bucket: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that keeps dropping mid-object: the file is recorded as
    unreadable (read failure), the source goes on, and the next run loads it."""
    from botocore.exceptions import ResponseStreamingError

    from voice_compliance import landing

    client, bucket = s3_bucket
    body = b"phone_number,brand,consent_type,channel,granted_at\n"
    body += b"+14155550101,Acme,express,voice,2026-08-01T00:00:00Z\n" * 2000
    client.put_object(Bucket=bucket, Key="zone/consent/big.csv", Body=body)
    client.put_object(Bucket=bucket, Key="zone/optouts/o.csv", Body=b"phone_number,requested_at\n")
    settings = Settings.from_env(
        landing=f"s3://{bucket}/zone",
        warehouse=str(tmp_path / "wh.duckdb"),
        s3_endpoint_url=moto_server,
        data_dir=tmp_path / "data",
    )

    class Broken:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def read(self, amt: int | None = None) -> bytes:
            raise ResponseStreamingError(error=ConnectionResetError("connection reset by peer"))

        def close(self) -> None:
            self.inner.close()

    real_client = landing.make_s3_client

    def flaky_client(s: Settings) -> Any:
        made = real_client(s)

        def wrap(parsed: dict[str, Any], **_: Any) -> None:
            if "Body" in parsed:
                parsed["Body"] = Broken(parsed["Body"])

        made.meta.events.register("after-call.s3.GetObject", wrap)
        return made

    monkeypatch.setattr(landing, "make_s3_client", flaky_client)
    monkeypatch.setattr(landing.s3, "READ_ATTEMPTS", 2)
    _ingest_everything(settings)
    first = _manifest_by_key(settings)
    assert first["consent/big.csv"][1] == "unreadable"
    assert first["consent/big.csv"][2].startswith("read failure")
    assert first["optouts/o.csv"][1] == "empty" or first["optouts/o.csv"][1] == "unreadable"

    monkeypatch.setattr(landing, "make_s3_client", real_client)  # the network is back
    _ingest_everything(settings)
    second = _manifest_by_key(settings)
    assert second["consent/big.csv"][1:] == ("loaded", None, 2000, 2000, 0)
    assert _rows(settings, "select count(*) from raw.consent") == [(2000,)]
