"""The `runner` strategy: a started container with GNU tar and a compressor archives a volume,
instead of the engine's own tar behind its archive API.

One pass: the runner writes the compressed archive into a FIFO the executor made in the data dir
(`<data dir>/.pipes/`), and tar's listing (one line per entry) into a second one. The executor reads
both in worker threads: it hashes the archive while it writes it into its partial file (its own
write is the one that meets a full disk), counts the entries, and takes the tar stream's size from
tar's `--totals`. Nothing is read back or decompressed afterwards.

The runner reaches the FIFOs by mounting the data dir's `.pipes` read-only (a FIFO on a read-only
mount can still be written): where the executor runs on the host, the path itself; in a container,
the volume or host path its data dir is mounted from (DOCKBACK_DATA_DIR_SOURCE overrides that).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import shlex
import stat
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypeVar
from uuid import UUID

from dockback_contracts.base import Compression
from dockback_executor.archive import READ_BYTES, WrittenArchive, fsync_dir
from dockback_executor.docker_api import RUNNER_LABEL, RUNNER_MOUNT, DockerEngine, finish_even_if_cancelled
from dockback_executor.runner_image import RunnerImageUnavailable, ensure_runner_tools_image
from dockback_executor.settings import Settings
from dockback_runtime.jobs.errors import JobError, PermanentError
from dockback_runtime.partials import open_partial, partial_of

log = logging.getLogger(__name__)

PIPES = ".pipes"
_DATA_MOUNT = PurePosixPath("/dockback-data")
_DATA_MOUNT_WRITABLE = PurePosixPath("/dockback-data-rw")
_PLACES_MOUNT = PurePosixPath("/dockback")
_HERE = PurePosixPath(".")
PIPE_BYTES = 1024 * 1024
_DEFAULT_LEVEL = {"zstd": 3, "gzip": 6, "none": 0}
_CHECK_WORD = "dockback-runner-check"
_COMPLAINERS = ("tar: ", "sh: ", "zstd: ", "gzip: ")
_TOTALS = re.compile(r"Total bytes written: (\d+)")


class RunnerUnavailable(Exception):
    """Runners cannot reach the data dir from here; the message says why."""


class RunnerArchiveFailed(Exception):
    """The archive could not be written for a reason no retry heals (`cause`: the data dir is
    full); its partial file, `written_bytes` long when writing stopped, is removed."""

    def __init__(self, cause: OSError, written_bytes: int) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.written_bytes = written_bytes


@dataclass(frozen=True)
class DataPlace:
    """How a runner reaches the executor's data dir (`directory`, as the executor sees it): through
    its path on the Docker host (`host_path`), or the named volume it lives on (`volume`, the data
    dir at `in_volume` inside it)."""

    directory: Path
    host_path: PurePosixPath | None = None
    volume: str | None = None
    in_volume: PurePosixPath = _HERE

    def reach(self, relative: str, *, read_only: bool) -> tuple[dict[str, Any], PurePosixPath]:
        """The mount that gives a runner `<data dir>/<relative>` (which must exist), and its path
        inside the runner."""
        if self.volume is not None:
            # The engine's API before 1.45 cannot mount a volume's sub-path: the whole volume.
            target = _DATA_MOUNT if read_only else _DATA_MOUNT_WRITABLE
            mount = {
                "Type": "volume",
                "Source": self.volume,
                "Target": str(target),
                "ReadOnly": read_only,
                "VolumeOptions": {"NoCopy": True},
            }
            return mount, target / self.in_volume / relative
        assert self.host_path is not None
        target = _PLACES_MOUNT / relative
        mount = {"Type": "bind", "Source": str(self.host_path / relative), "Target": str(target), "ReadOnly": read_only}
        return mount, target


@dataclass(frozen=True)
class PipesPlace:
    """Where the executor makes its FIFOs (`directory`), and how a runner sees that directory: the
    mount to give it and the path of the directory inside it."""

    directory: Path
    mount: dict[str, Any]
    inside: PurePosixPath


async def locate_data(
    engine: DockerEngine, data_dir: Path, source: Path | None, own_container_id: str | None
) -> DataPlace:
    """How runners reach `data_dir`. `source`: the data dir's path on the Docker host, when given;
    otherwise the host path itself outside a container, or inside one the mount (volume or bind)
    its data dir is on. RunnerUnavailable when the data dir lives only inside the container."""
    data_dir = await asyncio.to_thread(data_dir.resolve)
    if source is not None or own_container_id is None:
        return DataPlace(data_dir, host_path=PurePosixPath(source or data_dir))
    container = await engine.inspect_container(own_container_id)
    below: list[tuple[PurePosixPath, dict[str, Any]]] = []
    for mounted in container.get("Mounts") or []:
        destination = PurePosixPath(mounted.get("Destination", "/nowhere"))
        if PurePosixPath(data_dir).is_relative_to(destination):
            below.append((destination, mounted))
    if not below:
        raise RunnerUnavailable(
            f"the data dir {data_dir} is not on a volume or bind mount of the executor's container "
            "(mount one there, or give its host path as DOCKBACK_DATA_DIR_SOURCE)"
        )
    destination, mounted = max(below, key=lambda found: len(found[0].parts))
    relative = PurePosixPath(data_dir).relative_to(destination)
    if mounted.get("Type") == "volume" and mounted.get("Name"):
        return DataPlace(data_dir, volume=mounted["Name"], in_volume=relative)
    if mounted.get("Type") == "bind" and mounted.get("Source"):
        return DataPlace(data_dir, host_path=PurePosixPath(mounted["Source"]) / relative)
    raise RunnerUnavailable(f"the data dir {data_dir} is on a {mounted.get('Type')} mount a runner cannot share")


async def locate_pipes(
    engine: DockerEngine, data_dir: Path, source: Path | None, own_container_id: str | None
) -> PipesPlace:
    """How runners reach `<data_dir>/.pipes` (see `locate_data`), read-only: a FIFO on a read-only
    mount can still be written."""
    place = await locate_data(engine, data_dir, source, own_container_id)
    mount, inside = place.reach(PIPES, read_only=True)
    return PipesPlace(place.directory / PIPES, mount, inside)


def remove_abandoned_fifos(directory: Path) -> int:
    """Remove the FIFOs in `directory` whose reader is gone (an executor killed mid-job; an empty
    FIFO holds nothing, but they pile up); those a live executor reads are locked and stay.
    Returns how many were removed."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            try:
                if not stat.S_ISFIFO(entry.stat(follow_symlinks=False).st_mode):
                    continue
                fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
            except FileNotFoundError:
                continue  # removed meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a running job's
            else:
                if os.stat(entry.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:  # not a new one since
                    os.unlink(entry.path)
                    removed += 1
            finally:
                os.close(fd)
    return removed


def runner_script(archive: PurePosixPath, index: PurePosixPath, compression: Compression, level: int | None) -> str:
    """The runner's shell command: GNU tar of /volume as `./...`, in name order as the engine's
    archive API writes it (restoring in readdir order would leave directories of other sizes),
    compressed into `archive`, its listing into `index`; the exit status is the compressor's when
    it failed, else tar's (a POSIX shell has no pipefail, so tar's status comes back through a file
    descriptor)."""
    level = _DEFAULT_LEVEL[compression] if level is None else level
    tar = f"tar -C {RUNNER_MOUNT} --sort=name --totals -cvvf - --index-file={shlex.quote(str(index))} ."
    if compression == "none":
        return f"{tar} > {shlex.quote(str(archive))}"
    ultra = "--ultra " if level > 19 else ""  # zstd refuses levels 20-22 without it
    compress = {"zstd": f"zstd -q -T0 {ultra}-{level}", "gzip": f"gzip -{level}"}[compression]
    return (
        f"st=$( {{ {{ {tar}; echo $? >&4; }} | {compress} > {shlex.quote(str(archive))}; }} 4>&1 ); z=$?; "
        f'if [ "$z" -ne 0 ]; then echo "{compress.split()[0]} exited with $z" >&2; exit "$z"; fi; exit "${{st:-1}}"'
    )


T = TypeVar("T")


def in_own_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """`function(*args)` in a thread of its own, as a future of the running loop. For what blocks
    as long as a runner runs (reading or writing its FIFOs): in the loop's default pool (a few
    threads, shared with every `to_thread`), a few such jobs at once would take every thread and
    stall the rest of the executor."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the awaiting task
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name=getattr(function, "__name__", "runner-io"), daemon=True).start()
    return future


class Fifo:
    """A FIFO the executor reads from, open at both ends until `release()`: the runner may open
    and close its end at any time (or never) without the reader seeing an early end or blocking in
    open; releasing our own write end lets the reader see the end once the runner's is closed.
    Its reading end holds an exclusive `flock` until it is closed, so `remove_abandoned_fifos`
    at another executor's start leaves it alone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reading = False  # a reader owns read_fd from then on, and closes it
        while True:
            path.unlink(missing_ok=True)  # left by an earlier attempt of the same job
            os.mkfifo(path, 0o600)
            self.read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                fcntl.flock(self.read_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.stat(path).st_ino == os.fstat(self.read_fd).st_ino:
                    break
            except (BlockingIOError, FileNotFoundError):
                pass  # a cleanup took it between mkfifo and flock: a new one
            os.close(self.read_fd)
        self._keeper: int | None = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        flags = fcntl.fcntl(self.read_fd, fcntl.F_GETFL)
        fcntl.fcntl(self.read_fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        with contextlib.suppress(OSError):  # above the system's pipe-max-size: the default 64 KiB stays
            # Room for a burst of the compressor's output while we hash and write the last one.
            fcntl.fcntl(self.read_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)

    def put(self, data: bytes) -> None:
        """Leave `data` in the FIFO for the runner to read (at most the pipe's size: a few secrets)."""
        assert self._keeper is not None
        if os.write(self._keeper, data) != len(data):
            raise OSError(errno.EAGAIN, f"{self.path} took only part of what was put into it")

    def release(self) -> None:
        if self._keeper is not None:
            os.close(self._keeper)
            self._keeper = None

    def remove(self) -> None:
        self.release()
        if not self.reading:
            os.close(self.read_fd)
        self.path.unlink(missing_ok=True)


@dataclass
class _Received:
    sha256: str = ""
    size: int = 0
    error: OSError | None = None


def _receive(fifo: Fifo, into: BinaryIO) -> _Received:
    """Read the archive to its end, hashing it and writing it into `into`. A write that fails
    (a full disk) stops the reading: closing our end makes the runner's next write fail."""
    digest = hashlib.sha256()
    received = _Received()
    try:
        while block := os.read(fifo.read_fd, READ_BYTES):
            into.write(block)
            digest.update(block)
            received.size += len(block)
        into.flush()
    except OSError as exc:
        received.error = exc
    finally:
        os.close(fifo.read_fd)
    received.sha256 = digest.hexdigest()
    return received


def _read_all(fifo: Fifo) -> bytes:
    """What arrives until the end (a few bytes: the pipes check)."""
    data = bytearray()
    try:
        while block := os.read(fifo.read_fd, READ_BYTES):
            data += block
    finally:
        os.close(fifo.read_fd)
    return bytes(data)


def _count_entries(fifo: Fifo, progress: Callable[[int], None] | None) -> int:
    """Entries in tar's long listing (`-vv`), read to the end: one line per entry (a name is quoted,
    a newline in it is `\\n`). The sizes it lists, summed, go to `progress` every half second."""
    entries = data_bytes = 0
    reported = 0.0
    rest = b""
    try:
        while block := os.read(fifo.read_fd, READ_BYTES):
            *lines, rest = (rest + block).split(b"\n")
            entries += len(lines)
            for line in lines:
                # mode owner/group size date time name: a device's "size" is major,minor
                fields = line.split(None, 3)
                if len(fields) > 2 and fields[2].isdigit():
                    data_bytes += int(fields[2])
            if progress is not None and time.monotonic() - reported >= 0.5:
                reported = time.monotonic()
                progress(data_bytes)
    finally:
        os.close(fifo.read_fd)
    return entries


class RunnerStrategy:
    """Archives volumes with a runner container that has the tools inside."""

    def __init__(self, engine: DockerEngine, image: str, pipes: PipesPlace) -> None:
        self.engine = engine
        self.image = image
        self.pipes = pipes

    async def archive_volume(
        self,
        volume: str,
        final: Path,
        compression: Compression,
        level: int | None,
        job_id: UUID,
        progress: Callable[[int], None] | None = None,
    ) -> WrittenArchive:
        """Archive `volume` into `final`; `progress` hears the bytes of file data archived so far."""
        await self.engine.volume(volume)
        await self.engine.remove_unremoved_runners()
        await asyncio.to_thread(self.pipes.directory.mkdir, mode=0o700, parents=True, exist_ok=True)
        temporary = partial_of(final)
        # Locked while written: no cleanup at another executor's start removes it.
        held = await asyncio.to_thread(open_partial, final, exclusive=True)
        fifos: list[Fifo] = []
        container_id: str | None = None
        removing: asyncio.Future[None] | None = None
        loop = asyncio.get_running_loop()
        try:
            for suffix in ("tar", "index"):
                fifos.append(Fifo(self.pipes.directory / f"{job_id}-{final.name}.{suffix}"))
            archive_fifo, index_fifo = fifos
            script = runner_script(
                self.pipes.inside / archive_fifo.path.name, self.pipes.inside / index_fifo.path.name, compression, level
            )
            archive_fifo.reading = index_fifo.reading = True
            receiving = in_own_thread(_receive, archive_fifo, held)
            on_progress: Callable[[int], None] | None = None
            if progress is not None:
                report = progress

                def on_progress(done: int) -> None:  # called in the counting thread
                    loop.call_soon_threadsafe(report, done)

            counting = in_own_thread(_count_entries, index_fifo, on_progress)
            exited = False
            try:
                container_id = await self.engine.create_container(self._config(volume, script, job_id))
                await self.engine.start_container(container_id)
                code, logs = await self.engine.wait_container(container_id)
                exited = True
            finally:

                async def stop_receiving() -> tuple[_Received, int]:
                    if container_id is not None and not exited:  # its writers closed: killed first
                        await self._remove(container_id)
                    for fifo in fifos:
                        fifo.release()
                    return await receiving, await counting

                try:
                    received, entries = await finish_even_if_cancelled(stop_receiving())
                finally:
                    if exited and container_id is not None:  # removed while the archive is sealed
                        removing = asyncio.ensure_future(self._remove(container_id))
            if received.error is not None:
                if received.error.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise RunnerArchiveFailed(received.error, received.size)
                raise received.error
            if code != 0:
                raise PermanentError(f"runner for volume {volume!r} exited with {code}: {_reason(logs)}")
            totals = _TOTALS.findall(logs)
            if not totals:
                raise PermanentError(f"the runner for volume {volume!r} did not report the size of its tar stream")
            await asyncio.to_thread(_seal, held, temporary, final)
            return WrittenArchive(
                path=final,
                sha256=received.sha256,
                size_bytes=received.size,
                raw_bytes=int(totals[-1]),
                file_count=entries,
            )
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            # After a failed write (a full disk) closing flushes what is buffered and fails again;
            # the error that counts is already on its way. A complete archive was flushed before.
            with contextlib.suppress(OSError):
                held.close()
            for fifo in fifos:
                fifo.remove()
            if removing is not None:
                await finish_even_if_cancelled(removing)

    async def check_pipes(self) -> None:
        """Start a runner that writes a word into a FIFO in the data dir's `.pipes`, as a backup's
        runner does; RunnerUnavailable when the word does not arrive (the mount found for the data
        dir, or DOCKBACK_DATA_DIR_SOURCE, is not where the executor's data dir is)."""
        await asyncio.to_thread(self.pipes.directory.mkdir, mode=0o700, parents=True, exist_ok=True)
        fifo = await asyncio.to_thread(Fifo, self.pipes.directory / f"check-{uuid.uuid4()}")
        loop = asyncio.get_running_loop()
        fifo.reading = True
        reading = loop.run_in_executor(None, _read_all, fifo)
        try:
            inside = shlex.quote(str(self.pipes.inside / fifo.path.name))
            code, output = await self.engine.run_to_end(
                {
                    "Image": self.image,
                    "Cmd": ["sh", "-c", f"echo {_CHECK_WORD} > {inside}"],
                    "NetworkDisabled": True,
                    "HostConfig": {"NetworkMode": "none", "Mounts": [self.pipes.mount]},
                }
            )
        finally:
            fifo.release()
            received = await finish_even_if_cancelled(reading)
            fifo.remove()
        if code != 0 or received.strip() != _CHECK_WORD.encode():
            raise RunnerUnavailable(
                f"a runner mounting {self.pipes.mount['Source']} could not write into the data dir's {PIPES} "
                f"(exit code {code}: {output.strip()[-200:] or 'nothing arrived'}); give the data dir's path on the "
                "Docker host as DOCKBACK_DATA_DIR_SOURCE"
            )

    def _config(self, volume: str, script: str, job_id: UUID) -> dict[str, Any]:
        return {
            "Image": self.image,
            "Cmd": ["sh", "-c", script],
            "Labels": {RUNNER_LABEL: "1", **self.engine.runner_labels, "dockback.job": str(job_id)},
            "NetworkDisabled": True,
            "HostConfig": {
                "NetworkMode": "none",
                "Mounts": [
                    {
                        "Type": "volume",
                        "Source": volume,
                        "Target": RUNNER_MOUNT,
                        "ReadOnly": True,
                        "VolumeOptions": {"NoCopy": True},
                    },
                    self.pipes.mount,
                ],
            },
        }

    async def _remove(self, container_id: str) -> None:
        try:
            await finish_even_if_cancelled(self.engine.remove_container(container_id, force=True))
        except Exception:
            self.engine.remove_runner_later(container_id)


def _reason(logs: str) -> str:
    """What a failed runner said that explains it: the complaints of its shell, tar and compressor
    (a usage text after them would hide them), else the end of its output."""
    said = [line for line in logs.splitlines() if line.startswith(_COMPLAINERS) or " exited with " in line]
    reason = "; ".join(said[-5:]) if said else logs.strip()
    return reason[-500:]


def _seal(held: BinaryIO, temporary: Path, final: Path) -> None:
    """Make the written archive durable and rename it into place (before closing: the lock)."""
    os.fsync(held.fileno())
    os.replace(temporary, final)
    fsync_dir(final.parent)


def engine_is_local(docker_url: str | None) -> bool:
    """Whether the engine is reached through a local socket (so it can mount this host's paths)."""
    url = docker_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return url.startswith("unix://") or url.startswith("/")


async def choose_runner(
    engine: DockerEngine, settings: Settings, own_container_id: str | None
) -> RunnerStrategy | None:
    """The runner strategy as DOCKBACK_STRATEGY asks, or None for `stream`. `runner`: SystemExit when
    it cannot work here; `auto`: `stream` then, with one log line saying why."""
    if settings.strategy == "stream":
        return None
    try:
        if not engine_is_local(settings.docker_url):
            raise RunnerUnavailable(
                "the Docker Engine is not reached through a local socket, so runners cannot mount the data dir"
            )
        pipes = await locate_pipes(engine, settings.data_dir, settings.data_dir_source, own_container_id)
        image = await ensure_runner_tools_image(engine, settings.runner_image)
        strategy = RunnerStrategy(engine, image, pipes)
        await strategy.check_pipes()
    except (RunnerUnavailable, RunnerImageUnavailable, JobError) as exc:
        if settings.strategy == "runner":
            raise SystemExit(f"DOCKBACK_STRATEGY=runner cannot work here: {exc}") from exc
        log.warning("archiving volumes with the stream strategy, not with runners: %s", exc)
        return None
    return strategy
