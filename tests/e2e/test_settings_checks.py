""" "Test" pressed right after "Save" on the settings page, against the real uploader and
notifier (processes, as `make up` runs them), a real S3 server and a real SMTP server.

The gateway publishes a change to the services after it has committed, so the check can
reach them before the new settings do; it must still test what the user has just saved. (A
target check carries the target as saved, sealed to the uploader of the host it is checked
from; an SMTP check waits for the settings revision it names.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.conftest import Gateway, logged_in_admin

from e2e.conftest import HOST_ID, Services
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
