"""An executor's services wired on real servers: the local Docker Engine and a nats-server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import nats
import pytest
import pytest_asyncio
from faststream.nats import NatsBroker

from dockback_contracts import events as ev
from dockback_executor.backup import BackupConfig, BackupService
from dockback_executor.consistency import ContainerStopper
from dockback_executor.docker_api import DockerEngine
from dockback_executor.locks import ResourceLocks
from dockback_executor.restic import Repository, ResticRunner
from dockback_executor.restore import RestoreConfig, RestoreService
from dockback_executor.runner_image import ensure_runner_tools_image
from dockback_executor.runner_strategy import choose_runner, locate_data
from dockback_executor.settings import Settings
from dockback_executor.store import ArchiveStore
from dockback_executor.verify import ArchiveVerifier
from dockback_gateway.streams import declare_streams
from dockback_runtime.jobs.announcer import Announcer
from executor.engine_proxy import EngineProxy, engine_socket

HOST_ID = "test-host"
_TYPES = {t.model_fields["type"].default: t for t in ev.ALL_EVENTS}


@dataclass
class Heard:
    """Every event the executor published, in order, as the models they are."""

    events: list[ev.Event] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, event_type: type[ev.Event]) -> list[Any]:
        """What arrived so far. An event published just now (the JetStream ack is in) may still be
        on its way to this subscription: to see it, use `wait_for`."""
        return [e for e in self.events if isinstance(e, event_type)]

    async def wait_for(self, event_type: type[ev.Event], count: int = 1, within: float = 60.0) -> list[Any]:
        async with asyncio.timeout(within):
            while len(self.of(event_type)) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.of(event_type)


@dataclass
class Host:
    engine: DockerEngine
    store: ArchiveStore
    locks: ResourceLocks
    stopper: ContainerStopper
    backups: BackupService
    restores: RestoreService
    verifier: ArchiveVerifier
    heard: Heard


@pytest_asyncio.fixture
async def heard(nats_url: str) -> AsyncIterator[Heard]:
    collected = Heard()
    client = await nats.connect(nats_url)
    await declare_streams(client.jetstream())

    async def on_message(message: Any) -> None:
        payload = json.loads(message.data)
        collected.events.append(_TYPES[payload["type"]].model_validate(payload))
        collected.arrived.set()

    for subject in ("dockback.events.>", "dockback.progress.>", "dockback.hosts.>"):
        await client.subscribe(subject, cb=on_message)
    try:
        yield collected
    finally:
        await client.close()


class StartExecutor(Protocol):
    def __call__(self, **env: str) -> subprocess.Popen[bytes]: ...


@pytest.fixture
def start_executor(nats_url: str, tmp_path: Path, heard: Heard) -> Iterator[StartExecutor]:
    """Start `python -m dockback_executor` for HOST_ID on the test's NATS and data dir; keyword
    arguments override its environment (DOCKBACK_...)."""
    processes: list[subprocess.Popen[bytes]] = []
    base = {
        **os.environ,
        "DOCKBACK_NATS_URL": nats_url,
        "DOCKBACK_HOST_ID": HOST_ID,
        "DOCKBACK_DATA_DIR": str(tmp_path / "data"),
        "DOCKBACK_JOB_ACK_WAIT_SECONDS": "3",
        "DOCKBACK_STOP_TIMEOUT_SECONDS": "1",
        "DOCKBACK_HEARTBEAT_INTERVAL_SECONDS": "1",
    }

    def start(**env: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"executor-{len(processes)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "dockback_executor"], env={**base, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest_asyncio.fixture
async def engine(docker_engine: str) -> AsyncIterator[DockerEngine]:
    client = DockerEngine()
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture
async def host(nats_url: str, heard: Heard, engine: DockerEngine, tmp_path: Path) -> AsyncIterator[Host]:
    broker = NatsBroker(nats_url)
    await broker.start()
    data_dir = tmp_path / "data"
    store = ArchiveStore(data_dir)
    store.prepare()
    locks = ResourceLocks(data_dir / ".locks", max_concurrent_jobs=2)
    stopper = ContainerStopper(engine, data_dir / ".stopped", stop_timeout_seconds=2)
    announcer = Announcer(broker, HOST_ID)
    version = (await engine.version())["Version"]
    # DOCKBACK_TEST_STRATEGY=auto (or runner) runs these tests with volumes archived by runners.
    strategy = Settings(strategy=os.environ.get("DOCKBACK_TEST_STRATEGY", "stream"), data_dir=data_dir)  # type: ignore[arg-type]
    runner = await choose_runner(engine, strategy, None)
    backups = BackupService(
        engine, store, locks, stopper, announcer, BackupConfig(host_id=HOST_ID, engine_version=version, runner=runner)
    )
    verifier = ArchiveVerifier(store, announcer, HOST_ID)
    restores = RestoreService(engine, store, locks, announcer, RestoreConfig(host_id=HOST_ID), verifier, backups)
    try:
        yield Host(engine, store, locks, stopper, backups, restores, verifier, heard)
    finally:
        await broker.stop()


@pytest_asyncio.fixture
async def engine_proxy(docker_engine: str, tmp_path: Path) -> AsyncIterator[EngineProxy]:
    """A proxy in front of the engine (give the executor DOCKBACK_DOCKER_URL=engine_proxy.url)."""
    proxy = EngineProxy(tmp_path / "engine.sock", engine_socket())
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture
def small_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir on a 4 MiB filesystem of its own (tmpfs; the tests run as root): a backup of a
    bigger volume fills it."""
    directory = tmp_path / "small-data"
    directory.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(directory)], check=True)
    try:
        assert shutil.disk_usage(directory).total == 4 * 2**20
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def with_stream(backups: BackupService) -> BackupService:
    """`backups` archiving volumes with the stream strategy, whatever DOCKBACK_TEST_STRATEGY says."""
    config = dataclasses.replace(backups.config, runner=None)
    return BackupService(backups.engine, backups.store, backups.locks, backups.stopper, backups.announcer, config)


def on_small_data_dir(backups: BackupService, data_dir: Path) -> BackupService:
    """`backups` with its archive store in `data_dir`."""
    store = ArchiveStore(data_dir)
    store.prepare()
    return BackupService(backups.engine, store, backups.locks, backups.stopper, backups.announcer, backups.config)


@pytest_asyncio.fixture
async def restic(host: Host) -> ResticRunner:
    image = await ensure_runner_tools_image(host.engine)
    return ResticRunner(host.engine, image, await locate_data(host.engine, host.store.root, None, None))


@pytest.fixture(scope="session")
def initialized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One repository made by restic's `init` (seconds of key derivation) for every test to copy."""
    password = secrets.token_urlsafe(24)
    made = tmp_path_factory.mktemp("restic-template") / "repository"
    subprocess.run(
        ["restic", "init", "-r", str(made)], env={"RESTIC_PASSWORD": password}, check=True, capture_output=True
    )
    return made, password


@pytest.fixture
def repository(restic: ResticRunner, initialized: tuple[Path, str]) -> Repository:
    """An empty repository of the test's own in the data dir."""
    template, password = initialized
    made = Repository("plan-repository", password=password)
    shutil.copytree(template, restic.repository_path(made))
    return made


class KnownRepository:
    """The one repository a test made, as `RepositoryKeys` would open it from the executor's
    share of the settings (its password sealed to the executor)."""

    def __init__(self, repository: Repository) -> None:
        self.known = repository

    async def repository(self, name: str) -> Repository:
        assert name == self.known.name
        return self.known
