"""Backing up a volume, a container (config + volumes [+ binds] [+ image]) or an image; or
every resource a plan's target selectors match on this host, one after the other.

Order of a resource's backup: lock the resources, run the pre-commands, stop what must be
stopped (recorded first), stream each archive to a temporary file, fsync, rename, write
its manifest, restart what was stopped (always), run the post-commands, and only then
announce the archives. A redelivered job whose archives already exist announces them
again instead of doing the work twice.

With the format `repository`, a volume or image is saved as a snapshot into the plan's restic
repository on this host instead (`restic.py`), under the same locks, hooks and stops; a record of
it in the data dir's `.snapshots` lets a redelivered job announce it again instead of saving it
twice. A container's config and bind mounts stay archives.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dockback_contracts import events as ev
from dockback_contracts.base import utc_now
from dockback_contracts.manifest import ArchiveManifest, ArtifactKind
from dockback_contracts.snapshots import plan_repository
from dockback_contracts.storage import VolumeStorage
from dockback_executor.archive import SUFFIXES, ArchiveWriter, WrittenArchive, fsync_dir, write_stream
from dockback_executor.consistency import ContainerStopper, HookPlaces, check_hook_places, run_hooks
from dockback_executor.docker_api import RUNNER_MOUNT, SYMLINK_MODE, DockerEngine, finish_even_if_cancelled
from dockback_executor.errors import NotAllowed, NothingSelected
from dockback_executor.locks import ResourceLocks
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import BackupProgress, ResticRunner
from dockback_executor.runner_strategy import RunnerArchiveFailed, RunnerStrategy
from dockback_executor.store import ArchiveStore
from dockback_executor.targets import nothing_matched, resolve
from dockback_runtime.jobs.announcer import Announcer, ProgressReporter
from dockback_runtime.jobs.errors import JobError, PermanentError, os_error_is_permanent
from dockback_runtime.jobs.running import cancelled_by_user, enter_phase
from dockback_runtime.tasks import stop_loops

log = logging.getLogger(__name__)

_SIZE_TIMEOUT_SECONDS = 10.0  # how long a volume's size may take to learn before archiving goes on without it


@dataclass(frozen=True)
class Part:
    """One archive of a job: what it holds and where it comes from."""

    role: str
    kind: ArtifactKind
    source: str  # volume name, host path, container id or image reference
    source_info: dict[str, Any]
    bind: BindSource | None = None  # a bind mount's allowed root and its path below it


@dataclass(frozen=True)
class BindSource:
    """A bind mount's host path as its allowed root and the path below it (lexically: the
    executor, in its own container, cannot see the host's files; the engine checks the rest)."""

    root: str
    below: str  # "" for the root itself


@dataclass(frozen=True)
class BackupConfig:
    host_id: str
    engine_version: str
    allowed_bind_roots: tuple[Path, ...] = ()
    runner: RunnerStrategy | None = None
    own_container_id: str | None = None
    restic: ResticRunner | None = None  # None where runners cannot work: no repository backups
    repositories: RepositoryKeys | None = None


SNAPSHOT_RECORDS = ".snapshots"
"""Under the data dir: `<job id>/<artifact id>.json`, the SnapshotCreated of each snapshot a job saved."""
Saved = ArchiveManifest | ev.SnapshotCreated
"""What backing up one part leaves: an archive (its manifest) or a snapshot (its announcement)."""


