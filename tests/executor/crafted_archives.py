"""Archives made by hand and put into the store with an honest manifest, as if a backup had made
them: hostile entries, names the engine cannot write."""

from __future__ import annotations

import hashlib
import io
import tarfile
import uuid
from datetime import UTC, datetime

import zstandard

from dockback_contracts import events as ev
from dockback_contracts.manifest import ArchiveManifest, ArtifactKind
from executor.conftest import HOST_ID, Host
from harness.catalogue import catalogued

# The catalog's record of each archive placed here, by artifact id: what the gateway would send.
CATALOGUED: dict[uuid.UUID, ev.CataloguedArchive] = {}


def tar_entry(name: str, **fields: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    for key, value in fields.items():
        setattr(info, key, value)
    data = b"x" * info.size if info.type == tarfile.REGTYPE else b""
    return info, data


def place_archive(
    host: Host,
    entries: list[tuple[tarfile.TarInfo, bytes]],
    volume: str,
    *,
    recorded: tuple[int, int] | None = None,
) -> ev.ArchiveRef:
    """Put a crafted archive with an honest manifest into the store, as if a backup had made it;
    `recorded`: the (entries, raw bytes) its manifest and catalog record say instead of the truth."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        root = tarfile.TarInfo("./")
        root.type = tarfile.DIRTYPE
        tar.addfile(root)
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data else None)
    file_count, raw_bytes = recorded or (len(entries) + 1, None)
    resource = ev.ResourceRef(kind="volume", name=volume)
    return place_tar(host, raw.getvalue(), resource, "volume", file_count, raw_bytes=raw_bytes)


def place_tar(
    host: Host,
    tar: bytes,
    resource: ev.ResourceRef,
    kind: ArtifactKind,
    file_count: int,
    source: dict[str, object] | None = None,
    raw_bytes: int | None = None,
) -> ev.ArchiveRef:
    """Put `tar`, zstd-compressed, with an honest manifest into the store, as if a backup had made it."""
    compressed = zstandard.ZstdCompressor().compress(tar)
    directory = host.store.directory_for(resource)
    job_id = uuid.uuid4()
    role = "image" if kind == "image" else resource.name
    stem = host.store.stem(datetime.now(UTC), job_id, role)
    (directory / f"{stem}.tar.zst").write_bytes(compressed)
    sha = hashlib.sha256(compressed).hexdigest()
    now = datetime.now(UTC)
    manifest = ArchiveManifest(
        artifact_id=ev.artifact_id_for(job_id, resource, role),
        job_id=job_id,
        host_id=HOST_ID,
        resource=resource,
        role=role,
        kind=kind,
        archive_file=f"{stem}.tar.zst",
        compression="zstd",
        sha256=sha,
        size_bytes=len(compressed),
        raw_bytes=len(tar) if raw_bytes is None else raw_bytes,
        file_count=file_count,
        started_at=now,
        finished_at=now,
        engine_version="test",
        source=source or {},
    )
    host.store.write_manifest(directory, stem, manifest)
    CATALOGUED[manifest.artifact_id] = catalogued(manifest)
    return ev.ArchiveRef(
        artifact_id=manifest.artifact_id,
        path=host.store.relative(directory / f"{stem}.tar.zst"),
        sha256=sha,
        size_bytes=len(compressed),
    )


def restore_into_new_volume(
    archive: ev.ArchiveRef, volume: str, *, restore_special_bits: bool = False, **target: object
) -> ev.RestoreRequested:
    return ev.RestoreRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        archive=archive,
        target=ev.RestoreTarget(kind="volume", name=volume, **target),
        requested_by="test",
        catalogued=CATALOGUED.get(archive.artifact_id),
        restore_special_bits=restore_special_bits,
    )


def restore_into_image(archive: ev.ArchiveRef, reference: str) -> ev.RestoreRequested:
    """A restore of a placed image archive, loaded and tagged `reference`."""
    return ev.RestoreRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        archive=archive,
        target=ev.RestoreTarget(kind="image", name=reference),
        requested_by="test",
        catalogued=CATALOGUED[archive.artifact_id],
    )


def restore_of_a_file_name_too_long(host: Host, volume: str) -> ev.RestoreRequested:
    """A restore of an archive holding a 4,000-character file name: the engine cannot create it."""
    archive = place_archive(host, [tar_entry("./" + "n" * 4000, size=1)], volume)
    return restore_into_new_volume(archive, volume)
