""" "Test" pressed right after "Save" on the settings page, against the real uploader and
notifier (processes, as `make up` runs them), a real S3 server and a real SMTP server.

The gateway publishes a change to the services after it has committed, so the check can
reach them before the new settings do; it must still test what the user has just saved. (A
target check carries the target as saved, sealed to the uploader of the host it is checked
from; an SMTP check waits for the settings revision it names.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from gateway.conftest import Gateway, logged_in_admin

from e2e.conftest import HOST_ID, Services
from harness.processes import free_port
from harness.s3_server import S3Bucket
from harness.smtp_server import StartSmtp


def says_ready(log: Path) -> bool:
    return log.exists() and b" ready " in log.read_bytes()


async def until_ready(log: Path) -> None:
    """Until the service's log says it listens (it is a process: its log is all we see)."""
    async with asyncio.timeout(30):
        while not await asyncio.to_thread(says_ready, log):  # noqa: ASYNC110 - a file: polled
            await asyncio.sleep(0.05)


async def test_an_s3_target_and_smtp_are_tested_right_after_they_are_saved(
    gateway: Gateway, services: Services, s3: S3Bucket, smtp_server_factory: StartSmtp
) -> None:
    mail = smtp_server_factory()
    services.start("uploader", "dockback_uploader")
    services.start("notifier", "dockback_notifier")
    try:
        await until_ready(services.workdir / "uploader.log")
        await until_ready(services.workdir / "notifier.log")
        async with logged_in_admin(gateway) as client:
            saved = await client.post(
                "/settings/targets",
                json={
                    "target_id": "offsite",
                    "endpoint": s3.endpoint,
                    "secure": False,
                    "region": "us-east-1",
                    "bucket": s3.name,
                    "access_key": s3.access_key,
                    "secret_key": s3.secret_key,
                },
            )
            assert saved.status_code == 201, saved.text
            # two hosts have registered (the gateway fixture's host-a, and this one) and no plan uses
            # the target yet: the admin names the host to check from
            target = await client.post("/settings/targets/offsite/test", params={"host_id": HOST_ID})

            saved = await client.put(
                "/settings/smtp",
                json={
                    "host": mail.host,
                    "port": mail.port,
                    "security": "none",
                    "from_address": "dockback@example.test",
                    "recipients": ["ops@example.test"],
                },
            )
            assert saved.status_code == 200, saved.text
            smtp = await client.post("/settings/smtp/test")

        assert target.status_code == 200, target.text
        assert target.json()["ok"] is True, target.json()
        assert s3.name in target.json()["detail"]
        assert smtp.status_code == 200, smtp.text
        assert smtp.json()["ok"] is True, smtp.json()
        (sent,) = await mail.wait_for(1, within=10)
        assert sent.message["Subject"] == "[DockBack] test alert from DockBack"
    except BaseException:
        print(services.logs())
        raise


async def test_smtp_and_a_webhook_are_tested_as_typed_before_they_are_saved(
    gateway: Gateway, services: Services, smtp_server_factory: StartSmtp
) -> None:
    """The Test button of a settings form sends the values in the form; nothing is saved, and a
    password left blank is the stored one only for the server it was saved for."""
    mail = smtp_server_factory()
    received: list[bytes] = []
    hook_arrived = asyncio.Event()

    async def on_post(request: web.Request) -> web.Response:
        received.append(await request.read())
        hook_arrived.set()
        return web.Response(status=204)

    hooks = web.Application()
    hooks.router.add_post("/hooks/dockback", on_post)
    runner = web.AppRunner(hooks)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hooks/dockback"  # type: ignore[union-attr]
    services.start("notifier", "dockback_notifier")
    try:
        await until_ready(services.workdir / "notifier.log")
        typed = {
            "host": mail.host,
            "port": mail.port,
            "security": "none",
            "from_address": "dockback@example.test",
            "recipients": ["typed@example.test"],
        }
        async with logged_in_admin(gateway) as client:
            smtp = await client.post("/settings/smtp/test", json=typed)
            wrong_port = await client.post("/settings/smtp/test", json={**typed, "port": free_port()})
            hook = await client.post("/settings/webhooks/test", json={"webhook_id": "chat", "url": hook_url})
            settings = (await client.get("/settings")).json()

        assert smtp.status_code == 200, smtp.text
        assert smtp.json()["ok"] is True, smtp.json()
        (sent,) = await mail.wait_for(1, within=10)
        assert sent.message["To"] == "typed@example.test"
        assert wrong_port.status_code == 200, wrong_port.text
        assert wrong_port.json()["ok"] is False
        assert mail.host in wrong_port.json()["detail"]
        assert hook.status_code == 200, hook.text
        assert hook.json()["ok"] is True, hook.json()
        async with asyncio.timeout(10):
            await hook_arrived.wait()
        assert b"test alert from DockBack" in received[0]
        assert settings["smtp"] is None
        assert settings["webhooks"] == []
    except BaseException:
        print(services.logs())
        raise
    finally:
        await runner.cleanup()
