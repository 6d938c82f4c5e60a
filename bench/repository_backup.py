"""Restic repository backups through DockBack's executor code against `restic` on the host.

One run:
1. checks the tools (restic, and what executor_throughput.py needs: zstd, tar, /bin/busybox,
   docker) and makes the busybox image with `docker import`;
2. fills a volume with executor_throughput.py's ~1 GiB mixed data set plus one 10 MiB file of
   random bytes (`restore-me/one-10mib.bin`), and digests it;
3. builds what the executor builds for a restic job: a `DockerEngine` (its runner containers
   labelled for cleanup, their memory sampled from their cgroup while they run), the runner
   tools image, the data dir's place (a temporary directory) and a `ResticRunner`;
4. `--repeats` times each, host and DockBack alternating, the best counting:
   a. a first backup into a new repository: `restic backup <mountpoint>` on the host against
      `ResticRunner.back_up_volume`, into two copies of one repository made by `restic init` just
      before (the same key derivation cost and chunker on both sides); beside them, `restic init`
      and `ResticRunner.ensure_repository` timed;
   b. a backup of the unchanged volume into the first repository again, on the host and through
      DockBack; `restic snapshots` of it on both sides (what a restic run costs when it has next
      to nothing to do); and a full archive backup: `tar | zstd -3 -T0 > file`, fsync on the host
      and the executor's runner archive (`RunnerStrategy.archive_volume`, zstd at its default level);
   c. restores of the first snapshot: the whole volume and the 10 MiB file alone, `restic restore`
      on the host into a directory against `ResticRunner.restore_into_volume` into a new volume
      (checked against the original);
5. once: seven backups into a new repository through DockBack with ~1 % of the files and ~1 % of
   the bytes changed in a busybox container between them, and the repository's size (`du`)
   after each;
6. prints the results and the targets of issue 17, writes them as JSON to bench/results/, and
   removes everything it created (label `dockback.bench=1`), even when it fails or is interrupted.

Run it from the repository root as root (the volume's mountpoint is under /var/lib/docker):
`.venv/bin/python bench/repository_backup.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from dockback_executor.docker_api import DockerEngine
from dockback_executor.restic import Repository, ResticRunner, Snapshot
from dockback_executor.runner_image import ensure_runner_tools_image
from dockback_executor.runner_strategy import RunnerStrategy, locate_data, locate_pipes
from dockback_runtime.jobs.errors import JobError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executor_throughput import (  # the same kit executor_scaleout.py and uploader_memory.py use
    MIB,
    RANDOM_FILES,
    REPO,
    RESULTS_DIR,
    RUNNER_IMAGES,
    BenchError,
    Created,
    VolumeFacts,
    check_tools,
    create_volume,
    fill_volume,
    host_file_reference,
    in_busybox,
    loadavg,
    log,
    machine_facts,
    make_busybox_image,
    mib,
    read_status_kib,
    reset_peak_rss,
    run,
    timing,
    tree_digest,
    volume_facts,
    volume_mountpoint,
    write_json,
)

T = TypeVar("T")

HOST = "bench"  # restic's --host, for the host's snapshots and DockBack's alike
TAGS = ("dockback", "bench")
ONE_FILE = "restore-me/one-10mib.bin"
ONE_FILE_MIB = 10
SERIES_BACKUPS = 7
CHANGED_SHARE = 0.01  # of the files and of the bytes, between two backups of the series
CHANGE_BLOCK = 64 * 1024
MEMORY_SAMPLE_SECONDS = 0.02

TARGETS = {
    "first_backup": "first backup through DockBack >= 0.8 of the host's `restic backup` (host s / DockBack s)",
    "unchanged_backup": "re-backup, nothing changed, <= 15 % of a full archive backup's time",
    "series_storage": f"{SERIES_BACKUPS} backups, ~1 % changed between them: repository <= 1.3x one full backup",
    "one_file_restore": "restore of one 10 MiB file <= 5 % of a whole-volume restore's time",
    "restic_memory": "restic's peak RSS in the runner < 200 MiB (flat)",
}

ADD_ONE_FILE = (
    f"mkdir -p /vol/{Path(ONE_FILE).parent} && "
    f"dd if=/dev/urandom of=/vol/{ONE_FILE} bs=1M count={ONE_FILE_MIB} 2>/dev/null && sync"
)

# ~1 % of the small files rewritten with other bytes of the same length (every EVERY-th in find's
# order, a different one each round), and BLOCKS x BLOCK bytes of one random blob overwritten in place:
# restic's content-defined chunks around that range change, the rest of the file does not.
CHANGE_SCRIPT = r"""
set -e
find /vol/small -type f | awk -v r="$ROUND" -v every="$EVERY" 'NR % every == r % every' > /tmp/picked
n=0
while IFS= read -r f; do
  size=$(wc -c < "$f")
  head -c "$size" /dev/urandom | base64 | tr -d '\n' | head -c "$size" > "$f"
  n=$((n + 1))
done < /tmp/picked
dd if=/dev/urandom of="$BLOB" bs="$BLOCK" count="$BLOCKS" seek="$SEEK" conv=notrunc 2>/dev/null
sync
echo "$n"
"""


def check_restic() -> str:
    """restic's version; exit 2 with the install command when it is missing (the rest is checked
    by executor_throughput's `check_tools`)."""
    if shutil.which("restic") is None:
        print("missing restic: install it with `apt-get install -y restic`", file=sys.stderr)
        raise SystemExit(2)
    return run(["restic", "version"]).split()[1]


