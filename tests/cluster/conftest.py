"""DockBack on more than one NATS node or more than one host: a JetStream cluster, executors as
the processes `make up` runs, requests published as the scheduler publishes them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from executor.volumes import docker_cli
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from dockback_contracts import events as ev
from dockback_scheduler.publisher import TRANSIENT
from harness.nats_cluster import nats_cluster  # noqa: F401 - the fixture, for this package's tests
from harness.processes import stop_all

ARCHIVE_NAME = re.compile(r"\d{8}T\d{6}Z-([0-9a-f-]{36})-.+\.tar(\.zst|\.gz)?")
EVENT_TYPES: dict[str, type[ev.Event]] = {t.model_fields["type"].default: t for t in ev.ALL_EVENTS}


def parse_event(data: bytes) -> ev.Event:
    payload = json.loads(data)
    return EVENT_TYPES[payload["type"]].model_validate(payload)


async def stored_events(js: JetStreamContext, stream: str) -> list[tuple[str, ev.Event]]:
    """Every message a stream holds now, in order, as (subject, event)."""
    info = await js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            message = await js.get_msg(stream, seq)
        except NotFoundError:
            continue  # removed (a work queue's acked message, a deleted one)
        assert message.subject is not None
        assert message.data is not None
        found.append((message.subject, parse_event(message.data)))
    return found


@dataclass
class Executors:
    """`python -m dockback_executor` processes, each with its own environment; killed at the end."""

    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *, nats_url: str, host_id: str, data_dir: Path, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "dockback_executor"],
            env={
                **os.environ,
                "DOCKBACK_NATS_URL": nats_url,
                "DOCKBACK_HOST_ID": host_id,
                "DOCKBACK_DATA_DIR": str(data_dir),
                "DOCKBACK_JOB_ACK_WAIT_SECONDS": "3",
                "DOCKBACK_JOB_RETRY_DELAYS_SECONDS": "[1, 1, 2, 3, 5]",
                "DOCKBACK_HEARTBEAT_INTERVAL_SECONDS": "1",
                "DOCKBACK_STOP_TIMEOUT_SECONDS": "1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.workdir / f'{name}.log').read_text(errors='replace')[-4000:]}"
            for name in self.processes
        )


@pytest.fixture
def executors(tmp_path: Path) -> Iterator[Executors]:
    running = Executors(tmp_path)
    try:
        yield running
    finally:
        stop_all(running.processes.values())


async def fill_volumes(image: str, volumes: list[str], labels: dict[str, str], kib: int) -> None:
    """Create `volumes` and write `kib` KiB of random data and the volume's name into each, with
    one container for all of them."""
    for volume in volumes:
        await docker_cli("volume", "create", *[f"--label={k}={v}" for k, v in labels.items()], volume)
    mounts = [arg for volume in volumes for arg in ("-v", f"{volume}:/v/{volume}")]
    script = (
        f"for d in /v/*; do basename $d > $d/name; dd if=/dev/urandom of=$d/data bs=1024 count={kib} 2>/dev/null; done"
    )
    await docker_cli(
        "run", "--rm", *[f"--label={k}={v}" for k, v in labels.items()], *mounts, image, "sh", "-c", script
    )


def archives_in(data_dir: Path) -> dict[str, list[Path]]:
    """The finished archives under a data dir, by the job id in their name (`<time>-<job>-<role>.tar.*`)."""
    found: dict[str, list[Path]] = {}
    for path in data_dir.rglob("*.tar*"):
        if match := ARCHIVE_NAME.fullmatch(path.name):
            found.setdefault(match.group(1), []).append(path)
    return found


async def within(seconds: float, what: str, condition: Callable[[], Awaitable[bool]], logs: Callable[[], str]) -> None:
    """Re-check `condition` until it holds; fail saying `what` did not happen, with the logs."""
    deadline = time.monotonic() + seconds
    while not await _holds(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds}s\n{logs()}")
        await asyncio.sleep(0.1)  # leader elections and consumer state have no event to await


@asynccontextmanager
async def stage(seconds: float, what: str, logs: Callable[[], str]) -> AsyncIterator[None]:
    """Fail saying what did not happen in time, with the logs, rather than a bare TimeoutError."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        pytest.fail(f"{what}: not done within {seconds}s\n{logs()}")


async def _holds(condition: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await condition()
    except TRANSIENT:  # a leader is being elected: ask again
        return False
