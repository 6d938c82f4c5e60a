"""Load on the real scheduler process: 10,000 plans that all fire every minute.

One run:
1. starts a nats-server (from the wheel) in a temporary directory and declares the streams
   and buckets from `dockback_contracts.streams`, as the gateway does;
2. puts `--plans` plan snapshots (default 10,000, cron `* * * * *`, spread over 10 hosts)
   into the plans bucket;
3. starts `python -m dockback_scheduler` (with `--shards N`, N of them, each firing its share
   of the plans) and waits until it has loaded them (its CPU for loading is reported apart);
4. lets `--minutes` minute slots pass (default 3), each firing every plan: 10,000
   `JobQueued` (as items of one `JobsQueued` per host and batch) + 10,000 `BackupRequested`
   a minute;
5. stops the scheduler and reads every `BackupRequested` back from the JOBS stream: the
   publish lag of a slot is the time the stream stored the request (its ack) minus the slot;
6. prints the results and writes them as JSON to bench/results/.

CPU is the scheduler processes' user+system time (psutil), over the measured minutes only,
as a share of one core; nats-server's is reported beside it. Run it from the repository root:
`.venv/bin/python bench/scheduler_load.py` (about 4-5 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import psutil
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_contracts.snapshots import PlanSnapshot

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HOSTS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def quiet(_: Exception) -> None:
    """nats-py prints a traceback for each refused connect while the server starts."""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def declare(js: JetStreamContext) -> None:
    for config in streams.stream_configs():
        await js.add_stream(config)
    for kv in streams.kv_configs():
        await js.create_key_value(kv)


async def put_plans(js: JetStreamContext, count: int) -> None:
    kv = await js.key_value(streams.PLANS_BUCKET)
    now = datetime.now(UTC)
    plans = [
        PlanSnapshot(
            plan_id=uuid.uuid4(),
            revision=1,
            name=f"plan-{i}",
            host_id=f"bench-{i % HOSTS}",
            enabled=True,
            cron="* * * * *",
            timezone="UTC",
            targets=(ev.TargetSelector(kind="volume", names=(f"volume-{i}",)),),
            updated_at=now,
        )
        for i in range(count)
    ]
    for start in range(0, count, 500):
        await asyncio.gather(
            *(kv.put(str(p.plan_id), p.model_dump_json().encode()) for p in plans[start : start + 500])
        )


async def read_requests(js: JetStreamContext) -> list[tuple[datetime, datetime]]:
    """(slot, stored at) of every BackupRequested in the JOBS stream."""
    info = await js.stream_info(streams.JOBS_STREAM)
    out: list[tuple[datetime, datetime]] = []
    seqs = list(range(info.state.first_seq, info.state.last_seq + 1))
    for start in range(0, len(seqs), 200):
        msgs = await asyncio.gather(*(js.get_msg(streams.JOBS_STREAM, s) for s in seqs[start : start + 200]))
        for msg in msgs:
            request = ev.BackupRequested.model_validate_json(msg.data or b"")
            assert request.scheduled_for is not None
            assert msg.time is not None
            out.append((request.scheduled_for, msg.time.astimezone(UTC)))
    return out


async def run(plans: int, minutes: int, shards: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="dockback-bench-scheduler-"))
    port = free_port()
    binary = Path(sys.executable).parent / "nats-server"
    server = subprocess.Popen(  # noqa: ASYNC220 - starting is instant; psutil wants a Popen pid
        [str(binary if binary.exists() else "nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    schedulers: list[subprocess.Popen[bytes]] = []
    log_paths = [tmp / f"scheduler-{index}.log" for index in range(shards)]
    try:
        url = f"nats://127.0.0.1:{port}"
        nc = None
        for _ in range(100):
            try:
                nc = await nats.connect(url, error_cb=quiet, allow_reconnect=False)
                break
            except Exception:  # the server is still starting
                await asyncio.sleep(0.1)
        assert nc is not None, "nats-server did not start"
        js = nc.jetstream(timeout=10)
        await declare(js)
        t = time.monotonic()
        await put_plans(js, plans)
        print(f"put {plans} plans in {time.monotonic() - t:.1f}s")

        heard = 0
        counted = asyncio.Event()
        target = 0

        async def on_request(_: Msg) -> None:
            nonlocal heard
            heard += 1
            if target and heard >= target:
                counted.set()

        await nc.subscribe("dockback.jobs.*.backup", cb=on_request)
        # INFO, the default: one log line per fired slot is part of what the service costs.
        env = {**os.environ, "DOCKBACK_NATS_URL": url, "DOCKBACK_LOG_LEVEL": "INFO"}
        started = time.monotonic()
        for index, log_path in enumerate(log_paths):  # with --shards N, N processes, each its share
            shard_env = {**env, "DOCKBACK_SHARD_COUNT": str(shards), "DOCKBACK_SHARD_INDEX": str(index)}
            with log_path.open("wb") as log:
                schedulers.append(
                    subprocess.Popen(  # noqa: ASYNC220 - as above
                        [sys.executable, "-m", "dockback_scheduler"], env=shard_env, stdout=log, stderr=log
                    )
                )
        processes = [psutil.Process(scheduler.pid) for scheduler in schedulers]
        nats_process = psutil.Process(server.pid)
        for scheduler, log_path in zip(schedulers, log_paths, strict=True):
            while "scheduler started with" not in log_path.read_text():  # a bench may poll its own log
                assert scheduler.poll() is None, log_path.read_text()
                await asyncio.sleep(0.05)
        load_seconds = time.monotonic() - started
        load_cpu = sum(sum(process.cpu_times()[:2]) for process in processes)
        rss_loaded = [process.memory_info().rss for process in processes]
        # Measure whole minutes that start at least 5 s after loading; slots before are not counted.
        now = datetime.now(UTC)
        first_slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if (first_slot - now).total_seconds() < 5:
            first_slot += timedelta(minutes=1)
        await asyncio.sleep(max(0.0, (first_slot - datetime.now(UTC)).total_seconds() - 2))
        heard_before = heard
        cpu_start, wall_start = sum(sum(process.cpu_times()[:2]) for process in processes), time.monotonic()
        nats_cpu_start = sum(nats_process.cpu_times()[:2])
        target = heard_before + plans * minutes
        await asyncio.wait_for(counted.wait(), timeout=minutes * 60 + 120)
        cpu_end, wall_end = sum(sum(process.cpu_times()[:2]) for process in processes), time.monotonic()
        nats_cpu_end = sum(nats_process.cpu_times()[:2])
        rss_end = [process.memory_info().rss for process in processes]
        for scheduler in schedulers:
            scheduler.send_signal(signal.SIGTERM)
        for scheduler in schedulers:
            scheduler.wait(30)

        requests = await read_requests(js)
        last_slot = first_slot + timedelta(minutes=minutes - 1)
        lags = [(stored - slot).total_seconds() for slot, stored in requests if first_slot <= slot <= last_slot]
        per_slot = {}
        for slot, stored in requests:
            if first_slot <= slot <= last_slot:
                per_slot.setdefault(slot, []).append((stored - slot).total_seconds())
        await nc.close()
        assert len(lags) == plans * minutes, f"expected {plans * minutes} requests, found {len(lags)}"
        errors = [
            line for path in log_paths for line in path.read_text().splitlines() if re.search(r"ERROR|Traceback", line)
        ]
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
            "plans": plans,
            "minutes": minutes,
            "scheduler_processes": shards,
            "requests": len(lags),
            "lag_p50_s": round(statistics.median(lags), 3),
            "lag_p99_s": round(percentile(lags, 99), 3),
            "lag_max_s": round(max(lags), 3),
            "lag_p99_per_minute_s": [round(percentile(v, 99), 3) for _, v in sorted(per_slot.items())],
            "cpu_seconds_measured": round(cpu_end - cpu_start, 2),
            "wall_seconds_measured": round(wall_end - wall_start, 1),
            "cpu_share_of_one_core": round((cpu_end - cpu_start) / (wall_end - wall_start), 4),
            "cpu_seconds_per_minute_slot": round((cpu_end - cpu_start) / minutes, 2),
            "nats_server_cpu_seconds_per_minute_slot": round((nats_cpu_end - nats_cpu_start) / minutes, 2),
            "cpu_seconds_startup": round(load_cpu, 2),
            "startup_wall_seconds": round(load_seconds, 2),
            "rss_mib_loaded": [round(rss / 2**20, 1) for rss in rss_loaded],
            "rss_mib_end": [round(rss / 2**20, 1) for rss in rss_end],
            "scheduler_errors_logged": errors[:10],
        }
    finally:
        for scheduler in schedulers:
            if scheduler.poll() is None:
                scheduler.kill()
                scheduler.wait()
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument(
        "--shards", type=int, default=1, help="scheduler processes sharing the plans (DOCKBACK_SHARD_COUNT)"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.plans, args.minutes, args.shards))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"scheduler_load-{datetime.now(UTC).strftime('%Y-%m-%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['plans']} plans x {result['minutes']} minute slots = {result['requests']} BackupRequested, "
        f"{result['scheduler_processes']} scheduler process(es)"
    )
    print(
        f"publish lag (stored in JOBS - slot): p50 {result['lag_p50_s']:.3f}s  p99 {result['lag_p99_s']:.3f}s  ", end=""
    )
    print(f"max {result['lag_max_s']:.3f}s  p99 per minute {result['lag_p99_per_minute_s']}")
    print(
        f"scheduler CPU: {result['cpu_seconds_per_minute_slot']:.2f}s per minute slot "
        f"({100 * result['cpu_share_of_one_core']:.1f}% of one core; nats-server "
        f"{result['nats_server_cpu_seconds_per_minute_slot']:.2f}s); loading the plans "
        f"{result['startup_wall_seconds']:.1f}s ({result['cpu_seconds_startup']:.2f}s CPU); "
        f"RSS {result['rss_mib_loaded']} -> {result['rss_mib_end']} MiB"
    )
    print(f"load average {result['machine']['load_avg']}; results in {out.relative_to(ROOT)}")
    if result["scheduler_errors_logged"]:
        print("scheduler logged errors:", *result["scheduler_errors_logged"], sep="\n  ")


if __name__ == "__main__":
    main()