# -- memory ----------------------------------------------------------------------------------


@dataclass
class RunnerRun:
    """One runner container: seconds from its start until its exit was seen, and its memory from
    its cgroup: restic's VmHWM, the cgroup's peak usage (page cache of the files it wrote included)
    and peak anonymous memory."""

    container_id: str
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    restic_hwm_kib: int = 0
    cgroup_peak_bytes: int = 0
    cgroup_rss_peak_bytes: int = 0
    samples: int = 0


def container_cgroup(container_id: str) -> Path | None:
    """The memory cgroup directory of a running container (cgroup v1 or v2, cgroupfs or systemd driver)."""
    for candidate in (
        f"/sys/fs/cgroup/memory/docker/{container_id}",
        f"/sys/fs/cgroup/memory/system.slice/docker-{container_id}.scope",
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope",
        f"/sys/fs/cgroup/docker/{container_id}",
    ):
        if Path(candidate, "cgroup.procs").exists():
            return Path(candidate)
    return None


def read_cgroup_memory(directory: Path, runner: RunnerRun) -> None:
    """Raise the runner's memory peaks to what its cgroup and its restic process show now."""
    for peak_file in ("memory.max_usage_in_bytes", "memory.peak"):  # v1, v2 (kernel >= 5.19)
        with contextlib.suppress(OSError, ValueError):
            runner.cgroup_peak_bytes = max(runner.cgroup_peak_bytes, int((directory / peak_file).read_text()))
    with contextlib.suppress(OSError, ValueError):
        stat = dict(line.split() for line in (directory / "memory.stat").read_text().splitlines())
        anonymous = stat.get("total_rss") or stat.get("rss") or stat.get("anon") or "0"
        runner.cgroup_rss_peak_bytes = max(runner.cgroup_rss_peak_bytes, int(anonymous))
    with contextlib.suppress(OSError):
        for pid in (directory / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "restic":
                    runner.restic_hwm_kib = max(runner.restic_hwm_kib, read_status_kib(int(pid)).get("VmHWM", 0))
    runner.samples += 1


async def sample_memory(runner: RunnerRun) -> None:
    """Sample the container's memory every 20 ms until cancelled (VmHWM and the cgroup's peak only
    grow, so the last sample before restic exits holds its peak)."""
    directory = container_cgroup(runner.container_id)
    if directory is None:
        return
    while True:
        read_cgroup_memory(directory, runner)
        await asyncio.sleep(MEMORY_SAMPLE_SECONDS)


class SampledEngine(DockerEngine):
    """The executor's engine connection, timing every container it starts and sampling its memory
    until its exit is seen."""

    def __init__(self, runner_labels: dict[str, str]) -> None:
        super().__init__(runner_labels=runner_labels)
        self.sampled: list[RunnerRun] = []
        self._sampling: dict[str, asyncio.Task[None]] = {}

    async def start_container(self, id_or_name: str) -> None:
        await super().start_container(id_or_name)
        runner = RunnerRun(id_or_name)
        self.sampled.append(runner)
        self._sampling[id_or_name] = asyncio.create_task(sample_memory(runner))

    async def wait_container(self, id_or_name: str) -> tuple[int, str]:
        try:
            return await super().wait_container(id_or_name)
        finally:
            for runner in self.sampled:
                if runner.container_id == id_or_name:
                    runner.seconds = time.perf_counter() - runner.started
            sampling = self._sampling.pop(id_or_name, None)
            if sampling is not None:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Measured:
    """One timed operation: wall-clock seconds, the machine's busy CPU-seconds, memory, details."""

    seconds: float
    cpu_seconds: float
    restic_peak_mib: float | None = None  # restic's VmHWM (host: its ru_maxrss), max over its runs
    cgroup_peak_mib: float | None = None  # the runner's cgroup peak usage, page cache included
    cgroup_rss_peak_mib: float | None = None  # the runner's cgroup peak anonymous memory
    python_hwm_mib: float | None = None  # this process's VmHWM, reset before the operation
    restic_runs: int = 1  # restic processes the operation started (DockBack: runner containers)
    detail: dict[str, Any] = field(default_factory=dict)


async def dockback(engine: SampledEngine, operation: Awaitable[T]) -> tuple[Measured, T]:
    """Time `operation` (a ResticRunner or RunnerStrategy call, not started yet) with the memory of
    its runners and of this process (which does the executor's part of the work)."""
    engine.sampled.clear()
    os.sync()  # dirty pages of earlier steps are not written back on this run's time
    hwm_reset = reset_peak_rss(os.getpid())
    with timing() as timed:
        result = await operation
    measured = Measured(*timed(), restic_runs=len(engine.sampled))
    if engine.sampled:
        measured.restic_peak_mib = max(r.restic_hwm_kib for r in engine.sampled) / 1024 or None  # None: no restic
        measured.cgroup_peak_mib = mib(max(r.cgroup_peak_bytes for r in engine.sampled))
        measured.cgroup_rss_peak_mib = mib(max(r.cgroup_rss_peak_bytes for r in engine.sampled))
        measured.detail["memory_samples"] = [r.samples for r in engine.sampled]
        measured.detail["runner_seconds"] = [r.seconds for r in engine.sampled]
    if hwm_reset:
        measured.python_hwm_mib = read_status_kib(os.getpid()).get("VmHWM", 0) / 1024
    return measured, result


@dataclass(frozen=True)
class HostRestic:
    """restic on the host with its own cache directory, kept across runs as DockBack keeps its own."""

    cache: Path
    password: str
    scratch: Path  # where restic's output goes

    def __call__(self, repository: Path, *args: str) -> tuple[Measured, str]:
        """Run `restic <args>` against `repository`, timed; its standard output. The peak RSS is
        the process's own (`wait4`)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.scratch),
            "RESTIC_REPOSITORY": str(repository),
            "RESTIC_PASSWORD": self.password,
            "RESTIC_CACHE_DIR": str(self.cache),
            "RESTIC_PROGRESS_FPS": "2",  # as ResticRunner sets it
        }
        out_path, err_path = self.scratch / "restic.out", self.scratch / "restic.err"
        os.sync()
        with open(out_path, "wb") as out, open(err_path, "wb") as err, timing() as timed:
            process = subprocess.Popen(["restic", *args], stdout=out, stderr=err, env=env)
            try:
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:  # interrupted: restic must not go on writing into what cleanup removes
                process.kill()
                process.wait()
                raise
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr = err_path.read_text(errors="replace").strip()[-500:]
            raise BenchError(f"host restic {shlex.join(args)} exited with {process.returncode}: {stderr}")
        return Measured(*timed(), restic_peak_mib=usage.ru_maxrss / 1024), out_path.read_text(errors="replace")


def backup_summary(stdout: str) -> dict[str, Any]:
    """The `summary` message of `restic backup --json`."""
    for line in reversed(stdout.splitlines()):
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict) and message.get("message_type") == "summary":
                return message
    raise BenchError(f"restic backup printed no summary: {stdout[-300:]}")


def host_backup_args(mountpoint: Path) -> list[str]:
    """The host's `restic backup` with ResticRunner's options: JSON output, --host, tags."""
    return ["backup", "--json", "--host", HOST, *(arg for tag in TAGS for arg in ("--tag", tag)), str(mountpoint)]


def repository_size(path: Path) -> dict[str, int]:
    """`du -sb` (apparent bytes, directories included) and `du -sB1` (bytes of allocated blocks)."""
    apparent = int(run(["du", "-sb", str(path)]).split()[0])
    allocated = int(run(["du", "-sB1", str(path)]).split()[0])
    return {"apparent_bytes": apparent, "allocated_bytes": allocated}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def files_under(root: Path) -> list[str]:
    return sorted(str(Path(d, name).relative_to(root)) for d, _, names in os.walk(root) for name in names)


@dataclass
class Runs:
    """Every measurement of the run, by what was measured; each list one entry per repeat."""

    host_init: list[Measured] = field(default_factory=list)
    dockback_init: list[Measured] = field(default_factory=list)
    host_first: list[Measured] = field(default_factory=list)
    dockback_first: list[Measured] = field(default_factory=list)
    host_unchanged: list[Measured] = field(default_factory=list)
    dockback_unchanged: list[Measured] = field(default_factory=list)
    host_listing: list[Measured] = field(default_factory=list)  # `restic snapshots`: what any restic run costs
    dockback_listing: list[Measured] = field(default_factory=list)
    host_archive: list[Measured] = field(default_factory=list)
    runner_archive: list[Measured] = field(default_factory=list)
    host_whole_restore: list[Measured] = field(default_factory=list)
    dockback_whole_restore: list[Measured] = field(default_factory=list)
    host_one_file_restore: list[Measured] = field(default_factory=list)
    dockback_one_file_restore: list[Measured] = field(default_factory=list)
    series: list[Measured] = field(default_factory=list)  # the first backup, then one per changed round
    series_sizes: list[dict[str, int]] = field(default_factory=list)  # the repository after each
    series_changes: list[dict[str, int]] = field(default_factory=list)
    first_sizes: dict[str, dict[str, int]] = field(default_factory=dict)  # host/DockBack repository after one backup
    restored_ok: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class Kit:
    """What every phase needs: the run's objects, the volume, restic on both sides."""

    created: Created
    engine: SampledEngine
    restic: ResticRunner
    archiver: RunnerStrategy
    host: HostRestic
    volume: str
    mountpoint: Path
    facts: VolumeFacts
    digest: str
    one_file_sha256: str
    password: str
    repeats: int

    @property
    def tmpdir(self) -> Path:
        assert self.created.tmpdir is not None
        return self.created.tmpdir


def host_init(kit: Kit, name: str) -> tuple[Path, Measured]:
    """A new repository for the host's restic, timed."""
    path = kit.tmpdir / "host-repositories" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    measured, _ = kit.host(path, "init")
    return path, measured


async def dockback_init(kit: Kit, name: str) -> tuple[Repository, Measured]:
    """A new repository in the data dir, made as the executor makes one (`ensure_repository`), timed."""
    repository = Repository(name, password=kit.password)
    measured, created = await dockback(kit.engine, kit.restic.ensure_repository(repository, uuid.uuid4()))
    if not created:
        raise BenchError(f"repository {name} existed before the run made it")
    measured.detail["kdf"] = key_derivation(kit.restic.repository_path(repository))
    return repository, measured


def dockback_copy(kit: Kit, host_path: Path, name: str) -> Repository:
    """The host's new, empty repository copied into the data dir: the same key (so the same cost of
    deriving it at every restic run: `init` calibrates it to the machine's speed at that moment) and
    the same chunker polynomial (so the same chunks and deduplication) on both sides."""
    repository = Repository(name, password=kit.password)
    kit.restic.repository_path(repository).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copytree(host_path, kit.restic.repository_path(repository))
    return repository


def key_derivation(path: Path) -> dict[str, Any]:
    """The scrypt parameters of a repository's key (in the clear in its key file)."""
    key = json.loads(next((path / "keys").iterdir()).read_text())
    return {name: key.get(name) for name in ("kdf", "N", "r", "p")}


async def dockback_backup(kit: Kit, repository: Repository) -> tuple[Measured, Snapshot]:
    measured, snapshot = await dockback(
        kit.engine,
        kit.restic.back_up_volume(repository, kit.volume, host=HOST, tags=TAGS, job_id=uuid.uuid4()),
    )
    measured.detail["snapshot"] = asdict(snapshot)
    return measured, snapshot


def said(what: str, measured: Measured, attempt: int | None = None, repeats: int | None = None) -> None:
    """Log one measurement."""
    of = f", run {attempt}/{repeats}" if attempt is not None else ""
    memory = "" if measured.restic_peak_mib is None else f", restic peak RSS {measured.restic_peak_mib:.0f} MiB"
    runners = measured.detail.get("runner_seconds")
    containers = "" if not runners else ", runner containers " + " + ".join(f"{s:.2f}s" for s in runners)
    log(f"{what}{of}: {measured.seconds:.2f}s, machine {measured.cpu_seconds:.2f} CPU-s{memory}{containers}")


async def first_backups(kit: Kit, runs: Runs) -> tuple[Path, str, Repository, str]:
    """Target 1: first backups into new repositories, host then DockBack, `repeats` times, each pair
    into copies of one new repository. Beside them, how long making a repository takes on each side.
    The first pair of repositories stays (with their snapshot ids) for the later phases; the others go."""
    kept: tuple[Path, str, Repository, str] | None = None
    for attempt in range(1, kit.repeats + 1):
        host_path, measured = host_init(kit, f"first-{attempt}")
        measured.detail["kdf"] = key_derivation(host_path)
        runs.host_init.append(measured)
        said(f"host restic init (key {measured.detail['kdf']})", measured, attempt, kit.repeats)
        made, measured = await dockback_init(kit, f"init-{attempt}")
        runs.dockback_init.append(measured)
        said(f"DockBack ensure_repository (key {measured.detail['kdf']})", measured, attempt, kit.repeats)
        shutil.rmtree(kit.restic.repository_path(made))
        repository = dockback_copy(kit, host_path, f"first-{attempt}")

        measured, stdout = kit.host(host_path, *host_backup_args(kit.mountpoint))
        summary = backup_summary(stdout)
        measured.detail["summary"] = summary
        runs.host_first.append(measured)
        said("host restic backup, first", measured, attempt, kit.repeats)

        measured, snapshot = await dockback_backup(kit, repository)
        runs.dockback_first.append(measured)
        said("DockBack first backup", measured, attempt, kit.repeats)

        dockback_path = kit.restic.repository_path(repository)
        if kept is None:
            kept = (host_path, str(summary["snapshot_id"]), repository, snapshot.snapshot_id)
            runs.first_sizes = {"host": repository_size(host_path), "dockback": repository_size(dockback_path)}
        else:
            shutil.rmtree(host_path)
            shutil.rmtree(dockback_path)
    assert kept is not None
    return kept


async def unchanged_backups(kit: Kit, runs: Runs, host_path: Path, repository: Repository) -> None:
    """Target 2: backups of the unchanged volume (restic finds the parent by host and path), a
    listing of the snapshots (a restic run's fixed cost), and full archive backups of the volume:
    the host's `tar | zstd -3 -T0 > file`, fsync and the executor's runner archive."""
    archives = kit.tmpdir / "data" / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, kit.repeats + 1):
        measured, stdout = kit.host(host_path, *host_backup_args(kit.mountpoint))
        measured.detail["summary"] = backup_summary(stdout)
        runs.host_unchanged.append(measured)
        said("host restic backup, nothing changed", measured, attempt, kit.repeats)

        measured, snapshot = await dockback_backup(kit, repository)
        runs.dockback_unchanged.append(measured)
        said(
            f"DockBack backup, nothing changed ({snapshot.files_unmodified} unmodified, "
            f"{snapshot.files_new + snapshot.files_changed} new or changed files)",
            measured,
            attempt,
            kit.repeats,
        )
        if snapshot.files_new or snapshot.files_changed:
            raise BenchError(f"restic saw changed files in the unchanged volume: {snapshot}")

        measured, _ = kit.host(host_path, "snapshots", "--json", "--no-lock")
        runs.host_listing.append(measured)
        said("host restic snapshots", measured, attempt, kit.repeats)
        measured, _ = await dockback(kit.engine, kit.restic.snapshots(repository, uuid.uuid4()))
        runs.dockback_listing.append(measured)
        said("DockBack snapshots", measured, attempt, kit.repeats)

        timed = await asyncio.to_thread(host_file_reference, kit.mountpoint, 3, kit.tmpdir / "data")
        runs.host_archive.append(Measured(*timed))
        said("host tar | zstd -3 -T0 > file, fsync", runs.host_archive[-1], attempt, kit.repeats)

        final = archives / f"bench-{attempt}.tar.zst"
        measured, written = await dockback(
            kit.engine, kit.archiver.archive_volume(kit.volume, final, "zstd", None, uuid.uuid4())
        )
        measured.detail |= {"size_bytes": written.size_bytes, "raw_bytes": written.raw_bytes}
        measured.restic_runs = 0  # a tar | zstd runner, not restic
        runs.runner_archive.append(measured)
        said("executor runner archive, zstd 3", measured, attempt, kit.repeats)
        final.unlink()


