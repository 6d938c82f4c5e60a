"""The gateway's /metrics, on DOCKBACK_METRICS_PORT (never on the API port), scraped from the real
process: HTTP latency by route template, and the jobs its recorder saw end. (Sync: the gateway
harness migrates the database with asyncio.run.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from harness.gateway_process import run_gateway
from harness.processes import free_port
from harness.scrape import until_scraped, value


async def announce(nats_url: str, *events: ev.Event) -> None:
    client = await nats.connect(nats_url)
    try:
        for event in events:
            await client.jetstream().publish(
                subjects.subject_for(event),
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": subjects.message_id(event)},
            )
    finally:
        await client.close()


def test_requests_and_recorded_job_ends_move_the_gateway_metrics(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    port = free_port()
    plan_id = uuid.uuid4()
    finished_at = datetime(2026, 11, 26, 3, 0, 5, tzinfo=UTC)
    succeeded = ev.JobSucceeded(
        job_id=uuid.uuid4(), host_id="h1", kind="backup", plan_id=plan_id, finished_at=finished_at
    )
    failed = ev.JobFailed(
        job_id=uuid.uuid4(), host_id="h1", kind="restore", phase="restore", reason="disk full", retryable=False
    )
    with run_gateway(
        database_url, nats_url, tmp_path, DOCKBACK_METRICS_PORT=str(port), DOCKBACK_METRICS_LAG_INTERVAL_SECONDS="0.2"
    ) as gateway:
        with httpx.Client(base_url=gateway.url) as client:
            assert client.get("/health").status_code == 200
            for _ in range(2):
                assert client.get(f"/jobs/{uuid.uuid4()}").status_code == 401
            assert client.get("/metrics").status_code == 404  # not on the public API port
        asyncio.run(announce(nats_url, succeeded, failed))

        recorder = streams.gateway_recorder_consumer()

        def recorded(samples: dict) -> bool:  # type: ignore[type-arg]
            # the job counters move as the recorder handles the events, the lag gauge at its next
            # sample after the acks (every 0.2 s): wait for both, not for the first
            return (
                value(samples, "dockback_jobs_total", service="gateway", kind="backup", outcome="succeeded") == 1
                and value(samples, "dockback_jobs_total", service="gateway", kind="restore", outcome="failed") == 1
                and value(
                    samples, "dockback_consumer_pending_messages", stream=recorder.stream, consumer=recorder.durable
                )
                == 0
            )

        samples = asyncio.run(until_scraped(port, recorded))

    def requests(route: str, status: str) -> float | None:
        return value(samples, "dockback_http_request_duration_seconds_count", method="GET", route=route, status=status)

    assert requests("/health", "200") == 1
    assert requests("/jobs/{job_id}", "401") == 2  # by template: one series for every job id
    assert requests("unmatched", "404") == 1
    last = value(samples, "dockback_last_successful_backup_timestamp_seconds", plan_id=str(plan_id))
    assert last == finished_at.timestamp()
    recorder = streams.gateway_recorder_consumer()
    assert value(samples, "dockback_consumer_pending_messages", stream=recorder.stream, consumer=recorder.durable) == 0
