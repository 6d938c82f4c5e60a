"""Partial files are locked while written: a cleanup removes only those nobody holds, and a
second writer never truncates a file another process is writing. Real files, real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockback_runtime.partials import open_partial, partial_of, remove_abandoned
from harness.partials import held_by_another_process


def test_a_cleanup_removes_what_nobody_holds_and_leaves_what_another_process_writes(tmp_path: Path) -> None:
    left = tmp_path / "volumes" / "db" / "left.tar.zst"
    written = tmp_path / "volumes" / "db" / "written.tar.zst"
    left.parent.mkdir(parents=True)
    partial_of(left).write_bytes(b"x" * 4096)
    complete = tmp_path / "volumes" / "db" / "complete.tar.zst"
    complete.write_bytes(b"complete")

    with held_by_another_process(written):
        removed = list(remove_abandoned(tmp_path))
        assert partial_of(written).read_bytes() == b"being written"

    assert [(r.path, r.size_bytes) for r in removed] == [(partial_of(left), 4096)]
    assert sorted(p.name for p in left.parent.iterdir()) == sorted(["complete.tar.zst", partial_of(written).name])
    # once its writer is gone (it died without renaming), the next cleanup takes it
    assert [r.path for r in remove_abandoned(tmp_path)] == [partial_of(written)]


def test_a_second_writer_is_refused_rather_than_truncating_the_file_another_process_writes(tmp_path: Path) -> None:
    final = tmp_path / "archive.tar.zst"
    with held_by_another_process(final):
        with pytest.raises(BlockingIOError, match="another process is writing"):
            open_partial(final)
        assert partial_of(final).read_bytes() == b"being written"
    with open_partial(final) as file:  # a leftover nobody holds is written over
        assert partial_of(final).read_bytes() == b""
        file.write(b"new")
    assert partial_of(final).read_bytes() == b"new"


def test_an_exclusive_writer_refuses_a_partial_file_that_is_there(tmp_path: Path) -> None:
    final = tmp_path / "archive.tar.zst"
    partial_of(final).write_bytes(b"left")
    with pytest.raises(FileExistsError):
        open_partial(final, exclusive=True)
    assert partial_of(final).read_bytes() == b"left"


def test_a_cleanup_removes_a_symlink_named_like_a_partial_file_and_never_follows_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"not ours")
    store = tmp_path / "store"
    store.mkdir()
    (store / ".partial-x.tar.zst").symlink_to(outside)
    assert list(remove_abandoned(store)) == []
    assert not (store / ".partial-x.tar.zst").is_symlink()
    assert outside.read_bytes() == b"not ours"
