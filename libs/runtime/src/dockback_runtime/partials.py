"""Files written as `.partial-<name>` beside their final name and renamed into place once
complete. Whoever writes one holds an exclusive `flock` on it until it is renamed or removed,
so clearing what a crashed run left (the executor does it at start) removes only the partial
files nobody holds: never those another live process is writing (a second executor of the
host, the uploader fetching an archive back for a restore).

A writer must rename (`os.replace`) its partial file before it closes it: closing releases the
lock."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PREFIX = ".partial-"

log = logging.getLogger(__name__)


def partial_of(final: Path) -> Path:
    """Where `final` is written until it is complete."""
    return final.with_name(f"{PREFIX}{final.name}")


def open_partial(final: Path, *, exclusive: bool = False) -> BinaryIO:
    """`final`'s partial file, empty, open for writing and locked until it is closed.

    `exclusive`: refuse (FileExistsError) when the partial file is there already. Otherwise a
    leftover nobody holds is written over, and one that another process is writing is refused
    with EAGAIN (BlockingIOError) rather than truncated under it."""
    path = partial_of(final)
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else 0)
    while True:
        fd = os.open(path, flags, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BlockingIOError(errno.EAGAIN, "another process is writing this file", str(path)) from None
            if _still_at(path, fd):
                os.ftruncate(fd, 0)
                return os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # cleared away between open and lock: a new one


@dataclass(frozen=True)
class Removed:
    path: Path
    size_bytes: int


def remove_abandoned(root: Path) -> Iterator[Removed]:
    """Remove the partial files under `root` that no process holds (left by a run that
    crashed or was killed), yielding each; those being written are left alone."""
    for path in root.rglob(f"{PREFIX}*"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except (FileNotFoundError, IsADirectoryError):
            continue
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            path.unlink(missing_ok=True)  # a symlink is nobody's partial file
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("left %s alone: a running process is writing it", path)
                continue
            held = os.fstat(fd)
            if not stat.S_ISREG(held.st_mode) or not _still_at(path, fd):
                continue
            size = held.st_size
            path.unlink(missing_ok=True)
            yield Removed(path, size)
        finally:
            os.close(fd)


def _still_at(path: Path, fd: int) -> bool:
    """Whether `path` still names the file open as `fd` (nobody removed or replaced it)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
