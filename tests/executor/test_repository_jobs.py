"""Backups of the format `repository` on the real executor, engine and restic: the repository's
password comes from the executor's own share of the settings, sealed to the key it registered;
the job saves a snapshot and announces it, and a job delivered again announces the same snapshot
from its record instead of saving another."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

import nats
from nats.js.errors import KeyNotFoundError

from dockback_contracts import events as ev
from dockback_contracts import permissions, streams, subjects
from dockback_contracts.sealed import seal_to
from dockback_contracts.snapshots import (
    RepositoryKey,
    SealingKey,
    SettingsSnapshot,
    executor_settings_key,
    plan_repository,
    repository_password,
)
from executor.conftest import HOST_ID, Heard, StartExecutor
from executor.volumes import create_volume, populate
from harness.bus import publish
from harness.eventually import eventually


async def share_repository(nats_url: str, name: str, password: str) -> None:
    """What the gateway does for a repository plan: seal its password to the key the host's
    executor registered, in the executor's share of the settings."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        keys = await js.key_value(streams.SEALING_KEYS_BUCKET)
        role = permissions.host_role_name(permissions.EXECUTOR, HOST_ID)

        async def registered() -> bytes | None:
            try:
                return (await keys.get(role)).value
            except KeyNotFoundError:
                return None

        registration = SealingKey.model_validate_json(await eventually(registered, timeout=30))
        share = SettingsSnapshot(
            revision=1,
            recipient=registration.public_key,
            repositories=(
                RepositoryKey(
                    name=name,
                    password=seal_to(registration.public_key, repository_password(HOST_ID, name), password),
                ),
            ),
            updated_at=datetime.now(UTC),
        )
        settings = await js.key_value(streams.SETTINGS_BUCKET)
        await settings.put(executor_settings_key(HOST_ID), share.model_dump_json().encode())
    finally:
        await client.close()


async def publish_again(nats_url: str, request: ev.BackupRequested) -> None:
    """The same job delivered a second time (as after an executor died before its ack)."""
    client = await nats.connect(nats_url)
    try:
        await client.jetstream().publish(
            subjects.subject_for(request),
            request.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"{request.job_id}-again"},
        )
    finally:
        await client.close()


async def restic_snapshots(repository: Path, password: str) -> list[dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        *("restic", "snapshots", "--json", "--no-lock", "-r", str(repository)),
        env={"PATH": os.environ["PATH"], "RESTIC_PASSWORD": password},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    return list(json.loads(out))


async def test_a_repository_job_delivered_twice_saves_one_snapshot_and_announces_it_twice(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=20)
    (tmp_path / "settings.key").write_text(secrets.token_hex(32))
    start_executor(DOCKBACK_SETTINGS_KEY_FILE=str(tmp_path / "settings.key"), DOCKBACK_STRATEGY="runner")
    plan_id, password = uuid.uuid4(), secrets.token_urlsafe(32)
    name = plan_repository(str(plan_id))
    await share_repository(nats_url, name, password)
    request = ev.BackupRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        plan_id=plan_id,
        resource=ev.ResourceRef(kind="volume", name=unique_name),
        options=ev.BackupOptions(format="repository"),
    )

    await publish(nats_url, request)
    [first] = await heard.wait_for(ev.SnapshotCreated, within=120)
    await publish_again(nats_url, request)
    await heard.wait_for(ev.JobStarted, count=2, within=60)
    [_, again] = await heard.wait_for(ev.SnapshotCreated, count=2, within=60)

    assert again.snapshot == first.snapshot
    assert (first.last_of_job, first.role, first.files_new) == (True, unique_name, first.total_files)
    assert heard.of(ev.JobFailed) == []
    listed = await restic_snapshots(tmp_path / "data" / "repositories" / name, password)
    assert [s["id"] for s in listed] == [first.snapshot.snapshot_id]
    assert f"job={request.job_id}" in listed[0]["tags"]  # type: ignore[operator]
