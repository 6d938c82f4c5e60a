"""Consistency during a backup: stopping the containers that write to a volume, and hooks.

What we stop is recorded on disk *before* we stop it, and always restarted in a `finally`;
an executor that was killed mid-job restarts them at its next start (`repair`). When the
backup failed and a restart fails too, both are reported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from dockback_contracts.events import HookCommand
from dockback_executor.docker_api import DockerEngine, finish_even_if_cancelled
from dockback_executor.errors import HookFailed, ResourceMissing
from dockback_runtime.jobs.errors import JobError, PermanentError

log = logging.getLogger(__name__)

STOP_LABEL = "dockback.stop-during-backup"


class RestartFailed(JobError):
    """Containers stopped for a backup could not be started again."""


class ContainerStopper:
    """Stops containers for the length of a block and restarts exactly those that were running."""

    def __init__(self, engine: DockerEngine, records: Path, stop_timeout_seconds: int = 30) -> None:
        self.engine = engine
        self.records = records
        self.stop_timeout_seconds = stop_timeout_seconds

    async def containers_to_stop(self, volumes: Sequence[str]) -> list[dict[str, Any]]:
        """Running containers that use one of `volumes`, or carry dockback.stop-during-backup=true."""
        found: dict[str, dict[str, Any]] = {}
        for volume in volumes:
            for container in await self.engine.containers_using_volume(volume):
                found[container["Id"]] = container
        for container in await self.engine.containers({"label": [f"{STOP_LABEL}=true"]}):
            found[container["Id"]] = container
        return [c for c in found.values() if c.get("State") == "running"]

    @contextlib.asynccontextmanager
    async def stopped(self, job_id: UUID, containers: Sequence[dict[str, Any]]) -> AsyncIterator[list[str]]:
        """Stop `containers` (only those running) for the block; restart them afterwards, whatever happens."""
        record = self.records / f"{job_id}.json"
        running = [c["Id"] for c in containers if c.get("State") == "running"]
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

    async def repair(self) -> list[str]:
        """Restart what a crashed predecessor left stopped; returns the containers restarted."""
        restarted: list[str] = []
        if not self.records.exists():
            return restarted
        for record in sorted(self.records.glob("*.json")):
            ids = json.loads(record.read_text())["containers"]
            failures = await self._restart(ids)
            if failures:
                log.error("could not restart containers left stopped by an interrupted job: %s", failures)
                continue
            restarted.extend(ids)
            record.unlink()
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
        with open(temporary, "w") as f:
            json.dump({"containers": container_ids}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, record)


async def run_hooks(engine: DockerEngine, hooks: Sequence[HookCommand], when: str) -> list[str]:
    """Run pre- or post-commands in order; returns warnings from hooks allowed to fail."""
    warnings = []
    for hook in hooks:
        try:
            code, output = await engine.exec_run(hook.container, list(hook.command), hook.timeout_seconds)
            problem = None if code == 0 else f"exited with {code}: {output.strip()[-500:]}"
        except TimeoutError:
            problem = f"did not finish within {hook.timeout_seconds:.0f}s"
        except PermanentError as exc:
            problem = str(exc)
        if problem is None:
            continue
        message = f"{when}-command {list(hook.command)} in {hook.container} {problem}"
        if hook.on_error == "fail":
            raise HookFailed(message)
        log.warning("%s (on_error=continue)", message)
        warnings.append(message)
    return warnings