class BackupService:
    """Runs `BackupRequested` jobs on this host."""

    def __init__(
        self,
        engine: DockerEngine,
        store: ArchiveStore,
        locks: ResourceLocks,
        stopper: ContainerStopper,
        announcer: Announcer,
        config: BackupConfig,
    ) -> None:
        self.engine = engine
        self.store = store
        self.locks = locks
        self.stopper = stopper
        self.announcer = announcer
        self.config = config

    async def run(self, request: ev.BackupRequested, attempt: int) -> list[ArchiveManifest]:
        """Do the job (or find it done) and announce its archives; raises JobError on failure.

        A plan's job backs up every resource its targets select, one after the other. One
        resource failing for good does not stop the others: the job fails afterwards, naming
        it (and any named resource that is missing), once the complete archives are announced.
        A transient error (the engine is away) ends the attempt at once; the next attempt finds
        the archives already made and does not make them again.
        """
        await self.announcer.publish(
            ev.JobStarted(
                job_id=request.job_id,
                host_id=self.config.host_id,
                kind="backup",
                resource=request.resource,
                attempt=attempt,
            )
        )
        enter_phase("prepare")
        self._check_format(request)
        if request.resource is not None:
            resources, missing = [request.resource], []
        else:
            resolution = await resolve(self.engine, request.targets)
            resources, missing = resolution.found, resolution.missing
            if not resources and not missing:
                raise NothingSelected(nothing_matched(request.targets, self._whose(request), self.config.host_id))

        places = await self._hook_places(request, resources)
        # Every hook's place is checked before anything is done: a refused post-command must not
        # leave the pre-commands run and the archives made.
        await check_hook_places(self.engine, [*request.options.pre_commands, *request.options.post_commands], places)
        announcements = _Announcements(self, request)
        failures: list[tuple[ev.ResourceRef, JobError]] = []
        try:
            for resource in resources:
                try:
                    await announcements.add(resource, await self._back_up(request, resource, places))
                except JobError as exc:
                    if exc.retryable or len(resources) == 1:
                        raise
                    log.warning(
                        "job %s: backing up %s %s failed: %s", request.job_id, resource.kind, resource.name, exc
                    )
                    failures.append((resource, exc))
        except asyncio.CancelledError:
            if cancelled_by_user():  # the job ends here: what is complete is announced, as at any end
                await finish_even_if_cancelled(announcements.finish())
            raise
        await announcements.finish()
        if failures or missing:
            raise PermanentError(self._what_failed(request, announcements.resources, failures, missing))
        return announcements.manifests

    async def _back_up(self, request: ev.BackupRequested, resource: ev.ResourceRef, places: HookPlaces) -> list[Saved]:
        """One resource's archives: made under its locks and consistency options, or found made."""
        enter_phase("prepare")
        parts = await self._parts(request, resource)
        volumes = [p.source for p in parts if p.kind == "volume"]
        keys = [f"volume:{v}" for v in volumes] + [f"{resource.kind}:{resource.name}"]
        async with self.locks.hold(keys):
            manifests = {p.role: await self._done_before(request, resource, p) for p in parts}
            todo = [p for p in parts if manifests[p.role] is None]
            if todo:
                options = request.options
                await run_hooks(self.engine, options.pre_commands, "pre", places)
                to_stop = await self.stopper.containers_to_stop(volumes) if request.options.stop_containers else []
                async with self.stopper.stopped(request.job_id, to_stop):
                    enter_phase("archive")
                    for part in todo:
                        if self._as_snapshot(request, part):
                            manifests[part.role] = await self._snapshot(request, resource, part)
                        else:
                            manifests[part.role] = await self._archive(request, resource, part)
                    enter_phase("cleanup")
                await run_hooks(self.engine, options.post_commands, "post", places)
            else:
                log.info(
                    "job %s already produced the archives of %s %s; announcing them again",
                    request.job_id,
                    resource.kind,
                    resource.name,
                )
        return [m for m in manifests.values() if m is not None]

    async def _hook_places(self, request: ev.BackupRequested, resources: list[ev.ResourceRef]) -> HookPlaces:
        """Where the job's hooks may run: the containers it backs up, and those using a volume it backs up."""
        backed_up: set[str] = set()
        if request.options.pre_commands or request.options.post_commands:
            for resource in resources:
                try:
                    parts = await self._parts(request, resource)
                except JobError:
                    continue  # the resource fails on its own when its turn comes
                for part in parts:
                    if part.kind == "config":
                        backed_up.add(part.source)
                    elif part.kind == "volume":
                        backed_up.update(c["Id"] for c in await self.engine.containers_using_volume(part.source))
        return HookPlaces(backed_up=backed_up, own_container_id=self.config.own_container_id)

    def _check_format(self, request: ev.BackupRequested) -> None:
        if request.options.format != "repository":
            return
        if request.plan_id is None:
            raise PermanentError("a backup into a repository belongs to a plan (its repository): run the plan")
        if self.config.restic is None or self.config.repositories is None:
            raise PermanentError(
                "repository backups run restic in runner containers, which cannot work on this host "
                "(the executor's log says why at its start); choose the format archive"
            )

    @staticmethod
    def _as_snapshot(request: ev.BackupRequested, part: Part) -> bool:
        return request.options.format == "repository" and part.kind in ("volume", "image")

    async def _done_before(self, request: ev.BackupRequested, resource: ev.ResourceRef, part: Part) -> Saved | None:
        """What an earlier attempt of this job saved of `part`, if anything."""
        if not self._as_snapshot(request, part):
            return self.store.find(resource, request.job_id, part.role)
        record = self._record_path(request.job_id, ev.artifact_id_for(request.job_id, resource, part.role))
        try:
            return ev.SnapshotCreated.model_validate_json(await asyncio.to_thread(record.read_bytes))
        except FileNotFoundError:
            return None

    def _record_path(self, job_id: object, artifact_id: object) -> Path:
        return self.store.root / SNAPSHOT_RECORDS / str(job_id) / f"{artifact_id}.json"

    async def _snapshot(self, request: ev.BackupRequested, resource: ev.ResourceRef, part: Part) -> ev.SnapshotCreated:
        """Save `part` (a volume or an image) as a snapshot into the plan's repository."""
        restic, repositories = self.config.restic, self.config.repositories
        assert restic is not None, "checked by _check_format"
        assert repositories is not None, "checked by _check_format"
        repository = await repositories.repository(plan_repository(str(request.plan_id)))
        tags = [
            "dockback",
            f"host={self.config.host_id}",
            f"plan={request.plan_id}",
            f"resource={resource.kind}:{resource.name}",
            f"role={part.role}",
            f"job={request.job_id}",
        ]
        reporter = self.announcer.progress_reporter(request.job_id, "archive")

        def progress(status: BackupProgress) -> None:
            if status.total_bytes and reporter.total is None:
                reporter.total = status.total_bytes
            reporter(status.bytes_done)

        if part.kind == "volume":
            saved = await restic.back_up_volume(
                repository, part.source, host=self.config.host_id, tags=tags, job_id=request.job_id, progress=progress
            )
        else:
            saved = await restic.back_up_image(
                repository, part.source, host=self.config.host_id, tags=tags, job_id=request.job_id
            )
        reporter.finish(saved.total_bytes)
        artifact_id = ev.artifact_id_for(request.job_id, resource, part.role)
        created = ev.SnapshotCreated(
            job_id=request.job_id,
            host_id=self.config.host_id,
            plan_id=request.plan_id,
            resource=resource,
            role=part.role,
            snapshot=ev.SnapshotRef(artifact_id=artifact_id, repository=repository.name, snapshot_id=saved.snapshot_id),
            files_new=saved.files_new,
            files_changed=saved.files_changed,
            files_unmodified=saved.files_unmodified,
            bytes_added=saved.bytes_added,
            total_files=saved.total_files,
            total_bytes=saved.total_bytes,
            storage=VolumeStorage.from_inspect(part.source_info) if part.kind == "volume" else None,
            labels=_labels_of(part),
            last_of_job=False,
        )
        await asyncio.to_thread(_write_record, self._record_path(request.job_id, artifact_id), created)
        log.info(
            "saved %s %s as snapshot %s in repository %s: %d new, %d changed, %d unchanged files, %d bytes added",
            part.kind,
            part.source,
            saved.snapshot_id[:8],
            repository.name,
            saved.files_new,
            saved.files_changed,
            saved.files_unmodified,
            saved.bytes_added,
        )
        return created

    def _whose(self, request: ev.BackupRequested) -> str:
        return f"plan {request.plan_id}'s" if request.plan_id is not None else f"job {request.job_id}'s"

    def _what_failed(
        self,
        request: ev.BackupRequested,
        done: list[ev.ResourceRef],
        failures: list[tuple[ev.ResourceRef, JobError]],
        missing: list[str],
    ) -> str:
        problems = [f"{r.kind} {r.name!r} failed: {exc}" for r, exc in failures]
        problems += [f"{m} on host {self.config.host_id}" for m in missing]
        backed_up = ", ".join(f"{r.kind} {r.name!r}" for r in done) or "nothing"
        return f"{self._whose(request)} backup is incomplete: " + "; ".join(problems) + f" (backed up: {backed_up})"

    # -- what to archive --------------------------------------------------------------------

    async def _parts(self, request: ev.BackupRequested, resource: ev.ResourceRef) -> list[Part]:
        if resource.kind == "volume":
            volume = await self.engine.volume(resource.name)
            return [Part(resource.name, "volume", resource.name, volume)]
        if resource.kind == "image":
            image = await self.engine.inspect_image(resource.name)
            return [Part("image", "image", resource.name, image)]
        container = await self.engine.inspect_container(resource.name)
        parts = [Part("config", "config", container["Id"], container)]
        for mount in container.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                volume = await self.engine.volume(mount["Name"])
                parts.append(Part(mount["Name"], "volume", mount["Name"], volume))
            elif mount.get("Type") == "bind" and request.options.include_bind_mounts:
                bind = self._permitted_bind(mount["Source"])
                source = os.path.join(bind.root, bind.below) if bind.below else bind.root
                parts.append(Part(f"bind{mount['Destination']}", "bind", source, mount, bind))
        if request.options.include_image:
            parts.append(
                Part("image", "image", container["Image"], await self.engine.inspect_image(container["Image"]))
            )
        return parts

    def _permitted_bind(self, host_path: str) -> BindSource:
        """The allowed root `host_path` lies under, by its words alone. Resolving it here would
        resolve it in the executor's own filesystem, not the host's: whether a component is a
        symbolic link is asked of the engine when the archive is made (see `_refuse_symlinks`)."""
        path = PurePosixPath(posixpath.normpath(host_path))
        if path.is_absolute():
            for root in self.config.allowed_bind_roots:
                top = PurePosixPath(posixpath.normpath(str(root)))
                if path.is_relative_to(top):
                    below = path.relative_to(top)
                    return BindSource(str(top), "" if str(below) == "." else str(below))
        raise NotAllowed(
            f"bind mount {host_path} is not under an allowed root "
            f"(DOCKBACK_ALLOWED_BIND_ROOTS: {[str(r) for r in self.config.allowed_bind_roots]})"
        )

    async def _refuse_symlinks(self, runner: str, part: Part, bind: BindSource) -> str:
        """The path to archive in `runner` (which mounts the allowed root), once the engine has
        shown that no component below the root is a symbolic link: one could point anywhere on
        the host (`/`), and the archive would hold that instead."""
        path = RUNNER_MOUNT
        for name in PurePosixPath(bind.below).parts if bind.below else ():
            path = f"{path}/{name}"
            stat = await self.engine.stat_path(runner, path)
            if int(stat.get("mode", 0)) & SYMLINK_MODE:
                shown = posixpath.join(bind.root, path.removeprefix(RUNNER_MOUNT + "/"))
                raise NotAllowed(
                    f"bind mount {part.source}: {shown} is a symbolic link on the host (to "
                    f"{stat.get('linkTarget') or '?'}); bind mounts are backed up only through real "
                    "directories under their allowed root"
                )
        return path

    # -- making one archive ------------------------------------------------------------------

    async def _archive(self, request: ev.BackupRequested, resource: ev.ResourceRef, part: Part) -> ArchiveManifest:
        started = utc_now()
        directory = self.store.directory_for(resource)
        stem = self.store.stem(started, request.job_id, part.role)
        options = request.options
        compression = "none" if part.kind == "config" else options.compression
        final = directory / (f"{stem}.json" if part.kind == "config" else f"{stem}{SUFFIXES[compression]}")
        progress = self.announcer.progress_reporter(request.job_id, "archive")
        # Learnt beside the archive, not before it: the engine's `system df` walks every volume.
        sizing = asyncio.create_task(self._learn_size(part, progress))
        strategy = "stream"

        try:
            if part.kind == "config":
                written = await asyncio.to_thread(_write_config, final, part.source_info)
            elif part.kind == "volume" and self.config.runner is not None:
                strategy = "runner"
                written = await self.config.runner.archive_volume(
                    part.source, final, compression, options.compression_level, request.job_id, progress
                )
            else:
                written = await self._stream(request, part, final, compression, options.compression_level, progress)
            if part.kind != "config":  # a container's settings file is no step worth a figure
                progress.finish(written.raw_bytes)
        except RunnerArchiveFailed as exc:
            raise self.store.cannot_write(exc.cause, final, exc.written_bytes, None) from exc
        except OSError as exc:
            if os_error_is_permanent(exc):  # a full disk, a name too long: every attempt would fail the same way
                raise self.store.cannot_write(exc, final, None, None) from exc
            raise
        finally:
            await stop_loops(sizing)

        manifest = ArchiveManifest(
            artifact_id=ev.artifact_id_for(request.job_id, resource, part.role),
            job_id=request.job_id,
            plan_id=request.plan_id,
            host_id=self.config.host_id,
            resource=resource,
            role=part.role,
            kind=part.kind,
            archive_file=final.name,
            compression=compression,
            compression_level=options.compression_level,
            strategy="file" if part.kind == "config" else strategy,  # type: ignore[arg-type]
            sha256=written.sha256,
            size_bytes=written.size_bytes,
            raw_bytes=written.raw_bytes,
            file_count=written.file_count,
            started_at=started,
            finished_at=utc_now(),
            engine_version=self.config.engine_version,
            labels=_labels_of(part),
            source=part.source_info,
        )
        try:
            await asyncio.to_thread(self.store.write_manifest, directory, stem, manifest)
        except BaseException as exc:
            # An archive without its manifest is not a backup: the next attempt makes it again.
            await finish_even_if_cancelled(asyncio.to_thread(final.unlink, missing_ok=True))
            if isinstance(exc, OSError) and os_error_is_permanent(exc):
                raise self.store.cannot_write(exc, self.store.manifest_path_of(final), None, None) from exc
            raise
        log.info(
            "archived %s %s: %d bytes (%d raw, %d entries) -> %s",
            part.kind,
            part.source,
            written.size_bytes,
            written.raw_bytes,
            written.file_count,
            self.store.relative(final),
        )
        return manifest

    async def _learn_size(self, part: Part, progress: ProgressReporter) -> None:
        """Give `progress` the part's expected size once known (a percentage can be shown from then on)."""
        expected = await self._expected_size(part)
        if expected is not None and progress.total is None:
            progress.total = expected

    async def _expected_size(self, part: Part) -> int | None:
        """About how many bytes the part's tar stream will hold, for a percentage: an image's size,
        a volume's size as the engine counted it (`docker system df`); None when not known (a bind
        mount, an engine busy with another `system df` or too slow to answer).

        The engine's count from the last host inventory (at most the inventory interval old) is
        good enough for a percentage; only a volume it does not hold yet is counted again, because
        the engine walks every file of every volume on the host for it, competing with the backup
        for the disk and the CPU (half a CPU-second while a 1 GiB volume is archived)."""
        if part.kind == "image":
            return int(part.source_info.get("Size") or 0) or None
        if part.kind != "volume":
            return None
        known = self.engine.known_volume_sizes.get(part.source)
        if known is not None:
            return known or None
        try:
            sizes = await asyncio.wait_for(self.engine.volume_sizes(), _SIZE_TIMEOUT_SECONDS)
        except (JobError, TimeoutError) as exc:  # an engine busy with another `system df`, or slow
            log.info("the size of volume %s is not known, progress goes without a total: %s", part.source, exc)
            return None
        return sizes.get(part.source) or None

    async def _stream(
        self, request: ev.BackupRequested, part: Part, final: Path, compression: str, level: int | None, progress: Any
    ) -> WrittenArchive:
        writer = ArchiveWriter(final, compression, level)  # type: ignore[arg-type]
        try:
            if part.kind == "image":
                async with self.engine.save_image(part.source) as chunks:
                    await write_stream(chunks, writer, progress)
            elif part.bind is not None:
                # The runner mounts the allowed root, never the bind's own path: the engine would
                # follow a symbolic link in that path on the host before anything could see it.
                labels = {"dockback.job": str(request.job_id)}
                async with self.engine.runner(
                    part.bind.root, read_only=True, mount_type="bind", labels=labels
                ) as runner:
                    path = await self._refuse_symlinks(runner, part, part.bind)
                    async with self.engine.read_archive(runner, f"{path}/.") as chunks:
                        await write_stream(chunks, writer, progress)
            else:
                async with (
                    self.engine.runner(
                        part.source, read_only=True, mount_type="volume", labels={"dockback.job": str(request.job_id)}
                    ) as runner,
                    self.engine.read_archive(runner, f"{RUNNER_MOUNT}/.") as chunks,
                ):
                    await write_stream(chunks, writer, progress)
            return await asyncio.to_thread(writer.commit)
        except BaseException as exc:
            await finish_even_if_cancelled(asyncio.to_thread(writer.abort))
            if isinstance(exc, OSError) and os_error_is_permanent(exc):
                raise self.store.cannot_write(exc, final, writer.abandoned_bytes, writer.raw_bytes) from exc
            raise

    def _created(self, request: ev.BackupRequested, saved: Saved, last: bool) -> ev.ArchiveCreated | ev.SnapshotCreated:
        if isinstance(saved, ev.SnapshotCreated):
            return saved.model_copy(update={"last_of_job": last})
        manifest = saved
        directory = self.store.directory_for(manifest.resource)
        manifest_path = self.store.manifest_path_of(directory / manifest.archive_file)
        return ev.ArchiveCreated(
            job_id=request.job_id,
            host_id=self.config.host_id,
            plan_id=request.plan_id,
            resource=manifest.resource,
            role=manifest.role,
            archive=ev.ArchiveRef(
                artifact_id=manifest.artifact_id,
                path=self.store.relative(directory / manifest.archive_file),
                sha256=manifest.sha256,
                size_bytes=manifest.size_bytes,
            ),
            manifest_path=self.store.relative(manifest_path),
            raw_bytes=manifest.raw_bytes,
            file_count=manifest.file_count,
            compression=manifest.compression,
            upload_targets=request.upload_targets,
            manifest_sha256=hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
            storage=VolumeStorage.from_inspect(manifest.source) if manifest.kind == "volume" else None,
            last_of_job=last,
        )


