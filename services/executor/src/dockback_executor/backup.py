"""Backing up a volume, a container (config + volumes [+ binds] [+ image]) or an image.

Order of a backup: lock the resources, run the pre-commands, stop what must be stopped
(recorded first), stream each archive to a temporary file, fsync, rename, write its
manifest, restart what was stopped (always), run the post-commands, and only then announce
the archives. A redelivered job whose archives already exist announces them again instead
of doing the work twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockback_contracts import events as ev
from dockback_contracts.base import utc_now
from dockback_contracts.manifest import ArchiveManifest, ArtifactKind
from dockback_executor.announce import Announcer
from dockback_executor.archive import SUFFIXES, ArchiveWriter, WrittenArchive, write_stream
from dockback_executor.consistency import ContainerStopper, run_hooks
from dockback_executor.docker_api import RUNNER_MOUNT, DockerEngine, finish_even_if_cancelled
from dockback_executor.errors import NotAllowed
from dockback_executor.locks import ResourceLocks
from dockback_executor.runner_strategy import RunnerStrategy
from dockback_executor.store import ArchiveStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One archive of a job: what it holds and where it comes from."""

    role: str
    kind: ArtifactKind
    source: str  # volume name, host path, container id or image reference
    source_info: dict[str, Any]


@dataclass(frozen=True)
class BackupConfig:
    host_id: str
    engine_version: str
    allowed_bind_roots: tuple[Path, ...] = ()
    runner: RunnerStrategy | None = None


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
        """Do the job (or find it done) and announce its archives; raises JobError on failure."""
        await self.announcer.publish(
            ev.JobStarted(
                job_id=request.job_id,
                host_id=self.config.host_id,
                kind="backup",
                resource=request.resource,
                attempt=attempt,
            )
        )
        parts = await self._parts(request)
        volumes = [p.source for p in parts if p.kind == "volume"]
        keys = [f"volume:{v}" for v in volumes] + [f"{request.resource.kind}:{request.resource.name}"]
        async with self.locks.hold(keys):
            manifests = {p.role: self.store.find(request.resource, request.job_id, p.role) for p in parts}
            todo = [p for p in parts if manifests[p.role] is None]
            if todo:
                await run_hooks(self.engine, request.options.pre_commands, "pre")
                to_stop = await self.stopper.containers_to_stop(volumes) if request.options.stop_containers else []
                async with self.stopper.stopped(request.job_id, to_stop):
                    for part in todo:
                        manifests[part.role] = await self._archive(request, part)
                await run_hooks(self.engine, request.options.post_commands, "post")
            else:
                log.info("job %s already produced its archives; announcing them again", request.job_id)
        done = [m for m in manifests.values() if m is not None]
        for i, manifest in enumerate(done):
            await self.announcer.publish(self._created(request, manifest, last=i == len(done) - 1))
        return done

    # -- what to archive --------------------------------------------------------------------

    async def _parts(self, request: ev.BackupRequested) -> list[Part]:
        resource = request.resource
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
                parts.append(Part(f"bind{mount['Destination']}", "bind", self._permitted_bind(mount["Source"]), mount))
        if request.options.include_image:
            parts.append(
                Part("image", "image", container["Image"], await self.engine.inspect_image(container["Image"]))
            )
        return parts

    def _permitted_bind(self, host_path: str) -> str:
        path = Path(host_path).resolve()
        if not any(path.is_relative_to(root.resolve()) for root in self.config.allowed_bind_roots):
            raise NotAllowed(
                f"bind mount {host_path} is not under an allowed root "
                f"(DOCKBACK_ALLOWED_BIND_ROOTS: {[str(r) for r in self.config.allowed_bind_roots]})"
            )
        return str(path)

    # -- making one archive ------------------------------------------------------------------

    async def _archive(self, request: ev.BackupRequested, part: Part) -> ArchiveManifest:
        started = utc_now()
        directory = self.store.directory_for(request.resource)
        stem = self.store.stem(started, request.job_id, part.role)
        options = request.options
        compression = "none" if part.kind == "config" else options.compression
        final = directory / (f"{stem}.json" if part.kind == "config" else f"{stem}{SUFFIXES[compression]}")
        progress = self.announcer.progress_reporter(request.job_id, "archive")
        strategy = "stream"

        if part.kind == "config":
            written = await asyncio.to_thread(_write_config, final, part.source_info)
        elif part.kind == "volume" and self.config.runner is not None:
            strategy = "runner"
            written = await self.config.runner.archive_volume(
                part.source, final, compression, options.compression_level, request.job_id
            )
        else:
            written = await self._stream(request, part, final, compression, options.compression_level, progress)

        manifest = ArchiveManifest(
            artifact_id=ev.artifact_id_for(request.job_id, part.role),
            job_id=request.job_id,
            plan_id=request.plan_id,
            host_id=self.config.host_id,
            resource=request.resource,
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
        await asyncio.to_thread(self.store.write_manifest, directory, stem, manifest)
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

    async def _stream(
        self, request: ev.BackupRequested, part: Part, final: Path, compression: str, level: int | None, progress: Any
    ) -> WrittenArchive:
        writer = ArchiveWriter(final, compression, level)  # type: ignore[arg-type]
        try:
            if part.kind == "image":
                async with self.engine.save_image(part.source) as chunks:
                    await write_stream(chunks, writer, progress)
            else:
                mount_type = "bind" if part.kind == "bind" else "volume"
                async with (
                    self.engine.runner(
                        part.source, read_only=True, mount_type=mount_type, labels={"dockback.job": str(request.job_id)}
                    ) as runner,
                    self.engine.read_archive(runner, f"{RUNNER_MOUNT}/.") as chunks,
                ):
                    await write_stream(chunks, writer, progress)
            return await asyncio.to_thread(writer.commit)
        except BaseException:
            await finish_even_if_cancelled(asyncio.to_thread(writer.abort))
            raise

    def _created(self, request: ev.BackupRequested, manifest: ArchiveManifest, last: bool) -> ev.ArchiveCreated:
        directory = self.store.directory_for(request.resource)
        return ev.ArchiveCreated(
            job_id=request.job_id,
            host_id=self.config.host_id,
            plan_id=request.plan_id,
            resource=request.resource,
            role=manifest.role,
            archive=ev.ArchiveRef(
                artifact_id=manifest.artifact_id,
                path=self.store.relative(directory / manifest.archive_file),
                sha256=manifest.sha256,
                size_bytes=manifest.size_bytes,
            ),
            manifest_path=self.store.relative(self.store.manifest_path_of(directory / manifest.archive_file)),
            raw_bytes=manifest.raw_bytes,
            file_count=manifest.file_count,
            compression=manifest.compression,
            upload_targets=request.upload_targets,
            last_of_job=last,
        )


def _labels_of(part: Part) -> dict[str, str]:
    info = part.source_info
    labels = info.get("Labels") or (info.get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _write_config(final: Path, inspect: dict[str, Any]) -> WrittenArchive:
    writer = ArchiveWriter(final, "none", None, count_tar=False)
    try:
        writer.write(json.dumps(inspect, indent=2, sort_keys=True).encode())
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
