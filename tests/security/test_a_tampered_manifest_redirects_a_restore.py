"""Whoever can write the bucket swaps an archive's manifest to make a restore write elsewhere.

When an archive's local copy is gone, a restore fetches it back from S3, manifest included,
and the executor restores from that manifest. Before the fix the uploader compared only the
manifest's artifact id, sha256, size and file name with the request, so a manifest that kept
those and changed the rest was accepted and written into the data dir: its `source` (the
volume's driver and options, here a bind to a directory of the attacker's choosing) was what
the executor created the new volume with. Now the catalog's record of the archive travels in
the restore (`RestoreRequested.catalogued`, with the sha256 of the manifest as the backup wrote
it), and a manifest that differs from it is refused by the uploader and by the executor.

The first test runs the whole host (the executor and uploader processes on their own
credentials on the secured nats-server, the real engine, moto S3); the second edits the
manifest in the data dir, where only the executor's check stands.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from executor.conftest import Host
from executor.requests import backup_of, restore_of
from executor.volumes import create_volume, populate, volume_exists
from nats.js.errors import NotFoundError
from uploader.conftest import TARGET_ID, put_settings, s3_target

from dockback_contracts import events as ev
from dockback_contracts import permissions, streams, subjects
from dockback_contracts.manifest import ArchiveManifest
from dockback_executor.errors import RestoreRefused
from dockback_runtime.sealing import service_sealing_key
from harness.catalogue import catalogued_from
from harness.eventually import eventually
from harness.s3_server import S3Bucket
from harness.secured_nats import HOST_A, Connection, HostServices


def redirected(manifest: ArchiveManifest, directory: Path) -> ArchiveManifest:
    """The manifest as the attacker rewrites it: the same archive, from a volume bound to `directory`."""
    return manifest.model_copy(
        update={
            "source": {
                **manifest.source,
                "Driver": "local",
                "Options": {"type": "none", "o": "bind", "device": str(directory)},
            },
        }
    )


def victim_directory(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("not yours\n")
    return victim


async def last_fact(gateway: Connection, kind: type[ev.Event]) -> ev.Event:
    message = await gateway.js.get_last_msg(streams.EVENTS_STREAM, subjects.fact(kind, HOST_A))
    return kind.model_validate_json(message.data)


async def fact_of_job(gateway: Connection, kind: type[ev.Event], job_id: uuid.UUID) -> ev.Event | None:
    try:
        event = await last_fact(gateway, kind)
    except NotFoundError:
        return None
    return event if event.job_id == job_id else None


async def request(gateway: Connection, event: ev.Event) -> None:
    await gateway.js.publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        stream=streams.JOBS_STREAM,
        headers={"Nats-Msg-Id": subjects.message_id(event)},
    )


@pytest.mark.parametrize("forged", [True, False], ids=["forged manifest", "honest manifest (the control)"])
async def test_a_manifest_swapped_in_the_bucket_is_refused_and_nothing_is_written(
    forged: bool,
    gateway_connection: Connection,
    host_services: HostServices,
    s3: S3Bucket,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    uploader_role = permissions.host_role_name(permissions.UPLOADER, HOST_A)
    # the uploader's own key, which derives from its NATS credentials
    host_key = service_sealing_key(uploader_role, host_services.server.credentials_file(uploader_role), None)
    await put_settings(gateway_connection.nc, s3_target(s3, host_key.public_key()), recipient=host_key.public_key())
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=20)
    host_services.start("executor", "dockback_executor", permissions.host_role_name(permissions.EXECUTOR, HOST_A))
    host_services.start("uploader", "dockback_uploader", permissions.host_role_name(permissions.UPLOADER, HOST_A))
    try:
        backup = ev.BackupRequested(
            job_id=uuid.uuid4(),
            host_id=HOST_A,
            resource=ev.ResourceRef(kind="volume", name=unique_name),
            upload_targets=(TARGET_ID,),
            requested_by="test",
        )
        await request(gateway_connection, backup)
        created = await eventually(lambda: fact_of_job(gateway_connection, ev.ArchiveCreated, backup.job_id), 90)
        uploaded = await eventually(lambda: fact_of_job(gateway_connection, ev.UploadCompleted, backup.job_id), 60)
        assert isinstance(created, ev.ArchiveCreated)
        assert isinstance(uploaded, ev.UploadCompleted)

        # The local copy is gone (pruned); the bucket holds the only copy, and its manifest is swapped.
        data_dir = host_services.workdir / "data"
        archive = data_dir / created.archive.path
        manifest_file = data_dir / created.manifest_path
        victim = victim_directory(tmp_path)
        if forged:
            swapped = redirected(ArchiveManifest.model_validate_json(manifest_file.read_bytes()), victim)
            manifest_key = uploaded.key.removesuffix(".tar.zst") + ".manifest.json"
            s3.client.put_object(Bucket=s3.name, Key=manifest_key, Body=swapped.model_dump_json(indent=2).encode())
        archive.unlink()
        manifest_file.unlink()

        job_id = uuid.uuid4()
        located = created.archive.model_copy(update={"remote_locations": (f"{TARGET_ID}:{uploaded.key}",)})
        restore = ev.RestoreRequested(
            job_id=job_id,
            host_id=HOST_A,
            archive=located,
            target=ev.RestoreTarget(kind="volume", name=f"{unique_name}-copy"),
            requested_by="operator",
            catalogued=catalogued_from(created),  # what the gateway sends: the catalog's record
            restore_special_bits=True,  # `populate` leaves a setuid file; the plan allows it
        )
        fetch = ev.FetchRequested(job_id=job_id, host_id=HOST_A, archive=located, restore=restore)
        await request(gateway_connection, fetch)

        if not forged:  # the same path with the manifest left alone restores (through the real bus)
            done = await eventually(lambda: fact_of_job(gateway_connection, ev.RestoreCompleted, job_id), 60)
            assert isinstance(done, ev.RestoreCompleted)
            assert await volume_exists(f"{unique_name}-copy")
            assert manifest_file.exists()
            return
        failed = await eventually(lambda: fact_of_job(gateway_connection, ev.JobFailed, job_id), 60)
        assert isinstance(failed, ev.JobFailed)
        assert "disagrees with the catalog" in failed.reason, failed.reason
        assert not failed.retryable
        assert not await volume_exists(f"{unique_name}-copy")
        assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
        assert not manifest_file.exists(), "the forged manifest never reached the data dir"
        assert not archive.exists()
    except BaseException:
        print(host_services.logs())
        raise


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda m, victim: redirected(m, victim), id="other driver options"),
        pytest.param(lambda m, _victim: m.model_copy(update={"role": "another-volume"}), id="another role"),
        pytest.param(lambda m, _victim: m.model_copy(update={"file_count": m.file_count * 1000}), id="bigger counts"),
    ],
)
async def test_a_manifest_changed_in_the_data_dir_is_refused_before_anything_is_written(
    host: Host,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
    forge: object,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    before = len(host.heard.of(ev.ArchiveCreated))
    await host.backups.run(backup_of("volume", unique_name), attempt=1)
    created = (await host.heard.wait_for(ev.ArchiveCreated, before + 1))[-1]
    assert isinstance(created, ev.ArchiveCreated)
    manifest_file = host.store.root / created.manifest_path
    victim = victim_directory(tmp_path)
    forged = forge(ArchiveManifest.model_validate_json(manifest_file.read_bytes()), victim)  # type: ignore[operator]
    manifest_file.write_text(json.dumps(forged.model_dump(mode="json"), indent=2))

    with pytest.raises(RestoreRefused, match="disagrees with the catalog"):
        await host.restores.run(restore_of(created, "volume", f"{unique_name}-copy"), attempt=1)

    assert not await volume_exists(f"{unique_name}-copy")
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