async def restores(
    kit: Kit, runs: Runs, host_path: Path, host_snapshot: str, repository: Repository, snapshot: str
) -> None:
    """Target 4: the whole volume and the 10 MiB file alone out of the first snapshot, on the host
    into a directory and through DockBack into a new volume, each result checked."""
    scratch = kit.tmpdir / "host-restore"
    one_file_pattern = f"{kit.mountpoint}/{ONE_FILE}"
    for attempt in range(1, kit.repeats + 1):
        scratch.mkdir()
        measured, _ = kit.host(host_path, "restore", host_snapshot, "--target", str(scratch))
        restored = scratch / str(kit.mountpoint).lstrip("/")
        if attempt == 1 and tree_digest(restored) != kit.digest:
            raise BenchError("the host's restic restored a volume that differs from the original")
        shutil.rmtree(scratch)
        runs.host_whole_restore.append(measured)
        said("host restic restore, whole volume", measured, attempt, kit.repeats)

        target = create_volume(kit.created, f"{kit.volume}-whole-{attempt}")
        measured, _ = await dockback(
            kit.engine, kit.restic.restore_into_volume(repository, snapshot, kit.volume, target, uuid.uuid4())
        )
        runs.dockback_whole_restore.append(measured)
        said("DockBack restore, whole volume", measured, attempt, kit.repeats)
        identical = await asyncio.to_thread(tree_digest, volume_mountpoint(target)) == kit.digest
        runs.restored_ok.append(identical)
        log(f"restored volume {target} identical to the original: {identical}")
        run(["docker", "volume", "rm", target], check=False)  # room on the disk; cleanup tries again

        scratch.mkdir()
        measured, _ = kit.host(
            host_path, "restore", host_snapshot, "--target", str(scratch), "--include", one_file_pattern
        )
        restored_files = files_under(scratch)
        if restored_files != [one_file_pattern.lstrip("/")]:
            raise BenchError(f"the host's restic restored {restored_files[:5]} for {ONE_FILE}")
        shutil.rmtree(scratch)
        runs.host_one_file_restore.append(measured)
        said(f"host restic restore, {ONE_FILE}", measured, attempt, kit.repeats)

        target = create_volume(kit.created, f"{kit.volume}-one-{attempt}")
        measured, _ = await dockback(
            kit.engine,
            kit.restic.restore_into_volume(repository, snapshot, kit.volume, target, uuid.uuid4(), include=[ONE_FILE]),
        )
        runs.dockback_one_file_restore.append(measured)
        said(f"DockBack restore, {ONE_FILE}", measured, attempt, kit.repeats)
        place = volume_mountpoint(target)
        identical = files_under(place) == [ONE_FILE] and file_sha256(place / ONE_FILE) == kit.one_file_sha256
        runs.restored_ok.append(identical)
        log(f"restored volume {target} holds exactly {ONE_FILE}, identical: {identical}")
        run(["docker", "volume", "rm", target], check=False)


