"""The notifier as a process: `python -m dockback_notifier`, configured by the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from nats.aio.client import Client

from harness.smtp_server import SmtpServer, StartSmtp
from notifier.conftest import job_failed, publish, put_settings, smtp_settings


@pytest_asyncio.fixture
async def smtp(nc: Client, settings_key: bytes, smtp_server_factory: StartSmtp) -> SmtpServer:
    """An SMTP server, already in the settings snapshot."""
    server = smtp_server_factory("none")
    await put_settings(nc, smtp=smtp_settings(server, settings_key))
    return server


@pytest.fixture
def notifier_process(
    nats_url: str, settings_key: bytes, smtp: SmtpServer, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    key_file = tmp_path / "settings.key"
    key_file.write_text(settings_key.hex())
    env = {**os.environ, "DOCKBACK_NATS_URL": nats_url, "DOCKBACK_SETTINGS_KEY_FILE": str(key_file)}
    with open(tmp_path / "notifier.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "dockback_notifier"], env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_the_notifier_process_mails_and_stops_cleanly_on_sigterm(
    nc: Client, smtp: SmtpServer, notifier_process: subprocess.Popen[bytes]
) -> None:
    await publish(nc, job_failed())  # kept in the stream until the notifier's consumer reads it
    [mail] = await smtp.wait_for(1, within=30)
    notifier_process.send_signal(signal.SIGTERM)

    assert "backup of volume pgdata" in mail.message["Subject"]
    assert await asyncio.to_thread(notifier_process.wait, 15) == 0
