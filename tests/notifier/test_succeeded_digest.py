"""Succeeded-job digests: collected per channel that asked for them, one digest per window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from nats.aio.client import Client

from dockback_contracts import events as ev
from harness.smtp_server import StartSmtp
from notifier.conftest import (
    HOST_ID,
    PGDATA,
    PLAN_ID,
    PLAN_NAME,
    StartNotifier,
    WebhookReceiver,
    job_failed,
    publish,
    put_settings,
    settled,
    smtp_settings,
    webhook,
)


def job_succeeded(**overrides: Any) -> ev.JobSucceeded:
    values: dict[str, Any] = {
        "job_id": uuid4(),
        "host_id": HOST_ID,
        "kind": "backup",
        "plan_id": PLAN_ID,
        "resource": PGDATA,
        "bytes": 3 * 1024 * 1024,
        "finished_at": datetime.now(UTC),
    }
    values.update(overrides)
    return ev.JobSucceeded(**values)


async def test_two_succeeded_jobs_within_the_window_make_one_digest_mail_naming_both(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key, succeeded_digest=True))
    notifier = await start_notifier(smtp, succeeded_digest_seconds=1.0)
    first = job_succeeded()
    second = job_succeeded(resource=ev.ResourceRef(kind="volume", name="uploads"), bytes=2048)

    await publish(nc, first)
    seq = await publish(nc, second)
    [mail] = await smtp.wait_for(1)
    await settled(nc, ev.JobSucceeded, seq)
    await notifier.succeeded_digests.quiet()  # the next window passed without a second mail

    assert len(smtp.messages) == 1
    assert mail.message["Subject"] == "[DockBack] 2 jobs succeeded in the last second"
    text = mail.text
    for expected in (HOST_ID, PLAN_NAME, "volume pgdata", "3.0 MiB", "volume uploads", "2.0 KiB"):
        assert expected in text
    assert str(first.job_id) in text
    assert str(second.job_id) in text


async def test_a_channel_without_the_flag_gets_no_digest_and_failures_stay_apart(
    nc: Client,
    settings_key: bytes,
    smtp_server_factory: StartSmtp,
    start_notifier: StartNotifier,
    receiver: WebhookReceiver,
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(
        nc,
        smtp=smtp_settings(smtp, settings_key, succeeded_digest=True),
        webhooks=(webhook("ops", receiver.url, settings_key),),
    )
    notifier = await start_notifier(smtp, succeeded_digest_seconds=1.0)

    succeeded_seq = await publish(nc, job_succeeded())
    failed_seq = await publish(nc, job_failed())
    await receiver.wait_for(1)
    mails = await smtp.wait_for(2)
    await settled(nc, ev.JobSucceeded, succeeded_seq)
    await settled(nc, ev.JobFailed, failed_seq)
    await notifier.succeeded_digests.quiet()
    await notifier.dispatcher.quiet()

    [hook] = receiver.requests
    assert b"succeeded" not in hook.body
    subjects = sorted(m.message["Subject"] for m in mails)
    assert len(smtp.messages) == 2
    assert subjects == [
        "[DockBack] 1 job succeeded in the last second",
        f"[DockBack] backup of volume pgdata on host {HOST_ID} failed",
    ]


async def test_no_digest_goes_out_when_no_channel_asked_for_one(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    notifier = await start_notifier(smtp, succeeded_digest_seconds=0.5)

    seq = await publish(nc, job_succeeded())
    await settled(nc, ev.JobSucceeded, seq)  # acked: nothing is held for a digest

    assert notifier.succeeded_digests.gates == {}  # no window was opened
    assert smtp.messages == []
