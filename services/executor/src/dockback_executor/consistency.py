"""Consistency during a backup: stopping the containers that write to a volume, and hooks.

A hook runs as root in a container, so where it may run is narrow: in a container the job
backs up (the container itself, or one using a volume it backs up), or in one its owner
labelled `dockback.hooks=true`; never in one of DockBack's own containers (labelled
`dockback.service=<name>`) nor in the executor's own. Anything else fails the job, naming
the container and the rule. A hook's output is kept out of the job's reason (which every
role reads and alerts carry): it travels in `JobFailed.output`, its secrets redacted here.

What we stop is recorded on disk *before* we stop it, and always restarted in a `finally`;
an executor that was killed mid-job restarts them at its next start (`repair`), and a job
never takes a container another job stopped for stopped by its owner (`ContainerStopper`). When the
backup failed and a restart fails too, both are reported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from dockback_contracts.events import HookCommand
from dockback_executor.docker_api import RUNNER_LABEL, DockerEngine, finish_even_if_cancelled
from dockback_executor.errors import HookFailed, HookRefused, ResourceMissing
from dockback_executor.locks import InstanceLock, waiting_for
from dockback_runtime.jobs.errors import JobError, PermanentError
from dockback_runtime.redaction import redact

log = logging.getLogger(__name__)

STOP_LABEL = "dockback.stop-during-backup"
HOOKS_LABEL = "dockback.hooks"
SERVICE_LABEL = "dockback.service"
OUTPUT_KEPT = 4096
_CONTAINER_ID = re.compile(r"(?:/containers/|/docker[-/])([0-9a-f]{64})")


def own_container_id(proc: Path = Path("/proc/self")) -> str | None:
    """The id of the container this process runs in (from its mounts or cgroup), None outside one."""
    for name in ("mountinfo", "cgroup"):
        try:
            found = _CONTAINER_ID.search((proc / name).read_text())
        except OSError:
            continue
        if found:
            return found.group(1)
    return None


@dataclass(frozen=True)
class HookPlaces:
    """Where a job's hooks may run: the ids of the containers it backs up, and never the executor's own."""

    backed_up: Collection[str]
    own_container_id: str | None = None


class RestartFailed(JobError):
    """Containers stopped for a backup could not be started again."""


class ContainerStopper:
    """Stops containers for the length of a block and restarts exactly those that were running.

    Jobs of this executor and of other executors sharing the data dir (a second executor of the
    host) may want the same container stopped at once (two volumes of one container backed up
    by two jobs): a job holds a lock per container (`stopped:<id>`, in `locks`) from before it
    looks at the container's state until it has restarted it, so another job waits until the
    container runs again instead of taking it as stopped by its owner and having it restarted
    by the first job halfway through its own archive.

    What is stopped is recorded in `records` (with the executor instance that stopped it)
    before it is stopped: a later executor restarts what an executor that died left stopped
    (`repair`), never what a live one stopped."""

    def __init__(
        self,
        engine: DockerEngine,
        records: Path,
        stop_timeout_seconds: int = 30,
        *,
        locks: Path | None = None,
        instance: InstanceLock | None = None,
    ) -> None:
        self.engine = engine
        self.records = records
        self.stop_timeout_seconds = stop_timeout_seconds
        self.locks = locks if locks is not None else records.parent / ".locks"
        self.instance = instance

    async def containers_to_stop(self, volumes: Sequence[str]) -> list[dict[str, Any]]:
        """Containers that use one of `volumes`, or carry dockback.stop-during-backup=true, in any
        state: whether one runs is decided under its lock (`stopped`)."""
        found: dict[str, dict[str, Any]] = {}
        for volume in volumes:
            for container in await self.engine.containers_using_volume(volume):
                found[container["Id"]] = container
        for container in await self.engine.containers({"label": [f"{STOP_LABEL}=true"]}):
            found[container["Id"]] = container
        return list(found.values())

    @contextlib.asynccontextmanager
    async def stopped(self, job_id: UUID, containers: Sequence[dict[str, Any]]) -> AsyncIterator[list[str]]:
        """Stop those of `containers` running (once another job has restarted any it stopped)
        for the block; restart them afterwards, whatever happens."""
        record = self.records / f"{job_id}.json"
        async with waiting_for(self.locks, [f"stopped:{c['Id']}" for c in containers]):
            running = [c["Id"] for c in containers if await self._running(c["Id"])]
            self._write_record(record, running)
            stopped: list[str] = []
            try:
                for container_id in running:
                    await self.engine.stop_container(container_id, self.stop_timeout_seconds)
                    stopped.append(container_id)
                    log.info("stopped container %s for job %s", container_id[:12], job_id)
                yield stopped
            finally:
                failures = await finish_even_if_cancelled(self._restart(stopped))
                if failures:
                    during = sys.exc_info()[1]
                    message = "could not restart " + "; ".join(failures)
                    if during is not None:
                        message += f" (and the job had failed: {during})"
                    raise RestartFailed(message)
                record.unlink(missing_ok=True)

    async def _running(self, container_id: str) -> bool:
        try:
            return bool((await self.engine.inspect_container(container_id))["State"].get("Running"))
        except ResourceMissing:
            return False  # removed since it was listed: nothing to stop

    async def repair(self) -> list[str]:
        """Restart what an executor that died left stopped; returns the containers restarted.
        Records of a live executor (another one of this host) are its own to settle."""
        restarted: list[str] = []
        if not self.records.exists():
            return restarted
        for record in sorted(self.records.glob("*.json")):
            content = json.loads(record.read_text())
            owner = content.get("executor")
            ours = self.instance is not None and owner == self.instance.instance_id
            if owner and not ours and InstanceLock.is_alive(self.locks, owner):
                continue
            ids = content["containers"]
            # A live job may hold one of them (it found it stopped and left it so): after it.
            async with waiting_for(self.locks, [f"stopped:{i}" for i in ids]):
                failures = await self._restart(ids)
            if failures:
                log.error("could not restart containers left stopped by an interrupted job: %s", failures)
                continue
            restarted.extend(ids)
            record.unlink(missing_ok=True)
            log.warning("restarted %d container(s) an interrupted job had stopped", len(ids))
        return restarted

    async def _restart(self, container_ids: Sequence[str]) -> list[str]:
        failures = []
        for container_id in container_ids:
            try:
                state = (await self.engine.inspect_container(container_id))["State"]
                if not state.get("Running"):
                    await self.engine.start_container(container_id)
                    log.info("restarted container %s", container_id[:12])
            except ResourceMissing:
                log.warning("container %s was removed while stopped; nothing to restart", container_id[:12])
            except Exception as exc:
                failures.append(f"{container_id[:12]}: {exc}")
        return failures

    def _write_record(self, record: Path, container_ids: list[str]) -> None:
        self.records.mkdir(parents=True, exist_ok=True)
        temporary = record.with_suffix(".tmp")
        content: dict[str, Any] = {"containers": container_ids}
        if self.instance is not None:
            content["executor"] = self.instance.instance_id
        with open(temporary, "w") as f:
            json.dump(content, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, record)


async def check_hook_places(engine: DockerEngine, hooks: Sequence[HookCommand], places: HookPlaces) -> None:
    """Refuse (HookRefused) a hook whose container is not one it may run in (see the module)."""
    for hook in hooks:
        try:
            container = await engine.inspect_container(hook.container)
        except ResourceMissing:
            raise HookRefused(f"a hook names the container {hook.container!r}, which does not exist") from None
        labels = (container.get("Config") or {}).get("Labels") or {}
        container_id = container["Id"]
        if SERVICE_LABEL in labels or RUNNER_LABEL in labels:
            service = labels.get(SERVICE_LABEL, "runner")
            raise HookRefused(
                f"a hook may not run in {hook.container!r}: it is DockBack's own {service!r} container "
                f"({SERVICE_LABEL})"
            )
        if places.own_container_id is not None and container_id == places.own_container_id:
            raise HookRefused(f"a hook may not run in {hook.container!r}: it is this executor's own container")
        if container_id not in places.backed_up and labels.get(HOOKS_LABEL) != "true":
            raise HookRefused(
                f"a hook may not run in {hook.container!r}: the job does not back it up (nor a volume it uses), "
                f"and it is not labelled {HOOKS_LABEL}=true"
            )


async def run_hooks(
    engine: DockerEngine, hooks: Sequence[HookCommand], when: str, places: HookPlaces | None = None
) -> list[str]:
    """Run pre- or post-commands in order, each only where it may run (`places`); returns
    warnings from hooks allowed to fail. The reason names the hook by its place and program,
    never its arguments (they may hold a password); its output goes apart, redacted."""
    if places is not None:
        await check_hook_places(engine, hooks, places)
    warnings = []
    for number, hook in enumerate(hooks, start=1):
        output = None
        try:
            code, printed = await engine.exec_run(hook.container, list(hook.command), hook.timeout_seconds)
            problem = None if code == 0 else f"exited with {code}"
            output = redact(printed.strip()[-OUTPUT_KEPT:]) or None
        except TimeoutError:
            problem = f"did not finish within {hook.timeout_seconds:.0f}s"
        except PermanentError as exc:
            problem = str(exc)
        if problem is None:
            continue
        program = os.path.basename(hook.command[0])
        message = f"{when}-command {number} ({program!r} in container {hook.container!r}) {problem}"
        if output:
            message += " (its output is in the job log)"
        if hook.on_error == "fail":
            raise HookFailed(message, output=output)
        log.warning("%s (on_error=continue)", message)
        warnings.append(message)
    return warnings
