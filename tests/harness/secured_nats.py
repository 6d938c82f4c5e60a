"""A nats-server that knows only the users `dockback-nats-auth` generated (hosts A and B), clients
connected as one role each, and a host's services as processes on their own credentials."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js import JetStreamContext

from dockback_contracts import permissions
from dockback_gateway.streams import declare_streams
from dockback_ops.nats_auth import generate
from dockback_runtime.connection import NatsClientSettings, connect_options
from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop, stop_all

HOST_A = "host-a"
HOST_B = "host-b"
REFUSAL_SECONDS = 1.0
"""How long a request the server refuses is waited for: the refusal is logged, no reply comes."""


@dataclass
class SecuredNats:
    """A nats-server whose users are exactly the generated ones."""

    url: str
    auth_dir: Path
    log_path: Path
    process: subprocess.Popen[str] | None = None

    def credentials_file(self, role: str) -> Path:
        return self.auth_dir / "creds" / f"{role}.creds"

    def settings(self, role: str, **tls: Path) -> NatsClientSettings:
        return NatsClientSettings(nats_url=self.url, nats_credentials_file=self.credentials_file(role), **tls)

    def violations(self) -> list[str]:
        """The server's log lines about refused publishes and subscriptions."""
        return [
            line
            for line in self.log_path.read_text().splitlines()
            if re.search(r"(Publish|Subscription) Violation", line)
        ]


def start_secured_server(directory: Path, extra_config: str = "") -> tuple[subprocess.Popen[str], int, Path]:
    port = free_port()
    config = directory / "nats.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f'jetstream {{ store_dir: "{directory / "jetstream"}" }}\n'
        "include auth.conf\n"  # include paths are relative to this file
        f"{extra_config}"
    )
    log_path = directory / "nats-server.log"
    process = start_and_wait(
        [nats_server_binary(), "-c", str(config)], ready_marker="Server is ready", log_path=log_path
    )
    return process, port, log_path


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[SecuredNats]:
    auth_dir = tmp_path / "nats-auth"
    generate(auth_dir, [HOST_A, HOST_B])
    process, port, log_path = start_secured_server(auth_dir)
    try:
        yield SecuredNats(url=f"nats://127.0.0.1:{port}", auth_dir=auth_dir, log_path=log_path, process=process)
    finally:
        stop(process)


@dataclass
class Connection:
    """A client connected as one role, with the asynchronous errors the server sent it."""

    nc: Client
    errors: list[str] = field(default_factory=list)
    _news: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream(timeout=REFUSAL_SECONDS)

    async def refused(self, what: str, subject: str) -> None:
        """Wait for the server's permissions violation for `what` ('Publish' or 'Subscription') to `subject`."""
        expected = f'permissions violation for {what.lower()} to "{subject.lower()}"'
        async with asyncio.timeout(10):
            while not any(expected in error.lower() for error in self.errors):
                self._news.clear()
                await self._news.wait()


@asynccontextmanager
async def connected(settings: NatsClientSettings) -> AsyncIterator[Connection]:
    connection: Connection

    async def on_error(exc: Exception) -> None:
        connection.errors.append(str(exc))
        connection._news.set()

    nc = await nats.connect(**connect_options(settings), error_cb=on_error, allow_reconnect=False)
    connection = Connection(nc)
    try:
        yield connection
    finally:
        await nc.close()


@pytest_asyncio.fixture
async def gateway_connection(secured_nats: SecuredNats) -> AsyncIterator[Connection]:
    """The gateway's connection, with the streams and buckets declared as the gateway does at start."""
    async with connected(secured_nats.settings(permissions.GATEWAY)) as connection:
        await declare_streams(connection.nc.jetstream())
        yield connection


@dataclass
class HostServices:
    """The executor, uploader, scheduler and notifier as processes, each with its own credentials."""

    server: SecuredNats
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, module: str, role: str, **env: str) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env={
                **os.environ,
                "DOCKBACK_NATS_URL": self.server.url,
                "DOCKBACK_NATS_CREDENTIALS_FILE": str(self.server.credentials_file(role)),
                "DOCKBACK_HOST_ID": HOST_A,
                "DOCKBACK_DATA_DIR": str(self.workdir / "data"),
                "DOCKBACK_SETTINGS_KEY_FILE": str(self.workdir / "settings.key"),
                "DOCKBACK_JOB_ACK_WAIT_SECONDS": "3",
                "DOCKBACK_HEARTBEAT_INTERVAL_SECONDS": "1",
                "DOCKBACK_STOP_TIMEOUT_SECONDS": "1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.workdir.glob("*.log"))


@pytest.fixture
def host_services(secured_nats: SecuredNats, tmp_path: Path) -> Iterator[HostServices]:
    running = HostServices(secured_nats, tmp_path)
    try:
        yield running
    finally:
        stop_all(running.processes.values())