def change_volume(kit: Kit, round_number: int) -> dict[str, int]:
    """Rewrite ~1 % of the volume's files and ~1 % of its bytes in a busybox container; what changed."""
    blob_name = f"random/blob-{round_number % RANDOM_FILES}.bin"
    blob_blocks = (kit.mountpoint / blob_name).stat().st_size // CHANGE_BLOCK
    blocks = max(1, min(blob_blocks, round(kit.facts.total_bytes * CHANGED_SHARE / CHANGE_BLOCK)))
    seek = (round_number * 37) % max(1, blob_blocks - blocks + 1)
    env = {
        "ROUND": str(round_number),
        "EVERY": str(round(1 / CHANGED_SHARE)),
        "BLOB": f"/vol/{blob_name}",
        "BLOCK": str(CHANGE_BLOCK),
        "BLOCKS": str(blocks),
        "SEEK": str(seek),
    }
    small_files = int(in_busybox(kit.created, kit.volume, CHANGE_SCRIPT, env=env).split()[-1])
    return {"small_files_rewritten": small_files, "blob_bytes_overwritten": blocks * CHANGE_BLOCK}


async def series(kit: Kit, runs: Runs) -> None:
    """Target 3: a new repository, one backup, then (change ~1 %, backup) until there are seven,
    the repository's size after each."""
    repository, measured = await dockback_init(kit, "series")
    said(f"DockBack ensure_repository for the series (key {measured.detail['kdf']})", measured)
    path = kit.restic.repository_path(repository)
    for number in range(1, SERIES_BACKUPS + 1):
        if number > 1:
            changed = await asyncio.to_thread(change_volume, kit, number - 1)
            runs.series_changes.append(changed)
        measured, snapshot = await dockback_backup(kit, repository)
        runs.series.append(measured)
        runs.series_sizes.append(repository_size(path))
        said(
            f"DockBack backup {number}/{SERIES_BACKUPS} of the series ({snapshot.files_new} new, "
            f"{snapshot.files_changed} changed files, {mib(snapshot.bytes_added):.1f} MiB added before compression); "
            f"repository {mib(runs.series_sizes[-1]['apparent_bytes']):.1f} MiB",
            measured,
        )


