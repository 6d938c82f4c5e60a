"""The executor's JetStream subscribers: thin, each settling its message through the job-worker
kit's JobRunner (the ack policy: dockback_runtime.jobs.runner); the restore preview's question
about this host answers on request/reply."""

from __future__ import annotations

from faststream.nats import NatsBroker, NatsMessage

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_contracts.control import (
    SnapshotDownloadOpen,
    SnapshotDownloadOpened,
    SnapshotDownloadRead,
    SnapshotTree,
    SnapshotTreeQuery,
    TargetUsers,
    TargetUsersQuery,
)
from dockback_contracts.streams import ConsumerSpec
from dockback_executor.backup import BackupService
from dockback_executor.docker_api import DockerEngine
from dockback_executor.forget import ForgetService
from dockback_executor.repository_keys import RepositoryKeys
from dockback_executor.restic import ResticRunner
from dockback_executor.restore import RestoreService
from dockback_executor.snapshot_download import MOST_AT_ONCE, SnapshotDownloads
from dockback_executor.snapshot_restore import SnapshotRestoreService
from dockback_executor.snapshot_tree import snapshot_tree
from dockback_executor.target_users import target_users
from dockback_executor.verify import ArchiveVerifier
from dockback_runtime.jobs.runner import JobRunner
from dockback_runtime.jobs.settings import JobWorkerSettings
from dockback_runtime.jobs.worker import subscribe_job


def register(
    broker: NatsBroker,
    host_id: str,
    runner: JobRunner,
    backups: BackupService,
    restores: RestoreService,
    verifier: ArchiveVerifier,
    forgets: ForgetService,
    snapshot_restores: SnapshotRestoreService,
    settings: JobWorkerSettings,
    max_workers: int,
) -> list[ConsumerSpec]:
    """Subscribe to this host's requests; returns the consumers to create before starting."""
    backup_spec = settings.job_consumer(streams.executor_consumer(host_id, ev.BackupRequested))
    restore_spec = settings.job_consumer(streams.executor_consumer(host_id, ev.RestoreRequested))
    verify_spec = settings.job_consumer(streams.executor_consumer(host_id, ev.VerifyRequested))
    forget_spec = settings.job_consumer(streams.executor_consumer(host_id, ev.ForgetRequested))
    snapshot_restore_spec = settings.job_consumer(streams.executor_consumer(host_id, ev.SnapshotRestoreRequested))

    async def on_backup_requested(event: ev.BackupRequested, msg: NatsMessage) -> None:
        """Archive the requested resource, or every resource the plan's targets select, on this host."""
        await runner.settle(event, msg, backup_spec, "backup", "archive", backups.run)

    async def on_restore_requested(event: ev.RestoreRequested, msg: NatsMessage) -> None:
        """Verify, then restore an archive into its target."""
        await runner.settle(event, msg, restore_spec, "restore", "restore", restores.run)

    async def on_verify_requested(event: ev.VerifyRequested, msg: NatsMessage) -> None:
        """Check an archive's checksum and structure without restoring it."""
        await runner.settle(event, msg, verify_spec, "verify", "verify", verifier.verify)

    async def on_forget_requested(event: ev.ForgetRequested, msg: NatsMessage) -> None:
        """Forget the snapshots a plan's retention drops from its repository."""
        await runner.settle(event, msg, forget_spec, "prune", "prune", forgets.run)

    subscribe_job(broker, backup_spec, on_backup_requested, max_workers=max_workers)
    subscribe_job(broker, restore_spec, on_restore_requested, max_workers=max_workers)
    subscribe_job(broker, verify_spec, on_verify_requested, max_workers=max_workers)

    async def on_snapshot_restore_requested(event: ev.SnapshotRestoreRequested, msg: NatsMessage) -> None:
        """Restore a volume's snapshot (or paths of it) into a new volume."""
        await runner.settle(event, msg, snapshot_restore_spec, "restore", "restore", snapshot_restores.run)

    subscribe_job(broker, forget_spec, on_forget_requested, max_workers=max_workers)
    subscribe_job(broker, snapshot_restore_spec, on_snapshot_restore_requested, max_workers=max_workers)
    return [backup_spec, restore_spec, verify_spec, forget_spec, snapshot_restore_spec]


def register_questions(
    broker: NatsBroker,
    host_id: str,
    engine: DockerEngine,
    restic: ResticRunner | None,
    repositories: RepositoryKeys,
    downloads: SnapshotDownloads,
) -> None:
    """Answer the questions asked about this host (core request/reply, one executor of the host answers)."""

    async def on_target_users(query: TargetUsersQuery) -> TargetUsers:
        """Say which of the named volumes, containers and images exist on this host now, and which
        containers use those volumes (a restore preview asks)."""
        return await target_users(engine, host_id, query)

    broker.subscriber(subjects.target_users(host_id), queue="executors", description=on_target_users.__doc__)(
        on_target_users
    )

    async def on_snapshot_tree(query: SnapshotTreeQuery) -> SnapshotTree:
        """List one directory of a snapshot in one of this host's repositories (the Backups page asks)."""
        return await snapshot_tree(restic, repositories, host_id, query)

    broker.subscriber(subjects.snapshot_tree(host_id), queue="executors", description=on_snapshot_tree.__doc__)(
        on_snapshot_tree
    )

    async def on_snapshot_download(request: SnapshotDownloadOpen) -> SnapshotDownloadOpened:
        """Start a download of files of a snapshot in one of this host's repositories (the Backups page asks)."""
        return await downloads.open(request)

    # several at once: one download's wait for restic never holds back another's
    broker.subscriber(
        subjects.snapshot_download(host_id),
        queue="executors",
        max_workers=MOST_AT_ONCE,
        description=on_snapshot_download.__doc__,
    )(on_snapshot_download)

    async def on_snapshot_download_read(request: SnapshotDownloadRead) -> bytes:
        """The next bytes of a download this executor started."""
        return await downloads.read(request)

    broker.subscriber(downloads.reader, max_workers=2 * MOST_AT_ONCE, description=on_snapshot_download_read.__doc__)(
        on_snapshot_download_read
    )
