"""Downloads from a restic snapshot through the executor's `SnapshotDownloads`, against `restic
dump` on the host.

One run:
1. checks the tools (restic, and what executor_throughput.py needs) and makes the busybox image
   with `docker import`;
2. fills a volume with one `--gib` GiB file of random bytes (`big.bin`) and a directory of
   `--small-files` 16 KiB files (`tree/`), and backs it up with `ResticRunner.back_up_volume` into
   a repository made by `restic init`;
3. `--repeats` times each, host and DockBack alternating, the best counting:
   a. the big file alone: `restic dump <snapshot> /volumes/<volume>/big.bin > /dev/null` on the
      host against a download through `SnapshotDownloads` (open, then read every chunk as the
      gateway does, the bytes hashed and dropped), checked against the file's sha256;
   b. the directory as a tar: `restic dump` of it on the host (restic's own tar) against a
      download of it (the tar built by the executor while restic dumps), its entries counted;
   while each download runs, this process's RSS is sampled every 20 ms (VmHWM reset before);
4. prints the results and the targets of issue 17, writes them as JSON to bench/results/, and
   removes everything it created (label `dockback.bench=1`), even when it fails or is interrupted.

The gateway's side of a download is not measured here: it holds the chunk it streams and the one
it asked for next (2 x 512 KiB), whatever the size.

Run it from the repository root as root: `.venv/bin/python bench/snapshot_download.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockback_contracts.control import SnapshotDownloadOpen, SnapshotDownloadRead
from dockback_executor.docker_api import DockerEngine
from dockback_executor.restic import Repository, ResticRunner
from dockback_executor.runner_image import ensure_runner_tools_image
from dockback_executor.runner_strategy import locate_data
from dockback_executor.snapshot_download import SnapshotDownloads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executor_throughput import (
    MIB,
    RESULTS_DIR,
    Created,
    check_tools,
    create_volume,
    in_busybox,
    log,
    machine_facts,
    make_busybox_image,
    mib,
    read_status_kib,
    reset_peak_rss,
    write_json,
)
from repository_backup import check_restic

HOST = "bench"
SAMPLE_SECONDS = 0.02
TARGETS = {
    "download_memory": "the executor's memory grows < 64 MiB during a download, whatever its size (flat)",
    "download_speed": "a file downloads at >= 0.7 of `restic dump`'s speed on the host",
}


class Keys:
    """The repository's password, as the executor's settings share would give it."""

    def __init__(self, repository: Repository) -> None:
        self.known = repository

    async def repository(self, name: str) -> Repository:
        return self.known


@dataclass
class Measured:
    seconds: float
    bytes: int
    rss_growth_bytes: int  # the peak RSS during the download above the RSS before it
    detail: str


async def sampled(operation: Callable[[], Awaitable[tuple[int, str]]]) -> Measured:
    """Run `operation` (bytes, detail) with this process's peak RSS watched."""
    pid = os.getpid()
    reset_peak_rss(pid)
    before = read_status_kib(pid).get("VmRSS", 0)
    peak = before
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            status = read_status_kib(pid)
            peak = max(peak, status.get("VmHWM", 0), status.get("VmRSS", 0))
            await asyncio.sleep(SAMPLE_SECONDS)

    watching = asyncio.create_task(watch())
    started = time.monotonic()
    try:
        size, detail = await operation()
    finally:
        done.set()
        await watching
    return Measured(time.monotonic() - started, size, (peak - before) * 1024, detail)


async def download(
    downloads: SnapshotDownloads, repository: Repository, snapshot_id: str, volume: str, path: str
) -> tuple[int, str]:
    """Every chunk read as the gateway reads it; the bytes' sha256 (a file) or tar entries counted (a directory)."""
    opened = await downloads.open(
        SnapshotDownloadOpen(
            download_id=uuid.uuid4().hex,
            repository=repository.name,
            snapshot_id=snapshot_id,
            volume=volume,
            paths=(path,),
        )
    )
    if opened.problem:
        raise RuntimeError(opened.problem)
    digest = hashlib.sha256()
    size = 0
    read_fd, write_fd = os.pipe() if opened.tar else (-1, -1)
    counting = asyncio.ensure_future(asyncio.to_thread(count_entries, read_fd)) if opened.tar else None
    try:
        while True:
            frame = await downloads.read(SnapshotDownloadRead(download_id=opened.download_id, offset=size))
            if frame[:1] != b"D":
                if frame != b"E":
                    raise RuntimeError(frame[1:].decode(errors="replace"))
                break
            size += len(frame) - 1
            if opened.tar:
                await asyncio.to_thread(os.write, write_fd, frame[1:])  # a pipe of 64 KiB: written whole
            else:
                digest.update(memoryview(frame)[1:])
    finally:
        if opened.tar:
            os.close(write_fd)
    if counting is not None:
        return size, f"{await counting} tar entries"
    return size, digest.hexdigest()


