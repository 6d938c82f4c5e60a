"""The local archive store: what a crashed run left half-written goes at start, complete archives stay."""

from __future__ import annotations

from pathlib import Path

from dockback_executor.store import ArchiveStore


def test_prepare_removes_the_partial_files_a_crash_left_and_keeps_complete_archives(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path / "data")
    volume = tmp_path / "data" / "volumes" / "db"
    volume.mkdir(parents=True)
    (volume / ".partial-20260101T000000Z-job-db.tar.zst").write_bytes(b"x" * 4096)
    (volume / ".partial-20260101T000000Z-job-db.manifest.json").write_bytes(b"{")
    (volume / "20251231T000000Z-job-db.tar.zst").write_bytes(b"complete")

    removed = store.prepare()

    assert sorted(p.name for p in removed) == [
        ".partial-20260101T000000Z-job-db.manifest.json",
        ".partial-20260101T000000Z-job-db.tar.zst",
    ]
    assert [p.name for p in volume.iterdir()] == ["20251231T000000Z-job-db.tar.zst"]
