"""The uploader on a real nats-server, with a data dir laid out as the executor lays it out."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import nats
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import sealed, streams, subjects
from dockback_contracts.manifest import ArchiveManifest
from dockback_contracts.snapshots import (
    LocalCopies,
    PlanSnapshot,
    S3Target,
    SettingsSnapshot,
    host_settings_key,
    target_secret,
)
from dockback_uploader.app import Uploader
from dockback_uploader.settings import Settings
from harness.s3_server import S3Bucket

HOST_ID = "host-a"
PLAN_ID = UUID("00000000-0000-4000-8000-00000000000a")
PGDATA = ev.ResourceRef(kind="volume", name="pgdata")
_TYPES = {t.model_fields["type"].default: t for t in ev.ALL_EVENTS}


@dataclass
class Heard:
    """Every fact published on the bus, in order, as the models they are."""

    events: list[ev.Event] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, event_type: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, event_type)]

    async def wait_for(self, event_type: type[ev.Event], count: int = 1, within: float = 20.0) -> list[Any]:
        async with asyncio.timeout(within):
            while len(self.of(event_type)) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.of(event_type)

    async def job_end(self, job_id: UUID, within: float = 20.0) -> ev.ArtifactsPruned | ev.JobFailed:
        """The first ArtifactsPruned or JobFailed of the job."""
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if isinstance(event, ev.ArtifactsPruned | ev.JobFailed) and event.job_id == job_id:
                        return event
                self.arrived.clear()
                await self.arrived.wait()


@pytest_asyncio.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """A connection to the test's nats-server, with DockBack's streams created."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for config in streams.stream_configs():
        await js.add_stream(config)
    for kv in streams.kv_configs():
        await js.create_key_value(kv)
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture
async def heard(nc: Client) -> Heard:
    collected = Heard()

    async def on_message(message: Any) -> None:
        payload = json.loads(message.data)
        collected.events.append(_TYPES[payload["type"]].model_validate(payload))
        collected.arrived.set()

    await nc.subscribe(f"{subjects.EVENTS_PREFIX}.>", cb=on_message)
    return collected


async def publish(nc: Client, event: ev.Event, message_id: str | None = None) -> None:
    """Publish as the gateway's outbox relay does: JetStream, with a `Nats-Msg-Id`."""
    await nc.jetstream().publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": message_id or subjects.message_id(event), "content-type": "application/json"},
    )


