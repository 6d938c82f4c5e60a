"""The "send test" of the API: CheckChannel over core-NATS request/reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from nats.aio.client import Client
from nats.aio.msg import Msg

from dockback_contracts import subjects
from dockback_contracts.control import CheckChannel, CheckResult
from dockback_notifier.check import ChannelCheck
from harness.processes import free_port
from harness.smtp_server import StartSmtp
from notifier.conftest import (
    SIGNING_SECRET,
    SMTP_PASSWORD,
    StartNotifier,
    WebhookReceiver,
    put_settings,
    smtp_settings,
    webhook,
)


async def check(nc: Client, request: CheckChannel) -> CheckResult:
    reply = await nc.request(subjects.CHECK_CHANNEL, request.model_dump_json().encode(), timeout=15)
    return CheckResult.model_validate_json(reply.data)


@asynccontextmanager
async def check_sent(nc: Client, request: CheckChannel) -> AsyncIterator[asyncio.Task[CheckResult]]:
    """A check in flight: entered once the nats-server has routed it (to the notifier, and
    to a listener of our own on the subject); the task gives the answer."""
    routed = asyncio.Event()

    async def seen(_msg: Msg) -> None:
        routed.set()

    listener = await nc.subscribe(subjects.CHECK_CHANNEL, cb=seen)
    try:
        asked = asyncio.create_task(check(nc, request))
        async with asyncio.timeout(10):
            await routed.wait()
        yield asked
    finally:
        await listener.unsubscribe()


async def test_checking_smtp_sends_a_test_mail(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("starttls", password=SMTP_PASSWORD)
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp, instance_name="notifier-1")

    result = await check(nc, CheckChannel(channel="smtp", requested_by="admin"))
    [mail] = await smtp.wait_for(1)

    assert result.ok is True
    assert result.answered_by == "notifier-1"
    assert "SMTP 127.0.0.1" in result.detail
    assert mail.message["Subject"] == "[DockBack] test alert from DockBack"


async def test_checking_smtp_with_a_wrong_password_says_so_without_the_password(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("starttls", password=SMTP_PASSWORD)
    wrong = "not-the-password-4Xw"
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key, password=wrong))
    await start_notifier(smtp)

    result = await check(nc, CheckChannel(channel="smtp", requested_by="admin"))

    assert result.ok is False
    assert "refused the login" in result.detail
    assert wrong not in result.detail
    assert smtp.messages == []


async def test_checking_a_webhook_that_answers_500_fails(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),))
    await start_notifier()
    receiver.status = 500

    result = await check(nc, CheckChannel(channel="webhook", webhook_id="ops", requested_by="admin"))

    assert result.ok is False
    host = urlsplit(receiver.url).netloc
    assert result.detail == f"webhook ops at {host} answered HTTP 500 Internal Server Error"
    assert SIGNING_SECRET not in result.detail
    assert len(receiver.requests) == 1


async def test_checking_a_webhook_nobody_listens_on_names_its_host_and_why_never_its_token(
    nc: Client, settings_key: bytes, start_notifier: StartNotifier
) -> None:
    port = free_port()  # nothing listens there
    token = "T000-secret-token-in-the-path"
    url = f"http://127.0.0.1:{port}/services/{token}?key={token}"
    await put_settings(nc, webhooks=(webhook("ops", url, settings_key),))
    await start_notifier()

    result = await check(nc, CheckChannel(channel="webhook", webhook_id="ops", requested_by="admin"))

    assert result.ok is False
    assert result.detail.startswith(f"cannot reach webhook ops at 127.0.0.1:{port}: ")
    assert result.detail != f"cannot reach webhook ops at 127.0.0.1:{port}: ConnectError"  # the reason, in words
    assert token not in result.detail


async def test_checking_a_webhook_that_answers_200_succeeds(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),))
    await start_notifier()

    result = await check(nc, CheckChannel(channel="webhook", webhook_id="ops", requested_by="admin"))

    assert result.ok is True
    assert len(receiver.requests) == 1


async def test_checking_an_unknown_webhook_says_it_is_not_configured(nc: Client, start_notifier: StartNotifier) -> None:
    await put_settings(nc)
    await start_notifier()

    result = await check(nc, CheckChannel(channel="webhook", webhook_id="nope", requested_by="admin"))

    assert result.ok is False
    assert "not configured" in result.detail


async def test_checking_smtp_saved_just_now_waits_for_those_settings(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    """The gateway publishes settings after saving them: "Test" pressed right after "Save"
    reaches the notifier first, and must test what was saved."""
    smtp = smtp_server_factory("starttls", password=SMTP_PASSWORD)
    await put_settings(nc, revision=1)
    await start_notifier(smtp)

    async with check_sent(nc, CheckChannel(channel="smtp", requested_by="admin", settings_revision=2)) as asked:
        await put_settings(nc, smtp=smtp_settings(smtp, settings_key), revision=2)
        result = await asked

    assert result.ok is True, result.detail
    [mail] = await smtp.wait_for(1)
    assert mail.message["Subject"] == "[DockBack] test alert from DockBack"


async def test_checking_a_webhook_saved_just_now_waits_for_those_settings(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, revision=4)
    await start_notifier()
    request = CheckChannel(channel="webhook", webhook_id="ops", requested_by="admin", settings_revision=5)

    async with check_sent(nc, request) as asked:
        await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),), revision=5)
        result = await asked

    assert result.ok is True, result.detail
    assert len(receiver.requests) == 1


async def test_a_revision_that_never_arrives_is_answered_within_the_bound_and_says_so(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),), revision=1)
    notifier = await start_notifier()
    checks = ChannelCheck(notifier.channels, answered_by="notifier-1", snapshot_wait=0.5)
    request = CheckChannel(channel="webhook", webhook_id="ops", requested_by="admin", settings_revision=3)

    async with asyncio.timeout(5):
        result = await checks.run(request)

    assert result.ok is False
    assert "revision 3 did not reach this notifier within 0.5 s (it has revision 1)" in result.detail
    assert receiver.requests == [], "nothing is sent with settings older than those to check"


async def test_a_revision_the_watch_fell_behind_on_is_read_from_the_bucket(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    """A watch can fall behind (an ordered consumer that is reset skips ahead): the check reads
    the snapshot's key itself rather than answer that the saved settings never arrived."""
    await put_settings(nc, revision=1)
    notifier = await start_notifier()
    [watch] = [task for task in asyncio.all_tasks() if task.get_name() == "settings-watch"]
    watch.cancel()  # the watch brings nothing more
    await asyncio.wait([watch])
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),), revision=2)
    checks = ChannelCheck(notifier.channels, answered_by="notifier-1", snapshot_wait=5)
    request = CheckChannel(channel="webhook", webhook_id="ops", requested_by="admin", settings_revision=2)

    result = await checks.run(request)

    assert result.ok is True, result.detail
    assert notifier.channels.revision == 2
    assert len(receiver.requests) == 1
