"""Users cancel jobs through the cancellations bucket: a queued job never starts, a running one is
stopped and put back as a shutdown would (containers restarted, nothing half-written left), its
message acked so it never runs again, and the executor's heartbeat lists what it is working on.

A running job is held deterministically: in a pre-command that waits for a file the test creates,
or by an engine proxy that holds back the engine's answer to a backup's tar stream or to a
restore's upload."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import nats
import pytest

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.snapshots import JobCancellation
from dockback_runtime.jobs.cancellations import Cancellations
from executor.conftest import Heard, StartExecutor
from executor.engine_proxy import EngineProxy
from executor.requests import backup_of, restore_of
from executor.volumes import create_volume, docker_cli, run_in
from harness.bus import publish
from harness.cancellations import cancel

WAIT_FOR_GO = "touch /tmp/waiting; until [ -f /tmp/go ]; do sleep 0.1; done"


async def until_no_job_is_queued(nats_url: str, within: float = 30.0) -> None:
    """Until the jobs stream is empty: on a work queue, an acked message is removed."""
    client = await nats.connect(nats_url)
    try:
        async with asyncio.timeout(within):
            while (await client.jetstream().stream_info(streams.JOBS_STREAM)).state.messages:  # noqa: ASYNC110 - server state: polled
                await asyncio.sleep(0.1)
    finally:
        await client.close()


async def running_container(name: str, volume: str, image: str, labels: dict[str, str]) -> None:
    await docker_cli(
        "run",
        "-d",
        "--name",
        name,
        *[f"--label={k}={v}" for k, v in labels.items()],
        "-v",
        f"{volume}:/data",
        image,
        "sleep",
        "3600",
    )


async def is_running(name: str) -> bool:
    return bool(json.loads(await docker_cli("inspect", name))[0]["State"]["Running"])


async def until_waiting_in_hook(container: str, within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while b"yes" not in await docker_cli("exec", container, "sh", "-c", "[ -f /tmp/waiting ] && echo yes || true"):  # noqa: ASYNC110 - state in a container: polled
            await asyncio.sleep(0.1)


async def test_a_job_cancelled_before_it_starts_is_never_run_and_its_message_is_gone(
    nats_url: str, heard: Heard, start_executor: StartExecutor, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    request = backup_of("volume", unique_name)
    await cancel(nats_url, request.job_id, user="alice")
    start_executor()
    await publish(nats_url, request)

    [cancelled] = await heard.wait_for(ev.JobCancelled)
    await until_no_job_is_queued(nats_url)

    assert cancelled.job_id == request.job_id
    assert cancelled.phase == "queued"
    assert cancelled.reason == "cancelled by alice"
    assert heard.of(ev.JobStarted) == []
    assert heard.of(ev.ArchiveCreated) == []


async def test_a_backup_cancelled_in_its_pre_command_stops_and_leaves_everything_as_it_was(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await running_container(unique_name, unique_name, busybox_image, docker_labels)
    hook = {"container": unique_name, "command": ["sh", "-c", WAIT_FOR_GO]}
    start_executor()
    request = backup_of("volume", unique_name, stop_containers=True, pre_commands=[hook])
    await publish(nats_url, request)
    await until_waiting_in_hook(unique_name)

    await cancel(nats_url, request.job_id, user="bob")
    [cancelled] = await heard.wait_for(ev.JobCancelled)
    await until_no_job_is_queued(nats_url)

    assert cancelled.phase == "prepare"
    assert cancelled.reason == "cancelled by bob"
    assert await is_running(unique_name)
    assert heard.of(ev.ArchiveCreated) == []
    assert heard.of(ev.JobFailed) == []
    assert list((tmp_path / "data").rglob(".partial-*")) == []


async def test_a_backup_cancelled_mid_archive_restarts_what_it_stopped_and_is_not_run_again(
    nats_url: str,
    heard: Heard,
    engine_proxy: EngineProxy,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await running_container(unique_name, unique_name, busybox_image, docker_labels)
    engine_proxy.hold_archive_reads()
    # The hold is in the engine's archive API, which the stream strategy reads (a runner writes the archive itself).
    start_executor(DOCKBACK_DOCKER_URL=engine_proxy.url, DOCKBACK_STRATEGY="stream")
    request = backup_of("volume", unique_name, stop_containers=True)
    await publish(nats_url, request)
    async with asyncio.timeout(60):
        await engine_proxy.archive_read_held.wait()
    stopped_during_archive = not await is_running(unique_name)
    partial_during_archive = list((tmp_path / "data").rglob(".partial-*"))

    await cancel(nats_url, request.job_id)
    [cancelled] = await heard.wait_for(ev.JobCancelled)
    await until_no_job_is_queued(nats_url)

    assert stopped_during_archive
    assert partial_during_archive  # it really was cut off mid-archive
    assert cancelled.phase == "archive"
    assert await is_running(unique_name)
    assert list((tmp_path / "data").rglob(".partial-*")) == []
    assert list((tmp_path / "data" / ".stopped").glob("*.json")) == []
    runners = await docker_cli("ps", "-aq", "--filter", f"label=dockback.job={request.job_id}")
    assert runners.split() == []
    assert heard.of(ev.ArchiveCreated) == []
    assert [s.attempt for s in heard.of(ev.JobStarted)] == [1]


async def test_the_heartbeat_lists_the_jobs_the_executor_is_working_on(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    await running_container(unique_name, unique_name, busybox_image, docker_labels)
    hook = {"container": unique_name, "command": ["sh", "-c", WAIT_FOR_GO]}
    start_executor()
    request = backup_of("volume", unique_name, pre_commands=[hook])
    await publish(nats_url, request)
    await until_waiting_in_hook(unique_name)

    beats = len(heard.of(ev.HostHeartbeat))
    during = (await heard.wait_for(ev.HostHeartbeat, count=beats + 1))[-1]
    await docker_cli("exec", unique_name, "touch", "/tmp/go")
    await heard.wait_for(ev.ArchiveCreated)
    async with asyncio.timeout(30):  # the job is done: a heartbeat soon says so
        while heard.of(ev.HostHeartbeat)[-1].running_job_ids:
            await heard.wait_for(ev.HostHeartbeat, count=len(heard.of(ev.HostHeartbeat)) + 1)

    assert during.running_job_ids == (request.job_id,)
    assert during.running_jobs == 1


async def test_without_the_bucket_jobs_run_and_cancellations_are_watched_once_it_exists(nats_url: str) -> None:
    client = await nats.connect(nats_url)  # a bare server: no gateway has declared the bucket
    heard: list[JobCancellation] = []
    arrived = asyncio.Event()

    def on_cancel(cancellation: JobCancellation) -> None:
        heard.append(cancellation)
        arrived.set()

    cancellations = Cancellations(client.jetstream, retry_seconds=0.1)
    watching = asyncio.create_task(cancellations.watch(on_cancel))
    try:
        job_id = uuid.uuid4()
        assert await cancellations.lookup(job_id) is None
        [config] = [c for c in streams.kv_configs() if c.bucket == streams.CANCELS_BUCKET]
        await client.jetstream().create_key_value(config)
        await cancel(nats_url, job_id, user="carol")
        async with asyncio.timeout(30):
            await arrived.wait()

        assert [(c.job_id, c.requested_by) for c in heard] == [(job_id, "carol")]
        found = await cancellations.lookup(job_id)
        assert found is not None
        assert found.requested_by == "carol"
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await client.close()


async def backed_up_volume_in_use(
    nats_url: str, heard: Heard, image: str, labels: dict[str, str], name: str
) -> ev.ArchiveCreated:
    """Volume `name` holding f=original, backed up, then changed to f=changed by container `name` using it."""
    await create_volume(name, labels)
    await run_in(image, name, "echo original > /data/f", labels)
    await publish(nats_url, backup_of("volume", name))
    [created] = await heard.wait_for(ev.ArchiveCreated)
    await running_container(name, name, image, labels)
    await docker_cli("exec", name, "sh", "-c", "echo changed > /data/f")
    return created


async def content_of(image: str, volume: str, labels: dict[str, str]) -> bytes:
    return (await run_in(image, volume, "cat /data/f", labels, read_only=True)).strip()


async def volumes_named_like(prefix: str) -> list[str]:
    listed = await docker_cli("volume", "ls", "-q", "--filter", f"name={prefix}")
    return [v for v in listed.decode().split() if v.startswith(prefix)]


async def test_a_restore_cancelled_before_the_swap_removes_its_fresh_copy_and_leaves_the_original(
    nats_url: str,
    heard: Heard,
    engine_proxy: EngineProxy,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    start_executor(DOCKBACK_DOCKER_URL=engine_proxy.url)
    created = await backed_up_volume_in_use(nats_url, heard, busybox_image, docker_labels, unique_name)
    engine_proxy.hold_archive_write()  # the extraction into the fresh volume
    request = restore_of(created, "volume", unique_name, replace_existing=True, allow_stop=True)
    await publish(nats_url, request)
    async with asyncio.timeout(60):
        await engine_proxy.archive_write_held.wait()
    fresh_during = await volumes_named_like(f"{unique_name}-restore-")

    await cancel(nats_url, request.job_id)
    [cancelled] = await heard.wait_for(ev.JobCancelled)
    await until_no_job_is_queued(nats_url)

    assert len(fresh_during) == 1
    assert cancelled.phase == "restore"
    assert await volumes_named_like(f"{unique_name}-restore-") == []
    assert await content_of(busybox_image, unique_name, docker_labels) == b"changed"
    assert await is_running(unique_name)
    assert heard.of(ev.RestoreCompleted) == []


async def test_a_restore_cancelled_during_the_swap_runs_to_its_end_and_reports_it_completed(
    nats_url: str,
    heard: Heard,
    engine_proxy: EngineProxy,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    start_executor(DOCKBACK_DOCKER_URL=engine_proxy.url, DOCKBACK_STRATEGY="stream")  # held in the archive API
    created = await backed_up_volume_in_use(nats_url, heard, busybox_image, docker_labels, unique_name)
    engine_proxy.hold_archive_write(after=2)  # past the fresh copy's two uploads (data, then the root's owner)
    request = restore_of(created, "volume", unique_name, replace_existing=True, allow_stop=True)
    await publish(nats_url, request)
    async with asyncio.timeout(60):
        await engine_proxy.archive_write_held.wait()

    await cancel(nats_url, request.job_id)
    log = tmp_path / "executor-0.log"
    async with asyncio.timeout(30):  # the executor heard the cancellation and declined it
        while b"must not be interrupted" not in log.read_bytes():  # noqa: ASYNC110 - a file: polled
            await asyncio.sleep(0.1)
    engine_proxy.release()
    [completed] = await heard.wait_for(ev.RestoreCompleted)
    await until_no_job_is_queued(nats_url)

    assert completed.job_id == request.job_id
    assert completed.replaced_existing
    assert heard.of(ev.JobCancelled) == []
    assert await content_of(busybox_image, unique_name, docker_labels) == b"original"
    assert await is_running(unique_name)
    assert await volumes_named_like(f"{unique_name}-restore-") == []


@pytest.mark.parametrize("cancelled", ["the restore", "its backup"])
async def test_a_restore_cancelled_while_it_backs_up_first_ends_that_backup_cancelled_and_announces_no_archive(
    cancelled: str,
    nats_url: str,
    heard: Heard,
    engine_proxy: EngineProxy,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    start_executor(DOCKBACK_DOCKER_URL=engine_proxy.url, DOCKBACK_STRATEGY="stream")  # held in the archive API
    created = await backed_up_volume_in_use(nats_url, heard, busybox_image, docker_labels, unique_name)
    engine_proxy.hold_archive_reads()  # the backup of the current data, taken first, is mid archive
    first = backup_of("volume", unique_name)
    request = restore_of(created, "volume", unique_name, replace_existing=True, allow_stop=True)
    await publish(nats_url, request.model_copy(update={"backup_first": first}))
    async with asyncio.timeout(60):
        await engine_proxy.archive_read_held.wait()

    # the heartbeat lists the backup as running too (the gateway's reconciler does not give up on it)
    beats = len(heard.of(ev.HostHeartbeat))
    during = (await heard.wait_for(ev.HostHeartbeat, count=beats + 1))[-1]
    assert {request.job_id, first.job_id} <= set(during.running_job_ids)
    await cancel(nats_url, request.job_id if cancelled == "the restore" else first.job_id, user="dora")
    ended = {c.job_id: c for c in await heard.wait_for(ev.JobCancelled, 2)}
    await until_no_job_is_queued(nats_url)

    # both jobs end, honestly: the backup taken first is not left 'running', and the restore that
    # was to follow it overwrites nothing
    assert set(ended) == {request.job_id, first.job_id}
    assert ended[first.job_id].kind == "backup"
    assert ended[first.job_id].reason == (
        "cancelled by dora, with the restore it was taken for" if cancelled == "the restore" else "cancelled by dora"
    )
    assert ended[request.job_id].reason == "cancelled by dora"
    # its partial archive is neither announced nor left behind, and nothing was overwritten
    assert [a for a in heard.of(ev.ArchiveCreated) if a.job_id == first.job_id] == []
    assert heard.of(ev.JobFailed) == []
    assert list((tmp_path / "data").rglob(".partial-*")) == []
    assert await content_of(busybox_image, unique_name, docker_labels) == b"changed"
    assert await is_running(unique_name)
    assert heard.of(ev.RestoreCompleted) == []
