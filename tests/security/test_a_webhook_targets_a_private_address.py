"""An admin session points a webhook (and the SMTP server) at addresses inside DockBack's own
network (a service on loopback, the cloud metadata address, a LAN host) and presses Test, to
make the notifier reach them or to learn from the answers which internal hosts exist and
listen. With private targets not allowed (the default), the real notifier refuses before
connecting: the server listening there receives nothing, and the refusal reads the same for
a host that answers, a port where nothing listens and a name that does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from aiohttp import web
from gateway.conftest import Gateway, logged_in_admin
from notifier.conftest import NotifierRunner

from harness.processes import free_port
from harness.smtp_server import StartSmtp


@dataclass
class InternalService:
    """An HTTP service on loopback, as the database or a Docker socket proxy would be."""

    port: int = 0
    received: list[str] = field(default_factory=list)


@pytest_asyncio.fixture
async def internal_service() -> AsyncIterator[InternalService]:
    service = InternalService()

    async def record(request: web.Request) -> web.Response:
        service.received.append(request.path)
        return web.Response(text="internal data")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield service
    finally:
        await runner.cleanup()


async def test_a_webhook_targets_a_private_address(
    gateway: Gateway, internal_service: InternalService, smtp_server_factory: StartSmtp
) -> None:
    port = internal_service.port
    mail = smtp_server_factory("none")
    urls = {
        "listening": f"http://127.0.0.1:{port}/admin",
        "closed": f"http://127.0.0.1:{free_port()}/admin",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "lan": "http://10.255.255.1:8080/",
        "missing": "http://no-such-host.invalid/",
    }
    notifiers = NotifierRunner(gateway.settings.nats_url, gateway.settings.settings_key_file)
    await notifiers(allow_private_targets=False)
    try:
        async with logged_in_admin(gateway) as admin:
            details = {}
            for name, url in urls.items():
                assert (
                    await admin.post("/settings/webhooks", json={"webhook_id": name, "url": url})
                ).status_code == 201
                checked = await admin.post(f"/settings/webhooks/{name}/test")
                assert checked.status_code == 200, checked.text
                assert checked.json()["ok"] is False
                details[name] = checked.json()["detail"]
            smtp = {
                "host": mail.host,
                "port": mail.port,
                "security": "none",
                "from_address": "dockback@example.test",
                "recipients": ["ops@example.test"],
            }
            assert (await admin.put("/settings/smtp", json=smtp)).status_code == 200
            smtp_checked = (await admin.post("/settings/smtp/test")).json()
    finally:
        await notifiers.stop_all()

    assert internal_service.received == [], "nothing reached the internal service"
    assert mail.messages == []
    assert smtp_checked["ok"] is False
    assert "DOCKBACK_ALLOW_PRIVATE_TARGETS=true" in smtp_checked["detail"]
    # one answer for all: no hint which internal host exists or listens, or on which port
    hosts = {"listening": "127.0.0.1", "closed": "127.0.0.1", "metadata": "169.254.169.254", "lan": "10.255.255.1"}
    hosts["missing"] = "no-such-host.invalid"
    anonymous = {details[name].replace(hosts[name], "HOST").replace(name, "NAME") for name in urls}
    assert len(anonymous) == 1, details
    (words,) = anonymous
    assert "DOCKBACK_ALLOW_PRIVATE_TARGETS=true" in words
    assert str(port) not in words
