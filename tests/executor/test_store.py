"""The local archive store: what a crashed run left half-written goes at start, complete archives stay."""

from __future__ import annotations

from pathlib import Path

from dockback_executor.store import ArchiveStore
from dockback_runtime.partials import partial_of
from harness.partials import held_by_another_process


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


def test_prepare_leaves_a_partial_file_that_a_running_process_writes(tmp_path: Path) -> None:
    """The uploader fetching an archive back, or a second executor of the host, is writing it:
    an executor starting meanwhile must not take the file from under it."""
    store = ArchiveStore(tmp_path / "data")
    fetched = tmp_path / "data" / "volumes" / "db" / "20260101T000000Z-job-db.tar.zst"
    fetched.parent.mkdir(parents=True)
    with held_by_another_process(fetched):
        assert store.prepare() == []
        assert partial_of(fetched).read_bytes() == b"being written"