def count_entries(fd: int) -> int:
    with os.fdopen(fd, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        return sum(1 for _ in tar)


def host_dump(repository_path: Path, password: str, snapshot_id: str, path: str) -> tuple[int, str]:
    """`restic dump` on the host into a pipe we read and drop (what a download has to beat)."""
    environment = {
        "PATH": os.environ["PATH"],
        "RESTIC_REPOSITORY": str(repository_path),
        "RESTIC_PASSWORD": password,
        "RESTIC_CACHE_DIR": str(repository_path.parent.parent / "host-restic-cache"),  # as the runner has its own
    }
    process = subprocess.Popen(["restic", "dump", snapshot_id, path], env=environment, stdout=subprocess.PIPE)
    assert process.stdout is not None
    size = 0
    digest = hashlib.sha256()
    while block := process.stdout.read(MIB):
        size += len(block)
        digest.update(block)
    if process.wait() != 0:
        raise RuntimeError(f"restic dump of {path} failed")
    return size, digest.hexdigest()


async def measure(args: argparse.Namespace, created: Created) -> dict[str, Any]:
    engine = DockerEngine("unix:///var/run/docker.sock", runner_labels=created.labels)
    try:
        image = make_busybox_image(created)
        volume = create_volume(created, f"dockback-bench-download-{created.run_id}")
        log(f"filling {volume}: {args.gib} GiB file and {args.small_files} small files")
        in_busybox(
            created,
            volume,
            f"dd if=/dev/urandom of=/vol/big.bin bs=1M count={args.gib * 1024} 2>/dev/null && mkdir /vol/tree && "
            f"i=0; while [ $i -lt {args.small_files} ]; do "
            "head -c 16384 /dev/urandom > /vol/tree/f$i; i=$((i+1)); done; sync",
        )
        expected_sha = in_busybox(created, volume, "sha256sum < /vol/big.bin").split()[0]
        assert image
        data_dir = Path(tempfile.mkdtemp(prefix="dockback-bench-download-"))
        created.tmpdir = data_dir
        runner_image = await ensure_runner_tools_image(engine)
        restic = ResticRunner(engine, runner_image, await locate_data(engine, data_dir, None, None))
        password = secrets.token_urlsafe(24)
        repository = Repository("bench-download", password=password)
        repository_path = restic.repository_path(repository)
        repository_path.parent.mkdir(parents=True, exist_ok=True)
        init = ["restic", "init", "-r", str(repository_path)]
        await asyncio.to_thread(
            subprocess.run, init, env={"RESTIC_PASSWORD": password}, check=True, capture_output=True
        )
        log("backing it up")
        snapshot = await restic.back_up_volume(repository, volume, host=HOST, tags=["bench"], job_id=uuid.uuid4())
        downloads = SnapshotDownloads(restic, Keys(repository), HOST, "bench")  # type: ignore[arg-type]
        results: dict[str, list[Measured]] = {
            "host_file": [],
            "dockback_file": [],
            "host_tree": [],
            "dockback_tree": [],
        }
        inside = f"/volumes/{volume}"
        for attempt in range(1, args.repeats + 1):
            for key, operation in (
                (
                    "host_file",
                    lambda: asyncio.to_thread(
                        host_dump, repository_path, password, snapshot.snapshot_id, f"{inside}/big.bin"
                    ),
                ),
                ("dockback_file", lambda: download(downloads, repository, snapshot.snapshot_id, volume, "/big.bin")),
                (
                    "host_tree",
                    lambda: asyncio.to_thread(
                        host_dump, repository_path, password, snapshot.snapshot_id, f"{inside}/tree"
                    ),
                ),
                ("dockback_tree", lambda: download(downloads, repository, snapshot.snapshot_id, volume, "/tree")),
            ):
                measured = await sampled(operation)
                results[key].append(measured)
                log(
                    f"{key} #{attempt}: {measured.seconds:.2f}s, {mib(measured.bytes):.0f} MiB, "
                    f"RSS +{mib(measured.rss_growth_bytes):.1f} MiB ({measured.detail[:20]})"
                )
                if key.endswith("_file") and measured.detail != expected_sha:
                    raise RuntimeError(f"{key}: the file's sha256 is {measured.detail}, not {expected_sha}")
        return {
            "results": results,
            "snapshot": snapshot.snapshot_id,
            "engine": (await engine.version()).get("Version", ""),
        }
    finally:
        await engine.close()


def best(measured: list[Measured]) -> Measured:
    return min(measured, key=lambda m: m.seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=int, default=2, help="size of the big file (GiB)")
    parser.add_argument("--small-files", type=int, default=4000, help="16 KiB files in the directory")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    check_tools()
    restic_version = check_restic()
    created = Created()
    try:
        outcome = asyncio.run(measure(args, created))
    finally:
        created.cleanup()
    results: dict[str, list[Measured]] = outcome["results"]
    host_file, dockback_file = best(results["host_file"]), best(results["dockback_file"])
    host_tree, dockback_tree = best(results["host_tree"]), best(results["dockback_tree"])
    growth = max(m.rss_growth_bytes for key in ("dockback_file", "dockback_tree") for m in results[key])
    speed = host_file.seconds / dockback_file.seconds
    lines = [
        f"file of {mib(dockback_file.bytes):.0f} MiB: restic dump on the host {host_file.seconds:.2f}s "
        f"({mib(host_file.bytes) / host_file.seconds:.0f} MiB/s), DockBack {dockback_file.seconds:.2f}s "
        f"({mib(dockback_file.bytes) / dockback_file.seconds:.0f} MiB/s)",
        f"directory of {args.small_files} files as a tar: restic dump {host_tree.seconds:.2f}s "
        f"({mib(host_tree.bytes):.0f} MiB), DockBack {dockback_tree.seconds:.2f}s "
        f"({mib(dockback_tree.bytes):.0f} MiB, {dockback_tree.detail})",
        f"- {TARGETS['download_memory']}: +{mib(growth):.1f} MiB at most: {'met' if growth < 64 * MIB else 'MISSED'}",
        f"- {TARGETS['download_speed']}: {speed:.2f}: {'met' if speed >= 0.7 else 'MISSED'}",
    ]
    print("\n".join(lines))
    document = {
        "when": datetime.now(UTC).isoformat(),
        "machine": machine_facts(outcome["engine"]),
        "restic": restic_version,
        "args": vars(args),
        "results": {key: [m.__dict__ for m in value] for key, value in results.items()},
        "summary": lines,
    }
    write_json(RESULTS_DIR / f"snapshot_download-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json", document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
