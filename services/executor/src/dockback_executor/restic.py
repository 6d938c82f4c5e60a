"""Restic repositories: snapshots of volumes made, listed and restored by `restic` in a runner
container (the runner tools image carries restic when the executor's host has it).

A volume is mounted at `/volumes/<name>` and backed up as that path, so its path is the same for
every run of that volume (restic takes the newest snapshot of the same `--host` and path as the
parent and skips the files that did not change), and the snapshot keeps the volume's own root
directory (owner, mode) as the node `/volumes/<name>`, which a backup of `.` from inside it would
lose. A restore mounts the target volume at the snapshot's path, whatever the target is called,
and restores to `/`: restic writes into the volume and nowhere else.

A repository on the host lives in `<data dir>/repositories/<name>`; restic's cache in
`<data dir>/restic-cache`, shared by every runner of this executor. Secrets (the repository's
password, storage credentials) never appear in a container's configuration, where `docker inspect`
shows them, nor on disk: the executor writes them as `NAME=value` lines into a FIFO in the data
dir's `.pipes`, and the runner's shell reads them up to a line holding `.` and exports them before
it starts restic. restic's standard output (JSON lines) comes back through a second FIFO, read
line by line while it runs; its standard error is the container's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypeVar
from uuid import UUID

from dockback_executor.archive import READ_BYTES
from dockback_executor.docker_api import RUNNER_LABEL, DockerEngine, finish_even_if_cancelled
from dockback_executor.errors import ResourceMissing
from dockback_executor.runner_strategy import PIPES, DataPlace, Fifo, in_own_thread
from dockback_runtime.jobs.errors import JobError, PermanentError, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

REPOSITORIES = "repositories"
CACHE = "restic-cache"
VOLUMES = PurePosixPath("/volumes")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_PROGRESS_PER_SECOND = "2"
_SCRIPT = (
    # $1: the secrets FIFO, $2: where restic's standard output goes, $3: its standard input, $4:
    # `ids` to add the names of a repository on the host's snapshot files to that output once
    # restic has ended (`_SNAPSHOT_FILE`), else `-`; the rest: restic's arguments. restic runs as
    # the shell's child, so the shell, the container's first process, hands it the SIGINT of a
    # stop (a first process ignores a signal it has no handler for).
    'while IFS= read -r line && [ "$line" != . ]; do export "$line"; done < "$1"; '
    # (an asynchronous command's standard input is /dev/null before its own redirections: fd 4)
    'ids=$4; exec 3> "$2" 4< "$3"; shift 4; '
    'restic "$@" <&4 >&3 4<&- & pid=$!; exec 4<&-; '
    "trap 'kill -INT $pid 2>/dev/null' INT TERM; "
    "while :; do wait $pid; code=$?; kill -0 $pid 2>/dev/null || break; done; "
    'if [ "$ids" = ids ] && [ -d "$RESTIC_REPOSITORY/snapshots" ]; then '
    'for f in "$RESTIC_REPOSITORY"/snapshots/*; do echo "snapshot-file ${f##*/}" >&3; done; fi; '
    "exit $code"
)
_SNAPSHOT_FILE = re.compile(rb"^snapshot-file ([0-9a-f]{64})$")
_SPECIAL_BITS = (1 << 23) | (1 << 22)  # Go's os.ModeSetuid and os.ModeSetgid, as restic's JSON gives a mode
_RESTORING = re.compile(rb"^restoring <Snapshot [0-9a-f]+ of \[(.*?)\] at ")
_NOT_SECRETS = frozenset({"RESTIC_FROM_PASSWORD_COMMAND"})  # would run a command of its own
_TAR_END = 1024  # a tar archive ends with two zero blocks of 512 bytes
_STOP_SECONDS = 10  # for restic to remove its lock once interrupted
_QUEUED_BLOCKS = 8  # of restic's raw output (a `dump`) between its FIFO and the engine


@dataclass(frozen=True)
class Repository:
    """A restic repository as a job names it: `name` of a repository in the data dir's
    `repositories` (letters, digits, `_.-`), its `password`, and the storage `environment` restic
    needs (empty for one on the host)."""

    name: str
    password: str = field(repr=False)
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise PermanentError(f"repository name {self.name!r} is not a plain name (letters, digits, '_', '.', '-')")
        if not self.password:
            raise PermanentError(f"repository {self.name!r} has no password")
        for key in self.environment:
            if not re.fullmatch(r"(AWS|RCLONE|B2|AZURE|GOOGLE|RESTIC_FROM)_[A-Z0-9_]+", key) or key in _NOT_SECRETS:
                raise PermanentError(f"repository {self.name!r}: {key!r} is not a storage credential's name")
        for key, value in {"password": self.password, **self.environment}.items():
            if "\n" in value or "\0" in value:
                raise PermanentError(f"repository {self.name!r}: {key} holds a line break")


@dataclass(frozen=True)
class Snapshot:
    """A snapshot restic saved, with its `backup --json` summary."""

    snapshot_id: str  # the full 64-hex id
    files_new: int
    files_changed: int
    files_unmodified: int
    bytes_added: int  # of new data before compression (restic 0.14 reports no packed size)
    total_files: int
    total_bytes: int


@dataclass(frozen=True)
class BackupProgress:
    bytes_done: int
    total_bytes: int | None
    files_done: int
    total_files: int | None


@dataclass
class _Run:
    code: int
    stderr: str
    stdout: list[bytes]
    fed: BaseException | None = None  # why feeding restic's standard input failed


class ResticFailed(PermanentError):
    """restic ended with an error no retry heals; the message is restic's own reason."""


