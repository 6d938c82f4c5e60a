"""Restic snapshots of volumes, made and restored by real restic in runner containers on the real engine."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dockback_executor.errors import ResourceMissing
from dockback_executor.restic import BackupProgress, Repository, ResticFailed, ResticRunner, feed_tar_stream
from dockback_executor.runner_strategy import PIPES
from dockback_runtime.jobs.errors import PermanentError
from executor.volumes import create_volume, describe, docker_cli, populate, run_in, volume_of_random_bytes

HOST = "host-restic-test"


async def test_a_repository_is_created_at_the_first_backup_and_only_then(
    restic: ResticRunner, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    repository = Repository("new-repository", password=secrets.token_urlsafe(24))
    await create_volume(unique_name, docker_labels)
    job_id = uuid.uuid4()

    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=job_id)
    again = await restic.ensure_repository(repository, uuid.uuid4())

    assert again is False
    listed = await restic.snapshots(repository, uuid.uuid4())
    assert [s["id"] for s in listed] == [snapshot.snapshot_id]
    assert len(list((restic.repository_path(repository) / "keys").iterdir())) == 1


def tags_of(job_id: uuid.UUID, volume: str) -> list[str]:
    return ["dockback", f"job={job_id}", f"resource=volume:{volume}"]


async def test_a_tricky_volume_comes_back_identical_from_a_snapshot(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=200)
    job_id = uuid.uuid4()

    snapshot = await restic.back_up_volume(
        repository, unique_name, host=HOST, tags=tags_of(job_id, unique_name), job_id=job_id
    )

    assert len(snapshot.snapshot_id) == 64
    assert snapshot.files_new > 200
    assert snapshot.files_unmodified == 0
    restored = f"{unique_name}-restored"
    await create_volume(restored, docker_labels)
    await restic.restore_into_volume(repository, snapshot.snapshot_id, unique_name, restored, uuid.uuid4())
    got = (await describe(busybox_image, restored, docker_labels)).splitlines()
    want = (await describe(busybox_image, unique_name, docker_labels)).splitlines()
    assert [line for line in got if line not in want] == [line for line in want if line not in got]
    listed = await restic.snapshots(repository, uuid.uuid4(), tags=[f"job={job_id}"])
    assert [(s["id"], s["hostname"], s["paths"]) for s in listed] == [
        (snapshot.snapshot_id, HOST, [f"/volumes/{unique_name}"])
    ]


async def test_a_second_snapshot_reads_only_what_changed(
    restic: ResticRunner,
    repository: Repository,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=300)
    first = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    await run_in(busybox_image, unique_name, "echo changed >> /data/many/f7 && echo new > /data/added", docker_labels)

    async def asked_again(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise AssertionError("a backup into a repository on the host asked restic again for its snapshot's id")

    monkeypatch.setattr(restic, "snapshots", asked_again)  # the runner listed the snapshot files after restic
    second = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    monkeypatch.undo()

    assert (second.files_new, second.files_changed) == (1, 1)
    assert second.files_unmodified == first.total_files - 1
    assert second.bytes_added < first.bytes_added / 3  # directory listings again, not the 300 KiB file
    assert sorted(s["id"] for s in await restic.snapshots(repository, uuid.uuid4())) == sorted(
        [first.snapshot_id, second.snapshot_id]
    )


async def test_one_file_is_restored_alone_and_a_directory_lists_its_entries(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=20)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())

    entries = await restic.list_directory(repository, snapshot.snapshot_id, unique_name, "nested/deeper", uuid.uuid4())
    restored = f"{unique_name}-one-file"
    await create_volume(restored, docker_labels)
    await restic.restore_into_volume(
        repository, snapshot.snapshot_id, unique_name, restored, uuid.uuid4(), include=["/nested/deeper/deepest/file"]
    )

    assert [(e["name"], e["type"], e["path"]) for e in entries] == [("deepest", "dir", "/nested/deeper/deepest")]
    found = await run_in(busybox_image, restored, "cd /data && find . -type f && cat nested/deeper/deepest/file", {})
    assert found.decode().split() == ["./nested/deeper/deepest/file", "inner"]


async def test_a_path_out_of_the_volume_is_refused_before_restic_runs(
    restic: ResticRunner, repository: Repository
) -> None:
    with pytest.raises(PermanentError, match="leaves the volume"):
        await restic.list_directory(repository, "a" * 64, "volume", "../../etc", uuid.uuid4())


async def test_a_wrong_password_fails_naming_the_password_and_saves_nothing(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=5)
    await restic.ensure_repository(repository, uuid.uuid4())
    wrong = Repository(repository.name, password="not-" + repository.password)

    with pytest.raises(ResticFailed, match="password is wrong") as failed:
        await restic.back_up_volume(wrong, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())

    assert repository.password not in str(failed.value)
    assert await restic.snapshots(repository, uuid.uuid4()) == []
    assert not [p for p in (restic.data.directory / PIPES).iterdir()]  # no FIFO left behind


async def test_the_password_reaches_restic_but_never_the_runners_configuration(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=300)
    job_id = uuid.uuid4()
    seen: list[BackupProgress] = []
    inspected: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def on_progress(progress: BackupProgress) -> None:
        seen.append(progress)
        if not inspected.done():
            inspected.set_result(b"")  # the runner is running: look at it now

    backing_up = asyncio.ensure_future(
        restic.back_up_volume(
            repository, unique_name, host=HOST, tags=["dockback"], job_id=job_id, progress=on_progress
        )
    )
    await asyncio.wait([backing_up, inspected], return_when=asyncio.FIRST_COMPLETED)
    runners = (await docker_cli("ps", "-q", "--filter", f"label=dockback.job={job_id}")).decode().split()
    configuration = await docker_cli("inspect", *runners) if runners else b""
    snapshot = await backing_up

    assert runners, "the backup ended before its first progress report"
    assert repository.password.encode() not in configuration
    environment = json.loads(configuration)[0]["Config"]["Env"]
    assert any(variable.startswith("RESTIC_REPOSITORY=") for variable in environment)
    assert seen
    assert seen[-1].total_bytes == 300 * 1024 * 1024
    assert snapshot.total_bytes == 300 * 1024 * 1024


async def test_the_plain_restic_cli_restores_a_snapshot_with_only_the_password(
    restic: ResticRunner,
    repository: Repository,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    await create_volume(unique_name, docker_labels)
    await run_in(busybox_image, unique_name, "echo hello > /data/greeting", docker_labels)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    password_file = tmp_path / "password"
    password_file.write_text(repository.password)

    await asyncio.to_thread(
        subprocess.run,
        [
            "restic",
            "-r",
            str(restic.repository_path(repository)),
            "--password-file",
            str(password_file),
            "restore",
            snapshot.snapshot_id,
            "--target",
            str(tmp_path / "out"),
        ],
        check=True,
        capture_output=True,
    )

    assert (tmp_path / "out" / "volumes" / unique_name / "greeting").read_bytes() == b"hello\n"


def repository_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in (path / "data").rglob("*") if f.is_file())


async def test_check_reads_the_data_back_and_names_a_damaged_pack(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await populate(busybox_image, unique_name, docker_labels, small_files=20)
    await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    await restic.check(repository, uuid.uuid4(), read_data_subset="100%")  # intact: passes
    pack = max((restic.repository_path(repository) / "data").rglob("*"), key=lambda f: f.stat().st_size)
    damaged = bytearray(pack.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(damaged))

    with pytest.raises(ResticFailed, match="check of repository 'plan-repository' failed") as failed:
        await restic.check(repository, uuid.uuid4(), read_data_subset="100%")

    assert f"Pack ID does not match, want {pack.name}" in str(failed.value)  # the damaged pack, by name


async def test_forgotten_snapshots_go_and_prune_frees_only_their_data(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    kept_volume, gone_volume = f"{unique_name}-kept", f"{unique_name}-gone"
    for volume, megabytes in ((kept_volume, 2), (gone_volume, 20)):
        await volume_of_random_bytes(busybox_image, volume, docker_labels, megabytes=megabytes)
    kept = await restic.back_up_volume(repository, kept_volume, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    gone = await restic.back_up_volume(repository, gone_volume, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    before = repository_bytes(restic.repository_path(repository))

    await restic.forget(repository, [gone.snapshot_id], uuid.uuid4())
    await restic.prune(repository, uuid.uuid4())

    assert [s["id"] for s in await restic.snapshots(repository, uuid.uuid4())] == [kept.snapshot_id]
    assert repository_bytes(restic.repository_path(repository)) < before - 19 * 1024 * 1024
    restored = f"{unique_name}-restored"
    await create_volume(restored, docker_labels)
    await restic.restore_into_volume(repository, kept.snapshot_id, kept_volume, restored, uuid.uuid4())
    assert await run_in(busybox_image, restored, "wc -c < /data/big", {}) == b"2097152\n"


async def test_a_read_data_subset_that_is_not_one_is_refused_before_restic_runs(
    restic: ResticRunner, repository: Repository
) -> None:
    with pytest.raises(PermanentError, match="read_data_subset"):
        await restic.check(repository, uuid.uuid4(), read_data_subset="all; rm -rf /")


async def test_an_image_comes_back_from_its_snapshot_and_a_second_tag_of_it_shares_its_chunks(
    restic: ResticRunner, repository: Repository, busybox_image: str, unique_name: str
) -> None:
    first, second = f"dockback-test/restic-image:{unique_name}", f"dockback-test/restic-image:{unique_name}-again"
    await docker_cli("tag", busybox_image, first)
    await docker_cli("tag", busybox_image, second)
    image_id = (await docker_cli("image", "inspect", "--format", "{{.Id}}", first)).decode().strip()
    try:
        saved = await restic.back_up_image(repository, first, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
        again = await restic.back_up_image(repository, second, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
        await docker_cli("rmi", first)

        loaded = await restic.restore_image(repository, saved.snapshot_id, first, uuid.uuid4())

        assert loaded == [first]
        assert (await docker_cli("image", "inspect", "--format", "{{.Id}}", first)).decode().strip() == image_id
        assert saved.total_bytes > 1024 * 1024  # busybox's layer
        # The same layer: only the chunks around the new tag's metadata are new (restic's chunks are
        # ~1 MiB, so in busybox's 2 MiB a fifth to a half of it; in a real image far less).
        assert again.bytes_added < saved.bytes_added / 2
    finally:
        for tag in (first, second):
            await asyncio.create_subprocess_exec(
                "docker", "rmi", tag, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )


async def test_an_image_the_engine_does_not_have_fails_before_restic_runs(
    restic: ResticRunner, repository: Repository, unique_name: str
) -> None:
    with pytest.raises(ResourceMissing):
        await restic.back_up_image(
            repository, f"dockback-test/absent:{unique_name}", host=HOST, tags=["dockback"], job_id=uuid.uuid4()
        )
    assert await restic.snapshots(repository, uuid.uuid4()) == []


async def test_a_snapshot_of_another_volume_is_not_restored_as_this_ones(
    restic: ResticRunner,
    repository: Repository,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_volume(unique_name, docker_labels)
    await run_in(busybox_image, unique_name, "echo a > /data/a", docker_labels)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    target = f"{unique_name}-target"
    await create_volume(target, docker_labels)
    await create_volume(f"{target}-right", docker_labels)

    async def asked(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise AssertionError("the restore asked restic which volume the snapshot is of, in a run of its own")

    monkeypatch.setattr(restic, "snapshots", asked)  # the restore's own first line says it
    with pytest.raises(ResticFailed, match=f"is not a snapshot of volume '{unique_name}-other'"):
        await restic.restore_into_volume(repository, snapshot.snapshot_id, f"{unique_name}-other", target, uuid.uuid4())
    await restic.restore_into_volume(repository, snapshot.snapshot_id, unique_name, f"{target}-right", uuid.uuid4())
    monkeypatch.undo()

    assert await run_in(busybox_image, target, "ls -A /data", {}) == b""
    assert await run_in(busybox_image, f"{target}-right", "cat /data/a", {}) == b"a\n"


async def test_a_file_whose_name_looks_like_a_pattern_is_restored_alone(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await create_volume(unique_name, docker_labels)
    await run_in(busybox_image, unique_name, "echo one > '/data/a[1]' && echo other > /data/a1", docker_labels)
    snapshot = await restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=uuid.uuid4())
    target = f"{unique_name}-target"
    await create_volume(target, docker_labels)

    await restic.restore_into_volume(repository, snapshot.snapshot_id, unique_name, target, uuid.uuid4(), ["/a[1]"])

    assert await run_in(busybox_image, target, "ls -A /data && cat '/data/a[1]'", {}) == b"a[1]\none\n"


async def test_a_cancelled_backup_leaves_no_lock_and_no_runner(
    restic: ResticRunner, repository: Repository, busybox_image: str, docker_labels: dict[str, str], unique_name: str
) -> None:
    await volume_of_random_bytes(busybox_image, unique_name, docker_labels, megabytes=400)
    job_id = uuid.uuid4()
    started = asyncio.Event()

    def heard(progress: BackupProgress) -> None:
        if progress.bytes_done > 0:
            started.set()

    backup = asyncio.ensure_future(
        restic.back_up_volume(repository, unique_name, host=HOST, tags=["dockback"], job_id=job_id, progress=heard)
    )
    await started.wait()
    backup.cancel()
    with pytest.raises(asyncio.CancelledError):
        await backup

    assert list((restic.repository_path(repository) / "locks").iterdir()) == []  # prune is not kept out
    assert (await docker_cli("ps", "-aq", "--filter", f"label=dockback.job={job_id}")).split() == []
    assert await restic.snapshots(repository, uuid.uuid4()) == []


async def test_two_first_backups_at_once_create_the_repository_once(restic: ResticRunner) -> None:
    repository = Repository("created-twice", password=secrets.token_urlsafe(24))

    created = await asyncio.gather(*(restic.ensure_repository(repository, uuid.uuid4()) for _ in range(2)))

    assert sorted(created) == [False, True]
    assert len(list((restic.repository_path(repository) / "keys").iterdir())) == 1


def test_only_storage_credentials_go_into_a_runners_environment() -> None:
    for name in ("PATH", "LD_PRELOAD", "RESTIC_PASSWORD_COMMAND", "RESTIC_FROM_PASSWORD_COMMAND", "AWS-KEY", "aws_x"):
        with pytest.raises(PermanentError, match="is not a storage credential's name"):
            Repository("r", password="p", environment={name: "value"})
    Repository("r", password="p", environment={"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})


async def test_a_saved_image_stream_that_does_not_end_as_a_tar_fails_its_feed(tmp_path: Path) -> None:
    fifo = tmp_path / "in"
    os.mkfifo(fifo)

    async def stream(ending: bytes) -> AsyncIterator[bytes]:
        yield b"x" * 4096
        yield ending

    for ending, fails in ((b"\0" * 1024, False), (b'{"message":"export failed"}\n', True)):
        reading = asyncio.ensure_future(asyncio.to_thread(fifo.read_bytes))
        if fails:
            with pytest.raises(ValueError, match="does not end as a tar archive does"):
                await feed_tar_stream(fifo, stream(ending))
        else:
            await feed_tar_stream(fifo, stream(ending))
        assert (await reading).endswith(ending)  # restic got it all either way: the job forgets that snapshot