class _Announcements:
    """Announces a job's archives one resource behind, so the job's final archive, and only it,
    carries `last_of_job`: a resource's archives go out once the next resource's are complete,
    and the last resource's when the job ends. An archive announced is never announced again
    differently (its id is its `Nats-Msg-Id`), so when an attempt ends early, for a retry, the
    held-back archives stay unannounced and the next attempt announces them, still last."""

    def __init__(self, service: BackupService, request: ev.BackupRequested) -> None:
        self.service = service
        self.request = request
        self.resources: list[ev.ResourceRef] = []
        self.manifests: list[ArchiveManifest] = []
        self._held: list[Saved] = []

    async def add(self, resource: ev.ResourceRef, manifests: list[Saved]) -> None:
        """A resource's archives (and snapshots) are complete: hold them back, and announce those held before."""
        self.resources.append(resource)
        self.manifests.extend(m for m in manifests if isinstance(m, ArchiveManifest))
        if not manifests:
            return
        earlier, self._held = self._held, list(manifests)
        for manifest in earlier:
            await self.service.announcer.publish(self.service._created(self.request, manifest, last=False))

    async def finish(self) -> None:
        """The job's archive part is over: announce what is held back, its last as the job's last."""
        held, self._held = self._held, []
        for i, manifest in enumerate(held):
            await self.service.announcer.publish(self.service._created(self.request, manifest, last=i == len(held) - 1))


def _labels_of(part: Part) -> dict[str, str]:
    info = part.source_info
    labels = info.get("Labels") or (info.get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _write_record(path: Path, created: ev.SnapshotCreated) -> None:
    """Keep what a snapshot's announcement says (fsynced), for a redelivered job to announce it again."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as f:
        f.write(created.model_dump_json().encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    fsync_dir(path.parent)


def _write_config(final: Path, inspect: dict[str, Any]) -> WrittenArchive:
    writer = ArchiveWriter(final, "none", None, count_tar=False)
    try:
        writer.write(json.dumps(inspect, indent=2, sort_keys=True).encode())
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
