"""SIGTERM during a job: the job finishes within DOCKBACK_SHUTDOWN_GRACE_SECONDS, or it is handed back
(a nack, not a wait for ack_wait) and completed by the next executor; exactly one archive either way,
no partial file left, nothing incomplete announced."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import nats

from dockback_contracts import events as ev
from dockback_contracts import streams
from executor.conftest import HOST_ID, Heard, StartExecutor
from executor.requests import backup_of
from executor.volumes import create_volume, run_in
from harness.bus import publish

# Far longer than the test may take: a redelivery before it can only be the hand-back's nack.
ACK_WAIT = "120"


async def settled(nats_url: str) -> None:
    """Until the backup consumer holds no message: the job's one delivery left was acked."""
    client = await nats.connect(nats_url)
    try:
        spec = streams.executor_consumer(HOST_ID, ev.BackupRequested)
        async with asyncio.timeout(30):
            while True:
                info = await client.jetstream().consumer_info(spec.stream, spec.durable)
                if info.num_ack_pending == 0 and info.num_pending == 0:
                    return
                await asyncio.sleep(0.1)  # server state: polled
    finally:
        await client.close()


async def big_volume(name: str, image: str, labels: dict[str, str]) -> None:
    await create_volume(name, labels)
    await run_in(image, name, "dd if=/dev/urandom of=/data/big bs=1M count=150 2>/dev/null", labels)


async def test_sigterm_past_the_grace_hands_the_job_back_and_the_next_executor_completes_it(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await big_volume(unique_name, busybox_image, docker_labels)
    first = start_executor(DOCKBACK_SHUTDOWN_GRACE_SECONDS="0", DOCKBACK_JOB_ACK_WAIT_SECONDS=ACK_WAIT)
    request = backup_of("volume", unique_name, compression="gzip")  # gzip is slow: still running at SIGTERM
    await publish(nats_url, request)
    await heard.wait_for(ev.JobProgress)

    first.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 30) == 0
    stopped_at = time.monotonic()
    assert heard.of(ev.ArchiveCreated) == []  # cut short, and nothing incomplete announced
    assert list((tmp_path / "data").rglob(".partial-*")) == []  # its partial archive is gone
    assert b"handed back" in (tmp_path / "executor-0.log").read_bytes()

    start_executor(DOCKBACK_JOB_ACK_WAIT_SECONDS=ACK_WAIT)
    [created] = await heard.wait_for(ev.ArchiveCreated, within=90)
    assert created.job_id == request.job_id
    assert time.monotonic() - stopped_at < float(ACK_WAIT)  # redelivered by the nack, not the ack wait
    await settled(nats_url)  # acked: nothing can come back for a second end
    assert [e.job_id for e in heard.of(ev.ArchiveCreated)] == [request.job_id]
    assert heard.of(ev.JobFailed) == []
    assert len(list((tmp_path / "data").rglob("*.tar.gz"))) == 1


async def test_sigterm_within_the_grace_lets_the_job_finish(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await run_in(
        busybox_image, unique_name, "dd if=/dev/urandom of=/data/big bs=1M count=40 2>/dev/null", docker_labels
    )
    executor = start_executor(DOCKBACK_SHUTDOWN_GRACE_SECONDS="120", DOCKBACK_JOB_ACK_WAIT_SECONDS=ACK_WAIT)
    request = backup_of("volume", unique_name, compression="gzip")
    await publish(nats_url, request)
    await heard.wait_for(ev.JobStarted)

    executor.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(executor.wait, 120) == 0

    assert [e.job_id for e in heard.of(ev.ArchiveCreated)] == [request.job_id]  # finished before it exited
    assert list((tmp_path / "data").rglob(".partial-*")) == []
    assert b"handed back" not in (tmp_path / "executor-0.log").read_bytes()
