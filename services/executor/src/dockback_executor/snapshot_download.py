"""Downloads of files from a snapshot in one of this host's repositories, streamed to the gateway
in chunks it pulls (`SnapshotDownloadRead` on this executor's own reader subject): one file as it
is (`restic dump`), or a tar of several files and directories made here while restic dumps them
one after the other, each directory's tar re-rooted under its name. Memory stays flat whatever the
size: restic waits while the chunks ready (`_QUEUED_CHUNKS`) are not taken.

A download nobody reads for `IDLE_SECONDS` (the gateway went away without saying so; a browser
that pauses a download holds the gateway's read back as long), or whose first chunk nobody asks
for within `FIRST_READ_SECONDS` (the gateway gave up waiting for the answer to its open), is
ended, and restic with it; at most `MOST_AT_ONCE` run at once on one executor. A read waits at
most `READ_WAIT_SECONDS` for restic, then answers `W` (ask again): a read never waits for long.
"""

from __future__ import annotations

import asyncio
import logging
import tarfile
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from dockback_contracts import subjects
from dockback_contracts.control import (
    SNAPSHOT_DOWNLOAD_CHUNK_BYTES,
    SnapshotDownloadOpen,
    SnapshotDownloadOpened,
    SnapshotDownloadRead,
)
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import Repository, ResticRunner
from dockback_executor.runner_strategy import in_own_thread
from dockback_executor.snapshot_tree import restic_time
from dockback_runtime.jobs.errors import JobError, PermanentError

log = logging.getLogger(__name__)

IDLE_SECONDS = 600.0
FIRST_READ_SECONDS = 30.0
READ_WAIT_SECONDS = 10.0
MOST_AT_ONCE = 4
_QUEUED_CHUNKS = 4
_SETUID, _SETGID, _STICKY = 1 << 23, 1 << 22, 1 << 20  # Go's os.FileMode bits, as restic's JSON gives a mode


class _Abandoned(Exception):
    """The download ended while restic still wrote (its reader went away)."""


@dataclass
class _End:
    problem: str | None = None