class NoRepository(ResticFailed):
    """restic found no repository where the job named one."""


class _RepositoryExists(ResticFailed):
    """`init` where a repository is already."""


class ResticRunner:
    """Runs restic against repositories in the data dir, in runner containers."""

    def __init__(self, engine: DockerEngine, image: str, data: DataPlace) -> None:
        self.engine = engine
        self.image = image
        self.data = data

    def repository_path(self, repository: Repository) -> Path:
        """Where a repository on the host lives, as the executor sees it."""
        return self.data.directory / REPOSITORIES / repository.name

    async def ensure_repository(self, repository: Repository, job_id: UUID) -> bool:
        """Create the repository when it does not exist yet; whether it was created. Asked of
        restic, not of the file system: the repository's files belong to the runner's root (the
        executor may run as another user), and one in storage has no files here. Under an
        exclusive lock of the repository's name (also across executors sharing the data dir):
        two `init`s at once both succeed in restic 0.14 and leave two keys beside one config."""
        lock_path = self.data.directory / REPOSITORIES / f".{repository.name}.init-lock"
        await asyncio.to_thread(lock_path.parent.mkdir, mode=0o700, parents=True, exist_ok=True)
        fd = await asyncio.to_thread(os.open, lock_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            try:
                await self._run(repository, ["init"], job_id, what=f"creating repository {repository.name!r}")
            except _RepositoryExists:
                return False  # made before, perhaps by whoever held the lock before us
        finally:
            os.close(fd)  # releases the lock
        log.info("created restic repository %s", repository.name)
        return True

    async def _in_repository(self, repository: Repository, job_id: UUID, step: Callable[[], Awaitable[T]]) -> T:
        """`step`, run once more after creating the repository when restic found none: a backup
        costs no extra run of restic to learn that its repository exists."""
        try:
            return await step()
        except NoRepository:
            await self.ensure_repository(repository, job_id)
        return await step()

    async def back_up_volume(
        self,
        repository: Repository,
        volume: str,
        *,
        host: str,
        tags: Sequence[str],
        job_id: UUID,
        progress: Callable[[BackupProgress], None] | None = None,
    ) -> Snapshot:
        """Snapshot `volume` (mounted read-only) into `repository`, tagged with `tags`, as `host`."""
        _check_volume_name(volume)
        await self.engine.volume(volume)
        loop = asyncio.get_running_loop()
        on_line: Callable[[bytes], None] | None = None
        if progress is not None:
            report = progress

            def on_line(line: bytes) -> None:  # called in the reading thread
                status = _status(line)
                if status is not None:
                    loop.call_soon_threadsafe(report, status)

        argv = ["backup", "--json", "--host", host, *(arg for tag in tags for arg in ("--tag", tag))]
        argv.append(str(VOLUMES / volume))
        run = await self._in_repository(
            repository,
            job_id,
            lambda: self._run(
                repository,
                argv,
                job_id,
                what=f"backup of volume {volume!r}",
                volume=(volume, True),
                on_line=on_line,
                allowed=(0, 3),
                snapshot_files=True,
            ),
        )
        summary = next((m for m in map(_json, reversed(run.stdout)) if m.get("message_type") == "summary"), None)
        if summary is None or not summary.get("snapshot_id"):
            raise ResticFailed(f"restic saved no snapshot of volume {volume!r}: {_reason(run.stderr)}")
        snapshot_id = await self._full_id(repository, str(summary["snapshot_id"]), job_id, run)
        if run.code == 3:  # saved, but without the files it could not read: not a backup of the volume
            await self.forget(repository, [snapshot_id], job_id)
            raise ResticFailed(f"restic could not read every file of volume {volume!r}: {_unreadable(run.stderr)}")
        return _snapshot(snapshot_id, summary)

    async def back_up_image(
        self, repository: Repository, image: str, *, host: str, tags: Sequence[str], job_id: UUID
    ) -> Snapshot:
        """Snapshot `docker save` of `image` into `repository` through restic's standard input, as
        the file `/<image_file(image)>`: images that share layers share their chunks."""
        argv = ["backup", "--json", "--host", host, *(arg for tag in tags for arg in ("--tag", tag))]
        argv += ["--stdin", "--stdin-filename", image_file(image)]

        async def save() -> _Run:
            async with self.engine.save_image(image) as chunks:
                return await self._run(
                    repository, argv, job_id, what=f"backup of image {image!r}", stdin=chunks, snapshot_files=True
                )

        run = await self._in_repository(repository, job_id, save)
        summary = next((m for m in map(_json, reversed(run.stdout)) if m.get("message_type") == "summary"), None)
        if summary is None or not summary.get("snapshot_id"):
            raise ResticFailed(f"restic saved no snapshot of image {image!r}: {_reason(run.stderr)}")
        snapshot = _snapshot(await self._full_id(repository, str(summary["snapshot_id"]), job_id, run), summary)
        if run.fed is not None:  # restic took a cut stream for the whole image: not a backup of it
            await self.forget(repository, [snapshot.snapshot_id], job_id)
            raise TransientError(f"docker save of image {image!r} broke off: {run.fed}")
        return snapshot

    async def restore_image(self, repository: Repository, snapshot_id: str, image: str, job_id: UUID) -> list[str]:
        """`docker load` of the image saved in the snapshot (of `image`); what the engine loaded."""
        _check_snapshot_id(snapshot_id)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_QUEUED_BLOCKS)

        async def blocks() -> AsyncIterator[bytes]:
            while (block := await queue.get()) is not None:
                yield block

        async def drain_once_loaded(loading: asyncio.Future[list[str]]) -> None:
            await asyncio.wait([loading])  # a load that failed early reads no more: restic must still end
            while await queue.get() is not None:
                pass

        loading = asyncio.ensure_future(self.engine.load_image(blocks()))
        draining = asyncio.ensure_future(drain_once_loaded(loading))
        try:
            await self._run(
                repository,
                ["dump", snapshot_id, "/" + image_file(image)],
                job_id,
                what=f"restore of image {image!r} from snapshot {snapshot_id[:8]}",
                raw_output=queue,
            )
            return await loading
        finally:
            for task in (draining, loading):
                if not task.done():
                    task.cancel()
            await asyncio.gather(draining, loading, return_exceptions=True)

    async def restore_into_volume(
        self,
        repository: Repository,
        snapshot_id: str,
        source: str,
        volume: str,
        job_id: UUID,
        include: Sequence[str] = (),
    ) -> None:
        """Write the snapshot of volume `source` (or only `include`, paths from the volume's root)
        into `volume`.

        restic restores to `/` with every include pattern under `/volumes/<source>`, where the
        target volume is mounted: nothing lands anywhere else whatever the snapshot holds. A
        snapshot of anything but that volume restores nothing, which the line restic starts with
        (`restoring <Snapshot ... of [paths] ...>`) shows: the job then fails instead of
        succeeding with nothing restored. (Asking restic first would cost another run.)"""
        _check_volume_name(volume)
        _check_volume_name(source)
        _check_snapshot_id(snapshot_id)
        root = str(VOLUMES / source)
        argv = ["restore", snapshot_id, "--target", "/"]
        for path in include or ["/"]:
            argv += ["--include", _pattern(_volume_path(source, path))]
        run = await self._run(
            repository,
            argv,
            job_id,
            what=f"restore of snapshot {snapshot_id[:8]} into {volume!r}",
            volume=(volume, False),
            at=source,
        )
        said = next((m for m in map(_RESTORING.match, run.stdout) if m is not None), None)
        if said is not None:
            paths = said.group(1).decode(errors="replace").split(" ")
        else:  # a restic that words it otherwise: ask it
            [snapshot] = await self.snapshots(repository, job_id, ids=[snapshot_id]) or [{}]
            paths = list(snapshot.get("paths") or [])
        if paths != [root]:
            raise ResticFailed(
                f"snapshot {snapshot_id[:8]} is not a snapshot of volume {source!r} "
                f"(it holds {paths or 'nothing this repository knows'}); nothing was restored"
            )

    async def special_files(
        self, repository: Repository, snapshot_id: str, source: str, include: Sequence[str], job_id: UUID
    ) -> list[str]:
        """The setuid and setgid files (paths from the volume's root) a restore of the snapshot of
        volume `source` (or of `include`) would write."""
        _check_volume_name(source)
        _check_snapshot_id(snapshot_id)
        wanted = [_volume_path(source, path) for path in include or ["/"]]
        run = await self._run(repository, ["ls", "--json", snapshot_id], job_id, what="listing a snapshot")
        root = str(VOLUMES / source)
        found = []
        for node in map(_json, run.stdout):
            path = str(node.get("path", ""))
            if node.get("struct_type") != "node" or not int(node.get("mode") or 0) & _SPECIAL_BITS:
                continue
            if any(path == w or path.startswith(w.rstrip("/") + "/") for w in wanted):
                found.append(path.removeprefix(root) or "/")
        return found

    async def list_directory(
        self, repository: Repository, snapshot_id: str, source: str, path: str, job_id: UUID
    ) -> list[dict[str, Any]]:
        """The entries directly inside `path` (from the volume's root) of a snapshot of volume
        `source`, as restic's `ls --json` nodes (name, type, size, mode, uid, gid, mtime, ...) with
        their `path` from the volume's root."""
        _check_volume_name(source)
        _check_snapshot_id(snapshot_id)
        directory = _volume_path(source, path)
        run = await self._run(repository, ["ls", "--json", snapshot_id, directory], job_id, what="listing a snapshot")
        root = str(VOLUMES / source)
        nodes = [node for node in map(_json, run.stdout) if node.get("struct_type") == "node"]
        return [
            {**node, "path": str(node["path"]).removeprefix(root) or "/"}
            for node in nodes
            if node.get("path") != directory and str(node.get("path", "")).startswith(root + "/")
        ]

    async def nodes(
        self, repository: Repository, snapshot_id: str, source: str, paths: Sequence[str], job_id: UUID
    ) -> dict[str, dict[str, Any]]:
        """restic's `ls --json` node of each of `paths` (from the volume's root) of a snapshot of
        volume `source`, by that path. PermanentError naming a path the snapshot does not hold."""
        _check_volume_name(source)
        _check_snapshot_id(snapshot_id)
        wanted = {_volume_path(source, path): path for path in paths}
        run = await self._run(repository, ["ls", "--json", snapshot_id, *wanted], job_id, what="listing a snapshot")
        found = {
            wanted[str(node["path"])]: node
            for node in map(_json, run.stdout)
            if node.get("struct_type") == "node" and str(node.get("path")) in wanted
        }
        if missing := [path for path in paths if path not in found]:
            raise PermanentError(f"snapshot {snapshot_id[:8]} of volume {source!r} holds no {', '.join(missing)}")
        return found

    async def dump(
        self,
        repository: Repository,
        snapshot_id: str,
        source: str,
        path: str,
        job_id: UUID,
        read: Callable[[BinaryIO], None],
    ) -> None:
        """`restic dump` of `path` (from the volume's root) of a snapshot of volume `source`: a
        file's bytes, a directory as a tar (its entries named `volumes/<source>/...`), handed to
        `read` (in a thread of its own) as they come. What `read` leaves unread is discarded, so
        restic always ends; what `read` raises is raised here once it has."""
        _check_volume_name(source)
        _check_snapshot_id(snapshot_id)
        argv = ["dump", snapshot_id, _volume_path(source, path)]

        def reader(fifo: Fifo) -> list[bytes]:
            with os.fdopen(fifo.read_fd, "rb", buffering=READ_BYTES) as output:
                try:
                    read(output)
                finally:
                    while output.read(READ_BYTES):  # restic writes on until its output is read
                        pass
            return []

        await self._run(
            repository, argv, job_id, what=f"dump of {path!r} from snapshot {snapshot_id[:8]}", output_reader=reader
        )

    async def forget(self, repository: Repository, snapshot_ids: Sequence[str], job_id: UUID) -> None:
        """Remove exactly these snapshots (their data stays until a prune)."""
        for snapshot_id in snapshot_ids:
            _check_snapshot_id(snapshot_id)
        if snapshot_ids:
            await self._run(repository, ["forget", *snapshot_ids], job_id, what="forgetting snapshots")

    async def check(self, repository: Repository, job_id: UUID, read_data_subset: str | None = None) -> None:
        """Check the repository's structure and, with `read_data_subset` (`n/t`, `x%` or a size
        such as `500M`), read that share of its data back and compare it with its hashes.
        ResticFailed naming what restic found damaged."""
        argv = ["check"]
        if read_data_subset is not None:
            if not re.fullmatch(r"\d+/\d+|\d+(\.\d+)?%|\d+[KMGT]?", read_data_subset):
                raise PermanentError(f"read_data_subset {read_data_subset!r} is not n/t, x% or a size like 500M")
            argv.append(f"--read-data-subset={read_data_subset}")
        await self._run(repository, argv, job_id, what=f"check of repository {repository.name!r}")

    async def prune(self, repository: Repository, job_id: UUID) -> None:
        """Remove the data no snapshot refers to any more (after `forget`); takes the repository's
        exclusive lock, so it waits for no backup: a running one fails it as transient."""
        await self._run(repository, ["prune"], job_id, what=f"prune of repository {repository.name!r}")

    async def snapshots(
        self, repository: Repository, job_id: UUID, tags: Sequence[str] = (), ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The repository's snapshots (restic's `snapshots --json`), those with all `tags` when
        given, or those of `ids`."""
        for snapshot_id in ids:
            _check_snapshot_id(snapshot_id)
        argv = ["snapshots", "--json", "--no-lock"]
        if tags:
            argv += ["--tag", ",".join(tags)]
        argv += list(ids)
        run = await self._run(repository, argv, job_id, what="listing snapshots")
        listed = json.loads(b"".join(run.stdout) or b"[]")
        return list(listed or [])

    async def _full_id(self, repository: Repository, short_id: str, job_id: UUID, run: _Run) -> str:
        """The full id of a snapshot restic named by its short id (restic 0.14's backup summary
        gives no other): from the names of the repository's snapshot files the runner listed after
        the backup (a repository on the host), else asked of restic (one in storage): the
        repository's files are the runner's root's alone, and asking restic costs another
        derivation of its key (half a second)."""
        _check_snapshot_id(short_id)
        files = [m.group(1).decode() for m in map(_SNAPSHOT_FILE.match, run.stdout) if m is not None]
        ids = [name for name in files if name.startswith(short_id)]
        if not files:
            ids = [str(s.get("id", "")) for s in await self.snapshots(repository, job_id, ids=[short_id])]
        if len(ids) != 1 or not ids[0].startswith(short_id):
            raise ResticFailed(f"restic reported snapshot {short_id}, which the repository holds {len(ids)} times")
        return ids[0]

    async def _run(
        self,
        repository: Repository,
        argv: list[str],
        job_id: UUID,
        *,
        what: str,
        volume: tuple[str, bool] | None = None,
        at: str | None = None,
        on_line: Callable[[bytes], None] | None = None,
        stdin: AsyncIterator[bytes] | None = None,
        raw_output: asyncio.Queue[bytes | None] | None = None,
        output_reader: Callable[[Fifo], list[bytes]] | None = None,
        allowed: Sequence[int] = (0,),
        snapshot_files: bool = False,
    ) -> _Run:
        """Run restic with `argv` in a runner; `volume` (name, read-only) mounted at
        /volumes/<`at`, else its name>; `stdin` fed to restic's standard input; its standard output
        as lines (to `on_line`, and returned), or with `raw_output` as blocks put into that queue
        (None at the end), or read by `output_reader` (in a thread of its own, closing the FIFO's
        reading end once it is done); with `snapshot_files`, the lines end with the names of the snapshot
        files of a repository on the host (`_SNAPSHOT_FILE`). JobError with restic's reason when it
        exits with a code not in `allowed`; `_Run.fed` says why feeding `stdin` failed."""
        pipes = self.data.directory / PIPES
        for directory in (pipes, self.data.directory / REPOSITORIES, self.data.directory / CACHE):
            await asyncio.to_thread(directory.mkdir, mode=0o700, parents=True, exist_ok=True)
        pipes_mount, pipes_inside = self.data.reach(PIPES, read_only=True)
        repositories_mount, repositories_inside = self.data.reach(REPOSITORIES, read_only=False)
        cache_mount, cache_inside = self.data.reach(CACHE, read_only=False)
        mounts = [pipes_mount, repositories_mount]
        if cache_mount["Target"] != repositories_mount["Target"]:  # one writable mount of a data volume serves both
            mounts.append(cache_mount)
        if volume is not None:
            name, read_only = volume
            mounts.append(
                {
                    "Type": "volume",
                    "Source": name,
                    "Target": str(VOLUMES / (at or name)),
                    "ReadOnly": read_only,
                    "VolumeOptions": {"NoCopy": True},
                }
            )
        environment = {
            "RESTIC_REPOSITORY": str(repositories_inside / repository.name),
            "RESTIC_CACHE_DIR": str(cache_inside),
            "RESTIC_PROGRESS_FPS": _PROGRESS_PER_SECOND,
        }
        fifos: list[Fifo] = []
        feed_path = pipes / f"{job_id}-in-{os.urandom(4).hex()}"
        feeding: asyncio.Future[None] | None = None
        container_id: str | None = None
        loop = asyncio.get_running_loop()
        try:
            for role in ("secrets", "out"):
                fifos.append(await asyncio.to_thread(Fifo, pipes / f"{job_id}-{role}-{os.urandom(4).hex()}"))
            secrets, output = fifos
            lines = [f"RESTIC_PASSWORD={repository.password}", *(f"{k}={v}" for k, v in repository.environment.items())]
            secrets.put(("\n".join([*lines, "."]) + "\n").encode())
            output.reading = True
            reading: asyncio.Future[list[bytes]]
            if output_reader is not None:
                reading = in_own_thread(output_reader, output)
            elif raw_output is not None:
                reading = in_own_thread(_read_blocks, output, raw_output, loop)
            else:
                reading = in_own_thread(_read_lines, output, on_line)
            stdin_inside = "/dev/null"
            if stdin is not None:
                await asyncio.to_thread(os.mkfifo, feed_path, 0o600)
                feeding = asyncio.ensure_future(feed_tar_stream(feed_path, stdin))
                stdin_inside = str(pipes_inside / feed_path.name)
            config = {
                "Image": self.image,
                "Cmd": [
                    "sh",
                    "-c",
                    _SCRIPT,
                    "sh",
                    str(pipes_inside / secrets.path.name),
                    str(pipes_inside / output.path.name),
                    stdin_inside,
                    "ids" if snapshot_files else "-",
                    *argv,
                ],
                "Env": [f"{k}={v}" for k, v in environment.items()],
                "Labels": {RUNNER_LABEL: "1", **self.engine.runner_labels, "dockback.job": str(job_id)},
                "StopSignal": "SIGINT",  # restic removes its lock and ends; killed, it leaves the lock behind
                "NetworkDisabled": not repository.environment,
                "HostConfig": {"NetworkMode": "none" if not repository.environment else "bridge", "Mounts": mounts},
            }
            exited = False
            try:
                container_id = await self.engine.create_container(config)
                await self.engine.start_container(container_id)
                code, stderr = await self.engine.wait_container(container_id)
                exited = True
            finally:

                async def stop_reading() -> list[bytes]:
                    if container_id is not None and not exited:
                        await self._stop(container_id)
                    output.release()
                    return await reading

                try:
                    stdout = await finish_even_if_cancelled(stop_reading())
                except Exception as reading_failed:  # restic's own reason first (a short dump's cause)
                    if exited and code not in allowed:
                        raise _failure(what, code, stderr) from reading_failed
                    raise
        finally:
            fed = None if feeding is None else await finish_even_if_cancelled(_stop_feeding(feeding, feed_path))
            for fifo in fifos:
                fifo.remove()
            feed_path.unlink(missing_ok=True)
            if container_id is not None:
                await finish_even_if_cancelled(self._remove(container_id))
        if code not in allowed:
            raise _failure(what, code, stderr)
        return _Run(code, stderr, stdout, fed)

    async def _stop(self, container_id: str) -> None:
        """Stop a restic that has not ended (its job cancelled): interrupted, restic removes its
        lock of the repository, which would otherwise keep `prune` out for half an hour."""
        with contextlib.suppress(JobError):
            await self.engine.stop_container(container_id, timeout_seconds=_STOP_SECONDS)
        await self._remove(container_id)

    async def _remove(self, container_id: str) -> None:
        try:
            await self.engine.remove_container(container_id, force=True)
        except ResourceMissing:
            pass  # removed already (by `_stop`)
        except JobError:
            self.engine.remove_runner_later(container_id)


async def feed_tar_stream(path: Path, chunks: AsyncIterator[bytes]) -> None:
    """Write `chunks` (a tar stream: `docker save`) into the FIFO at `path` once the runner opens
    it, then close it (restic's end of input). ValueError when the stream does not end as a tar
    does (two zero blocks): the engine reports an export that failed midway by appending an error
    message to what it sent, with a normal end."""
    opening = in_own_thread(os.open, path, os.O_WRONLY | os.O_CLOEXEC)  # waits for the runner
    try:
        fd = await asyncio.shield(opening)
    except asyncio.CancelledError:  # the open ends when `_stop_feeding` opens the FIFO to read
        opening.add_done_callback(_close_opened)
        raise
    tail = b""
    writing: asyncio.Future[None] | None = None
    try:
        async for chunk in chunks:
            writing = in_own_thread(_write_all, fd, chunk)
            await asyncio.shield(writing)
            tail = (tail + chunk)[-_TAR_END:]
    finally:
        if writing is not None and not writing.done():
            # Cancelled mid-write: the fd stays open until that write ends (the runner gone, it
            # fails at once), or it could be closed, reused, and written to by it.
            await asyncio.wait([writing])
        os.close(fd)
    if len(tail) < _TAR_END or tail.count(0) != _TAR_END:
        raise ValueError(f"the stream does not end as a tar archive does (it ends with {tail[-80:]!r})")


def _close_opened(opened: asyncio.Future[int]) -> None:
    if opened.exception() is None:
        os.close(opened.result())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def _stop_feeding(feeding: asyncio.Future[None], path: Path) -> BaseException | None:
    """After the runner ended: end the feed (its open released by opening the FIFO for reading a
    moment, its writes failing once no reader is left) and say why it failed, if it did."""
    if not feeding.done():
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))
        feeding.cancel()
    [outcome] = await asyncio.gather(feeding, return_exceptions=True)
    return outcome if isinstance(outcome, BaseException) else None


def _read_blocks(fifo: Fifo, into: asyncio.Queue[bytes | None], loop: asyncio.AbstractEventLoop) -> list[bytes]:
    """Restic's raw output into `into` as it arrives (waiting while the queue is full), None at the end."""
    try:
        while block := os.read(fifo.read_fd, READ_BYTES):
            asyncio.run_coroutine_threadsafe(into.put(block), loop).result()
    finally:
        os.close(fifo.read_fd)
        asyncio.run_coroutine_threadsafe(into.put(None), loop).result()
    return []


def image_file(image: str) -> str:
    """The file name an image's `docker save` has in its snapshot: `image-<reference>.tar`, every
    character but letters, digits, `_.-` as `_`."""
    return "image-" + re.sub(r"[^A-Za-z0-9_.-]", "_", image)[:200] + ".tar"


def _snapshot(snapshot_id: str, summary: Mapping[str, Any]) -> Snapshot:
    return Snapshot(
        snapshot_id=snapshot_id,
        files_new=int(summary.get("files_new", 0)),
        files_changed=int(summary.get("files_changed", 0)),
        files_unmodified=int(summary.get("files_unmodified", 0)),
        bytes_added=int(summary.get("data_added", 0)),
        total_files=int(summary.get("total_files_processed", 0)),
        total_bytes=int(summary.get("total_bytes_processed", 0)),
    )


def _read_lines(fifo: Fifo, on_line: Callable[[bytes], None] | None) -> list[bytes]:
    """Every line restic wrote to its standard output, each handed to `on_line` as it arrives."""
    lines: list[bytes] = []
    rest = b""
    try:
        while block := os.read(fifo.read_fd, READ_BYTES):
            *complete, rest = (rest + block).split(b"\n")
            for line in complete:
                if line:
                    lines.append(line)
                    if on_line is not None:
                        on_line(line)
    finally:
        os.close(fifo.read_fd)
    if rest:
        lines.append(rest)
    return lines


def _json(line: bytes) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        value = json.loads(line)
        if isinstance(value, dict):
            return value
    return {}


def _status(line: bytes) -> BackupProgress | None:
    message = _json(line)
    if message.get("message_type") != "status" or "action" in message:
        return None
    return BackupProgress(
        bytes_done=int(message.get("bytes_done", 0)),
        total_bytes=message.get("total_bytes"),
        files_done=int(message.get("files_done", 0)),
        total_files=message.get("total_files"),
    )


_TRANSIENT = ("already locked", "connection refused", "no such host", "i/o timeout", "connection reset")


def _failure(what: str, code: int, stderr: str) -> JobError:
    """A failed restic run as the job error a person can act on."""
    reason = _reason(stderr)
    if "Is there a repository at the following location?" in stderr and not any(w in stderr for w in _TRANSIENT):
        return NoRepository(f"{what} failed: there is no repository (restic: {reason})")
    if "config file already exists" in stderr:
        return _RepositoryExists(f"{what} failed: {reason}")
    if "wrong password or no key found" in stderr:
        return ResticFailed(f"{what} failed: the repository's password is wrong (restic: {reason})")
    if any(word in stderr for word in _TRANSIENT):
        return TransientError(f"{what} failed: {reason}")
    return ResticFailed(f"{what} failed (restic exited with {code}): {reason}")


def _reason(stderr: str) -> str:
    """restic's own words: what it found wrong and its `Fatal:` line, else the last lines that
    are not JSON."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    found = [line for line in lines if line.startswith(("Pack ID does not match", "error for tree", "pack "))]
    fatal = [line for line in lines if line.startswith(("Fatal:", "unable to", "Resolving password"))]
    said = [*found[:3], *fatal] or [line for line in lines if not line.startswith("{")][-3:]
    return "; ".join(said)[-500:] or "no reason given"


def _unreadable(stderr: str) -> str:
    items = [str(_json(line.encode()).get("item", "")) for line in stderr.splitlines() if line.startswith("{")]
    named = sorted({item.removeprefix(str(VOLUMES)) for item in items if item})
    return ", ".join(named[:10]) + (f" and {len(named) - 10} more" if len(named) > 10 else "") or _reason(stderr)


def _volume_path(volume: str, path: str) -> str:
    """Where `path` (from the volume's root, no `..`) is in a snapshot of `volume`."""
    parts = [part for part in PurePosixPath("/" + path).parts[1:] if part not in ("", ".")]
    if ".." in parts:
        raise PermanentError(f"path {path!r} leaves the volume")
    return str(VOLUMES.joinpath(volume, *parts))


def _pattern(path: str) -> str:
    """`path` as a restic include pattern that matches only itself (and what is below it)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", path)


def _check_volume_name(volume: str) -> None:
    if not _NAME.match(volume):
        raise PermanentError(f"volume name {volume!r} is not a plain Docker volume name")


def _check_snapshot_id(snapshot_id: str) -> None:
    if not re.fullmatch(r"[0-9a-f]{8,64}", snapshot_id):
        raise PermanentError(f"{snapshot_id!r} is not a restic snapshot id")
