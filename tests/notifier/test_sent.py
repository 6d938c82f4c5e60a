"""The record of sent alerts outlives a notifier and is shared by all of them: an alert is mailed
once across restarts and racing notifiers, and an unreachable record lets alerts through."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nats.aio.client import Client

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_notifier.sent import Delivery, SentAlerts
from harness.smtp_server import StartSmtp
from notifier.conftest import NotifierRunner, job_failed, publish, put_settings, settled, smtp_settings


def sent_alerts(nc: Client, name: str) -> SentAlerts:
    return SentAlerts(nc.jetstream, instance_name=name)


async def test_an_alert_mailed_before_a_restart_is_not_mailed_again(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: NotifierRunner
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    first = await start_notifier(smtp, instance_name="notifier-1")
    failed = job_failed()

    seq = await publish(nc, failed, message_id="first")
    await smtp.wait_for(1)
    await settled(nc, ev.JobFailed, seq)
    await start_notifier.stop(first)
    await start_notifier(smtp, instance_name="notifier-2")  # a restart, or another replica: nothing in memory
    seq = await publish(nc, failed, message_id="second")  # a new Nats-Msg-Id: JetStream stores it again
    await settled(nc, ev.JobFailed, seq)

    assert len(smtp.messages) == 1


async def test_two_notifiers_racing_for_the_same_alerts_take_each_once(nc: Client) -> None:
    one, two = sent_alerts(nc, "notifier-1"), sent_alerts(nc, "notifier-2")
    keys = [f"failed:{n}" for n in range(20)]

    # two copies of each alert (stream sequences n and 100 + n), one for each notifier, at once
    tickets = await asyncio.gather(
        *(one.claim("smtp", key, Delivery(n, 1)) for n, key in enumerate(keys)),
        *(two.claim("smtp", key, Delivery(100 + n, 1)) for n, key in enumerate(keys)),
    )

    assert all(ticket is None or ticket.revision is not None for ticket in tickets), "the bucket answered"
    taken = [ticket.alert_key for ticket in tickets if ticket is not None]
    assert sorted(taken) == sorted(keys), "each alert taken by exactly one notifier"
    # each channel has its own record
    assert await one.claim("webhook:ops", keys[0], Delivery(0, 1)) is not None


async def test_an_alert_taken_by_a_notifier_that_stopped_is_sent_by_its_messages_redelivery(nc: Client) -> None:
    crashed, one, two = sent_alerts(nc, "crashed"), sent_alerts(nc, "notifier-1"), sent_alerts(nc, "notifier-2")
    assert await crashed.claim("smtp", "failed:a", Delivery(7, 1)) is not None  # then it died before sending

    assert await one.claim("smtp", "failed:a", Delivery(8, 1)) is None, "another copy while it may be sending: dropped"
    # the crashed one's message, redelivered: taken over, by one notifier even when two race for it
    redelivered = Delivery(7, 2)
    tickets = await asyncio.gather(
        one.claim("smtp", "failed:a", redelivered), two.claim("smtp", "failed:a", redelivered)
    )
    taken = [ticket for ticket in tickets if ticket is not None]
    assert len(taken) == 1
    await one.settle(taken[0])  # sent
    assert await one.claim("smtp", "failed:a", Delivery(7, 3)) is None, "done: even its own message is a duplicate"


async def test_a_released_alert_is_taken_again(nc: Client) -> None:
    one, two = sent_alerts(nc, "notifier-1"), sent_alerts(nc, "notifier-2")
    ticket = await one.claim("smtp", "missed:p:1", Delivery(3, 1))
    assert ticket is not None
    await one.release(ticket)  # a shutdown interrupted the send

    assert await two.claim("smtp", "missed:p:1", Delivery(4, 1)) is not None


async def test_without_the_bucket_alerts_are_mailed_and_the_gap_is_logged(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    start_notifier: NotifierRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await nc.jetstream().delete_key_value(streams.ALERTS_SENT_BUCKET)
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)

    seq = await publish(nc, job_failed(reason="bucket gone"))
    [mail] = await smtp.wait_for(1)
    await settled(nc, ev.JobFailed, seq)

    assert "bucket gone" in mail.text
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "unchecked" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert streams.ALERTS_SENT_BUCKET in warnings[0]
