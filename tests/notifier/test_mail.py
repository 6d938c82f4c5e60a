"""Alert mail over real SMTP sessions: STARTTLS, implicit TLS, authentication, content."""

from __future__ import annotations

from nats.aio.client import Client

from dockback_contracts import events as ev
from harness.smtp_server import SMTP_USER, StartSmtp
from notifier.conftest import (
    HOST_ID,
    PLAN_NAME,
    SMTP_PASSWORD,
    UI,
    StartNotifier,
    job_failed,
    publish,
    put_settings,
    settled,
    smtp_settings,
)


async def test_a_failed_job_sends_one_mail_over_starttls_with_login_naming_everything(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("starttls", password=SMTP_PASSWORD)
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)
    failed = job_failed()

    seq = await publish(nc, failed)
    [mail] = await smtp.wait_for(1)
    await settled(nc, ev.JobFailed, seq)

    message = mail.message
    text = mail.text
    html = mail.html
    assert len(smtp.messages) == 1
    assert mail.authenticated_as == SMTP_USER
    assert mail.rcpt_tos == ["ops@example.test", "oncall@example.test"]
    assert message["Subject"] == f"[DockBack] backup of volume pgdata on host {HOST_ID} failed"
    assert message.get_content_type() == "multipart/alternative"
    for body in (text, html):
        assert HOST_ID in body
        assert PLAN_NAME in body
        assert "volume pgdata" in body
        assert "upload" in body
        assert "bucket dockback-offsite does not exist" in body
        assert f"{UI}/jobs/{failed.job_id}" in body
    assert "Retryable: no" in " ".join(text.split())


async def test_a_failed_verification_is_mailed_over_implicit_tls(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("tls", password=SMTP_PASSWORD)
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)

    await publish(nc, job_failed(kind="verify", phase="verify", reason="sha256 mismatch", retryable=True))
    [mail] = await smtp.wait_for(1)

    assert mail.message["Subject"] == f"[DockBack] verification of volume pgdata on host {HOST_ID} failed"
    assert "sha256 mismatch" in mail.text


async def test_a_plain_server_without_login_gets_the_mail(
    nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp, start_notifier: StartNotifier
) -> None:
    smtp = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(smtp, settings_key))
    await start_notifier(smtp)

    await publish(nc, job_failed(plan_id=None))
    [mail] = await smtp.wait_for(1)

    assert mail.authenticated_as is None
    assert "a manual job" in mail.text
