"""Files replaced all at once: the old content or the new, never half, never a stray temp."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from voice_compliance import atomic_files

pytestmark = pytest.mark.quick


def test_a_write_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "page.html"
    atomic_files.write_text(target, "first")
    atomic_files.write_text(target, "second é", durable=True)

    assert target.read_text(encoding="utf-8") == "second é"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]
    # readable as a file written in place would be, not tempfile's 0o600
    assert stat.S_IMODE(target.stat().st_mode) == atomic_files.FILE_MODE


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_files.write_bytes(target, b"old")

    with pytest.raises(RuntimeError), atomic_files.replacing(target) as handle:
        handle.write(b"half of the n")
        raise RuntimeError("the writer died")

    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_the_modification_time_is_set_before_the_file_appears(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    with atomic_files.replacing(target, mtime=1_000_000.0) as handle:
        handle.write(b"{}")
        assert not target.exists()

    assert target.stat().st_mtime == 1_000_000.0
    assert os.path.getsize(target) == 2
