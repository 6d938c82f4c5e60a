"""One alert per failed job and channel, floods folded into digests, delivery retried."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_notifier.app import Notifier
from harness.smtp_server import StartSmtp
from notifier.conftest import StartNotifier, job_failed, publish, put_settings, settled, smtp_settings


async def test_a_redelivered_failure_sends_no_second_mail(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)
    failed = job_failed()

    await publish(nc, failed, message_id="first")
    await smtp.wait_for(1)
    seq = await publish(nc, failed, message_id="second")  # a new Nats-Msg-Id: JetStream stores it again
    await settled(nc, ev.JobFailed, seq)

    assert len(smtp.messages) == 1


async def test_a_flood_gives_one_mail_at_once_and_one_digest(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp, digest_window_seconds=1.0)
    floods = [job_failed(reason=f"disk full #{n}") for n in range(12)]

    for failed in floods:
        seq = await publish(nc, failed)
    first, digest = await smtp.wait_for(2)
    await settled(nc, ev.JobFailed, seq)

    text = digest.text
    assert len(smtp.messages) == 2
    assert "disk full #0" in first.text
    assert digest.message["Subject"] == "[DockBack] 11 jobs failed in the last second"
    assert all(f"disk full #{n}" in text for n in range(1, 12))
    assert all(str(f.job_id) in text for f in floods[1:])


async def test_an_smtp_outage_is_retried_until_the_mail_goes_out(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    start_notifier: StartNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)
    smtp.stop()

    seq = await publish(nc, job_failed())
    async with asyncio.timeout(10):
        while not any("retrying in" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110 - a log: polled
            await asyncio.sleep(0.05)
    smtp.start()
    [mail] = await smtp.wait_for(1)
    await settled(nc, ev.JobFailed, seq)

    assert "backup of volume pgdata" in mail.message["Subject"]
    assert len(smtp.messages) == 1


async def test_an_outage_past_the_budget_is_logged_and_the_service_goes_on(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    start_notifier: StartNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp, delivery_retry_delays_seconds=[0.1, 0.1], digest_window_seconds=0.2)
    smtp.stop()

    seq = await publish(nc, job_failed(reason="lost"))
    await settled(nc, ev.JobFailed, seq)
    smtp.start()
    await publish(nc, job_failed(reason="after the outage"))
    [mail] = await smtp.wait_for(1)

    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name.startswith("dockback_notifier")]
    assert len(errors) == 1
    assert "giving up" in errors[0].getMessage()
    assert "after the outage" in mail.text


async def test_without_a_channel_alerts_are_acked_and_said_once(
    nc: Client, start_notifier: StartNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    await put_settings(nc)
    await start_notifier()

    await publish(nc, job_failed())
    seq = await publish(nc, job_failed())
    await settled(nc, ev.JobFailed, seq)

    assert sum("no alert channel is configured" in r.getMessage() for r in caplog.records) == 1


async def test_collected_alerts_are_sent_at_shutdown(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    notifier = await start_notifier(smtp, digest_window_seconds=600)

    await publish(nc, job_failed(reason="first"))
    await smtp.wait_for(1)
    seq = await publish(nc, job_failed(reason="collected"))
    await wait_collected(notifier, 1)
    notifier.stopped.set()
    _, digest = await smtp.wait_for(2)
    await settled(nc, ev.JobFailed, seq)

    assert "collected" in digest.text


async def wait_collected(notifier: Notifier, count: int) -> None:
    """Until the notifier's SMTP channel holds `count` alerts for its next digest."""
    async with asyncio.timeout(10):
        while len(notifier.dispatcher.gates["smtp"].pending) < count:  # noqa: ASYNC110 - in-process state
            await asyncio.sleep(0.02)


async def test_an_alert_undelivered_at_shutdown_comes_back_to_the_next_notifier(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    start_notifier: StartNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    first = await start_notifier(smtp, delivery_retry_delays_seconds=[30])
    smtp.stop()

    seq = await publish(nc, job_failed(reason="held at shutdown"))
    async with asyncio.timeout(10):
        while not any("retrying in" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110 - a log: polled
            await asyncio.sleep(0.05)
    first.stopped.set()
    smtp.start()
    await start_notifier(smtp)
    [mail] = await smtp.wait_for(1)
    await settled(nc, ev.JobFailed, seq)

    assert "held at shutdown" in mail.text
