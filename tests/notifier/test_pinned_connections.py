"""With private targets not allowed, the SMTP and webhook channels connect to the address the
outbound policy checked, and still speak to the host by name: the SMTP server's certificate is
verified for the name, the webhook gets the name in its Host header. The servers are on
loopback, so a policy that checks like the real one but takes 127.0.0.1 as the public address
of `localhost` stands in for public DNS."""

from __future__ import annotations

from dockback_contracts import snapshots
from dockback_notifier import alerts
from dockback_notifier.mail import SmtpChannel
from dockback_notifier.webhooks import WebhookChannel
from dockback_runtime.outbound import OutboundPolicy
from harness.smtp_server import SMTP_USER, StartSmtp
from notifier.conftest import SMTP_PASSWORD, UI, WebhookReceiver, job_failed


class LocalhostIsPublic(OutboundPolicy):
    """Resolves `localhost` (only) to 127.0.0.1 as if that were a checked public address."""

    def __init__(self) -> None:
        super().__init__(allow_private=False)
        self.asked: list[str] = []

    async def addresses(self, host: str, port: int, *, what: str) -> list[str]:
        self.asked.append(host)
        if host == "localhost":
            return ["127.0.0.1"]
        return await super().addresses(host, port, what=what)


def an_alert() -> list[alerts.Alert]:
    return [alerts.job_failed(job_failed(), "nightly", UI)]


async def test_smtp_over_starttls_goes_to_the_checked_address_and_verifies_the_name(
    smtp_server_factory: StartSmtp,
) -> None:
    smtp = smtp_server_factory("starttls", password=SMTP_PASSWORD)
    assert smtp.certificate is not None
    policy = LocalhostIsPublic()
    config = snapshots.SmtpSettings(
        host="localhost",
        port=smtp.port,
        security="starttls",
        username=SMTP_USER,
        from_address="dockback@example.test",
        recipients=("ops@example.test",),
    )
    channel = SmtpChannel(
        config, SMTP_PASSWORD, window_seconds=60, timeout=5, ca_file=smtp.certificate.cert_file, policy=policy
    )
    await channel.send(an_alert())
    (mail,) = await smtp.wait_for(1)
    assert mail.authenticated_as == SMTP_USER
    assert policy.asked == ["localhost"]


async def test_a_webhook_goes_to_the_checked_address_with_the_name_as_host(receiver: WebhookReceiver) -> None:
    policy = LocalhostIsPublic()
    url = receiver.url.replace("127.0.0.1", "localhost")
    config = snapshots.Webhook.model_construct(webhook_id="ops", slack_format=False)
    channel = WebhookChannel(config, url, None, window_seconds=60, timeout=5, policy=policy)
    await channel.send(an_alert())
    (request,) = await receiver.wait_for(1)
    port = url.split(":")[2].split("/")[0]
    assert request.headers["Host"] == f"localhost:{port}"
    assert policy.asked == ["localhost"]
