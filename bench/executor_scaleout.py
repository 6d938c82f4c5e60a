"""Two executors of one host sharing its work, against one: many small-volume backups at once.

One run:
1. makes the busybox image and `--volumes` volumes (default 40) of about `--size-mib` MiB each
   (half random bytes, half small files), as executor_throughput.py does;
2. starts a nats-server (from the wheel) and declares the streams;
3. per round (`--repeats`, default 2; one executor, then two, then one, ...: a machine getting
   slower or faster affects both alike): starts that many `python -m dockback_executor`
   processes with the same host id and data dir (what two executors of a host share), waits for
   each to be ready, publishes a `BackupRequested` per volume at once, and times until every
   `ArchiveCreated` arrived; then checks that each job ran exactly once (one "archived volume"
   line per job across the executors' logs, no JobFailed) and stops the executors;
4. prints the table (best round per count; the speed-up is one's best over two's best) and
   writes it as JSON to bench/results/;
5. removes everything it created (label `dockback.bench=1`), even when it fails.

Run it from the repository root: `.venv/bin/python bench/executor_scaleout.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import psutil
from nats.js import JetStreamContext

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_gateway.streams import declare_streams

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executor_throughput import (
    HOST_ID,
    REPO,
    RESULTS_DIR,
    VENV_BIN,
    BenchError,
    Created,
    EventWatch,
    check_tools,
    create_volume,
    executor_env,
    free_port,
    in_busybox,
    loadavg,
    log,
    machine_facts,
    make_busybox_image,
    start_logged,
    stop_process,
    wait_for_line,
    write_json,
)

FILL = r"""
set -e
dd if=/dev/urandom of=/vol/random.bin bs=64k count="$RANDOM_BLOCKS" 2>/dev/null
i=0
while [ "$i" -lt "$FILES" ]; do
  mkdir -p "/vol/d$((i % 20))"
  head -c "$((512 + (i * 37) % 3584))" /dev/urandom > "/vol/d$((i % 20))/f$i"
  i=$((i + 1))
done
"""


def fill_volumes(created: Created, count: int, size_mib: float) -> list[str]:
    """`count` volumes of about `size_mib` MiB: half random bytes, half files of 0.5-4 KiB."""
    names = []
    files = max(1, int(size_mib * 1024 / 2 / 2.25))  # ~2.25 KiB a file on average
    blocks = max(1, int(size_mib * 16 / 2))  # 64 KiB blocks
    for index in range(count):
        name = create_volume(created, f"dockback-bench-{created.run_id}-{index:02d}")
        in_busybox(created, name, FILL, env={"RANDOM_BLOCKS": str(blocks), "FILES": str(files)})
        names.append(name)
    return names


async def start_executors(created: Created, nats_url: str, count: int, strategy: str, tag: str) -> list[Path]:
    """`count` executors of host HOST_ID sharing one data dir, each ready; their log files."""
    assert created.tmpdir is not None
    logs = []
    for index in range(count):
        name = f"executor-{tag}-{index}"
        env = executor_env(nats_url, created.tmpdir / "data", strategy)
        logs.append(start_logged(created, name, [str(VENV_BIN / "python"), "-m", "dockback_executor"], env))
    for index, path in enumerate(logs):
        await wait_for_line(created, f"executor-{tag}-{index}", path, f"executor for host {HOST_ID} ready")
    return logs


async def round_of(
    created: Created,
    js: JetStreamContext,
    watch: EventWatch,
    nats_url: str,
    volumes: list[str],
    count: int,
    tag: str,
    strategy: str,
    job_seconds: float,
) -> dict[str, Any]:
    """One round: `count` executors, a backup of every volume at once; seconds and who ran what."""
    logs = await start_executors(created, nats_url, count, strategy, tag)
    try:
        requests = [
            ev.BackupRequested(
                job_id=uuid.uuid4(),
                host_id=HOST_ID,
                resource=ev.ResourceRef(kind="volume", name=volume),
                options=ev.BackupOptions(compression="zstd"),
                requested_by="bench",
            )
            for volume in volumes
        ]
        futures = [
            watch.expect(str(request.job_id), str(ev.ArchiveCreated.model_fields["type"].default))
            for request in requests
        ]
        os.sync()
        before = cpu_times(created, tag)
        start = time.perf_counter()
        for request in requests:
            await js.publish(
                subjects.subject_for(request),
                request.model_dump_json().encode(),
                stream=streams.stream_for(request),
                headers={"Nats-Msg-Id": subjects.message_id(request)},
            )
        done, pending = await asyncio.wait(futures, timeout=job_seconds)
        if pending:
            raise BenchError(f"{len(pending)} of {len(futures)} backups did not finish within {job_seconds:.0f}s")
        arrivals = [future.result()[0] for future in done]  # raises a job's JobFailed as a BenchError
        seconds = max(arrivals) - start
        cpu = cpu_used(before, cpu_times(created, tag), seconds)
    finally:
        for index in range(count):
            name = f"executor-{tag}-{index}"
            await asyncio.to_thread(stop_process, name, dict(created.processes)[name])
    per_executor = []
    ran: dict[str, int] = {}
    for path in logs:
        jobs = [
            json.loads(line).get("job_id")
            for line in path.read_text().splitlines()
            if line.startswith("{") and "archived volume" in line
        ]
        per_executor.append(len(jobs))
        for job in jobs:
            ran[job] = ran.get(job, 0) + 1
    expected = {str(request.job_id) for request in requests}
    twice = [job for job, times in ran.items() if times > 1]
    if set(ran) != expected or twice:
        raise BenchError(f"jobs did not run exactly once: {len(set(ran))} ran, {len(twice)} more than once")
    log(
        f"{count} executor(s), round {tag}: {len(volumes)} backups in {seconds:.2f}s (per executor: {per_executor}); "
        f"CPU busy {cpu['machine_busy']:.0%} of {os.cpu_count()} cores; CPU seconds: executors {cpu['executors']:.1f}, "
        f"engine {cpu['engine']:.1f}, nats-server {cpu['nats']:.1f}, other {cpu['other']:.1f}"
    )
    return {"executors": count, "seconds": round(seconds, 3), "jobs_per_executor": per_executor, "cpu": cpu}


ENGINE_PROCESSES = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc", "docker-proxy")


def cpu_times(created: Created, tag: str) -> dict[str, float]:
    """CPU seconds used so far: the machine's (busy and all, from /proc/stat), the round's executors',
    the engine's (dockerd, containerd and its shims) and the nats-server's."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    times = {"machine_all": sum(fields[:8]) / ticks, "machine_busy": (sum(fields[:8]) - idle) / ticks}
    ours = {process.pid: name for name, process in created.processes}
    executors = engine = nats_cpu = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        used = process.info["cpu_times"]
        if used is None:
            continue
        seconds = used.user + used.system
        name = ours.get(process.pid, "")
        if name.startswith(f"executor-{tag}-"):
            executors += seconds
        elif name == "nats-server":
            nats_cpu += seconds
        elif (process.info["name"] or "") in ENGINE_PROCESSES:
            engine += seconds
    times.update(executors=executors, engine=engine, nats=nats_cpu)
    return times


