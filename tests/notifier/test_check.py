"""The "send test" of the API: CheckChannel over core-NATS request/reply."""

from __future__ import annotations

from nats.aio.client import Client

from dockback_contracts import subjects
from dockback_contracts.control import CheckChannel, CheckResult
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
    assert result.detail == "webhook ops answered HTTP 500"
    assert SIGNING_SECRET not in result.detail
    assert len(receiver.requests) == 1


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
