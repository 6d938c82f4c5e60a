"""The gateway as the process `make up` runs: the API on one port and, when asked, the web UI
(with the API under /api) on another. The first admin's password is read from its log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dockback_gateway.migrate import upgrade
from harness.processes import free_port

READY = re.compile(r"Uvicorn running on")
PASSWORD = re.compile(r"log in as 'admin' with password (\S+)")


@dataclass
class GatewayProcess:
    url: str
    admin_password: str
    log: Path
    web_url: str | None = None
    pid: int | None = None


@contextmanager
def run_gateway(
    database_url: str, nats_url: str, workdir: Path, *, web_dir: Path | None = None, **env: str
) -> Iterator[GatewayProcess]:
    """Migrate, start, wait until it listens; with `web_dir`, serve that build on a second port."""
    upgrade(database_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    web_url = None
    environment = {
        **os.environ,
        "DOCKBACK_DATABASE_URL": database_url,
        "DOCKBACK_NATS_URL": nats_url,
        "DOCKBACK_LISTEN_PORT": str(port),
        "DOCKBACK_BASE_URL": url,
        "DOCKBACK_SECRET_KEY_FILE": str(workdir / "secret.key"),
        "DOCKBACK_ENCRYPTION_KEY_FILE": str(workdir / "encryption.key"),
        "DOCKBACK_SETTINGS_KEY_FILE": str(workdir / "settings.key"),
    }
    if web_dir is not None:
        web_port = free_port()
        web_url = f"http://127.0.0.1:{web_port}"
        environment |= {
            "DOCKBACK_WEB_PORT": str(web_port),
            "DOCKBACK_WEB_DIR": str(web_dir),
            "DOCKBACK_BASE_URL": web_url,
        }
    environment |= env
    log = workdir / "gateway.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "dockback_gateway"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: dict[str, str] = {}
    ready = threading.Event()
    listening = 2 if web_dir is not None else 1

    def drain() -> None:
        assert process.stdout is not None
        seen = 0
        with log.open("w") as out:
            for line in process.stdout:
                out.write(line)
                out.flush()
                if match := PASSWORD.search(line):
                    found["password"] = match.group(1)
                if READY.search(line):
                    seen += 1
                    if seen == listening:
                        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert ready.wait(60), f"the gateway did not start:\n{log.read_text()[-3000:]}"
        yield GatewayProcess(url, found["password"], log, web_url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
