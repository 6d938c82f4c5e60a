"""The scheduler's /metrics (DOCKBACK_METRICS_PORT), scraped from the real process after it fired plans."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from nats.aio.client import Client

from dockback_contracts.events import BackupRequested
from harness.processes import free_port
from harness.scrape import until_scraped, value

from .conftest import Listener, RestartableNats, declare, make_plan, put_plan


async def test_fired_plans_are_timed_in_the_fire_lag_histogram(
    nats_box: RestartableNats, nc: Client, listener: Listener, tmp_path: Path
) -> None:
    js = nc.jetstream()
    await declare(js)
    port = free_port()
    env = {**os.environ, "DOCKBACK_NATS_URL": nats_box.url, "DOCKBACK_METRICS_PORT": str(port)}
    with (tmp_path / "scheduler.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dockback_scheduler", env=env, stdout=log, stderr=log
        )
    try:
        plans = [make_plan(), make_plan()]
        for plan in plans:
            await put_plan(await js.key_value("dockback_plans"), plan)
        await listener.wait_for(BackupRequested, count=2, within=30)

        samples = await until_scraped(port, lambda s: (value(s, "dockback_scheduler_fire_lag_seconds_count") or 0) >= 2)
        total = value(samples, "dockback_scheduler_fire_lag_seconds_sum")
        count = value(samples, "dockback_scheduler_fire_lag_seconds_count")
        assert total is not None
        assert count is not None
        assert 0 <= total / count < 5  # plans due every second, fired on time
    finally:
        process.terminate()
        await process.wait()