class _Chunks:
    """Bytes written in restic's reading thread, handed to the event loop in chunks of
    `SNAPSHOT_DOWNLOAD_CHUNK_BYTES`, at most `_QUEUED_CHUNKS` waiting to be read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[bytes | _End] = asyncio.Queue()
        self.room = threading.Semaphore(_QUEUED_CHUNKS)
        self.abandoned = threading.Event()
        self._pending = bytearray()

    def write(self, data: bytes) -> int:  # a file object's, for tarfile
        self._pending += data
        while len(self._pending) >= SNAPSHOT_DOWNLOAD_CHUNK_BYTES:
            self._hand(bytes(self._pending[:SNAPSHOT_DOWNLOAD_CHUNK_BYTES]))
            del self._pending[:SNAPSHOT_DOWNLOAD_CHUNK_BYTES]
        return len(data)

    def flush(self) -> None:
        if self._pending:
            self._hand(bytes(self._pending))
            self._pending.clear()

    def _hand(self, chunk: bytes) -> None:
        while not self.room.acquire(timeout=1.0):
            if self.abandoned.is_set():
                raise _Abandoned
        if self.abandoned.is_set():
            raise _Abandoned
        self.loop.call_soon_threadsafe(self.queue.put_nowait, chunk)


@dataclass
class _Download:
    download_id: str
    chunks: _Chunks
    producing: asyncio.Task[None] | None = None
    position: int = 0
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)
    idle: asyncio.TimerHandle | None = None


class SnapshotDownloads:
    """The downloads this executor serves, by the id the gateway chose."""

    def __init__(
        self, restic: ResticRunner | None, repositories: RepositoryKeys, host_id: str, instance_id: str
    ) -> None:
        self.restic = restic
        self.repositories = repositories
        self.host_id = host_id
        self.reader = subjects.snapshot_download_reader(host_id, instance_id)
        self._downloads: dict[str, _Download] = {}
        self._closed = False

    async def open(self, request: SnapshotDownloadOpen) -> SnapshotDownloadOpened:
        """Check what is asked for and start restic; a problem is said, not raised."""

        def refused(problem: str) -> SnapshotDownloadOpened:
            return SnapshotDownloadOpened(host_id=self.host_id, download_id=request.download_id, problem=problem)

        if self._closed:
            return refused("this executor is stopping")
        if self.restic is None:
            return refused(
                "restic runs in runner containers, which cannot work on this host (the executor's log says why)"
            )
        if len(self._downloads) >= MOST_AT_ONCE:
            return refused(f"this host already serves {MOST_AT_ONCE} downloads; try again once one has ended")
        if request.download_id in self._downloads:
            return refused(f"download {request.download_id} was started already")
        restic = self.restic
        try:
            paths = _chosen(request.paths)
            repository = await self.repositories.repository(request.repository)
            nodes = await restic.nodes(repository, request.snapshot_id, request.volume, paths, uuid.uuid4())
        except JobError as exc:
            log.info("could not start a download from snapshot %s: %s", request.snapshot_id[:8], exc)
            return refused(str(exc))
        if odd := [p for p in paths if nodes[p].get("type") not in ("file", "dir")]:
            return refused(f"{', '.join(odd)}: only files and directories are downloaded")
        download = _Download(request.download_id, _Chunks(asyncio.get_running_loop()))
        single_file = len(paths) == 1 and nodes[paths[0]].get("type") == "file"
        if single_file:
            [path] = paths
            size = int(nodes[path].get("size") or 0)
            file_name = PurePosixPath(path).name
            produce = partial(self._file, restic, repository, request, path, size, download.chunks)
        else:
            size = None
            base = _common_parent(paths)
            file_name = f"{request.volume}{'-' + base.name if base.name else ''}-{request.snapshot_id[:8]}.tar"
            chosen = [(p, nodes[p]) for p in paths]
            produce = partial(self._tar, restic, repository, request, base, chosen, download.chunks)
        download.producing = asyncio.create_task(self._produce(download, produce))
        self._downloads[download.download_id] = download
        self._touch(download, FIRST_READ_SECONDS)
        log.info(
            "download %s of %d path(s) from snapshot %s started",
            download.download_id,
            len(paths),
            request.snapshot_id[:8],
        )
        return SnapshotDownloadOpened(
            host_id=self.host_id,
            download_id=request.download_id,
            reader=self.reader,
            file_name=file_name,
            tar=not single_file,
            size=size,
        )

    async def read(self, request: SnapshotDownloadRead) -> bytes:
        """The next frame of a download (`SnapshotDownloadRead` says what a frame is)."""
        download = self._downloads.get(request.download_id)
        if download is None:
            gone = f"there is no download {request.download_id} (it ended, or nobody read it for {IDLE_SECONDS:g} s)"
            return b"P" + gone.encode()
        if request.close:
            self._end(download)
            return b"E"
        async with download.reading:
            if request.offset != download.position:
                self._end(download)
                return (
                    b"P" + f"asked from byte {request.offset}, but the download is at byte {download.position}".encode()
                )
            self._touch(download)
            try:
                item = await asyncio.wait_for(download.chunks.queue.get(), READ_WAIT_SECONDS)
            except TimeoutError:
                return b"W"  # restic has not sent more yet (a new restic deriving its key, a slow disk)
            finally:
                self._touch(download)
            if isinstance(item, _End):
                self._end(download)
                return b"E" if item.problem is None else b"P" + item.problem.encode()
            download.chunks.room.release()
            download.position += len(item)
            return b"D" + item

    async def close(self) -> None:
        """End every download, and start no more (the executor stops)."""
        self._closed = True
        tasks = [d.producing for d in self._downloads.values() if d.producing is not None]
        for download in list(self._downloads.values()):
            self._end(download)
        await asyncio.gather(*tasks, return_exceptions=True)

    def _touch(self, download: _Download, seconds: float | None = None) -> None:
        if download.idle is not None:
            download.idle.cancel()
        wait = IDLE_SECONDS if seconds is None else seconds
        download.idle = asyncio.get_running_loop().call_later(wait, self._idle, download.download_id, wait)

    def _idle(self, download_id: str, seconds: float) -> None:
        download = self._downloads.get(download_id)
        if download is None:
            return
        if download.reading.locked():  # a read is waiting for restic: it touches the download again
            self._touch(download, seconds)
            return
        log.info("download %s was not read for %.0f s: ended", download_id, seconds)
        self._end(download)

    def _end(self, download: _Download) -> None:
        self._downloads.pop(download.download_id, None)
        if not download.chunks.abandoned.is_set():
            download.chunks.abandoned.set()
            download.chunks.queue.put_nowait(_End("the download was ended"))  # a read waiting for more
        if download.idle is not None:
            download.idle.cancel()
        if download.producing is not None and not download.producing.done():
            download.producing.cancel()

    @staticmethod
    async def _produce(download: _Download, produce: Callable[[], Awaitable[None]]) -> None:
        end = _End()
        try:
            await produce()
        except _Abandoned:
            return
        except JobError as exc:
            end = _End(str(exc))
        except (OSError, tarfile.TarError, ValueError) as exc:
            end = _End(f"the download broke off: {exc}")
        except Exception as exc:  # never a clean end for a download that did not end well
            log.exception("download %s failed", download.download_id)
            end = _End(f"the download broke off: {exc!r}")
        finally:
            if not download.chunks.abandoned.is_set():
                download.chunks.queue.put_nowait(end)
        if end.problem:
            log.warning("download %s broke off: %s", download.download_id, end.problem)

    @staticmethod
    async def _file(
        restic: ResticRunner,
        repository: Repository,
        request: SnapshotDownloadOpen,
        path: str,
        size: int,
        chunks: _Chunks,
    ) -> None:
        """One file's bytes as restic dumps them, no more and no fewer than its size."""

        def copy(source: BinaryIO) -> None:
            copied = 0
            while block := source.read(SNAPSHOT_DOWNLOAD_CHUNK_BYTES):
                copied += len(block)
                chunks.write(block)
            if copied != size:
                raise PermanentError(f"restic gave {copied} bytes of {path}, whose size is {size}")
            chunks.flush()

        await restic.dump(repository, request.snapshot_id, request.volume, path, uuid.uuid4(), copy)

    @staticmethod
    async def _tar(
        restic: ResticRunner,
        repository: Repository,
        request: SnapshotDownloadOpen,
        base: PurePosixPath,
        chosen: list[tuple[str, dict[str, Any]]],
        chunks: _Chunks,
    ) -> None:
        """A tar of the chosen files and directories, named from `base` (the volume's name when
        that is the volume's root). GNU's format: any name (long, not UTF-8) without the warnings
        GNU tar prints for Python's PAX records of such names; times to the second."""
        # closed (its end written) once every chosen path is in it, below
        tar = tarfile.open(fileobj=chunks, mode="w|", format=tarfile.GNU_FORMAT)  # type: ignore[call-overload]  # noqa: SIM115
        volume_root = f"volumes/{request.volume}"
        for path, node in chosen:
            name = _name(base, PurePosixPath(path), request.volume)
            if node.get("type") == "file":
                add: Callable[[BinaryIO], None] = _add_file(tar, _info(node, name, tarfile.REGTYPE), path)
            else:
                add = _add_tree(tar, _info(node, name, tarfile.DIRTYPE), volume_root, path, base, request.volume)
            await restic.dump(repository, request.snapshot_id, request.volume, path, uuid.uuid4(), add)

        def end() -> None:  # in a thread: handing a chunk over waits while the reader is behind
            tar.close()  # the tar's end: two zero blocks, padded to a record
            chunks.flush()

        await in_own_thread(end)


