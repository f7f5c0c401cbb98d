"""Files of past runs: the cutoff of ``VC_HISTORY_DAYS`` and what is removed."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from voice_compliance import retention

pytestmark = pytest.mark.quick

DAY = 86400.0


def _file(path: Path, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("run\n")
    when = time.time() - age_days * DAY
    os.utime(path, (when, when))
    return path


def test_zero_days_keeps_everything() -> None:
    assert retention.cutoff(0) is None


def test_the_cutoff_is_keep_days_before_now() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert retention.cutoff(30, now) == now - timedelta(days=30)


def test_only_matching_files_written_before_the_cutoff_go(tmp_path: Path) -> None:
    old_log = _file(tmp_path / "pipeline.a.log", 40)
    new_log = _file(tmp_path / "pipeline.b.log", 10)
    old_other = _file(tmp_path / "notes.txt", 40)
    nested = _file(tmp_path / "sub" / "deep.log", 40)  # the pattern is not recursive

    removed = retention.remove_older(tmp_path, "*.log", retention.cutoff(30))

    assert removed == 1
    assert not old_log.exists()
    assert new_log.is_file() and old_other.is_file() and nested.is_file()


def test_no_cutoff_or_no_folder_removes_nothing(tmp_path: Path) -> None:
    old = _file(tmp_path / "a.log", 4000)
    assert retention.remove_older(tmp_path, "*.log", None) == 0
    assert retention.remove_older(tmp_path / "missing", "*.log", retention.cutoff(1)) == 0
    assert old.is_file()


def test_removing_files_removes_the_folders_left_empty_but_not_the_root(tmp_path: Path) -> None:
    root = tmp_path / "site"
    lone = _file(root / "suite" / "run-1" / "t1" / "page.html", 0)
    shared = _file(root / "suite" / "run-2" / "t2" / "page.html", 0)
    kept = _file(root / "suite" / "run-2" / "t3" / "page.html", 0)
    missing = root / "suite" / "run-9" / "page.html"

    assert retention.remove_files([lone, shared, missing], root) == 2

    assert not (root / "suite" / "run-1").exists()
    assert not (root / "suite" / "run-2" / "t2").exists()
    assert kept.is_file()
    assert retention.remove_files([kept], root) == 1
    assert root.is_dir() and list(root.iterdir()) == []


def test_folders_outside_the_root_are_never_removed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    retention.remove_empty_folders([outside], tmp_path / "root")
    assert outside.is_dir()