def cpu_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """What the round used: busy share of the machine, and CPU seconds per part (`other`: the rest,
    such as the runner containers' tar and zstd and the kernel's work for them)."""
    used = {key: round(after[key] - before[key], 2) for key in ("executors", "engine", "nats")}
    busy = after["machine_busy"] - before["machine_busy"]
    used["other"] = round(busy - sum(used.values()), 2)
    used["machine_busy"] = round(busy / (after["machine_all"] - before["machine_all"]), 3)
    return used


async def measure(created: Created, volumes: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    assert created.tmpdir is not None
    port = free_port()
    nats_url = f"nats://127.0.0.1:{port}"
    argv = [str(VENV_BIN / "nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(created.tmpdir / "js")]
    nats_log = start_logged(created, "nats-server", argv)
    await wait_for_line(created, "nats-server", nats_log, "Server is ready")
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await declare_streams(js)
        watch = EventWatch()
        await watch.subscribe(nc)
        rounds = []
        for repeat in range(args.repeats):
            order = (1, 2) if repeat % 2 == 0 else (2, 1)
            for count in order:
                tag = f"{count}x-{repeat + 1}"
                rounds.append(
                    await round_of(created, js, watch, nats_url, volumes, count, tag, args.strategy, args.job_timeout)
                )
        return rounds
    finally:
        await nc.drain()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--volumes", type=int, default=40, help="how many volumes, one backup each per round")
    parser.add_argument("--size-mib", type=float, default=8.0, help="about how big each volume is")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of each executor count; the best counts")
    parser.add_argument("--strategy", default="stream", help="the executors' DOCKBACK_STRATEGY")
    parser.add_argument("--job-timeout", type=float, default=600.0, help="seconds a round may take")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    facts = machine_facts(check_tools())
    facts["loadavg_start"] = loadavg()
    if os.getloadavg()[0] > 0.5:
        log(f"warning: the machine is busy (load average {facts['loadavg_start']}): expect noisy numbers")
    started_at = datetime.now(UTC)
    created = Created()
    try:
        created.tmpdir = Path(tempfile.mkdtemp(prefix=f"dockback-bench-{created.run_id}-"))
        make_busybox_image(created)
        log(f"run {created.run_id}: filling {args.volumes} volumes of ~{args.size_mib:g} MiB")
        volumes = fill_volumes(created, args.volumes, args.size_mib)
        rounds = asyncio.run(measure(created, volumes, args))
        facts["loadavg_end"] = loadavg()
        best = {count: min(r["seconds"] for r in rounds if r["executors"] == count) for count in (1, 2)}
        speedup = best[1] / best[2]
        print()
        what = f"{args.volumes} backups of ~{args.size_mib:g} MiB volumes, strategy {args.strategy}"
        print(f"{what}, best of {args.repeats}:")
        print(f"  one executor:  {best[1]:.2f}s ({args.volumes / best[1]:.1f} backups/s)")
        print(f"  two executors: {best[2]:.2f}s ({args.volumes / best[2]:.1f} backups/s)")
        load = f"load average {facts['loadavg_start']} -> {facts['loadavg_end']}"
        print(f"  speed-up: {speedup:.2f}x (target >= 1.6x); {load}")
        stamp = f"{started_at:%Y-%m-%dT%H%M%SZ}"
        result_path = RESULTS_DIR / f"executor_scaleout-{stamp}.json"
        write_json(
            result_path,
            {
                "benchmark": "executor_scaleout",
                "started_at": started_at.isoformat(),
                "command": shlex.join([".venv/bin/python", "bench/executor_scaleout.py", *sys.argv[1:]]),
                "machine": facts,
                "volumes": args.volumes,
                "size_mib": args.size_mib,
                "strategy": args.strategy,
                "rounds": rounds,
                "best_seconds": {str(k): v for k, v in best.items()},
                "speedup": round(speedup, 3),
            },
        )
        print(f"\nresults written to {result_path.relative_to(REPO)}")
        return 0
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        log("cleaning up")
        created.cleanup()


if __name__ == "__main__":
    sys.exit(main())
