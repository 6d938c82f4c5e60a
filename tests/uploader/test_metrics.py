"""The uploader's /metrics (DOCKBACK_METRICS_PORT), scraped from the real process after real uploads."""

from __future__ import annotations

from pathlib import Path

from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.snapshots import S3Target
from harness.processes import free_port
from harness.scrape import until_scraped, value
from uploader.conftest import HOST_ID, DataDir, Heard, archive_created, publish, upload_end
from uploader.processes import StartUploader, start_uploader, until_ready

__all__ = ["start_uploader"]  # the fixture


async def test_uploads_move_the_job_byte_and_lag_metrics(
    nc: Client,
    heard: Heard,
    data_dir: DataDir,
    target: S3Target,
    start_uploader: StartUploader,
    tmp_path: Path,
) -> None:
    port = free_port()
    start_uploader(DOCKBACK_METRICS_PORT=str(port), DOCKBACK_METRICS_LAG_INTERVAL_SECONDS="0.2")
    await until_ready(tmp_path / "uploader-0.log")
    ok = archive_created(data_dir.archive(data=b"x" * 123_456))
    unknown_target = archive_created(data_dir.archive(), targets=("nowhere",))
    await publish(nc, ok)
    await publish(nc, unknown_target)
    assert isinstance(await upload_end(heard, ok.job_id), ev.UploadCompleted)
    assert isinstance(await upload_end(heard, unknown_target.job_id), ev.JobFailed)

    spec = streams.uploader_archive_consumer(HOST_ID)
    stream, durable = spec.stream, spec.durable
    uploads = {"service": "uploader", "kind": "backup"}

    def settled(samples: dict) -> bool:  # type: ignore[type-arg]
        return (
            value(samples, "dockback_jobs_total", **uploads, outcome="succeeded") == 1
            and value(samples, "dockback_jobs_total", **uploads, outcome="failed") == 1
            and value(samples, "dockback_consumer_ack_pending_messages", stream=stream, consumer=durable) == 0
        )

    samples = await until_scraped(port, settled)
    assert value(samples, "dockback_uploaded_bytes_total") == 123_456
    assert value(samples, "dockback_job_duration_seconds_count", **uploads, outcome="succeeded") == 1
    assert value(samples, "dockback_consumer_pending_messages", stream=stream, consumer=durable) == 0
