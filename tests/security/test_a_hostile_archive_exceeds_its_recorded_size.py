"""A tar bomb: an archive that holds far more than its backup recorded.

The catalog records each archive's entry count and tar size (from the backup's `ArchiveCreated`).
Before the fix a restore accepted up to 10 million entries and 16 TiB whatever the archive was,
so an archive whose record says a few files could fill the host's disk or inode table while it
was written. Now each restore's limits are the archive's recorded counts plus a margin (1 % and
64 entries, 1 % and 1 MiB), checked before anything is written and again while the engine
writes, so an archive that changes after its check stops mid-write; the job fails and the
target is left as it was (a new volume removed, a replaced volume untouched).
"""

from __future__ import annotations

import io
import tarfile

import pytest
from executor.conftest import Host
from executor.crafted_archives import place_archive, place_tar, restore_into_image, restore_into_new_volume, tar_entry
from executor.volumes import create_volume, docker_cli, volume_exists

from dockback_contracts import events as ev
from dockback_executor.verify import ArchiveVerifier
from dockback_runtime.jobs.errors import PermanentError

RECORDED = (3, 10_240)  # the record: the root, two small files, a 10 KiB tar


def many_files(count: int) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [tar_entry(f"./f{i}", size=16) for i in range(count)]


@pytest.mark.parametrize(
    ("entries", "limit"),
    [
        (lambda: many_files(200), "max_entries"),
        (lambda: [tar_entry("./big", size=3 * 2**20)], "max_total_bytes"),
    ],
    ids=["more entries", "more bytes"],
)
async def test_an_archive_past_its_recorded_counts_is_refused_before_writing(
    host: Host, unique_name: str, entries: object, limit: str
) -> None:
    archive = place_archive(host, entries(), unique_name, recorded=RECORDED)  # type: ignore[operator]

    with pytest.raises(PermanentError, match=limit):
        await host.restores.run(restore_into_new_volume(archive, unique_name), attempt=1)

    assert not await volume_exists(unique_name)


async def test_an_archive_that_grows_after_its_check_stops_mid_write_and_the_original_is_untouched(
    host: Host,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_volume(unique_name, docker_labels)
    await docker_cli(
        "run", "--rm", *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v", f"{unique_name}:/data", busybox_image, "sh", "-c", "echo original > /data/kept",
    )  # fmt: skip
    archive = place_archive(host, many_files(500), unique_name, recorded=RECORDED)

    async def checked_earlier(self: ArchiveVerifier, *args: object, **kwargs: object) -> None:
        """The check passed on what the file held then; what the engine reads now is the bomb."""

    monkeypatch.setattr(ArchiveVerifier, "check", checked_earlier)
    request = restore_into_new_volume(archive, unique_name, replace_existing=True)

    with pytest.raises(PermanentError, match="max_entries"):
        await host.restores.run(request, attempt=1)

    kept = await docker_cli(
        "run", "--rm", *[f"--label={k}={v}" for k, v in docker_labels.items()],
        "-v", f"{unique_name}:/data:ro", busybox_image, "ls", "/data",
    )  # fmt: skip
    assert kept.decode().split() == ["kept"]
    assert not await volume_exists(f"{unique_name}-restore-{str(request.job_id)[:8]}")


async def test_an_image_archive_past_its_recorded_counts_is_refused_before_it_is_loaded(
    host: Host, unique_name: str
) -> None:
    """Image archives are scanned too: a `docker save` tar holding far more than recorded never
    reaches `docker load`."""
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"[]"))
        for entry, data in many_files(200):
            tar.addfile(entry, io.BytesIO(data))
    archive = place_tar(
        host, bomb.getvalue(), ev.ResourceRef(kind="image", name=unique_name), "image", 2, raw_bytes=10_240
    )
    request = restore_into_image(archive, f"{unique_name}:restored")

    with pytest.raises(PermanentError, match="max_entries"):
        await host.restores.run(request, attempt=1)
    listed = await docker_cli("image", "ls", "--quiet", f"{unique_name}:restored")
    assert listed.strip() == b"", "nothing was loaded"