def _add_file(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str) -> Callable[[BinaryIO], None]:
    def add(source: BinaryIO) -> None:
        tar.addfile(info, source)  # exactly its size, or "unexpected end of data"
        if source.read(1):
            raise PermanentError(f"restic gave more bytes of {path} than its size, {info.size}")

    return add


def _add_tree(
    tar: tarfile.TarFile, info: tarfile.TarInfo, volume_root: str, path: str, base: PurePosixPath, volume: str
) -> Callable[[BinaryIO], None]:
    """Add directory `path` (`info`), then the entries of restic's tar of it, renamed from the
    volume's root to `base`."""

    def add(source: BinaryIO) -> None:
        tar.addfile(info)  # restic's tar of a directory holds what is in it, not itself
        with tarfile.open(fileobj=source, mode="r|") as dumped:
            for member in dumped:
                member.name = _rename(member.name, volume_root, base, volume)
                if member.islnk():
                    member.linkname = _rename(member.linkname, volume_root, base, volume)
                if member.isfile():
                    tar.addfile(member, dumped.extractfile(member))
                else:
                    tar.addfile(member)

    return add


def _rename(dumped: str, volume_root: str, base: PurePosixPath, volume: str) -> str:
    inside = PurePosixPath(dumped)
    if inside.is_absolute() or ".." in inside.parts or not dumped.startswith(volume_root + "/"):
        raise PermanentError(f"restic's tar holds {dumped!r}, which is not inside volume {volume!r}")
    return _name(base, PurePosixPath("/" + dumped.removeprefix(volume_root + "/")), volume)


def _name(base: PurePosixPath, path: PurePosixPath, volume: str) -> str:
    """An entry's name in the tar: its path from `base`, under the volume's name when `base` is the
    volume's root."""
    relative = path.relative_to(base)
    return str(PurePosixPath(volume) / relative if base == PurePosixPath("/") else relative)


def _info(node: dict[str, Any], name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    mode = int(node.get("mode") or 0)
    info.mode = (
        (mode & 0o777)
        | (0o4000 if mode & _SETUID else 0)
        | (0o2000 if mode & _SETGID else 0)
        | (0o1000 if mode & _STICKY else 0)
    )
    info.size = int(node.get("size") or 0) if kind == tarfile.REGTYPE else 0
    info.uid = int(node.get("uid") or 0)
    info.gid = int(node.get("gid") or 0)
    info.uname = str(node.get("user") or "")
    info.gname = str(node.get("group") or "")
    when = restic_time(node.get("mtime"))
    info.mtime = when.timestamp() if when is not None else 0
    return info


def _chosen(paths: tuple[str, ...] | list[str]) -> list[str]:
    """The paths as `/`-rooted paths of the volume, each once, none below another one chosen."""
    normal: list[str] = []
    for path in paths:
        parts = [part for part in PurePosixPath("/" + path).parts[1:] if part not in ("", ".")]
        if ".." in parts or "\0" in path:
            raise PermanentError(f"path {path!r} leaves the volume (no '..' and no NUL)")
        normal.append(str(PurePosixPath("/", *parts)))
    unique = sorted(set(normal))
    return [p for p in unique if not any(p != q and PurePosixPath(p).is_relative_to(q) for q in unique)]


def _common_parent(paths: list[str]) -> PurePosixPath:
    """The deepest directory holding every chosen path (the volume's root holds itself)."""
    parents = [PurePosixPath(p) if p == "/" else PurePosixPath(p).parent for p in paths]
    common = parents[0]
    for parent in parents[1:]:
        while not parent.is_relative_to(common):
            common = common.parent
    return common
