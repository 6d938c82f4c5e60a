"""An engine restart during a job: the executor retries it and the job ends with one complete archive.

The session's dockerd is shared by every test, so it is never restarted. The executor reaches it through
a Unix-socket proxy instead, which the test cuts (every open connection breaks, new ones are closed at
once) and then restores, as a restarting engine would look from the executor's side.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import pytest_asyncio

from dockback_contracts import events as ev
from executor.conftest import Heard, StartExecutor
from executor.engine_proxy import EngineProxy
from executor.requests import backup_of
from executor.volumes import create_volume, docker_cli, run_in
from harness.bus import publish


@pytest.fixture
def executor_behind_proxy(engine_proxy: EngineProxy, start_executor: StartExecutor) -> StartExecutor:
    """The executor, reaching the engine through the proxy."""

    def start(**env: str) -> subprocess.Popen[bytes]:
        # No redelivery for a late in-progress ack: only retries count.
        return start_executor(DOCKBACK_DOCKER_URL=engine_proxy.url, DOCKBACK_JOB_ACK_WAIT_SECONDS="30", **env)

    return start


async def backup_through_an_outage(
    nats_url: str, heard: Heard, engine_proxy: EngineProxy, volume: str
) -> tuple[ev.BackupRequested, ev.ArchiveCreated]:
    """Request a gzip backup of `volume`, cut the engine off at its first progress, restore it, and
    return the request and the archive the job finally announced."""
    request = backup_of("volume", volume, compression="gzip")  # gzip is slow: the cut comes mid-archive
    await publish(nats_url, request)
    await heard.wait_for(ev.JobProgress)

    engine_proxy.cut()
    async with asyncio.timeout(30):
        await engine_proxy.wait_refused()  # the executor has found the engine gone
    await asyncio.sleep(1.0)  # the outage itself: the engine stays away for about a second
    engine_proxy.restore()
    [created] = await heard.wait_for(ev.ArchiveCreated, within=120)
    return request, created


@pytest_asyncio.fixture
async def big_volume(busybox_image: str, docker_labels: dict[str, str], unique_name: str) -> str:
    """A volume with 150 MB of random data: long enough (5 s or more) to archive with gzip to be cut mid-way."""
    await create_volume(unique_name, docker_labels)
    await run_in(
        busybox_image, unique_name, "dd if=/dev/urandom of=/data/big bs=1M count=150 2>/dev/null", docker_labels
    )
    return unique_name


async def test_a_job_cut_off_from_the_engine_is_retried_and_ends_with_one_complete_archive_and_no_runner(
    nats_url: str,
    heard: Heard,
    engine_proxy: EngineProxy,
    executor_behind_proxy: StartExecutor,
    big_volume: str,
    tmp_path: Path,
) -> None:
    # One outage (150 MB through gzip, about 12 s) shows all of it: the retry, its one archive, and
    # the runner of the cut attempt removed once the engine is back.
    executor_behind_proxy()

    request, created = await backup_through_an_outage(nats_url, heard, engine_proxy, big_volume)

    data = tmp_path / "data"
    assert created.job_id == request.job_id
    assert [(s.job_id, s.attempt) for s in heard.of(ev.JobStarted)] == [(request.job_id, 1), (request.job_id, 2)]
    assert heard.of(ev.JobFailed) == []
    assert (data / created.archive.path).stat().st_size == created.archive.size_bytes
    assert [p.name for p in data.rglob("*.tar.gz")] == [Path(created.archive.path).name]
    assert list(data.rglob(".partial-*")) == []
    runners = await docker_cli("ps", "-aq", "--filter", f"label=dockback.job={request.job_id}")
    assert runners.split() == []


async def test_an_engine_away_for_the_whole_retry_budget_fails_the_job_as_retryable(
    nats_url: str,
    heard: Heard,
    engine_proxy: EngineProxy,
    executor_behind_proxy: StartExecutor,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    executor_behind_proxy(DOCKBACK_JOB_RETRY_DELAYS_SECONDS="[0.2, 0.2]")
    await heard.wait_for(ev.HostInventory)  # the executor is up and has reached the engine
    engine_proxy.cut()
    request = backup_of("volume", unique_name)
    await publish(nats_url, request)

    [failed] = await heard.wait_for(ev.JobFailed, within=30)

    assert failed.job_id == request.job_id
    assert failed.retryable
    assert "gave up after 3 attempts" in failed.reason
    assert [(s.job_id, s.attempt) for s in heard.of(ev.JobStarted)] == [(request.job_id, n) for n in (1, 2, 3)]
    assert heard.of(ev.ArchiveCreated) == []
