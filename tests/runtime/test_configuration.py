"""Every service stops on a wrong setting with one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("service", "variable", "value"),
    [
        ("gateway", "DOCKBACK_STREAM_REPLICAS", "9"),
        ("scheduler", "DOCKBACK_SHARD_COUNT", "0"),
        ("executor", "DOCKBACK_MAX_CONCURRENT_JOBS", "many"),
        ("uploader", "DOCKBACK_STALE_UPLOAD_SECONDS", "-1"),
        ("notifier", "DOCKBACK_SMTP_TIMEOUT_SECONDS", "0"),
    ],
)
def test_a_wrong_setting_stops_the_service_with_one_line_naming_the_variable(
    service: str, variable: str, value: str
) -> None:
    env = {**os.environ, "DOCKBACK_NATS_URL": "nats://127.0.0.1:1", variable: value}

    done = subprocess.run(
        [sys.executable, "-m", f"dockback_{service}"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 1
    assert done.stderr.startswith(f"dockback-{service}: invalid configuration: ")
    assert f"{variable}: " in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
