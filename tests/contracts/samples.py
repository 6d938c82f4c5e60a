"""One valid instance of every event, for tests that must cover the whole vocabulary."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dockback_contracts import events as ev
from dockback_contracts import inventory as inv

JOB = uuid.UUID("11111111-2222-4333-8444-555555555555")
PLAN = uuid.UUID("99999999-8888-4777-8666-555555555555")
HOST = "host-1"
SHA = "a" * 64
VOLUME = ev.ResourceRef(kind="volume", name="pgdata")
ARCHIVE = ev.ArchiveRef(
    artifact_id=ev.artifact_id_for(JOB, VOLUME, "pgdata"), path="pgdata/2026/x.tar.zst", sha256=SHA, size_bytes=1234
)

REMOTE_ARCHIVE = ARCHIVE.model_copy(update={"remote_locations": ("s3-main:dockback/host-1/plan/pgdata/x.tar.zst",)})


def every_event() -> list[ev.Event]:
    return [
        ev.BackupRequested(
            job_id=JOB,
            host_id=HOST,
            plan_id=PLAN,
            resource=VOLUME,
            options=ev.BackupOptions(
                stop_containers=True,
                pre_commands=(ev.HookCommand(container="db", command=("pg_dumpall", "-f", "/dump.sql")),),
            ),
            upload_targets=("s3-main",),
            scheduled_for=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
        ev.RestoreRequested(
            job_id=JOB,
            host_id=HOST,
            archive=ARCHIVE,
            target=ev.RestoreTarget(kind="volume", name="pgdata-restored"),
            requested_by="admin",
        ),
        ev.VerifyRequested(job_id=JOB, host_id=HOST, archive=ARCHIVE),
        ev.FetchRequested(
            job_id=JOB,
            host_id=HOST,
            archive=REMOTE_ARCHIVE,
            restore=ev.RestoreRequested(
                job_id=JOB,
                host_id=HOST,
                archive=REMOTE_ARCHIVE,
                target=ev.RestoreTarget(kind="volume", name="pgdata-restored"),
                requested_by="admin",
            ),
        ),
        ev.PruneRequested(job_id=JOB, host_id=HOST, plan_id=PLAN, resource=VOLUME, archives=(ARCHIVE,)),
        ev.DeleteRequested(job_id=JOB, host_id=HOST, resource=VOLUME, archive=REMOTE_ARCHIVE, requested_by="olga"),
        ev.JobQueued(
            job_id=JOB,
            host_id=HOST,
            kind="backup",
            plan_id=PLAN,
            scheduled_for=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            request=ev.BackupRequested(
                job_id=JOB,
                host_id=HOST,
                plan_id=PLAN,
                targets=(ev.TargetSelector(kind="volume", label_selector={"backup": "nightly"}),),
                scheduled_for=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            ),
        ),
        ev.JobsQueued(
            host_id=HOST,
            jobs=(
                ev.JobQueued(
                    event_id=ev.queued_event_id(JOB),
                    job_id=JOB,
                    host_id=HOST,
                    kind="backup",
                    plan_id=PLAN,
                    scheduled_for=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
                    request=ev.BackupRequested(
                        job_id=JOB,
                        host_id=HOST,
                        plan_id=PLAN,
                        targets=(ev.TargetSelector(kind="volume", names=("pgdata",)),),
                        scheduled_for=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
                    ),
                ),
            ),
        ),
        ev.JobStarted(job_id=JOB, host_id=HOST, kind="backup", resource=VOLUME, attempt=1),
        ev.JobProgress(job_id=JOB, host_id=HOST, phase="archive", bytes_done=10, bytes_total=100),
        ev.ArchiveCreated(
            job_id=JOB,
            host_id=HOST,
            plan_id=PLAN,
            resource=VOLUME,
            role="pgdata",
            archive=ARCHIVE,
            manifest_path="pgdata/2026/x.json",
            raw_bytes=5000,
            file_count=12,
            compression="zstd",
            last_of_job=True,
        ),
        ev.SnapshotCreated(
            job_id=JOB,
            host_id=HOST,
            plan_id=PLAN,
            resource=VOLUME,
            role="pgdata",
            snapshot=ev.SnapshotRef(artifact_id=ARCHIVE.artifact_id, repository=f"plan-{PLAN}", snapshot_id="a" * 64),
            files_new=3,
            files_changed=1,
            files_unmodified=40,
            bytes_added=2048,
            total_files=44,
            total_bytes=90000,
            last_of_job=True,
        ),
        ev.ForgetRequested(
            job_id=JOB,
            host_id=HOST,
            plan_id=PLAN,
            resource=VOLUME,
            repository=f"plan-{PLAN}",
            snapshots=(
                ev.SnapshotRef(artifact_id=ARCHIVE.artifact_id, repository=f"plan-{PLAN}", snapshot_id="b" * 64),
            ),
        ),
        ev.SnapshotRestoreRequested(
            job_id=JOB,
            host_id=HOST,
            plan_id=PLAN,
            snapshot=ev.SnapshotRef(artifact_id=ARCHIVE.artifact_id, repository=f"plan-{PLAN}", snapshot_id="c" * 64),
            volume="pgdata",
            target=ev.RestoreTarget(kind="volume", name="pgdata-restored"),
            paths=("/conf/app.ini",),
            requested_by="admin",
        ),
        ev.UploadCompleted(
            job_id=JOB,
            host_id=HOST,
            artifact_id=ARCHIVE.artifact_id,
            target_id="s3-main",
            bucket="backups",
            key="dockback/host-1/x.tar.zst",
            size_bytes=1234,
            sha256=SHA,
            verified_by="metadata",
        ),
        ev.RestoreCompleted(
            job_id=JOB,
            host_id=HOST,
            artifact_id=ARCHIVE.artifact_id,
            target=VOLUME,
            replaced_existing=True,
            restarted_containers=("db",),
        ),
        ev.ArchiveVerified(job_id=JOB, host_id=HOST, artifact_id=ARCHIVE.artifact_id, sha256=SHA, file_count=12),
        ev.ArtifactsPruned(job_id=JOB, host_id=HOST, plan_id=PLAN, artifact_ids=(ARCHIVE.artifact_id,)),
        ev.LocalCopiesRemoved(job_id=JOB, host_id=HOST, plan_id=PLAN, artifact_ids=(ARCHIVE.artifact_id,)),
        ev.JobFailed(
            job_id=JOB,
            host_id=HOST,
            kind="backup",
            phase="archive",
            reason="volume pgdata does not exist",
            retryable=False,
            resource=VOLUME,
        ),
        ev.JobSucceeded(
            job_id=JOB,
            host_id=HOST,
            kind="backup",
            plan_id=PLAN,
            resource=VOLUME,
            bytes=1024,
            finished_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        ev.JobCancelled(job_id=JOB, host_id=HOST, kind="backup", phase="archive", reason="cancelled by admin"),
        ev.RunMissed(host_id=HOST, plan_id=PLAN, scheduled_for=datetime(2026, 1, 1, tzinfo=UTC)),
        ev.HostInventory(
            host_id=HOST,
            engine=inv.EngineInfo(engine_id="ABCD", version="20.10.24", api_version="1.41"),
            containers=(
                inv.ContainerInfo(
                    id="c1",
                    name="db",
                    image="postgres:16",
                    image_id="sha256:1",
                    state="running",
                    labels={"com.docker.compose.project": "app"},
                    compose_project="app",
                    mounts=(
                        inv.MountInfo(
                            type="volume", source="pgdata", destination="/var/lib/postgresql/data", read_only=False
                        ),
                    ),
                ),
            ),
            volumes=(
                inv.VolumeInfo(
                    name="pgdata",
                    driver="local",
                    used_by=(inv.VolumeUser(container_id="c1", container_name="db", running=True),),
                ),
            ),
            images=(inv.ImageInfo(id="sha256:1", tags=("postgres:16",), size_bytes=10),),
        ),
        ev.HostHeartbeat(host_id=HOST, interval_seconds=15, executor_version="0.1.0"),
    ]
