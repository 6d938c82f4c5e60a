"""One job at a time per resource, across every executor process on this host.

Locks are `flock`s on files in the data dir, so two executors sharing a host (and a data
dir) never back up and restore the same volume at once; the kernel releases a crashed
process's locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from dockback_executor.errors import ResourceBusy
from dockback_executor.store import safe_name


class ResourceLocks:
    """Per-resource locks plus a limit on concurrent jobs in this process."""

    def __init__(self, directory: Path, max_concurrent_jobs: int) -> None:
        self.directory = directory
        self._slots = asyncio.Semaphore(max_concurrent_jobs)
        self.running = 0

    @contextlib.asynccontextmanager
    async def hold(self, keys: Iterable[str]) -> AsyncIterator[None]:
        """Hold every key's lock (in a fixed order, so two jobs never deadlock) and a job slot."""
        self.directory.mkdir(parents=True, exist_ok=True)
        async with self._slots:
            held: list[int] = []
            try:
                for key in sorted(set(keys)):
                    fd = _try_lock(self.directory, key)
                    if fd is None:
                        raise ResourceBusy(f"{key} is busy with another job")
                    held.append(fd)
                self.running += 1
                try:
                    yield
                finally:
                    self.running -= 1
            finally:
                _unlock(held)


@contextlib.asynccontextmanager
async def waiting_for(directory: Path, keys: Iterable[str], poll_seconds: float = 0.2) -> AsyncIterator[None]:
    """Hold every key's lock, waiting for those another job holds (in a fixed order, so two
    waiters never deadlock; a holder must never wait for a lock taken before these)."""
    held: list[int] = []
    try:
        for key in sorted(set(keys)):
            while (fd := _try_lock(directory, key)) is None:  # noqa: ASYNC110 - a flock has no event to await
                await asyncio.sleep(poll_seconds)
            held.append(fd)
        yield
    finally:
        _unlock(held)


def _try_lock(directory: Path, key: str) -> int | None:
    """The open, locked lock file of `key`, or None when another process or job holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{safe_name(key)}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _unlock(held: Iterable[int]) -> None:
    for fd in held:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def installation_id(data_dir: Path) -> str:
    """The id of the DockBack installation that owns this data dir, made once and kept in it.
    Runner containers carry it: two installations on one engine (two compose projects, whose
    data dirs are the same path inside their containers) never judge each other's runners."""
    path = data_dir / ".installation-id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole beside it, then linked in: whoever links first wins, nobody reads it half-written.
        draft = data_dir / f".installation-id.{uuid.uuid4().hex}"
        try:
            with open(draft, "w") as file:
                file.write(uuid.uuid4().hex + "\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text().strip()


class InstanceLock:
    """Marks this executor process as alive while it runs, so a successor can tell which
    runner containers were left behind by a process that died."""

    LABEL = "dockback.executor"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.instance_id = uuid.uuid4().hex[:12]
        self._fd = os.open(self._path(directory, self.instance_id), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @staticmethod
    def _path(directory: Path, instance_id: str) -> Path:
        return directory / f"executor-{safe_name(instance_id)}.lock"

    @classmethod
    def is_alive(cls, directory: Path, instance_id: str) -> bool:
        path = cls._path(directory, instance_id)
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)  # its process is gone: the lock file is litter
        return False

    def release(self) -> None:
        os.close(self._fd)
        self._path(self.directory, self.instance_id).unlink(missing_ok=True)
