"""The executor's /metrics (DOCKBACK_METRICS_PORT), scraped from the real process after a real backup."""

from __future__ import annotations

import uuid

from dockback_contracts import events as ev
from dockback_contracts import streams
from executor.conftest import HOST_ID, Heard, StartExecutor
from executor.volumes import create_volume, populate
from harness.bus import publish
from harness.processes import free_port
from harness.scrape import until_scraped, value


async def test_a_backup_moves_the_job_byte_plan_and_lag_metrics(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=50)
    port = free_port()
    start_executor(DOCKBACK_METRICS_PORT=str(port), DOCKBACK_METRICS_LAG_INTERVAL_SECONDS="0.2")
    plan_id = uuid.uuid4()
    request = ev.BackupRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        plan_id=plan_id,
        resource=ev.ResourceRef(kind="volume", name=unique_name),
    )
    failing = ev.BackupRequested(
        job_id=uuid.uuid4(), host_id=HOST_ID, resource=ev.ResourceRef(kind="volume", name=f"{unique_name}-missing")
    )
    await publish(nats_url, request)
    await publish(nats_url, failing)
    [created] = await heard.wait_for(ev.ArchiveCreated)
    await heard.wait_for(ev.JobFailed)

    durable = streams.executor_consumer(HOST_ID, ev.BackupRequested).durable
    executor_jobs = {"service": "executor", "kind": "backup"}

    def settled(samples: dict) -> bool:  # type: ignore[type-arg]
        return (
            value(samples, "dockback_jobs_total", **executor_jobs, outcome="succeeded") == 1
            and value(samples, "dockback_jobs_total", **executor_jobs, outcome="failed") == 1
            and value(samples, "dockback_consumer_ack_pending_messages", stream=streams.JOBS_STREAM, consumer=durable)
            == 0
        )

    samples = await until_scraped(port, settled)

    assert value(samples, "dockback_archived_bytes_total") == created.archive.size_bytes > 0
    assert value(samples, "dockback_job_duration_seconds_count", **executor_jobs, outcome="succeeded") == 1
    assert (value(samples, "dockback_job_duration_seconds_sum", **executor_jobs, outcome="succeeded") or 0) > 0
    last = value(samples, "dockback_last_successful_backup_timestamp_seconds", plan_id=str(plan_id))
    assert last is not None
    assert abs(last - created.occurred_at.timestamp()) < 60
    assert value(samples, "dockback_consumer_pending_messages", stream=streams.JOBS_STREAM, consumer=durable) == 0
