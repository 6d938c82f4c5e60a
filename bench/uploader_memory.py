"""The uploader's memory while it copies big archives to S3 (issue 16, target 2).

Target 2 says that at 10 GiB the peak RSS of the executor and of the uploader does not grow;
bench/executor_throughput.py measures the executor's, this measures the uploader's. One run:
1. starts a nats-server (from the wheel) with DockBack's streams and key-value buckets, and the
   real uploader (`python -m dockback_uploader`, host id `bench`) with a settings key file, as
   tests/uploader/test_upload_memory.py does;
2. for each size of `--size-gib` (default `1,10`): checks the disk has room, writes an archive of
   that size (a random 4 MiB block repeated: compressibility does not matter to S3) and its
   manifest into the data dir, as tests/uploader/big_archives.py does, starts a fresh moto S3
   server (`moto_server`) with a bucket, publishes the host's settings snapshot naming it (keys
   sealed to the uploader's key), then publishes `ArchiveCreated` with that upload target and
   times it until `UploadCompleted` arrives, sampling the uploader's and moto's VmRSS every 50 ms
   and reading their VmHWM (reset just before the publish) at the end; then stops moto and
   removes the archive;
3. prints a results table and writes it as JSON to bench/results/;
4. stops every process and removes the temporary directory, even when it fails.

moto keeps a multipart upload's parts in temporary files and, at completion, joins them in
memory (several times the archive's size at its peak), so moto's own peak RSS is recorded beside
the uploader's. moto's address space is capped (`--moto-limit-gib`, default: the memory available
at start less 2 GiB) and it is the OOM killer's first choice, so that a size it cannot complete
fails in moto, with a MemoryError, rather than in another process on the machine; such a size is
reported as failed, with why, and with the uploader's memory up to that point (all parts sent).

Run it from the repository root: `.venv/bin/python bench/uploader_memory.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import boto3
import nats
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from dockback_contracts import events as ev
from dockback_contracts import sealed, streams, subjects
from dockback_contracts.manifest import ArchiveManifest
from dockback_contracts.snapshots import S3Target, SettingsSnapshot, host_settings_key, target_secret

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executor_throughput import (  # the same kit executor_scaleout.py uses
    free_port,
    log,
    mib,
    read_status_kib,
    reset_peak_rss,
    stop_process,
)

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

HOST_ID = "bench"
PLAN_ID = UUID("00000000-0000-4000-8000-00000000000a")
PGDATA = ev.ResourceRef(kind="volume", name="pgdata")
TARGET_ID = "offsite"
# moto_server does not check signatures unless told to: any key pair is accepted
ACCESS_KEY, SECRET_KEY = "bench-access-key", "bench-secret-key"

MIB = 1024 * 1024
GIB = 1024 * MIB
BLOCK = 4 * MIB
RSS_SAMPLE_SECONDS = 0.05
ARCHIVE_HEADROOM = 1.2  # the archive plus 20 %
MOTO_COPIES = 2  # moto's temporary files: the parts, then the object joined from them
MOTO_LIMIT_HEADROOM = 2 * GIB  # memory left to everything else when moto's cap is not given


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


# -- small helpers -------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def mem_available_bytes() -> int:
    """MemAvailable from /proc/meminfo: what the machine can give without swapping."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def loadavg() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def machine_facts() -> dict[str, Any]:
    """What the numbers depend on: CPUs, memory, kernel, versions, commit."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_total_kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "services", "libs"], capture_output=True, text=True, check=False
    )
    nats_version = subprocess.run(
        [str(VENV_BIN / "nats-server"), "--version"], capture_output=True, text=True, check=False
    )
    from importlib.metadata import version

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_total_kib / MIB, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "moto": version("moto"),
        "miniopy_async": version("miniopy-async"),
        "nats_server": nats_version.stdout.strip(),
        "git_commit": commit.stdout.strip() + (" (services/libs modified)" if dirty.stdout.strip() else ""),
    }


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Spawned:
    """The temporary directory and the processes of a run, so `cleanup()` can remove them whatever happened."""

    tmpdir: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Path:
        """Start a process with its output in <tmpdir>/<name>.log; its log's path."""
        log_path = self.tmpdir / f"{name}.log"
        with open(log_path, "wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.tmpdir)
        self.processes.append((name, process))
        return log_path

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return dict(self.processes)[name]

    def stop(self, name: str) -> None:
        stop_process(name, self.process(name))
        self.processes = [(n, p) for n, p in self.processes if n != name]

    def cleanup(self) -> None:
        """Stop the processes (SIGTERM, then SIGKILL) and remove the temporary directory."""
        for name, process in reversed(self.processes):
            stop_process(name, process)
        self.processes.clear()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def log_tail(path: Path, lines: int = 30) -> str:
    return "".join(read_text(path).splitlines(keepends=True)[-lines:])


async def wait_for_line(spawned: Spawned, name: str, log_path: Path, marker: str, limit_seconds: float = 60.0) -> None:
    """Wait until the process's log holds `marker`; fail with the log's tail if it exits or times out."""
    process = spawned.process(name)
    deadline = time.monotonic() + limit_seconds
    while marker not in read_text(log_path):
        if process.poll() is not None or time.monotonic() > deadline:
            state = (
                f"exited with {process.returncode}" if process.poll() is not None else f"not ready in {limit_seconds}s"
            )
            raise BenchError(f"{name} {state}; the end of {log_path}:\n{log_tail(log_path)}")
        await asyncio.sleep(0.1)


def died_how(returncode: int) -> str:
    if returncode == -signal.SIGKILL:
        return "was killed by SIGKILL (the kernel's OOM killer, unless someone else sent it)"
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    return f"exited with {returncode}"


# -- memory sampling -----------------------------------------------------------------------------


@dataclass
class PeakRss:
    """One process's memory during one upload."""

    pid: int
    before_kib: int = 0  # VmRSS just before the publish
    peak_sampled_kib: int = 0
    hwm_kib: int = 0  # VmHWM at the end (0 when the process was gone by then)
    hwm_covers_upload_only: bool = False
    samples: int = 0

    @property
    def peak_mib(self) -> float:
        return max(self.peak_sampled_kib, self.hwm_kib) / 1024

    @property
    def before_mib(self) -> float:
        return self.before_kib / 1024


@contextlib.asynccontextmanager
async def sampling_rss(*pids: int) -> AsyncIterator[list[PeakRss]]:
    """Reset VmHWM, sample VmRSS every 50 ms for the duration of the block, then read VmHWM."""
    peaks = []
    for pid in pids:
        reset = reset_peak_rss(pid)
        peaks.append(PeakRss(pid, before_kib=read_status_kib(pid).get("VmRSS", 0), hwm_covers_upload_only=reset))

    async def sample_forever() -> None:
        while True:
            for peak in peaks:
                peak.peak_sampled_kib = max(peak.peak_sampled_kib, read_status_kib(peak.pid).get("VmRSS", 0))
                peak.samples += 1
            await asyncio.sleep(RSS_SAMPLE_SECONDS)

    task = asyncio.create_task(sample_forever())
    try:
        yield peaks
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for peak in peaks:
            status = read_status_kib(peak.pid)
            peak.hwm_kib = status.get("VmHWM", 0)
            peak.peak_sampled_kib = max(peak.peak_sampled_kib, status.get("VmRSS", 0))


# -- the archive ---------------------------------------------------------------------------------


def archive_bytes_for(size_gib: float) -> int:
    """The archive's size: `size_gib` rounded to whole 4 MiB blocks (at least one)."""
    return max(1, round(size_gib * GIB / BLOCK)) * BLOCK


def check_room(directory: Path, size: int) -> None:
    """Fail unless the disk holds the archive with 20 % to spare, and moto's temporary copies."""
    free = shutil.disk_usage(directory).free
    needed = int(size * ARCHIVE_HEADROOM) + MOTO_COPIES * size
    if free < needed:
        raise BenchError(
            f"not enough disk space in {directory} for a {size / GIB:.2f} GiB archive: {free / GIB:.1f} GiB free, "
            f"{needed / GIB:.1f} GiB needed ({size * ARCHIVE_HEADROOM / GIB:.1f} GiB for the archive with 20 % to "
            f"spare, {MOTO_COPIES * size / GIB:.1f} GiB for moto's temporary files: its parts, then the object); "
            "free some space or pass a smaller --size-gib"
        )


def write_archive(data_dir: Path, size: int) -> ev.ArchiveRef:
    """A `size`-byte archive (a random 4 MiB block repeated) and its manifest, where the executor's store
    puts them, as tests/uploader/big_archives.py writes them; synced, so no writeback overlaps the upload."""
    job_id = uuid.uuid4()
    artifact_id = ev.artifact_id_for(job_id, PGDATA, "pgdata")
    directory = data_dir / "volumes" / "pgdata"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"20261125T101500Z-{job_id}-pgdata"
    block = os.urandom(BLOCK)
    digest = hashlib.sha256()
    with open(directory / f"{stem}.tar.zst", "wb") as file:
        for _ in range(size // len(block)):
            file.write(block)
            digest.update(block)
    now = datetime.now(UTC)
    manifest = ArchiveManifest(
        artifact_id=artifact_id,
        job_id=job_id,
        plan_id=PLAN_ID,
        host_id=HOST_ID,
        resource=PGDATA,
        role="pgdata",
        kind="volume",
        archive_file=f"{stem}.tar.zst",
        compression="zstd",
        sha256=digest.hexdigest(),
        size_bytes=size,
        raw_bytes=size,
        file_count=1,
        started_at=now,
        finished_at=now,
        engine_version="test",
    )
    (directory / f"{stem}.manifest.json").write_text(manifest.model_dump_json())
    os.sync()
    return ev.ArchiveRef(
        artifact_id=artifact_id, path=f"volumes/pgdata/{stem}.tar.zst", sha256=digest.hexdigest(), size_bytes=size
    )


def remove_archive(data_dir: Path, ref: ev.ArchiveRef) -> None:
    archive = data_dir / ref.path
    archive.unlink(missing_ok=True)
    archive.with_name(archive.name.removesuffix(".tar.zst") + ".manifest.json").unlink(missing_ok=True)


def archive_created(ref: ev.ArchiveRef) -> ev.ArchiveCreated:
    """The executor's announcement of `ref`, naming the bench's S3 target for its upload."""
    return ev.ArchiveCreated(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        plan_id=PLAN_ID,
        resource=PGDATA,
        role="pgdata",
        archive=ref,
        manifest_path=ref.path.removesuffix(".tar.zst") + ".manifest.json",
        raw_bytes=ref.size_bytes,
        file_count=1,
        compression="zstd",
        upload_targets=(TARGET_ID,),
        last_of_job=True,
    )


# -- moto ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moto:
    """A moto S3 server of one size's upload, and its bucket."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    bucket: str
    client: Any  # boto3's S3 client

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


def fence_in(pid: int, limit_bytes: int) -> None:
    """Cap the process's address space at `limit_bytes`, so that it fails with MemoryError instead of
    taking the machine's memory, and make it the OOM killer's first choice should that not suffice
    (raising a score needs no privilege)."""
    resource.prlimit(pid, resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    try:
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")
    except OSError as exc:
        log(f"could not make moto the OOM killer's first choice: {exc}")


async def start_moto(spawned: Spawned, name: str, limit_bytes: int) -> Moto:
    """`moto_server` on a free port, its temporary files in the run's directory, its memory capped
    (`fence_in`); with a bucket."""
    port = free_port()
    scratch = spawned.tmpdir / f"{name}-tmp"
    scratch.mkdir()
    env = os.environ | {"TMPDIR": str(scratch)}
    log_path = spawned.start(name, [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env)
    process = spawned.process(name)
    fence_in(process.pid, limit_bytes)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise BenchError(f"moto_server {died_how(process.returncode)}; the end of its log:\n{log_tail(log_path)}")
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{port}/moto-api/", timeout=2)
            break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise BenchError(
                    f"moto_server did not answer within 60s; the end of its log:\n{log_tail(log_path)}"
                ) from None
            await asyncio.sleep(0.2)
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=120),
    )
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(client.create_bucket, Bucket=bucket)
    return Moto(name, process, port, bucket, client)


# -- settings and events over NATS ---------------------------------------------------------------


def s3_target(moto: Moto, recipient: X25519PublicKey, part_size: int) -> S3Target:
    """moto's bucket as the target `offsite`, its keys sealed to the uploader's key."""
    return S3Target(
        target_id=TARGET_ID,
        endpoint=moto.endpoint,
        secure=False,
        region="us-east-1",
        bucket=moto.bucket,
        prefix="backups",
        access_key=sealed.seal_to(recipient, target_secret(TARGET_ID, "access_key"), ACCESS_KEY),
        secret_key=sealed.seal_to(recipient, target_secret(TARGET_ID, "secret_key"), SECRET_KEY),
        part_size_bytes=part_size,
    )


async def put_settings(nc: NatsClient, target: S3Target, revision: int, recipient: X25519PublicKey) -> None:
    """Publish the host's settings snapshot as the gateway does, sealed to the uploader's key."""
    snapshot = SettingsSnapshot(
        revision=revision,
        recipient=sealed.public_key_text(recipient),
        targets=(target,),
        updated_at=datetime.now(UTC),
    )
    kv = await nc.jetstream().key_value(streams.SETTINGS_BUCKET)
    await kv.put(host_settings_key(HOST_ID), snapshot.model_dump_json().encode())


async def publish(nc: NatsClient, event: ev.Event) -> None:
    """Publish as the gateway's outbox relay does: JetStream, with a `Nats-Msg-Id`."""
    await nc.jetstream().publish(
        subjects.subject_for(event),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": subjects.message_id(event), "content-type": "application/json"},
    )


def _type_of(event_type: type[ev.Event]) -> str:
    """The `type` field an event class puts on the wire, e.g. `upload_completed.v1`."""
    return str(event_type.model_fields["type"].default)


class UploadWatch:
    """A core-NATS subscription to every fact; resolves a job's future at its UploadCompleted or JobFailed."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}

    async def subscribe(self, nc: NatsClient) -> None:
        await nc.subscribe(f"{subjects.EVENTS_PREFIX}.>", cb=self._on_message)

    def expect(self, job_id: UUID) -> asyncio.Future[tuple[float, dict[str, Any]]]:
        """A future resolved with (arrival time, payload) of the job's UploadCompleted or JobFailed."""
        future: asyncio.Future[tuple[float, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiting[str(job_id)] = future
        return future

    async def _on_message(self, msg: Msg) -> None:
        arrived = time.perf_counter()
        payload = json.loads(msg.data)
        future = self.waiting.get(str(payload.get("job_id")))
        if future is None or future.done():
            return
        if payload.get("type") in (_type_of(ev.UploadCompleted), _type_of(ev.JobFailed)):
            future.set_result((arrived, payload))


# -- one size ------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    """One archive's upload: publish -> UploadCompleted, and the memory of the uploader and of moto."""

    size_gib: float
    size_bytes: int
    sha256: str
    write_seconds: float
    mem_available_before: int  # bytes, just before the publish
    seconds: float | None = None  # publish -> UploadCompleted
    ended_after_seconds: float | None = None  # publish -> UploadCompleted or JobFailed
    succeeded: bool = False
    problem: str = ""
    event: dict[str, Any] | None = None
    uploader: PeakRss | None = None
    moto: PeakRss | None = None
    log_tails: dict[str, str] = field(default_factory=dict)  # the processes' last log lines, when it failed

    @property
    def mib_per_s(self) -> float | None:
        return None if not self.seconds else mib(self.size_bytes) / self.seconds

    def as_json(self) -> dict[str, Any]:
        document = asdict(self) | {"mib_per_s": self.mib_per_s}
        for name in ("uploader", "moto"):
            peak = getattr(self, name)
            if peak is not None:
                document[name] |= {"peak_mib": peak.peak_mib, "before_mib": peak.before_mib}
        return document


@dataclass(frozen=True)
class Plan:
    """What to measure and with what limits."""

    sizes: list[float]  # GiB
    part_size: int  # the S3 target's part size, bytes
    upload_seconds: float  # how long one upload may take
    moto_limit: int  # bytes of address space moto may use


@dataclass(frozen=True)
class Uploader:
    """The running uploader and what a size's upload needs around it."""

    nc: NatsClient
    watch: UploadWatch
    process: subprocess.Popen[bytes]
    data_dir: Path
    recipient: X25519PublicKey
    plan: Plan


async def measure_size(spawned: Spawned, uploader: Uploader, size_gib: float, revision: int) -> SizeResult:
    """Write the archive, start moto, point the settings at it, and time the upload with both memories sampled."""
    size = archive_bytes_for(size_gib)
    check_room(spawned.tmpdir, size)
    log(f"{size_gib:g} GiB: writing a {size:,}-byte archive ...")
    started = time.perf_counter()
    ref = await asyncio.to_thread(write_archive, uploader.data_dir, size)
    result = SizeResult(size_gib, size, ref.sha256, time.perf_counter() - started, 0)
    log(f"{size_gib:g} GiB: archive written and synced in {result.write_seconds:.1f}s")
    moto_name = f"moto-{revision}"
    try:
        moto = await start_moto(spawned, moto_name, uploader.plan.moto_limit)
        await put_settings(
            uploader.nc, s3_target(moto, uploader.recipient, uploader.plan.part_size), revision, uploader.recipient
        )
        result.mem_available_before = mem_available_bytes()
        event = archive_created(ref)
        future = uploader.watch.expect(event.job_id)
        async with sampling_rss(uploader.process.pid, moto.process.pid) as (uploader_rss, moto_rss):
            result.uploader, result.moto = uploader_rss, moto_rss
            start = time.perf_counter()
            await publish(uploader.nc, event)
            log(f"{size_gib:g} GiB: ArchiveCreated published (job {event.job_id}); uploading ...")
            await wait_for_upload_end(uploader, moto, future, result, start)
        moto_log = read_text(spawned.tmpdir / f"{moto_name}.log")
        if "MemoryError" in moto_log:
            where = (
                "completing the multipart upload" if "complete_multipart_upload" in moto_log else "handling a request"
            )
            result.problem += (
                f"; moto ran out of its {uploader.plan.moto_limit / GIB:.1f} GiB memory cap (MemoryError) {where}"
            )
        if result.succeeded and result.event is not None:  # as the test does: the object is there, whole
            head = await asyncio.to_thread(moto.client.head_object, Bucket=moto.bucket, Key=result.event["key"])
            if head["ContentLength"] != size:
                result.succeeded = False
                result.problem = f"the object in moto holds {head['ContentLength']} bytes, not {size}"
        if not result.succeeded:
            for name in ("uploader", moto_name):
                result.log_tails[name] = log_tail(spawned.tmpdir / f"{name}.log", 20)
    finally:
        if moto_name in dict(spawned.processes):
            await asyncio.to_thread(spawned.stop, moto_name)
        shutil.rmtree(spawned.tmpdir / f"{moto_name}-tmp", ignore_errors=True)
        await asyncio.to_thread(remove_archive, uploader.data_dir, ref)
    return result


async def wait_for_upload_end(
    uploader: Uploader,
    moto: Moto,
    future: asyncio.Future[tuple[float, dict[str, Any]]],
    result: SizeResult,
    start: float,
) -> None:
    """Wait for the job's UploadCompleted or JobFailed and record it in `result`. moto dying meanwhile is
    recorded, and the wait goes on for the uploader's JobFailed (it tries once: no retries)."""
    deadline = start + uploader.plan.upload_seconds
    moto_died_at: float | None = None
    while not future.done():
        await asyncio.wait([future], timeout=0.5)
        if uploader.process.poll() is not None:
            raise BenchError(f"the uploader {died_how(uploader.process.returncode)} during the upload")
        now = time.perf_counter()
        if moto_died_at is None and moto.process.poll() is not None:
            moto_died_at = now
            result.problem = f"moto {died_how(moto.process.returncode)} {now - start:.1f}s after the publish"
            log(f"{result.size_gib:g} GiB: {result.problem}; waiting for the uploader's JobFailed")
        if moto_died_at is not None and now > moto_died_at + 120:
            result.problem += "; no JobFailed from the uploader within 120s"
            return
        if now > deadline:
            result.problem = (result.problem + "; " if result.problem else "") + (
                f"no UploadCompleted or JobFailed within {uploader.plan.upload_seconds:.0f}s"
            )
            return
    arrived, payload = future.result()
    result.event = payload
    result.ended_after_seconds = arrived - start
    if payload.get("type") == _type_of(ev.UploadCompleted):
        result.seconds = arrived - start
        said = (payload.get("size_bytes"), payload.get("sha256"))
        result.succeeded = said == (result.size_bytes, result.sha256)
        if not result.succeeded:
            result.problem = f"UploadCompleted says {said[0]} bytes, sha256 {said[1]}: not the archive's"
        log(f"{result.size_gib:g} GiB: UploadCompleted after {result.seconds:.1f}s ({payload.get('verified_by')})")
    else:
        reason = (
            f"JobFailed {result.ended_after_seconds:.0f}s after the publish, in phase {payload.get('phase')}: "
            f"{payload.get('reason')}"
        )
        result.problem = f"{result.problem}; {reason}" if result.problem else reason
        log(f"{result.size_gib:g} GiB: {reason}")


# -- the run -------------------------------------------------------------------------------------


def uploader_env(nats_url: str, data_dir: Path, key_file: Path) -> dict[str, str]:
    """The uploader's environment, as the test gives it: ours without any DOCKBACK_* of the caller, plus
    the bench's settings. One attempt per job (no retry delays): a failure shows as JobFailed at once
    instead of a silent upload of the same archive again."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKBACK_")}
    env.update(
        DOCKBACK_NATS_URL=nats_url,
        DOCKBACK_HOST_ID=HOST_ID,
        DOCKBACK_DATA_DIR=str(data_dir),
        DOCKBACK_SETTINGS_KEY_FILE=str(key_file),
        DOCKBACK_ALLOW_PRIVATE_TARGETS="true",  # moto listens on loopback
        DOCKBACK_JOB_RETRY_DELAYS_SECONDS="[]",
        DOCKBACK_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


async def measure(spawned: Spawned, plan: Plan) -> list[SizeResult]:
    """Start nats-server and the uploader, then measure each size in turn."""
    port = free_port()
    nats_url = f"nats://127.0.0.1:{port}"
    argv = [str(VENV_BIN / "nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port)]
    nats_log = spawned.start("nats-server", [*argv, "-sd", str(spawned.tmpdir / "jetstream")])
    await wait_for_line(spawned, "nats-server", nats_log, "Server is ready")

    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        for config in streams.stream_configs():
            await js.add_stream(config)
        for kv in streams.kv_configs():
            await js.create_key_value(kv)
        watch = UploadWatch()
        await watch.subscribe(nc)

        # Without NATS credentials the uploader derives its sealing key from the settings key file.
        settings_key = os.urandom(sealed.KEY_BYTES)
        key_file = spawned.tmpdir / "settings.key"
        key_file.write_text(settings_key.hex())
        recipient = sealed.derive_private_key(settings_key, f"uploader-{HOST_ID}").public_key()
        data_dir = spawned.tmpdir / "data"
        data_dir.mkdir()
        argv = [str(VENV_BIN / "python"), "-m", "dockback_uploader"]
        uploader_log = spawned.start("uploader", argv, uploader_env(nats_url, data_dir, key_file))
        await wait_for_line(spawned, "uploader", uploader_log, " ready ")
        process = spawned.process("uploader")
        log(f"uploader ready (pid {process.pid}, log {uploader_log})")
        uploader = Uploader(nc, watch, process, data_dir, recipient, plan)

        results = []
        for revision, size_gib in enumerate(plan.sizes, start=1):
            results.append(await measure_size(spawned, uploader, size_gib, revision))
        return results
    finally:
        await nc.drain()


def format_table(results: list[SizeResult], facts: dict[str, Any], plan: Plan) -> str:
    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    width = 104
    lines = [
        f"machine: {facts['nproc']} CPUs ({facts['cpu_model']}), {facts['memory_gib']} GiB RAM, "
        f"kernel {facts['kernel']}, moto {facts['moto']}, miniopy-async {facts['miniopy_async']}, "
        f"load average {facts['loadavg_start']} at start, {facts.get('loadavg_end', '?')} at end",
        f"S3 target part size: {mib(plan.part_size):.0f} MiB, one part in flight; moto's address space capped at "
        f"{plan.moto_limit / GIB:.1f} GiB",
        "",
        f"{'size GiB':>8} {'seconds':>8} {'MiB/s':>7} {'uploader RSS before':>19} {'uploader peak RSS MiB':>21} "
        f"{'moto peak RSS MiB':>17}  result",
        "-" * width,
    ]
    for r in results:
        before = r.uploader.before_mib if r.uploader else None
        uploader_peak = r.uploader.peak_mib if r.uploader else None
        moto_peak = r.moto.peak_mib if r.moto else None
        lines.append(
            f"{r.size_bytes / GIB:>8.2f} {cell(r.seconds, '.1f'):>8} {cell(r.mib_per_s, '.1f'):>7} "
            f"{cell(before, '.0f'):>19} {cell(uploader_peak, '.0f'):>21} {cell(moto_peak, '.0f'):>17}  "
            f"{'ok' if r.succeeded else 'FAILED'}"
        )
    lines += [
        "-" * width,
        "seconds = JetStream publish of ArchiveCreated -> arrival of UploadCompleted (stream the file in parts,",
        "complete the multipart upload, stat and check size and sha256, put the manifest); MiB/s = archive / seconds.",
        "peak RSS = max(VmRSS sampled every 50 ms, VmHWM reset just before the publish); the uploader is one process",
        "for all sizes, moto a fresh server per size. 'before' is the uploader's VmRSS at the publish.",
    ]
    lines += [f"note: {r.size_gib:g} GiB: {r.problem}" for r in results if r.problem]
    return "\n".join(lines)


def parse_sizes(text: str) -> list[float]:
    try:
        sizes = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"--size-gib takes sizes in GiB separated by commas, e.g. 1,10 or 0.3; not {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes):
        raise SystemExit(f"--size-gib needs sizes above 0, not {text!r}")
    return sizes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--size-gib",
        default="1,10",
        help="archive sizes in GiB, comma-separated; fractions too (0.3 for a quick check)",
    )
    parser.add_argument(
        "--part-mib",
        type=int,
        default=S3Target.model_fields["part_size_bytes"].default // MIB,
        help="the S3 target's part size in MiB (default: the target's default)",
    )
    parser.add_argument("--upload-timeout", type=float, default=3600.0, help="seconds one upload may take")
    parser.add_argument(
        "--moto-limit-gib",
        type=float,
        default=None,
        help="moto's address-space cap in GiB (default: the memory available at start less 2 GiB)",
    )
    return parser.parse_args()


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def main() -> int:
    """Run the whole benchmark; 0 when every size uploaded."""
    args = parse_args()
    sizes = parse_sizes(args.size_gib)
    for tool in ("nats-server", "moto_server"):
        if not (VENV_BIN / tool).exists():
            print(f"missing {VENV_BIN / tool}: `make test` makes the venv with it", file=sys.stderr)
            return 2
    facts = machine_facts()
    facts["loadavg_start"] = loadavg()
    facts["mem_available_gib_start"] = round(mem_available_bytes() / GIB, 1)
    if os.getloadavg()[0] > 0.5:
        log(f"warning: the machine is busy (load average {facts['loadavg_start']}): expect noisy numbers")
    moto_limit = int(args.moto_limit_gib * GIB) if args.moto_limit_gib else mem_available_bytes() - MOTO_LIMIT_HEADROOM
    plan = Plan(sizes, args.part_mib * MIB, args.upload_timeout, moto_limit)
    started_at = datetime.now(UTC)
    spawned = Spawned(Path(tempfile.mkdtemp(prefix="dockback-bench-uploader-")))
    try:
        check_room(spawned.tmpdir, archive_bytes_for(max(sizes)))
        results = asyncio.run(measure(spawned, plan))
        facts["loadavg_end"] = loadavg()
        print()
        print(format_table(results, facts, plan))
        result_path = RESULTS_DIR / f"uploader_memory-{started_at:%Y-%m-%dT%H%M%SZ}.json"
        write_json(
            result_path,
            {
                "benchmark": "uploader_memory",
                "started_at": started_at.isoformat(),
                "command": shlex.join([".venv/bin/python", "bench/uploader_memory.py", *sys.argv[1:]]),
                "machine": facts,
                "part_size_bytes": plan.part_size,
                "moto_address_space_limit_bytes": plan.moto_limit,
                "sizes": [r.as_json() for r in results],
            },
        )
        print(f"\nresults written to {result_path.relative_to(REPO)}")
        return 0 if all(r.succeeded for r in results) else 1
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        uploader_log = spawned.tmpdir / "uploader.log"
        if uploader_log.exists():
            print("the end of the uploader's log:", log_tail(uploader_log, 40), sep="\n", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        log("cleaning up")
        spawned.cleanup()


if __name__ == "__main__":
    sys.exit(main())
