"""The `dockback-scheduler` process as `make up` runs it: configured by the environment alone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from dockback_contracts.events import BackupRequested

from .conftest import Listener, RestartableNats, declare, make_plan, put_plan


async def test_the_entry_point_waits_for_the_buckets_fires_plans_and_stops_on_sigterm(
    nats_box: RestartableNats, nc: Client, listener: Listener, tmp_path: Path
) -> None:
    log_path = tmp_path / "scheduler.log"
    env = {**os.environ, "DOCKBACK_NATS_URL": nats_box.url, "DOCKBACK_LOG_LEVEL": "INFO"}
    with log_path.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dockback_scheduler", env=env, stdout=log, stderr=log
        )
    try:
        # Started before the gateway declared anything, as under `make up`: it asks for the bucket.
        asked = asyncio.Event()

        async def on_request(_: Msg) -> None:
            asked.set()

        sub = await nc.subscribe("$JS.API.STREAM.INFO.KV_dockback_plans", cb=on_request)
        await asyncio.wait_for(asked.wait(), 30)
        await sub.unsubscribe()
        js = nc.jetstream()
        await declare(js)
        plan = make_plan()
        await put_plan(await js.key_value("dockback_plans"), plan)
        [request] = await listener.wait_for(BackupRequested, within=30)
        assert request.plan_id == plan.plan_id
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = log_path.read_text()
    assert "waiting for the gateway to declare KV bucket dockback_plans" in output
    assert "fired 1 plan(s) for" in output  # one line per batch at INFO; per plan at DEBUG


@pytest.mark.parametrize(
    ("shard", "named"),
    [
        ({"DOCKBACK_SHARD_COUNT": "2", "DOCKBACK_SHARD_INDEX": "2"}, "DOCKBACK_SHARD_INDEX (2) must be below"),
        ({"DOCKBACK_SHARD_COUNT": "0"}, "DOCKBACK_SHARD_COUNT: Input should be greater than or equal to 1"),
    ],
)
def test_a_wrong_shard_setting_stops_the_scheduler_with_a_line_that_names_it(shard: dict[str, str], named: str) -> None:
    env = {**os.environ, "DOCKBACK_NATS_URL": "nats://127.0.0.1:1", **shard}
    done = subprocess.run(
        [sys.executable, "-m", "dockback_scheduler"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert named in done.stderr
    assert "Traceback" not in done.stderr
