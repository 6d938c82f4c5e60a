"""The notifier as a whole: missed runs, plan names, settings changes, secrets kept out of logs."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.control import CheckChannel
from dockback_notifier.app import Notifier
from harness.smtp_server import StartSmtp
from notifier.conftest import (
    HOST_ID,
    PLAN_ID,
    PLAN_NAME,
    SIGNING_SECRET,
    SMTP_PASSWORD,
    StartNotifier,
    WebhookReceiver,
    job_failed,
    publish,
    put_settings,
    settled,
    smtp_settings,
    webhook,
)


async def test_a_missed_run_is_mailed_with_the_plan_name_from_the_plans_bucket(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)
    slot = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    missed = ev.RunMissed(
        host_id=HOST_ID, plan_id=PLAN_ID, scheduled_for=slot, missed_slots=3, last_scheduled_for=slot + timedelta(2)
    )

    seq = await publish(nc, missed)
    [mail] = await smtp.wait_for(1)
    await settled(nc, ev.RunMissed, seq)

    text = mail.text
    assert mail.message["Subject"] == f"[DockBack] plan {PLAN_NAME} on host {HOST_ID} missed 3 runs"
    assert slot.isoformat() in text
    assert missed.reason in text


async def test_a_settings_change_reaches_the_running_notifier(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    await put_settings(nc)
    notifier = await start_notifier()
    smtp = smtp_server_factory("none")

    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await notifier_sees(notifier, "smtp")
    await publish(nc, job_failed())

    assert len(await smtp.wait_for(1)) == 1


async def test_secrets_never_reach_the_log(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    receiver: WebhookReceiver,
    start_notifier: StartNotifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = smtp_server_factory("starttls", password=SMTP_PASSWORD)
    await put_settings(
        nc, smtp=smtp_settings(smtp, settings_key), webhooks=(webhook("ops", receiver.url, settings_key),)
    )
    await start_notifier(smtp, delivery_retry_delays_seconds=[0.1])
    receiver.status = 500  # failures are logged too

    seq = await publish(nc, job_failed())
    await smtp.wait_for(1)
    await settled(nc, ev.JobFailed, seq)
    reply = await nc.request(
        subjects.CHECK_CHANNEL, CheckChannel(channel="smtp", requested_by="admin").model_dump_json().encode(), 15
    )

    assert b'"ok":true' in reply.data
    assert any("giving up" in r.getMessage() for r in caplog.records)
    assert SMTP_PASSWORD not in caplog.text
    assert SIGNING_SECRET not in caplog.text


async def notifier_sees(notifier: Notifier, channel: str) -> None:
    """Until the running notifier has the channel from the settings snapshot."""
    async with asyncio.timeout(10):
        while channel not in notifier.channels.channel_names():  # noqa: ASYNC110 - in-process state: polled
            await asyncio.sleep(0.02)


async def test_a_malformed_alert_message_is_terminated_not_redelivered(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)

    ack = await nc.jetstream().publish(subjects.fact(ev.JobFailed, HOST_ID), b'{"type": "job_failed.v1"}')
    await settled(nc, ev.JobFailed, ack.seq)  # ack_wait is 60 s: only a terminated message settles this soon
    await publish(nc, job_failed())

    assert len(await smtp.wait_for(1)) == 1


async def test_the_notifier_starts_before_any_settings_exist_and_follows_them(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    notifier = await start_notifier()  # the gateway has not published settings yet
    smtp = smtp_server_factory("none")

    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await notifier_sees(notifier, "smtp")
    await publish(nc, job_failed())

    assert len(await smtp.wait_for(1)) == 1
