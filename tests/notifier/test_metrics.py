"""The notifier's /metrics (DOCKBACK_METRICS_PORT), scraped from the real process after real sends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams
from harness.processes import free_port
from harness.scrape import until_scraped, value
from harness.smtp_server import StartSmtp
from notifier.conftest import WebhookReceiver, job_failed, publish, put_settings, smtp_settings, webhook


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def notifier_process(
    nats_url: str, settings_key: bytes, tmp_path: Path, metrics_port: int
) -> Iterator[subprocess.Popen[bytes]]:
    key_file = tmp_path / "settings.key"
    key_file.write_text(settings_key.hex())
    env = {
        **os.environ,
        "DOCKBACK_NATS_URL": nats_url,
        "DOCKBACK_SETTINGS_KEY_FILE": str(key_file),
        "DOCKBACK_DELIVERY_RETRY_DELAYS_SECONDS": "[0.1]",
        "DOCKBACK_METRICS_PORT": str(metrics_port),
        "DOCKBACK_METRICS_LAG_INTERVAL_SECONDS": "0.2",
    }
    with open(tmp_path / "notifier.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "dockback_notifier"], env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_sent_and_failed_alerts_move_the_notification_metrics(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    receiver: WebhookReceiver,
    notifier_process: subprocess.Popen[bytes],
    metrics_port: int,
) -> None:
    smtp = smtp_server_factory("none")
    receiver.status = 500  # the webhook keeps failing: one retry, then given up
    await put_settings(
        nc, smtp=smtp_settings(smtp, settings_key), webhooks=(webhook("hook1", receiver.url, settings_key),)
    )
    await publish(nc, job_failed())
    await smtp.wait_for(1, within=30)
    await receiver.wait_for(2, within=30)

    durable = streams.notifier_consumer(ev.JobFailed).durable

    def counted(samples: dict) -> bool:  # type: ignore[type-arg]
        return (
            value(samples, "dockback_notifications_total", channel="smtp", outcome="sent") == 1
            and value(samples, "dockback_notifications_total", channel="webhook", outcome="failed") == 1
        )

    samples = await until_scraped(metrics_port, counted)
    assert value(samples, "dockback_notifications_total", channel="webhook", outcome="retried") == 1
    assert value(samples, "dockback_notifications_total", channel="webhook", outcome="sent") is None
    stream = streams.notifier_consumer(ev.JobFailed).stream
    assert value(samples, "dockback_consumer_pending_messages", stream=stream, consumer=durable) == 0
