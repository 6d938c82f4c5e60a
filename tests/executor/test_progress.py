"""The figures a job's progress carries: the expected total when the host knows it, and the
exact size of each archive or restore once it is done (not the last once-a-second sample)."""

from __future__ import annotations

import asyncio

from dockback_contracts import events as ev
from executor.conftest import Host
from executor.requests import backup_of, restore_of
from executor.volumes import volume_of_random_bytes

MiB = 1024 * 1024


async def progress_until(host: Host, job_id: object, done: int) -> list[ev.JobProgress]:
    """The job's progress, once a sample saying `done` bytes arrived (core NATS: it may come
    after the archive's announcement)."""
    async with asyncio.timeout(30):
        while True:
            samples = [p for p in host.heard.of(ev.JobProgress) if p.job_id == job_id]
            if any(p.bytes_done == done for p in samples):
                return samples
            host.heard.arrived.clear()
            await host.heard.arrived.wait()


async def test_a_volume_backup_reports_the_volumes_size_as_its_total_and_ends_on_the_exact_figure(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=12)
    # As the executor's host inventory does: the engine's `docker system df`, which the backup uses.
    # (Without it the backup asks the engine itself, beside the archive, and its first sample may
    # go out before the answer.)
    expected = (await host.engine.volume_sizes())[unique_name]
    request = backup_of("volume", unique_name)

    await host.backups.run(request, attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    samples = await progress_until(host, request.job_id, created.raw_bytes)

    assert 12 * MiB <= expected < 12 * MiB + 64 * 1024
    assert all(p.phase == "archive" for p in samples)
    assert samples[0].bytes_total == expected, "the first sample already knows what to expect"
    assert samples[0].bytes_done < created.raw_bytes
    assert (samples[-1].bytes_done, samples[-1].bytes_total) == (created.raw_bytes, created.raw_bytes)


async def test_a_volume_the_last_inventory_measured_is_not_measured_again_for_its_total(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    """The engine's `system df` walks every volume on the host; the size it gave for the last
    inventory is good enough for a percentage."""
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=12)
    measured_earlier = 11 * MiB  # the volume as the last inventory saw it, smaller than it is now
    host.engine.known_volume_sizes[unique_name] = measured_earlier
    request = backup_of("volume", unique_name)

    await host.backups.run(request, attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    samples = await progress_until(host, request.job_id, created.raw_bytes)

    assert samples[0].bytes_total == measured_earlier
    assert (samples[-1].bytes_done, samples[-1].bytes_total) == (created.raw_bytes, created.raw_bytes)


async def test_a_restore_reports_the_archives_recorded_size_as_its_total(
    host: Host, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=12)
    await host.backups.run(backup_of("volume", unique_name), attempt=1)
    [created] = await host.heard.wait_for(ev.ArchiveCreated)
    request = restore_of(created, "volume", f"{unique_name}-copy")

    await host.restores.run(request, attempt=1)
    samples = await progress_until(host, request.job_id, created.raw_bytes)

    assert all(p.phase == "restore" and p.bytes_total == created.raw_bytes for p in samples)
    assert samples[0].bytes_done < created.raw_bytes
