"""Downloads of files from a snapshot, served by the executor's SnapshotDownloads with real restic
in runner containers on the real engine: one file as it is, several files and directories as a tar
that unpacks into what the volume held, and a download its reader abandons (or never reads)
stops restic and leaves no runner behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from dockback_contracts.control import SNAPSHOT_DOWNLOAD_CHUNK_BYTES, SnapshotDownloadOpen, SnapshotDownloadRead
from dockback_executor import snapshot_download
from dockback_executor.restic import Repository, ResticRunner
from dockback_executor.snapshot_download import SnapshotDownloads
from executor.conftest import KnownRepository
from executor.volumes import create_volume, describe, populate, run_in, volume_of_random_bytes
from harness.eventually import eventually

HOST = "host-download-test"


def downloads_of(restic: ResticRunner, repository: Repository) -> SnapshotDownloads:
    return SnapshotDownloads(restic, KnownRepository(repository), HOST, "instance1")  # type: ignore[arg-type]


def opening(repository: Repository, snapshot_id: str, volume: str, *paths: str) -> SnapshotDownloadOpen:
    return SnapshotDownloadOpen(
        download_id=uuid.uuid4().hex, repository=repository.name, snapshot_id=snapshot_id, volume=volume, paths=paths
    )


async def read_all(downloads: SnapshotDownloads, download_id: str) -> bytes:
    received = bytearray()
    while True:
        frame = await downloads.read(SnapshotDownloadRead(download_id=download_id, offset=len(received)))
        if frame == b"W":  # nothing more yet: asked again, as the gateway does
            continue
        if frame[:1] != b"D":
            assert frame == b"E", frame[:300]
            return bytes(received)
        assert 0 < len(frame) - 1 <= SNAPSHOT_DOWNLOAD_CHUNK_BYTES
        received += frame[1:]


async def test_one_file_comes_as_it_is_and_a_whole_volume_as_a_tar_that_unpacks_into_it(
    restic: ResticRunner,
    repository: Repository,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=50)
    await run_in(busybox_image, unique_name, "head -c 1310771 /dev/urandom > /data/odd-size.bin", docker_labels)
    original = await describe(busybox_image, unique_name, docker_labels)
    odd_sha = (await run_in(busybox_image, unique_name, "sha256sum < /data/odd-size.bin", docker_labels)).split()[0]
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["t"], job_id=uuid.uuid4())
    downloads = downloads_of(restic, repository)

    # a read waits a moment only (here less than restic takes to start), then says to ask again
    monkeypatch.setattr(snapshot_download, "READ_WAIT_SECONDS", 0.001)
    one = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "odd-size.bin"))
    assert await downloads.read(SnapshotDownloadRead(download_id=one.download_id, offset=0)) == b"W"
    assert (one.problem, one.tar, one.size, one.file_name) == (None, False, 1310771, "odd-size.bin")
    assert one.reader == "dockback.control.host-download-test.snapshot_download.instance1"
    data = await read_all(downloads, one.download_id)
    assert hashlib.sha256(data).hexdigest().encode() == odd_sha

    whole = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "/"))
    assert (whole.problem, whole.tar, whole.size) == (None, True, None)
    assert whole.file_name == f"{unique_name}-{snapshot.snapshot_id[:8]}.tar"
    archive = tmp_path / "whole.tar"
    archive.write_bytes(await read_all(downloads, whole.download_id))
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    # GNU tar as root, as a person restoring by hand would run it
    unpacking = ["tar", "-xpf", str(archive), "--numeric-owner", "-C", str(unpacked)]
    await asyncio.to_thread(subprocess.run, unpacking, check=True)
    # restic's `dump` writes a FIFO as an empty file and each hard link as a copy of its own
    fifo = b"./a-fifo|fifo|"
    as_dumped = original.replace(fifo, b"./a-fifo|regular empty file|")
    as_dumped = re.sub(rb"^(\./(regular\.txt|hardlink-to-regular)\|.*)\|2$", rb"\1|1", as_dumped, flags=re.MULTILINE)
    empty_fifo = hashlib.sha256(b"").hexdigest().encode() + b"  ./a-fifo\n"
    listing, hashes, links = as_dumped.split(b"---\n")
    hashes = b"".join(sorted([*hashes.splitlines(keepends=True), empty_fifo]))
    expected = b"---\n".join([listing, hashes, links])
    assert await describe(busybox_image, str(unpacked / unique_name), docker_labels) == expected


async def test_several_files_and_directories_come_as_a_tar_named_from_their_directory(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["t"], job_id=uuid.uuid4())
    downloads = downloads_of(restic, repository)

    # a directory and a path below it (taken once), named from the directory that holds them
    opened = await downloads.open(
        opening(repository, snapshot.snapshot_id, unique_name, "/nested/deeper", "/nested/deeper/deepest")
    )
    assert (opened.problem, opened.tar) == (None, True)
    assert opened.file_name == f"{unique_name}-nested-{snapshot.snapshot_id[:8]}.tar"
    with tarfile.open(fileobj=io.BytesIO(await read_all(downloads, opened.download_id))) as tar:
        assert sorted(tar.getnames()) == ["deeper", "deeper/deepest", "deeper/deepest/file"]
        assert tar.extractfile("deeper/deepest/file").read() == b"inner\n"  # type: ignore[union-attr]

    # from different directories: named from the one that holds both, the volume's root, as the volume
    opened = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "owned-by-1000", "/many/f3"))
    with tarfile.open(fileobj=io.BytesIO(await read_all(downloads, opened.download_id))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == [f"{unique_name}/many/f3", f"{unique_name}/owned-by-1000"]
        assert (members[f"{unique_name}/owned-by-1000"].uid, members[f"{unique_name}/owned-by-1000"].gid) == (
            1000,
            1001,
        )
        assert tar.extractfile(f"{unique_name}/many/f3").read() == b"small file 3\n"  # type: ignore[union-attr]


async def test_what_cannot_be_downloaded_is_refused_saying_why(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=1)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["t"], job_id=uuid.uuid4())
    downloads = downloads_of(restic, repository)

    missing = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "/regular.txt", "/nope"))
    assert missing.problem is not None
    assert "holds no /nope" in missing.problem
    escaping = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "/../../etc/shadow"))
    assert escaping.problem is not None
    assert "leaves the volume" in escaping.problem
    link = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "/link-absolute"))
    assert link.problem == "/link-absolute: only files and directories are downloaded"
    unknown = await downloads.read(SnapshotDownloadRead(download_id=uuid.uuid4().hex, offset=0))
    assert unknown.startswith(b"Pthere is no download")


async def runners(restic: ResticRunner, volume: str) -> list[str]:
    """The runners dumping from a snapshot of `volume`."""
    return [r["Id"] for r in await restic.engine.runners() if f"/volumes/{volume}/" in str(r.get("Command"))]


async def no_runners(restic: ResticRunner, volume: str) -> bool:
    return not await runners(restic, volume)


async def test_an_abandoned_download_stops_restic_and_leaves_no_runner(
    restic: ResticRunner,
    repository: Repository,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=24)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["t"], job_id=uuid.uuid4())
    downloads = downloads_of(restic, repository)

    # the browser went away after the first chunk: the gateway says so
    opened = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "big"))
    first = await downloads.read(SnapshotDownloadRead(download_id=opened.download_id, offset=0))
    assert first[:1] == b"D"
    assert await runners(restic, unique_name)  # restic waits for the rest to be read
    ended = await downloads.read(
        SnapshotDownloadRead(download_id=opened.download_id, offset=len(first) - 1, close=True)
    )
    assert ended == b"E"
    await eventually(lambda: no_runners(restic, unique_name), timeout=30)

    # nobody reads on (the gateway could not say the browser went): ended once idle
    monkeypatch.setattr(snapshot_download, "IDLE_SECONDS", 0.5)
    idle = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "big"))
    first = await downloads.read(SnapshotDownloadRead(download_id=idle.download_id, offset=0))
    assert first[:1] == b"D"
    await eventually(lambda: no_runners(restic, unique_name), timeout=30)
    gone = await downloads.read(SnapshotDownloadRead(download_id=idle.download_id, offset=len(first) - 1))
    assert gone.startswith(b"Pthere is no download")

    # read from the wrong place: ended, saying so
    opened = await downloads.open(opening(repository, snapshot.snapshot_id, unique_name, "big"))
    wrong = await downloads.read(SnapshotDownloadRead(download_id=opened.download_id, offset=7))
    assert wrong == b"Pasked from byte 7, but the download is at byte 0"
    await downloads.close()
    await eventually(lambda: no_runners(restic, unique_name), timeout=30)
