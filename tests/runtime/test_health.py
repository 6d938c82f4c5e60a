"""`dockback-<service> ping`, the container healthcheck: exit 0 when the service's NATS connection
(and, for the executor, the Docker engine) works; exit 1 with one line on stderr saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop

SERVICES = ("scheduler", "executor", "uploader", "notifier")


def ping(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCKBACK_")}
    return subprocess.run(
        [sys.executable, "-m", f"dockback_{service}", "ping"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def nats_with_password(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    process = start_and_wait(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "--user", "svc", "--pass", "right"],
        ready_marker="Server is ready",
        log_path=tmp_path / "nats.log",
    )
    try:
        yield port
    finally:
        stop(process)


def service_env(service: str, tmp_path: Path, url: str) -> dict[str, str]:
    env = {"DOCKBACK_NATS_URL": url}
    if service in ("executor", "uploader"):
        env["DOCKBACK_DATA_DIR"] = str(tmp_path / "data")
        env["DOCKBACK_HOST_ID"] = "ping-host"
    if service in ("uploader", "notifier"):  # ping does not read it, but the settings require it
        env["DOCKBACK_SETTINGS_KEY_FILE"] = str(tmp_path / "settings.key")
    return env


@pytest.mark.parametrize("service", SERVICES)
def test_ping_is_healthy_when_nats_answers(
    service: str, nats_with_password: int, tmp_path: Path, docker_engine: str
) -> None:
    result = ping(service, service_env(service, tmp_path, f"nats://svc:right@127.0.0.1:{nats_with_password}"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: NATS round trip")
    if service == "executor":
        assert "Docker engine" in result.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_ping_fails_with_one_line_when_nats_is_down(service: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = ping(service, service_env(service, tmp_path, f"nats://127.0.0.1:{port}"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"unhealthy: NATS at nats://127.0.0.1:{port}:")


def test_ping_fails_with_wrong_credentials(nats_with_password: int, tmp_path: Path) -> None:
    result = ping("uploader", service_env("uploader", tmp_path, f"nats://svc:wrong@127.0.0.1:{nats_with_password}"))
    assert result.returncode == 1
    assert "authorization violation" in result.stderr.lower(), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_executor_ping_fails_when_the_engine_does_not_answer(nats_with_password: int, tmp_path: Path) -> None:
    env = service_env("executor", tmp_path, f"nats://svc:right@127.0.0.1:{nats_with_password}")
    env["DOCKBACK_DOCKER_URL"] = f"unix://{tmp_path / 'no-docker.sock'}"
    result = ping("executor", env)
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy: Docker engine:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