# -- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table; `best` is the run with the fewest seconds."""

    what: str
    runs: list[Measured]
    host_same: list[Measured] | None = None  # the host doing the same, for `vs host`
    volume_bytes: int = 0  # for MiB/s; 0 where it means nothing (one file)

    @property
    def best(self) -> Measured:
        return min(self.runs, key=lambda m: m.seconds)

    @property
    def vs_host(self) -> float | None:
        """host seconds / these seconds, best runs (above 1: faster than the host)."""
        return None if not self.host_same else min(m.seconds for m in self.host_same) / self.best.seconds

    def peak(self, name: str) -> float | None:
        """The highest of a memory figure over all runs."""
        values = [getattr(m, name) for m in self.runs if getattr(m, name) is not None]
        return max(values) if values else None

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "best_seconds": self.best.seconds,
            "vs_host": self.vs_host,
            "mib_per_s": mib(self.volume_bytes) / self.best.seconds if self.volume_bytes else None,
            "runs": [asdict(m) for m in self.runs],
        }


def build_rows(kit: Kit, runs: Runs) -> list[Row]:
    size = kit.facts.total_bytes
    return [
        Row("host restic init", runs.host_init),
        Row("DockBack init (ensure_repository)", runs.dockback_init, runs.host_init),
        Row("host restic backup, first", runs.host_first, None, size),
        Row("DockBack backup, first", runs.dockback_first, runs.host_first, size),
        Row("host restic backup, nothing changed", runs.host_unchanged, None, size),
        Row("DockBack backup, nothing changed", runs.dockback_unchanged, runs.host_unchanged, size),
        Row("host restic snapshots (a restic run)", runs.host_listing),
        Row("DockBack snapshots (a restic run)", runs.dockback_listing, runs.host_listing),
        Row("host tar | zstd -3 -T0 > file, fsync", runs.host_archive, None, size),
        Row("executor runner archive, zstd 3", runs.runner_archive, runs.host_archive, size),
        Row("host restic restore, whole volume", runs.host_whole_restore, None, size),
        Row("DockBack restore, whole volume", runs.dockback_whole_restore, runs.host_whole_restore, size),
        Row(f"host restic restore, {ONE_FILE_MIB} MiB file", runs.host_one_file_restore),
        Row(f"DockBack restore, {ONE_FILE_MIB} MiB file", runs.dockback_one_file_restore, runs.host_one_file_restore),
        Row("DockBack backup, series 1 (full)", runs.series[:1], None, size),
        Row(f"DockBack backup, series 2-{SERIES_BACKUPS} (~1% changed)", runs.series[1:], None, size),
    ]