@dataclass(frozen=True)
class DataDir:
    """A data dir with fake archives and manifests where the executor's store puts them."""

    root: Path

    def archive(
        self,
        *,
        data: bytes | None = None,
        job_id: UUID | None = None,
        started: str = "20261125T101500Z",
        plan_id: UUID | None = PLAN_ID,
        host_id: str = HOST_ID,
        resource: ev.ResourceRef = PGDATA,
        role: str = "pgdata",
        suffix: str = ".tar.zst",
        directory: Path | None = None,
    ) -> ev.ArchiveRef:
        job_id = job_id or uuid4()
        artifact_id = ev.artifact_id_for(job_id, resource, role)
        directory = directory or self.root / f"{resource.kind}s" / resource.name
        directory.mkdir(parents=True, exist_ok=True)
        stem = f"{started}-{job_id}-{role}"
        archive = directory / f"{stem}{suffix}"
        data = os.urandom(256) if data is None else data
        archive.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        now = datetime.strptime(started, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        manifest = ArchiveManifest(
            artifact_id=artifact_id,
            job_id=job_id,
            plan_id=plan_id,
            host_id=host_id,
            resource=resource,
            role=role,
            kind="volume" if resource.kind == "volume" else "config",
            archive_file=archive.name,
            compression="zstd",
            sha256=digest,
            size_bytes=len(data),
            raw_bytes=len(data),
            file_count=1,
            started_at=now,
            finished_at=now,
            engine_version="test",
        )
        (directory / f"{stem}.manifest.json").write_text(manifest.model_dump_json(indent=2))
        return ev.ArchiveRef(
            artifact_id=artifact_id,
            path=os.path.relpath(archive, self.root),
            sha256=digest,
            size_bytes=len(data),
        )

    def files_of(self, ref: ev.ArchiveRef) -> list[Path]:
        """The archive and its manifest that exist now."""
        archive = Path(os.path.normpath(self.root / ref.path))
        manifest = archive.with_name(archive.name.removesuffix(".tar.zst").removesuffix(".json") + ".manifest.json")
        return [p for p in (archive, manifest) if p.exists()]


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    root = tmp_path / "data"
    root.mkdir()
    return DataDir(root)


def prune_of(*archives: ev.ArchiveRef, plan_id: UUID = PLAN_ID, resource: ev.ResourceRef = PGDATA) -> ev.PruneRequested:
    return ev.PruneRequested(job_id=uuid4(), host_id=HOST_ID, plan_id=plan_id, resource=resource, archives=archives)


def uploader_settings(nats_url: str, data_dir: DataDir, tmp_path: Path) -> Settings:
    return Settings(
        host_id=HOST_ID,
        data_dir=data_dir.root,
        nats_url=nats_url,
        settings_key_file=tmp_path / "settings.key",
        job_ack_wait_seconds=5,
        job_retry_delays_seconds=[0.2, 0.2, 0.2],
    )


@pytest_asyncio.fixture
async def uploader(
    nats_url: str, nc: Client, data_dir: DataDir, tmp_path: Path, settings_key: bytes
) -> AsyncIterator[Uploader]:
    """The uploader, running in this process until the test ends."""
    running = Uploader(uploader_settings(nats_url, data_dir, tmp_path))
    task = asyncio.create_task(running.run())
    ready = asyncio.create_task(running.ready.wait())
    try:
        await asyncio.wait([task, ready], timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # raises what stopped it
        assert running.ready.is_set(), "the uploader did not get ready within 20 s"
        yield running
    finally:
        ready.cancel()
        running.stopped.set()
        await task


# --- S3 targets -----------------------------------------------------------------------------

TARGET_ID = "offsite"


_current_settings_key: list[bytes] = []  # the running test's, for put_settings


@pytest.fixture
def settings_key(tmp_path: Path) -> Iterator[bytes]:
    """The settings key, written where the uploader's settings say (DOCKBACK_SETTINGS_KEY_FILE): without
    NATS credentials the uploader derives its sealing key from it."""
    key = os.urandom(sealed.KEY_BYTES)
    (tmp_path / "settings.key").write_text(key.hex())
    _current_settings_key.append(key)
    try:
        yield key
    finally:
        _current_settings_key.remove(key)


def s3_target(
    s3: S3Bucket,
    settings_key: bytes | X25519PublicKey,
    *,
    target_id: str = TARGET_ID,
    bucket: str | None = None,
    secret_key: str | None = None,
    prefix: str = "backups",
    verify_full_read: bool = False,
    part_size_bytes: int = 5 * 1024 * 1024,
) -> S3Target:
    """The test bucket as a target, its keys sealed to the test host's key (derived from
    `settings_key`) or, for a host on NATS credentials, to the public key given instead."""
    recipient = settings_key if isinstance(settings_key, X25519PublicKey) else host_key(settings_key)
    return S3Target(
        target_id=target_id,
        endpoint=s3.endpoint,
        secure=False,
        region="us-east-1",
        bucket=bucket or s3.name,
        prefix=prefix,
        access_key=sealed.seal_to(recipient, target_secret(target_id, "access_key"), s3.access_key),
        secret_key=sealed.seal_to(recipient, target_secret(target_id, "secret_key"), secret_key or s3.secret_key),
        part_size_bytes=part_size_bytes,
        verify_full_read=verify_full_read,
    )


def host_private_key(settings_key: bytes) -> X25519PrivateKey:
    """The sealing key of the test host's uploader (it runs without NATS credentials, so its key
    derives from the settings key file)."""
    return sealed.derive_private_key(settings_key, f"uploader-{HOST_ID}")


def host_key(settings_key: bytes) -> X25519PublicKey:
    return host_private_key(settings_key).public_key()


async def put_settings(
    nc: Client, *targets: S3Target, revision: int = 1, recipient: X25519PublicKey | None = None
) -> None:
    """Publish the test host's settings snapshot as the gateway does (sealed to the host's key:
    derived from the settings_key fixture's, or `recipient` for a host on NATS credentials)."""
    if recipient is None:
        assert _current_settings_key, "use the settings_key fixture: the snapshot is sealed to a key derived from it"
        recipient = host_key(_current_settings_key[-1])
    snapshot = SettingsSnapshot(
        revision=revision,
        recipient=sealed.public_key_text(recipient),
        targets=targets,
        updated_at=datetime.now(UTC),
    )
    kv = await nc.jetstream().key_value(streams.SETTINGS_BUCKET)
    await kv.put(host_settings_key(HOST_ID), snapshot.model_dump_json().encode())


async def put_plan(nc: Client, local_copies: LocalCopies, plan_id: UUID = PLAN_ID) -> None:
    plan = PlanSnapshot(
        plan_id=plan_id,
        revision=1,
        name="nightly",
        host_id=HOST_ID,
        enabled=True,
        cron="0 3 * * *",
        timezone="UTC",
        targets=(ev.TargetSelector(kind="volume", names=("pgdata",)),),
        upload_targets=(TARGET_ID,),
        local_copies=local_copies,
        updated_at=datetime.now(UTC),
    )
    kv = await nc.jetstream().key_value(streams.PLANS_BUCKET)
    await kv.put(str(plan_id), plan.model_dump_json().encode())


@pytest_asyncio.fixture
async def target(nc: Client, s3: S3Bucket, settings_key: bytes) -> S3Target:
    """The test's bucket as the S3 target `offsite`, in the settings snapshot."""
    configured = s3_target(s3, settings_key)
    await put_settings(nc, configured)
    return configured


def archive_created(
    ref: ev.ArchiveRef,
    *,
    targets: tuple[str, ...] = (TARGET_ID,),
    plan_id: UUID | None = PLAN_ID,
    resource: ev.ResourceRef = PGDATA,
    role: str = "pgdata",
    job_id: UUID | None = None,
    last_of_job: bool = True,
) -> ev.ArchiveCreated:
    return ev.ArchiveCreated(
        job_id=job_id or uuid4(),
        host_id=HOST_ID,
        plan_id=plan_id,
        resource=resource,
        role=role,
        archive=ref,
        manifest_path=ref.path.removesuffix(".tar.zst") + ".manifest.json",
        raw_bytes=ref.size_bytes,
        file_count=1,
        compression="zstd",
        upload_targets=targets,
        last_of_job=last_of_job,
    )


async def upload_end(heard: Heard, job_id: UUID, within: float = 30.0) -> ev.UploadCompleted | ev.JobFailed:
    """The first UploadCompleted or JobFailed of the job."""
    async with asyncio.timeout(within):
        while True:
            for event in heard.events:
                if isinstance(event, ev.UploadCompleted | ev.JobFailed) and event.job_id == job_id:
                    return event
            heard.arrived.clear()
            await heard.arrived.wait()
