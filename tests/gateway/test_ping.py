"""`dockback-gateway ping`: GET /health on the gateway's own API port; exit 1 with one line when
the gateway is down or degraded (its NATS gone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.gateway_process import run_gateway
from harness.nats_server import nats_server_binary
from harness.processes import free_port, start_and_wait, stop


def ping(port: int, workdir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """With the gateway's own environment, as the container's healthcheck runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKBACK_")}
    env |= {
        "DOCKBACK_LISTEN_PORT": str(port),
        "DOCKBACK_DATABASE_URL": database_url,
        "DOCKBACK_SECRET_KEY_FILE": str(workdir / "secret.key"),
        "DOCKBACK_ENCRYPTION_KEY_FILE": str(workdir / "encryption.key"),
        "DOCKBACK_SETTINGS_KEY_FILE": str(workdir / "settings.key"),
    }
    return subprocess.run(
        [sys.executable, "-m", "dockback_gateway", "ping"], env=env, capture_output=True, text=True, timeout=30
    )


def test_gateway_ping_follows_its_health(database_url: str, tmp_path: Path) -> None:
    nats_port = free_port()
    nats = start_and_wait(
        [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(tmp_path / "js")],
        ready_marker="Server is ready",
        log_path=tmp_path / "nats.log",
    )
    try:
        with run_gateway(database_url, f"nats://127.0.0.1:{nats_port}", tmp_path) as gateway:
            port = int(gateway.url.rsplit(":", 1)[1])
            healthy = ping(port, tmp_path, database_url)
            assert healthy.returncode == 0, healthy.stderr
            assert healthy.stdout.strip() == f"ok: http://127.0.0.1:{port}/health answered 200"

            stop(nats)
            degraded = ping(port, tmp_path, database_url)
            assert degraded.returncode == 1
            assert degraded.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/health answered 503"), (
                degraded.stderr
            )
            assert '"nats":false' in degraded.stderr
            assert len(degraded.stderr.strip().splitlines()) == 1
        down = ping(port, tmp_path, database_url)
        assert down.returncode == 1
        assert "Connection refused" in down.stderr, down.stderr
    finally:
        stop(nats)