@dataclass(frozen=True)
class Target:
    key: str
    measured: float
    limit: float
    at_least: bool  # the measured figure must be >= limit (else <= or <)
    shown: str
    beside: str = ""

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit


def best_seconds(measured: list[Measured]) -> float:
    return min(m.seconds for m in measured)


def build_targets(runs: Runs) -> list[Target]:
    first = best_seconds(runs.host_first) / best_seconds(runs.dockback_first)
    unchanged = best_seconds(runs.dockback_unchanged)
    runner_archive, host_archive = best_seconds(runs.runner_archive), best_seconds(runs.host_archive)
    sizes = [s["apparent_bytes"] for s in runs.series_sizes]
    archive_bytes = runs.runner_archive[0].detail["size_bytes"]
    one = best_seconds(runs.dockback_one_file_restore) / best_seconds(runs.dockback_whole_restore)
    host_one = best_seconds(runs.host_one_file_restore) / best_seconds(runs.host_whole_restore)
    dockback_runs = [
        *runs.dockback_init,
        *runs.dockback_first,
        *runs.dockback_unchanged,
        *runs.dockback_listing,
        *runs.dockback_whole_restore,
        *runs.dockback_one_file_restore,
        *runs.series,
    ]
    restic_peak = max(m.restic_peak_mib or 0.0 for m in dockback_runs)
    python_peak = max(m.python_hwm_mib or 0.0 for m in dockback_runs)
    host_peak = max(m.restic_peak_mib or 0.0 for m in [*runs.host_first, *runs.host_whole_restore])
    return [
        Target(
            "first_backup",
            first,
            0.8,
            True,
            f"{first:.2f}",
            f"host {best_seconds(runs.host_first):.2f} s / DockBack {best_seconds(runs.dockback_first):.2f} s",
        ),
        Target(
            "unchanged_backup",
            unchanged / runner_archive,
            0.15,
            False,
            f"{unchanged / runner_archive:.1%}",
            f"DockBack {unchanged:.2f} s / executor runner archive {runner_archive:.2f} s "
            f"({unchanged / host_archive:.1%} of the host's tar | zstd -3 > file, {host_archive:.2f} s; "
            f"the host's restic alone: {best_seconds(runs.host_unchanged) / host_archive:.1%} of it)",
        ),
        Target(
            "series_storage",
            sizes[-1] / sizes[0],
            1.3,
            False,
            f"{sizes[-1] / sizes[0]:.2f}x",
            f"{mib(sizes[-1]):.1f} MiB after {len(sizes)} backups / {mib(sizes[0]):.1f} MiB after 1 "
            f"(as archives: {len(sizes)} x {mib(archive_bytes):.1f} MiB = {mib(len(sizes) * archive_bytes):.1f} MiB)",
        ),
        Target(
            "one_file_restore",
            one,
            0.05,
            False,
            f"{one:.1%}",
            f"DockBack {best_seconds(runs.dockback_one_file_restore):.2f} s / "
            f"{best_seconds(runs.dockback_whole_restore):.2f} s (host restic {host_one:.1%})",
        ),
        Target(
            "restic_memory",
            restic_peak,
            200.0,
            False,
            f"{restic_peak:.0f} MiB",
            f"max over every DockBack restic run; the host's restic peaked at {host_peak:.0f} MiB, "
            f"this Python process (the executor's side) at {python_peak:.0f} MiB",
        ),
    ]


