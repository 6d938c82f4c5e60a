"""The whole system on real servers: the gateway in-process (over ASGI), and the executor,
uploader and scheduler as the processes `make up` runs, on one nats-server, one PostgreSQL
and the local Docker Engine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gateway.conftest import gateway, settings_for  # noqa: F401 - the gateway fixture, on these settings

from dockback_gateway.config import Settings
from harness.processes import stop_all

HOST_ID = "e2e-host"


@pytest.fixture
def gateway_settings(database_url: str, nats_url: str, tmp_path: Path) -> Settings:
    """The gateway with a reconciler that looks every second (deadlines stay realistic)."""
    return settings_for(database_url, nats_url, tmp_path, reconcile_interval_seconds=1.0, progress_write_seconds=0.5)


@dataclass
class Services:
    """Starts the host's services (and the scheduler) as processes; kills what is left at the end."""

    nats_url: str
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def start(self, name: str, module: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env={
                **os.environ,
                "DOCKBACK_NATS_URL": self.nats_url,
                "DOCKBACK_HOST_ID": HOST_ID,
                "DOCKBACK_DATA_DIR": str(self.data_dir),
                "DOCKBACK_SETTINGS_KEY_FILE": str(self.workdir / "settings.key"),
                "DOCKBACK_JOB_ACK_WAIT_SECONDS": "3",
                "DOCKBACK_HEARTBEAT_INTERVAL_SECONDS": "1",
                "DOCKBACK_STOP_TIMEOUT_SECONDS": "1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def executor(self, name: str = "executor") -> subprocess.Popen[bytes]:
        return self.start(name, "dockback_executor")

    def all(self) -> None:
        self.executor()
        self.start("uploader", "dockback_uploader")
        self.start("scheduler", "dockback_scheduler")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in self.workdir.glob("*.log")
        )


@pytest.fixture
def services(nats_url: str, tmp_path: Path) -> Iterator[Services]:
    running = Services(nats_url, tmp_path)
    try:
        yield running
    finally:
        stop_all(running.processes.values())
