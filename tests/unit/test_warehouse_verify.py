"""``warehouse.verify`` and ``open_warehouse`` on a warehouse with a bit-rotted block.

A real DuckDB file gets a table whose column holds a recognisable pattern
(``hash(i)`` of a known ``i``, stored uncompressed); bytes are flipped where
that pattern sits in the file, in the middle of a data block. Nothing else
notices until the block is read: ``verify`` must name the table, leave the
healthy one alone, and the CLI must say what to do.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from voice_compliance import warehouse
from voice_compliance.config import REPO_ROOT, Settings

pytestmark = pytest.mark.quick

PATTERN_ROW = 150_000


def settings_for(path: Path) -> Settings:
    return Settings(
        landing=str(path.parent / "landing"),
        warehouse=path,
        data_dir=path.parent / "data",
        airflow_home=path.parent / "airflow",
        warehouse_open_timeout=0.0,
    )


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    """A small warehouse: ``raw.pattern`` (several blocks) and ``raw.small``."""
    path = tmp_path / "wh.duckdb"
    with warehouse.connect(path) as con:
        con.execute(
            "create table raw.pattern as select i, hash(i) as h, 'row ' || i as s"
            " from range(300000) t(i)"
        )
        con.execute("create table raw.small as select i from range(1000) t(i)")
        con.execute("checkpoint")
    return path


def flip_pattern_bytes(path: Path) -> int:
    """Flip 16 bytes where ``hash(PATTERN_ROW)`` is stored; return the offset."""
    with duckdb.connect(":memory:") as con:
        row = con.execute(f"select hash({PATTERN_ROW}::bigint)").fetchone()
    assert row is not None
    data = bytearray(path.read_bytes())
    offset = data.find(struct.pack("<Q", row[0]))
    assert offset > 0, "the pattern is not stored verbatim (compression changed?)"
    for i in range(16):
        data[offset + i] ^= 0xFF
    path.write_bytes(bytes(data))
    return offset


def test_verify_reads_every_table_of_a_healthy_warehouse(healthy: Path) -> None:
    checks = {c.table: c for c in warehouse.verify(settings_for(healthy))}

    assert checks["raw.pattern"].ok and checks["raw.pattern"].rows == 300_000
    assert checks["raw.small"].ok and checks["raw.small"].rows == 1000
    assert checks["compliance.load_manifest"].ok


def test_verify_names_the_table_with_a_damaged_block(healthy: Path) -> None:
    offset = flip_pattern_bytes(healthy)
    assert offset > 3 * 4096, "the pattern should sit in a data block, past the headers"
    # Counting rows alone reads no data block: the damage goes unnoticed.
    with duckdb.connect(str(healthy), read_only=True) as con:
        assert con.execute("select count(*) from raw.pattern").fetchone() == (300_000,)

    checks = {c.table: c for c in warehouse.verify(settings_for(healthy))}

    assert not checks["raw.pattern"].ok
    assert "checksum" in (checks["raw.pattern"].error or "")
    assert checks["raw.small"].ok and checks["raw.small"].rows == 1000


def test_open_warehouse_turns_a_damaged_block_into_a_clear_error(healthy: Path) -> None:
    flip_pattern_bytes(healthy)

    with (
        pytest.raises(warehouse.WarehouseCorrupt) as raised,
        warehouse.open_warehouse(settings_for(healthy), read_only=True) as con,
    ):
        con.execute("select sum(h) from raw.pattern").fetchall()

    message = str(raised.value)
    assert str(healthy) in message and "checksum" in message
    assert "restore" in message and "delete" in message and "landing zone" in message


def test_a_damaged_header_fails_at_open(healthy: Path) -> None:
    data = bytearray(healthy.read_bytes())
    data[4096 + 20] ^= 0xFF  # the first database header
    healthy.write_bytes(bytes(data))

    with pytest.raises(warehouse.WarehouseCorrupt, match="is damaged"):
        warehouse.verify(settings_for(healthy))


def test_an_error_about_another_file_is_not_called_corruption(tmp_path: Path) -> None:
    """A truncated landing file read through DuckDB is not the warehouse's fault."""
    error = duckdb.IOException(
        f'IO Error: Could not read enough bytes from file "{tmp_path / "calls.csv"}"'
    )

    assert not warehouse._is_corruption(error, tmp_path / "wh.duckdb")
    assert warehouse._is_corruption(
        duckdb.IOException(
            "IO Error: Corrupt database file: computed checksum 1 does not"
            " match stored checksum 2 in block at location 4096"
        ),
        tmp_path / "wh.duckdb",
    )


def verify_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice_compliance", "verify-warehouse", "--warehouse", str(path)],
        cwd=REPO_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO_ROOT / "plugins"),
            "VC_DATA_DIR": str(path.parent / "data"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verify_warehouse_command(healthy: Path) -> None:
    ok = verify_cli(healthy)
    assert ok.returncode == 0, ok.stderr
    assert "raw.pattern" in ok.stdout and "every block passed its checksum" in ok.stdout

    flip_pattern_bytes(healthy)
    damaged = verify_cli(healthy)

    assert damaged.returncode == 1
    assert "raw.pattern" in damaged.stdout and "FAILED" in damaged.stdout
    errors = [line for line in damaged.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, damaged.stderr
    assert "raw.pattern" in errors[0] and "checksum" in errors[0]
    assert "restore" in errors[0] and str(healthy) in errors[0]
    assert "Traceback" not in damaged.stderr