def format_results(rows: list[Row], targets: list[Target], kit: Kit, facts: dict[str, Any], runs: Runs) -> str:
    """The results table, the targets, and how to read them."""

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    parts = ", ".join(f"{name} {mib(size):.0f} MiB" for name, size in sorted(kit.facts.parts.items()))
    width = 154
    lines = [
        f"volume: {kit.facts.total_bytes:,} bytes ({mib(kit.facts.total_bytes):.1f} MiB, du -sb), "
        f"{kit.facts.entries:,} entries ({parts})",
        f"machine: {facts['nproc']} CPUs ({facts['cpu_model']}), {facts['memory_gib']} GiB RAM, "
        f"Docker Engine {facts['docker_engine']} ({facts['docker_storage_driver']}), kernel {facts['kernel']}, "
        f"restic {facts['restic']}, load average {facts['loadavg_start']} at start, {facts['loadavg_end']} at end",
        "",
        f"{'measurement':<44} {'best s':>7} {'MiB/s':>7} {'vs host':>7} {'restic RSS':>10} {'cgroup':>7} "
        f"{'cg anon':>7} {'py HWM':>6} {'CPU s':>6} {'cores':>5} {'runs':>4}  all runs (s)",
        "-" * width,
    ]
    for row in rows:
        best = row.best
        lines.append(
            f"{row.what:<44} {best.seconds:>7.2f} "
            f"{cell(mib(row.volume_bytes) / best.seconds if row.volume_bytes else None, '.1f'):>7} "
            f"{cell(row.vs_host, '.2f'):>7} {cell(row.peak('restic_peak_mib'), '.0f'):>10} "
            f"{cell(row.peak('cgroup_peak_mib'), '.0f'):>7} {cell(row.peak('cgroup_rss_peak_mib'), '.0f'):>7} "
            f"{cell(row.peak('python_hwm_mib'), '.0f'):>6} {best.cpu_seconds:>6.1f} "
            f"{best.cpu_seconds / best.seconds:>5.2f} {best.restic_runs:>4}  "
            + " ".join(f"{m.seconds:.2f}" for m in row.runs)
        )
    sizes = runs.series_sizes
    lines += ["-" * width, "runner containers of each DockBack row's best run, seconds from start until exit seen:"]
    for row in rows:
        if row.best.detail.get("runner_seconds"):
            split = " + ".join(f"{seconds:.2f}" for seconds in row.best.detail["runner_seconds"])
            lines.append(f"  {row.what:<42} {split} of {row.best.seconds:.2f} s")
    lines += [
        "-" * width,
        "vs host = the host's best seconds / these best seconds (above 1: faster than the host).",
        "restic RSS = restic's peak RSS in MiB (DockBack: VmHWM of restic in the runner, sampled every 20 ms from its",
        "cgroup; host: its ru_maxrss), the highest over all runs; cgroup = the runner's cgroup peak usage, page cache",
        "of the files it wrote included; cg anon = its peak anonymous memory; py HWM = this Python process's VmHWM,",
        "reset before each run (it does the executor's part: FIFOs, the engine's API, an archive's hash and write).",
        "runs = restic processes (runner containers) the best run started. CPU s = CPU-seconds the whole machine was",
        "busy during the best run (/proc/stat); cores = CPU s / best s. Each first backup's pair of repositories are",
        "copies of one `restic init`, made untimed (init is timed in its own rows); each side keeps its own restic",
        "cache dir for the whole run (empty for a new repository, warm after its first backup).",
        "",
        "repository after each backup of the series (du -sb, MiB): "
        + ", ".join(f"{mib(s['apparent_bytes']):.1f}" for s in sizes),
        f"changed between them: {runs.series_changes[0] if runs.series_changes else '-'} (each round alike)",
        f"after one backup, first-backup repositories: host {mib(runs.first_sizes['host']['apparent_bytes']):.1f} MiB, "
        f"DockBack {mib(runs.first_sizes['dockback']['apparent_bytes']):.1f} MiB",
        f"restores identical to the original: {all(runs.restored_ok)} ({len(runs.restored_ok)} checked)",
        "",
        f"{'issue 17 target':<88} {'measured':>9} {'met':>4}",
        "-" * width,
    ]
    for target in targets:
        lines.append(f"{TARGETS[target.key]:<88} {target.shown:>9} {'yes' if target.met else 'NO':>4}")
        lines.append(f"  {target.beside}")
    return "\n".join(lines)


