"""The executor's logs: JSON lines (DOCKBACK_LOG_FORMAT's default), each line logged while a job
is handled carrying that job's id, library lines included."""

from __future__ import annotations

import json
from pathlib import Path

from dockback_contracts import events as ev
from executor.conftest import HOST_ID, Heard, StartExecutor
from executor.requests import backup_of
from executor.volumes import create_volume, docker_cli
from harness.bus import publish

# Tasks that run beside the job (the host's inventory and heartbeat, the process's start and
# stop — the test stops it as soon as the archive is announced): their lines are not the job's.
BACKGROUND = ("dockback_executor.discovery", "dockback_executor.app", "asyncio")


async def test_every_line_of_a_job_is_json_and_carries_its_job_id(
    nats_url: str,
    heard: Heard,
    start_executor: StartExecutor,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await docker_cli(
        "run", "-d", "--name", unique_name, *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v", f"{unique_name}:/data", busybox_image, "sleep", "600",
    )  # fmt: skip
    executor = start_executor(DOCKBACK_LOG_LEVEL="DEBUG")
    request = backup_of("volume", unique_name, stop_containers=True)  # stops and restarts the container: more lines
    await publish(nats_url, request)
    await heard.wait_for(ev.ArchiveCreated)
    executor.terminate()
    assert executor.wait(30) == 0

    lines = [json.loads(line) for line in (tmp_path / "executor-0.log").read_text().splitlines()]  # all JSON
    assert all(line["service"] == "executor" and line["host_id"] == HOST_ID for line in lines)
    job_id = str(request.job_id)
    positions = [i for i, line in enumerate(lines) if line.get("job_id") == job_id]
    job_lines = lines[positions[0] : positions[-1] + 1]
    assert len(job_lines) >= 4, job_lines
    strays = [line for line in job_lines if line.get("job_id") != job_id and not line["logger"].startswith(BACKGROUND)]
    assert strays == []
    assert {"dockback_executor.backup", "dockback.executor.broker"} <= {line["logger"] for line in job_lines}
    # A line that names the job outside the job's window would be one that lost its id.
    outside = [line for line in lines if job_id in line["message"] and line.get("job_id") != job_id]
    assert outside == []
