"""What the executor tells the control plane about its host: the heartbeat carries the data dir's free
space; an inventory that failed is sent again soon."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from dockback_contracts import events as ev
from dockback_contracts import inventory as inv
from dockback_executor.discovery import Discovery
from dockback_executor.docker_api import DockerEngine
from dockback_runtime.jobs.running import RunningJobs
from executor.conftest import HOST_ID, Host
from executor.engine_proxy import EngineProxy


def discovery_of(host: Host, data_dir: Path, engine: DockerEngine | None = None) -> Discovery:
    return Discovery(
        engine or host.engine,
        host.backups.announcer,
        HOST_ID,
        inv.EngineInfo(engine_id="e", version="v", api_version="a", os="o", architecture="x"),
        RunningJobs(),
        inventory_interval=300,
        heartbeat_interval=0.2,
        data_dir=data_dir,
    )


def fill(path: Path, size: int) -> None:
    path.write_bytes(b"\0" * size)


async def test_the_heartbeat_reports_the_free_space_of_the_data_dirs_filesystem(
    host: Host, small_data_dir: Path
) -> None:
    await asyncio.to_thread(fill, small_data_dir / "ballast", 3 * 2**20)
    discovering = asyncio.create_task(discovery_of(host, small_data_dir).run())
    try:
        heartbeat = (await host.heard.wait_for(ev.HostHeartbeat))[-1]
    finally:
        discovering.cancel()
        await asyncio.gather(discovering, return_exceptions=True)

    assert heartbeat.data_dir_total_bytes == 4 * 2**20
    assert heartbeat.data_dir_free_bytes is not None
    assert 0 < heartbeat.data_dir_free_bytes <= 2**20  # 4 MiB less the 3 MiB of ballast


async def test_a_data_dir_that_cannot_be_measured_leaves_the_space_out_of_the_heartbeat(
    host: Host, tmp_path: Path
) -> None:
    heartbeat = await discovery_of(host, tmp_path / "does-not-exist").heartbeat()

    assert heartbeat.data_dir_free_bytes is None
    assert heartbeat.data_dir_total_bytes is None


class WarningHeard(logging.Handler):
    """Sets `heard` when a log record starting with `words` is emitted (on the test's event loop)."""

    def __init__(self, words: str) -> None:
        super().__init__(logging.WARNING)
        self.words = words
        self.heard = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.words):
            self.loop.call_soon_threadsafe(self.heard.set)


async def test_an_inventory_that_failed_is_tried_again_within_seconds_not_at_the_next_interval(
    host: Host, engine_proxy: EngineProxy, tmp_path: Path
) -> None:
    engine = DockerEngine(engine_proxy.url)
    failed = WarningHeard("could not publish the host inventory")
    logging.getLogger("dockback_executor.discovery").addHandler(failed)
    engine_proxy.cut()  # the engine restarting as the executor starts
    discovering = asyncio.create_task(discovery_of(host, tmp_path, engine).run())
    try:
        await failed.heard.wait()
        engine_proxy.restore()  # back, with nothing happening on it: no event asks for an inventory

        inventory = (await host.heard.wait_for(ev.HostInventory, within=15))[-1]
    finally:
        discovering.cancel()
        await asyncio.gather(discovering, return_exceptions=True)
        await engine.close()
        logging.getLogger("dockback_executor.discovery").removeHandler(failed)

    assert inventory.host_id == HOST_ID  # the interval is 300 s: only the retry can have sent it