# -- the run ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of every measurement, host and DockBack alike; the best counts"
    )
    parser.add_argument(
        "--size-mib",
        type=int,
        default=1024,
        help="about how big the volume is (executor_throughput's mix scaled, plus the 10 MiB file); "
        "only 1024 gives figures comparable with bench/README.md",
    )
    return parser.parse_args()


@contextlib.contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM as Ctrl-C, so a killed run still removes what it made."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.asynccontextmanager
async def restic_kit(
    created: Created, data_dir: Path
) -> AsyncIterator[tuple[SampledEngine, ResticRunner, RunnerStrategy]]:
    """The executor's objects for restic and runner archives, as the executor builds them."""
    engine = SampledEngine(runner_labels=created.labels)
    try:
        image = await ensure_runner_tools_image(engine)
        restic = ResticRunner(engine, image, await locate_data(engine, data_dir, None, None))
        archiver = RunnerStrategy(engine, image, await locate_pipes(engine, data_dir, None, None))
        yield engine, restic, archiver
    finally:
        await engine.close()


async def measure(created: Created, volume: str, facts: VolumeFacts, repeats: int) -> tuple[Kit, Runs]:
    """Every phase, in the order that leaves the volume unchanged until the series changes it."""
    assert created.tmpdir is not None
    data_dir = created.tmpdir / "data"
    data_dir.mkdir()
    mountpoint = volume_mountpoint(volume)
    log("digesting the volume")
    digest = await asyncio.to_thread(tree_digest, mountpoint)
    password = secrets.token_urlsafe(24)
    host = HostRestic(created.tmpdir / "host-cache", password, created.tmpdir)
    async with restic_kit(created, data_dir) as (engine, restic, archiver):
        kit = Kit(
            created,
            engine,
            restic,
            archiver,
            host,
            volume,
            mountpoint,
            facts,
            digest,
            file_sha256(mountpoint / ONE_FILE),
            password,
            repeats,
        )
        runs = Runs()
        host_path, host_snapshot, repository, snapshot = await first_backups(kit, runs)
        await unchanged_backups(kit, runs, host_path, repository)
        await restores(kit, runs, host_path, host_snapshot, repository, snapshot)
        await series(kit, runs)
    return kit, runs


def main() -> int:
    """Run the whole benchmark; 0 on success."""
    args = parse_args()
    restic_version = check_restic()
    facts = machine_facts(check_tools())
    facts["restic"] = restic_version
    facts["loadavg_start"] = loadavg()
    if os.getloadavg()[0] > 0.5:
        log(f"warning: the machine is busy (load average {facts['loadavg_start']}): expect noisy numbers")
    started_at = datetime.now(UTC)
    repeats = max(1, args.repeats)
    created = Created()
    created.runner_images_existed = {
        repository: bool(run(["docker", "images", "-q", repository], check=False).strip())
        for repository in RUNNER_IMAGES
    }
    try:
        with interrupted_by_sigterm():
            created.tmpdir = Path(tempfile.mkdtemp(prefix=f"dockback-bench-{created.run_id}-"))
            log(f"run {created.run_id}: making the busybox image")
            make_busybox_image(created)
            volume = create_volume(created, f"dockback-bench-{created.run_id}")
            log(f"filling volume {volume} (~{args.size_mib} MiB and a {ONE_FILE_MIB} MiB file) ...")
            fill_seconds = fill_volume(created, volume, args.size_mib / 1024)
            in_busybox(created, volume, ADD_ONE_FILE)
            source = volume_facts(created, volume)
            print(f"volume {volume}: {source.total_bytes} bytes (du -sb), {source.entries} entries", flush=True)
            log(f"filled in {fill_seconds:.1f}s")

            kit, runs = asyncio.run(measure(created, volume, source, repeats))
            facts["loadavg_end"] = loadavg()
            rows = build_rows(kit, runs)
            targets = build_targets(runs)
            print()
            print(format_results(rows, targets, kit, facts, runs))
            result_path = RESULTS_DIR / f"repository_backup-{started_at:%Y-%m-%dT%H%M%SZ}.json"
            write_json(
                result_path,
                {
                    "benchmark": "repository_backup",
                    "started_at": started_at.isoformat(),
                    "command": shlex.join([".venv/bin/python", "bench/repository_backup.py", *sys.argv[1:]]),
                    "repeats": repeats,
                    "machine": facts,
                    "volume": asdict(source) | {"fill_seconds": round(fill_seconds, 2), "one_file": ONE_FILE},
                    "rows": [row.as_json() for row in rows],
                    "targets": [asdict(t) | {"description": TARGETS[t.key], "met": t.met} for t in targets],
                    "series": {"sizes": runs.series_sizes, "changes": runs.series_changes},
                    "first_backup_repository_sizes": runs.first_sizes,
                    "restores_identical": runs.restored_ok,
                },
            )
            print(f"\nresults written to {result_path.relative_to(REPO)}")
            return 0 if all(runs.restored_ok) else 1
    except (BenchError, JobError) as exc:  # JobError: what ResticRunner raised, with restic's reason
        print(f"benchmark failed: {exc!r}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        log("cleaning up")
        created.cleanup()


if __name__ == "__main__":
    sys.exit(main())
