"""Restoring archives: verified first, into a fresh volume first, swapped in only when allowed.

A restore never writes before the archive's sha256 matches its manifest and every entry
passed the hostile-archive checks. A volume restore extracts into a fresh volume; onto an
existing volume it then (only with `replace_existing`, and only with `allow_stop` when
containers use it) removes those containers, replaces the volume's content by extracting
again into a volume of the same name, driver, options and labels, recreates the containers
with their original config and starts those that were running. Until the original is
replaced, the fresh copy holds the restored data, so a failure midway loses nothing.

What decides where and how to write is the catalog's, carried in the request
(`RestoreRequested.catalogued`): a manifest that disagrees with it (one fetched back from a
tampered bucket) is refused before anything is written. Each restore has limits of its own,
the archive's recorded entry count and tar size plus a margin, checked when the archive is
scanned and again while it is written; setuid and setgid files are refused unless the plan
allows them (`restore_special_bits`); device files never restore.

A volume the restore creates writes only where the person pointed: a new volume, and always
the swap's temporary copy, get the plain `local` driver without options, since the
archived volume's own options may name a host directory or a share (`type=none,o=bind,
device=/srv/app`) and a "new" volume with them would be the original. Only a volume restore
whose request carries `target.storage` (the original's storage from the catalog, chosen in
the preview) creates the new volume with it. A replaced volume keeps its own driver and options.

Backing up first: a volume restore whose request carries `backup_first` (the person left "back
up the current data first" on, and the restore replaces an existing volume) runs that ad-hoc
backup of the volume as the restore job's first step, under the backup's own job id: its
archive is announced and catalogued like any backup's, so the replaced data can be restored
again. Only after it succeeded does the restore start; when it fails, its own job is reported
failed and the restore stops with the reason, having written nothing. A volume that does not
exist (any more) has nothing to lose and is not backed up.

A user may cancel a restore until the swap begins (the fresh volume is removed again);
from then on the restore runs to its end and reports that it completed.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dockback_contracts import events as ev
from dockback_contracts.base import Compression, ResourceKind
from dockback_contracts.manifest import ArchiveManifest
from dockback_contracts.storage import VolumeStorage
from dockback_executor.archive import open_decompressed, read_decompressed
from dockback_executor.backup import BackupService
from dockback_executor.docker_api import (
    RUNNER_MOUNT,
    DockerEngine,
    finish_even_if_cancelled,
    image_id_named,
    split_image_reference,
)
from dockback_executor.errors import ResourceMissing, RestoreRefused
from dockback_executor.locks import ResourceLocks
from dockback_executor.store import MANIFEST_SUFFIX, ArchiveStore
from dockback_executor.tar_inspect import ArchiveLimits, HostileArchive, TarStreamCounter
from dockback_executor.verify import ArchiveVerifier
from dockback_runtime.jobs.announcer import Announcer, ProgressReporter
from dockback_runtime.jobs.errors import PermanentError
from dockback_runtime.jobs.running import (
    current_phase,
    enter_phase,
    point_of_no_return,
    step_of_its_own,
    user_cancellation,
)

log = logging.getLogger(__name__)

RESTORED_FROM_LABEL = "dockback.restored-from"


@dataclass(frozen=True)
class RestoreConfig:
    host_id: str


class RestoreService:
    """Runs `RestoreRequested` jobs on this host: every archive checked by `verifier` first."""

    def __init__(
        self,
        engine: DockerEngine,
        store: ArchiveStore,
        locks: ResourceLocks,
        announcer: Announcer,
        config: RestoreConfig,
        verifier: ArchiveVerifier,
        backups: BackupService | None = None,
    ) -> None:
        self.engine = engine
        self.backups = backups  # takes a restore's `backup_first`
        self.store = store
        self.locks = locks
        self.announcer = announcer
        self.config = config
        self.verifier = verifier

    # -- restore -------------------------------------------------------------------------------

    async def run(self, request: ev.RestoreRequested, attempt: int) -> ev.RestoreCompleted:
        manifest, path = await self.verifier.located(request.archive)
        target = request.target
        await self.announcer.publish(
            ev.JobStarted(
                job_id=request.job_id,
                host_id=self.config.host_id,
                kind="restore",
                resource=ev.ResourceRef(kind=target.kind, name=target.name),
                attempt=attempt,
            )
        )
        manifest_bytes = await asyncio.to_thread(self.store.manifest_path_of(path).read_bytes)
        manifest = ArchiveManifest.model_validate_json(manifest_bytes)  # the very bytes checked next
        _require_catalogued(request, manifest, manifest_bytes)
        if target.storage is not None and (target.kind != "volume" or manifest.kind != "volume"):
            raise RestoreRefused("a storage for the new volume can only be chosen for a volume restore")
        if target.storage is not None and not target.storage.recreatable:
            raise RestoreRefused(
                "the original volume's options hold a credential DockBack does not carry; create the volume "
                "yourself and restore into it, replacing it (choose Original, or its name). Nothing was changed."
            )
        if request.backup_first is not None:
            await self._back_up_first(request.backup_first, target.name, attempt)
        async with self.locks.hold([f"{target.kind}:{target.name}"]):
            enter_phase("verify")
            await self._check(request, manifest, path, request.archive.sha256)
            enter_phase("restore")
            if manifest.kind == "image":
                completed = await self._restore_image(request, manifest, path)
            elif manifest.kind == "config":
                completed = await self._restore_container(request, manifest, path)
            elif manifest.kind == "volume":
                name, replaced, restarted = await self._restore_volume(
                    request, manifest, path, target.name, storage=target.storage
                )
                completed = self._completed(request, manifest, name, replaced, restarted)
            else:
                raise PermanentError(f"restoring {manifest.kind} archives is not supported")
            point_of_no_return()  # restored: a cancellation now would undo nothing
        await self.announcer.publish(completed)
        return completed

    async def _back_up_first(self, backup: ev.BackupRequested, volume: str, attempt: int) -> None:
        """Back up volume `volume`'s current data before the restore replaces it (see the module's
        docstring); raises PermanentError, with nothing written, when that backup fails."""
        if await self._volume_or_none(volume) is None:
            return
        if self.backups is None:
            raise PermanentError(
                f"this executor cannot back up volume {volume!r} before replacing it; nothing was overwritten"
            )
        try:
            with step_of_its_own(backup.job_id):  # listed in the heartbeat; cancelling it cancels the restore
                await self.backups.run(backup, attempt)
        except asyncio.CancelledError:
            cancellation = user_cancellation()
            if cancellation is not None:
                # The restore (or that backup) is cancelled in the restore's first step: the backup ends
                # cancelled (its partial archive was removed and not announced), or its job would look
                # alive until the reconciler gave up on it. A shutdown instead hands the restore back,
                # and the next attempt takes the backup again.
                why = "" if cancellation.job_id == backup.job_id else ", with the restore it was taken for"
                await finish_even_if_cancelled(
                    self.announcer.publish(
                        ev.JobCancelled(
                            job_id=backup.job_id,
                            host_id=self.config.host_id,
                            kind="backup",
                            phase=current_phase() or "archive",
                            reason=f"cancelled by {cancellation.requested_by}{why}",
                        )
                    )
                )
            raise
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            await self.announcer.publish(
                ev.JobFailed(
                    job_id=backup.job_id,
                    host_id=self.config.host_id,
                    kind="backup",
                    phase="archive",
                    reason=reason,
                    retryable=False,
                    resource=backup.resource,
                )
            )
            raise PermanentError(
                f"the backup of volume {volume!r}'s current data, taken before replacing it, failed ({reason}); "
                "the restore stopped and nothing was overwritten. Restore into a new volume, or turn off "
                "backing up first"
            ) from exc

    def _limits(self, manifest: ArchiveManifest) -> ArchiveLimits:
        """This archive's limits: its recorded counts plus a margin, within the host's own limits.

        `manifest` agrees with the catalog (`_require_catalogued`), or is a sibling volume archive
        that this host's executor wrote beside a container's config and that never left the data dir."""
        recorded = ArchiveLimits.recorded(manifest.file_count, manifest.raw_bytes)
        host = self.verifier.limits
        return replace(
            host,
            max_entries=min(recorded.max_entries, host.max_entries),
            max_total_bytes=min(recorded.max_total_bytes, host.max_total_bytes),
        )

    def _bounded(self, request: ev.RestoreRequested, manifest: ArchiveManifest, path: Path) -> _BoundedStream:
        """The archive's tar stream within its limits, reporting progress of the archive's recorded tar size."""
        progress = self.announcer.progress_reporter(request.job_id, "restore", manifest.raw_bytes or None)
        return _BoundedStream(read_decompressed(path, manifest.compression), self._limits(manifest), progress)

    async def _check(self, request: ev.RestoreRequested, manifest: ArchiveManifest, path: Path, sha256: str) -> None:
        await self.verifier.check(
            path, manifest, sha256, limits=self._limits(manifest), special_bits=request.restore_special_bits
        )

    async def _restore_volume(
        self,
        request: ev.RestoreRequested,
        manifest: ArchiveManifest,
        path: Path,
        name: str,
        storage: VolumeStorage | None = None,
    ) -> tuple[str, bool, list[str]]:
        """Restore one volume archive to volume `name`; returns (name, replaced existing, restarted).

        `storage`: the driver and options for `name` if it is created (None: plain local)."""
        target = request.target
        existing = await self._volume_or_none(name)
        if existing is None:
            await self._extract_into_new_volume(request, manifest, path, name, storage=storage)
            return name, False, []
        if not target.replace_existing:
            raise RestoreRefused(
                f"volume {name!r} already exists; restore to a new name, or choose Original to replace its content"
            )
        users = await self.engine.containers_using_volume(name)
        if users and not target.allow_stop:
            in_use = ", ".join(f"{_name(c)} ({c.get('State')})" for c in users)
            raise RestoreRefused(
                f"volume {name!r} is used by {in_use}; allow stopping them to replace it. Nothing was changed."
            )
        fresh = f"{name}-restore-{str(request.job_id)[:8]}"
        # Always plain local: with the original's options the "fresh" copy would be the original's storage.
        await self._extract_into_new_volume(request, manifest, path, fresh, storage=None)
        try:
            inspected = [await self.engine.inspect_container(c["Id"]) for c in users]
            # The swap: from here the job runs to its end, even when a user cancels it.
            point_of_no_return()
        except BaseException:  # cancelled (or failed) before the swap: the original is untouched
            await finish_even_if_cancelled(self._remove_quietly(fresh))
            raise
        was_running = [c["Name"].lstrip("/") for c in inspected if c["State"]["Running"]]
        for container in inspected:
            await self.engine.remove_container(container["Id"], force=True)
        try:
            await self.engine.remove_volume(name)
            await self._extract_into_new_volume(request, manifest, path, name, like=existing)
        except BaseException as exc:
            log.error("replacing volume %s failed; the restored data is in volume %s", name, fresh)
            for container in inspected:  # put the users back, on the fresh copy
                await self._recreate(container, {name: fresh}, start=container["State"]["Running"])
            raise PermanentError(
                f"could not replace volume {name!r} ({exc}); the restored data is in volume "
                f"{fresh!r} and its containers now use it"
            ) from exc
        for container in inspected:
            await self._recreate(container, {}, start=container["State"]["Running"])
        await self.engine.remove_volume(fresh)
        return name, True, was_running

    async def _extract_into_new_volume(
        self,
        request: ev.RestoreRequested,
        manifest: ArchiveManifest,
        path: Path,
        name: str,
        like: dict[str, Any] | None = None,
        storage: VolumeStorage | None = None,
    ) -> None:
        """Create volume `name` and extract the archive into it: `like` an existing volume's inspect
        (the one it replaces: its driver, options and labels), else with `storage` (None: plain local)."""
        if like is not None:
            driver, options = like.get("Driver") or "local", like.get("Options") or {}
            labels = dict(like.get("Labels") or {})  # a replaced volume keeps its labels as they were
        else:
            chosen = storage or VolumeStorage()
            driver, options = chosen.driver, dict(chosen.options)
            labels = dict(manifest.source.get("Labels") or {})
            labels[RESTORED_FROM_LABEL] = str(manifest.artifact_id)  # a new volume says where it came from
        await self.engine.create_volume(name, driver, options, labels)
        try:
            async with self.engine.runner(
                name, read_only=False, labels={"dockback.job": str(request.job_id)}
            ) as runner:
                bounded = self._bounded(request, manifest, path)
                try:
                    await self.engine.write_archive(runner, RUNNER_MOUNT, bounded.chunks())
                finally:
                    bounded.raise_if_exceeded(path)
                bounded.finished()
                root = await asyncio.to_thread(_root_entry, path, manifest.compression)
                if root is not None:
                    # The engine extracts *into* the mount point and skips the archive's `./` entry, so
                    # the volume root's owner and mode are applied with an archive of that one directory.
                    await self.engine.write_archive(runner, "/", _single(_as_mount_point(root)))
        except BaseException:
            if like is None:
                await finish_even_if_cancelled(self._remove_quietly(name))
            raise
        log.info("restored %s into volume %s", path.name, name)

    async def _restore_container(
        self, request: ev.RestoreRequested, manifest: ArchiveManifest, path: Path
    ) -> ev.RestoreCompleted:
        """Recreate a container from its stored config, restoring the volumes backed up with it.

        Under its original name with `replace_existing` it replaces the original container and
        volumes; under another name it runs beside the original on volumes named
        `<new name>-<volume>`.
        """
        target = request.target
        config = json.loads(await asyncio.to_thread(path.read_bytes))
        original = config["Name"].lstrip("/")
        beside = target.name != original
        current = await self._container_or_none(target.name)
        if current is not None and not target.replace_existing:
            raise RestoreRefused(
                f"container {target.name!r} exists; restore under a new name, or choose Original to replace it"
            )
        if current is not None and current["State"]["Running"] and not target.allow_stop:
            raise RestoreRefused(f"container {target.name!r} is running; allow stopping it to replace it")
        renames: dict[str, str] = {}
        restarted: list[str] = []
        if current is not None:
            point_of_no_return()  # replacing the original container: run to the end
            await self.engine.remove_container(current["Id"], force=True)
        for sibling, sibling_path in self._siblings(manifest, path):
            volume = sibling.role
            name = f"{target.name}-{volume}" if beside else volume
            await self._check(request, sibling, sibling_path, sibling.sha256)
            restored, _, users = await self._restore_volume(request, sibling, sibling_path, name)
            renames[volume] = restored
            restarted.extend(users)
        await self._recreate(config, renames, start=bool(config["State"]["Running"]), name=target.name)
        if config["State"]["Running"]:
            restarted.append(target.name)
        return self._completed(request, manifest, target.name, current is not None, restarted)

    async def _restore_image(
        self, request: ev.RestoreRequested, manifest: ArchiveManifest, path: Path
    ) -> ev.RestoreCompleted:
        """`docker load` the archive, then give the loaded image the name the user chose.

        `docker load` restores an image under the tags it was saved with, so a restore under
        another name tags the loaded image with it. The job reports success only once the
        engine shows that name on the loaded image.
        """
        name = request.target.name
        reference: tuple[str, str] | None = None
        if not image_id_named(name):
            try:
                reference = split_image_reference(name)
            except ValueError as exc:
                raise RestoreRefused(f"cannot restore an image as {name!r}: {exc}. Nothing was loaded.") from None
        before = await self._image_or_none(name)
        bounded = self._bounded(request, manifest, path)
        try:
            loaded = await self.engine.load_image(bounded.chunks())
        finally:
            bounded.raise_if_exceeded(path)
        bounded.finished()
        log.info("docker load of %s: %s", path.name, ", ".join(loaded) or "nothing")
        image_id = await self._loaded_image_id(loaded, manifest, path)
        names_loaded_id = len(name.removeprefix("sha256:")) >= 12 and image_id.removeprefix("sha256:").startswith(
            name.removeprefix("sha256:")
        )  # a restore under the image's own (short) id, as a backup of an untagged image names it
        if reference is not None and name not in loaded and not names_loaded_id:
            await self.engine.tag_image(image_id, *reference)
        restored = await self._image_or_none(name)
        if restored is None or restored["Id"] != image_id:
            now = "does not exist" if restored is None else f"is image {restored['Id']}"
            raise PermanentError(
                f"the archive loaded image {image_id}, but {name!r} {now} on this host afterwards; "
                "the image was not restored under that name"
            )
        replaced = before is not None and before["Id"] != image_id
        return self._completed(request, manifest, name, replaced, [])

    async def _loaded_image_id(self, loaded: list[str], manifest: ArchiveManifest, path: Path) -> str:
        """The id of the one image `docker load` reported loading from `path`."""
        ids = set()
        for said in loaded:
            ids.add(said if said.startswith("sha256:") else (await self.engine.inspect_image(said))["Id"])
        if not ids:
            raise PermanentError(f"docker load of archive {path.name} loaded no image; nothing was restored")
        if len(ids) > 1:
            saved = manifest.source.get("Id")
            if saved not in ids:
                raise PermanentError(
                    f"archive {path.name} loaded {len(ids)} images ({', '.join(sorted(ids))}) and its manifest "
                    "names none of them; cannot tell which to restore"
                )
            return str(saved)
        return ids.pop()

    def _siblings(self, config_manifest: ArchiveManifest, config_path: Path) -> list[tuple[ArchiveManifest, Path]]:
        """The volume archives made by the same job as a container's config."""
        found = []
        for manifest_path in config_path.parent.glob(f"*-{config_manifest.job_id}-*{MANIFEST_SUFFIX}"):
            manifest = ArchiveManifest.model_validate_json(manifest_path.read_bytes())
            if manifest.kind == "volume":
                found.append((manifest, config_path.parent / manifest.archive_file))
        return found

    async def _recreate(
        self, inspected: dict[str, Any], volume_renames: dict[str, str], *, start: bool, name: str | None = None
    ) -> str:
        """Create a container from `docker inspect` output, its named volumes renamed as given."""
        config = dict(inspected["Config"])
        host_config = dict(inspected["HostConfig"])
        host_config["Mounts"] = [
            _mount_spec(m, volume_renames) for m in inspected.get("Mounts") or [] if m.get("Type") in ("volume", "bind")
        ]
        host_config.pop("Binds", None)
        networks = (inspected.get("NetworkSettings") or {}).get("Networks") or {}
        config["HostConfig"] = host_config
        config["NetworkingConfig"] = {
            "EndpointsConfig": {
                net: {"Aliases": ep.get("Aliases"), "IPAMConfig": ep.get("IPAMConfig")} for net, ep in networks.items()
            }
        }
        config.pop("Volumes", None)
        container_id = await self.engine.create_container(config, name=name or inspected["Name"].lstrip("/"))
        if start:
            await self.engine.start_container(container_id)
        return container_id

    def _completed(
        self, request: ev.RestoreRequested, manifest: ArchiveManifest, name: str, replaced: bool, restarted: list[str]
    ) -> ev.RestoreCompleted:
        kind: ResourceKind = {"config": "container", "image": "image"}.get(manifest.kind, "volume")  # type: ignore[assignment]
        return ev.RestoreCompleted(
            job_id=request.job_id,
            host_id=self.config.host_id,
            artifact_id=manifest.artifact_id,
            target=ev.ResourceRef(kind=kind, name=name),
            replaced_existing=replaced,
            restarted_containers=tuple(restarted),
        )

    async def _volume_or_none(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.engine.volume(name)
        except ResourceMissing:
            return None

    async def _image_or_none(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.engine.inspect_image(name)
        except ResourceMissing:
            return None

    async def _container_or_none(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.engine.inspect_container(name)
        except ResourceMissing:
            return None

    async def _remove_quietly(self, volume: str) -> None:
        try:
            await self.engine.remove_volume(volume)
        except Exception:
            log.warning("could not remove the partly restored volume %s", volume, exc_info=True)


def _require_catalogued(request: ev.RestoreRequested, manifest: ArchiveManifest, data: bytes) -> None:
    """Refuse a restore whose manifest is not the catalog's record of the archive (it may have come
    back from a bucket anyone with write access to it could change), or whose request carries no record."""
    if request.catalogued is None:
        raise RestoreRefused(
            "the restore request carries no catalog record of the archive (it was issued by an older "
            "version); preview and confirm the restore again. Nothing was restored."
        )
    disagreement = manifest.disagreement_with(request.catalogued, data)
    if disagreement is not None:
        raise RestoreRefused(f"{disagreement}; the manifest was refused and nothing was restored")


class _BoundedStream:
    """An archive's tar stream on its way to the engine, cut off past the restore's limits.

    The archive was scanned against the same limits before; this guards the write itself, so a
    file that changed after the scan cannot write more than the archive recorded. A stream cut
    off leaves the engine a truncated tar; `raise_if_exceeded` then fails the job whatever the
    engine said, and the volume being written is removed as after any failed extraction."""

    def __init__(self, chunks: AsyncIterator[bytes], limits: ArchiveLimits, progress: ProgressReporter) -> None:
        self._chunks = chunks
        self._limits = limits
        self._progress = progress
        self._counter = TarStreamCounter(max_extended_header_bytes=limits.max_extended_header_bytes)
        self.exceeded: str | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self._counter.feed(chunk)
            if self._counter.file_count > self._limits.max_entries:
                self.exceeded = f"more than {self._limits.max_entries} entries (max_entries)"
            elif self._counter.raw_bytes > self._limits.max_total_bytes:
                self.exceeded = f"more than {self._limits.max_total_bytes} bytes (max_total_bytes)"
            if self.exceeded is not None:
                raise HostileArchive(f"the archive grew past its limits while it was written: {self.exceeded}")
            self._progress(self._counter.raw_bytes)
            yield chunk

    def finished(self) -> None:
        """All of it reached the engine: the last figure is the exact one."""
        self._progress.finish(self._counter.raw_bytes)

    def raise_if_exceeded(self, path: Path) -> None:
        if self.exceeded is not None:
            raise PermanentError(
                f"archive {path.name} refused: it holds {self.exceeded} while it was written; "
                "the restore was stopped and its target removed"
            )


def _root_entry(path: Path, compression: Compression) -> tarfile.TarInfo | None:
    """The archive's entry for the volume root (`./`), if it has one."""
    with open_decompressed(path, compression) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        first = tar.next()
    if first is not None and first.isdir() and first.name.strip("/") in ("", "."):
        return first
    return None


def _as_mount_point(root: tarfile.TarInfo) -> bytes:
    entry = tarfile.TarInfo(RUNNER_MOUNT.strip("/"))
    entry.type = tarfile.DIRTYPE
    entry.mode, entry.uid, entry.gid, entry.mtime = root.mode, root.uid, root.gid, root.mtime
    entry.uname, entry.gname = root.uname, root.gname
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(entry)
    return buffer.getvalue()


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _name(container: dict[str, Any]) -> str:
    names = container.get("Names") or [container.get("Id", "?")[:12]]
    return str(names[0]).lstrip("/")


def _mount_spec(mount: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    if mount["Type"] == "volume":
        return {
            "Type": "volume",
            "Source": renames.get(mount["Name"], mount["Name"]),
            "Target": mount["Destination"],
            "ReadOnly": not mount.get("RW", True),
        }
    return {
        "Type": "bind",
        "Source": mount["Source"],
        "Target": mount["Destination"],
        "ReadOnly": not mount.get("RW", True),
    }
