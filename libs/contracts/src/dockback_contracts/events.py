"""Every event that crosses the bus: requests (work for a host) and facts (what happened).

Requests carry the id that makes them idempotent: a job id, also used as `Nats-Msg-Id`.
A scheduled backup's job id is `scheduled_job_id(plan_id, fire_time)`, so two schedulers,
or one that restarts, produce one job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import Field, model_validator

from dockback_contracts.base import (
    BackupFormat,
    ByteCount,
    Compression,
    Event,
    HostEvent,
    HostId,
    Id,
    JobEvent,
    JobKind,
    JobPhase,
    Model,
    Name,
    ResourceKind,
    Seq,
    Sha256,
    UtcDatetime,
)
from dockback_contracts.inventory import ContainerInfo, EngineInfo, ImageInfo, VolumeInfo
from dockback_contracts.storage import VolumeStorage

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"

_SCHEDULE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:dockback:scheduled-job")


def scheduled_job_id(plan_id: UUID, fire_time: datetime) -> UUID:
    """The job id of a plan's run at `fire_time`: the same for every scheduler replica."""
    if fire_time.tzinfo is None:
        raise ValueError("fire_time must be timezone-aware")
    return uuid5(_SCHEDULE_NAMESPACE, f"{plan_id}/{fire_time.timestamp():.0f}")


class ResourceRef(Model):
    """A Docker object a job acts on, by kind and name."""

    kind: ResourceKind
    name: Name


def artifact_id_for(job_id: UUID, resource: ResourceRef, role: str) -> UUID:
    """The id of the artifact a job produces for one resource and role (a volume name, `config`, `image`).

    Deterministic, so a job that is redelivered and done again announces the same artifact;
    distinct per resource, so a job backing up two containers gives each `config` its own id.
    """
    return uuid5(job_id, f"{resource.kind}/{resource.name}/{role}")


class HookCommand(Model):
    """A command run with `docker exec` inside a container before or after a backup."""

    container: Name
    command: Seq[str] = Field(min_length=1, description="argv, not a shell string")
    timeout_seconds: float = Field(default=300, gt=0, le=86400)
    on_error: Literal["fail", "continue"] = "fail"


class TargetSelector(Model):
    """Which resources a plan covers: by name, by label, or by compose project.

    Resolved by the executor against its engine when the job runs, so a resource created
    after the plan joins it at the next run. A selector with names matches exactly those;
    with labels and/or a compose project it matches every resource that has all of them.
    """

    kind: ResourceKind
    names: Seq[Name] = ()
    label_selector: dict[str, str] = Field(default={}, description="All labels must match.")
    compose_project: str | None = None

    def wanted_labels(self) -> dict[str, str]:
        """The labels a resource must carry (the compose project is a label too)."""
        wanted = dict(self.label_selector)
        if self.compose_project is not None:
            wanted[COMPOSE_PROJECT_LABEL] = self.compose_project
        return wanted

    def matches(self, kind: str, name: str, labels: Mapping[str, str]) -> bool:
        """Whether a resource of `kind` named `name` with `labels` is one this selector names."""
        if kind != self.kind or (self.names and name not in self.names):
            return False
        return all(labels.get(key) == value for key, value in self.wanted_labels().items())

    @model_validator(mode="after")
    def _selects_something(self) -> TargetSelector:
        if not self.names and not self.label_selector and self.compose_project is None:
            raise ValueError("a target needs names, a label selector or a compose project")
        return self


class BackupOptions(Model):
    """How to take a backup: its format, compression and consistency."""

    format: BackupFormat = Field(
        default="archive",
        description="archive: a tar archive per volume, config and image, a full copy each time; repository: "
        "snapshots in the plan's restic repository on its host (incremental, deduplicated, encrypted).",
    )
    compression: Compression = "zstd"
    compression_level: int | None = Field(default=None, ge=-7, le=22)
    stop_containers: bool = Field(
        default=False,
        description="Stop the containers using the volume (and those labelled "
        "dockback.stop-during-backup=true) during the backup; restart those that ran.",
    )
    pre_commands: Seq[HookCommand] = ()
    post_commands: Seq[HookCommand] = ()
    include_image: bool = False
    include_bind_mounts: bool = False


class BackupRequested(JobEvent):
    """Back up one resource on a host. Addressed to that host's executors."""

    type: Literal["backup_requested.v1"] = "backup_requested.v1"
    plan_id: Id | None = Field(default=None, description="None for a manual backup outside any plan.")
    resource: ResourceRef | None = Field(default=None, description="One resource, for an ad-hoc backup.")
    targets: Seq[TargetSelector] = Field(
        default=(), description="A plan's selectors, resolved by the executor when the job runs."
    )
    options: BackupOptions = BackupOptions()
    upload_targets: Seq[Name] = Field(default=(), description="Ids of the S3 targets to copy to.")
    scheduled_for: UtcDatetime | None = Field(default=None, description="The plan's fire time, if scheduled.")
    requested_by: str | None = Field(default=None, description="User name for a manual request.")

    @model_validator(mode="after")
    def _one_way_to_name_targets(self) -> BackupRequested:
        if (self.resource is None) == (not self.targets):
            raise ValueError("a backup names either one resource or a plan's targets, not both or neither")
        return self


class ArchiveRef(Model):
    """Where an archive is and what it must hash to."""

    artifact_id: Id
    path: str = Field(min_length=1, description="Path relative to the host's data dir.")
    sha256: Sha256
    size_bytes: ByteCount
    remote_locations: Seq[str] = Field(default=(), description="target_id:key of remote copies.")


class RestoreTarget(Model):
    """What a restore writes to."""

    kind: ResourceKind
    name: Name = Field(description="The original name, or a new one to restore beside the original.")
    replace_existing: bool = Field(default=False, description="Swap the restored data in over the existing object.")
    allow_stop: bool = Field(
        default=False,
        description="Stop (and afterwards restart) the containers using the target. Without it, "
        "a restore onto an object in use fails and changes nothing.",
    )
    storage: VolumeStorage | None = Field(
        default=None,
        description="The driver and options of a volume the restore creates, chosen explicitly by the person "
        "(the original's, from the catalog). None: the plain local driver without options. A volume that is "
        "replaced keeps its own driver and options, and the swap's temporary copy is always plain local.",
    )


ArtifactKind = Literal["volume", "bind", "config", "image"]


class CataloguedArchive(Model):
    """The catalog's record of an archive: every field that decides where and how a restore
    writes. A restore takes these from the catalog (carried in `RestoreRequested`), never from
    the manifest beside the archive, which may have come back from a bucket; a manifest that
    disagrees with them is refused (`ArchiveManifest.disagreement_with`)."""

    artifact_id: Id
    job_id: Id
    host_id: HostId
    plan_id: Id | None = None
    resource: ResourceRef
    role: str = Field(min_length=1, description="The volume name, 'config', 'image' or 'bind/<destination>'.")
    kind: ArtifactKind
    archive_file: str = Field(min_length=1, description="File name of the archive.")
    compression: Compression
    sha256: Sha256
    size_bytes: ByteCount = Field(description="Stored size, after compression.")
    raw_bytes: ByteCount = Field(description="Size of the tar stream (or file) before compression, as recorded.")
    file_count: ByteCount = Field(description="Entries in the tar, as recorded.")
    manifest_sha256: Sha256 | None = Field(
        default=None,
        description="sha256 of the manifest file as the backup wrote it (`ArchiveCreated.manifest_sha256`); "
        "when known, a manifest with other bytes is refused whatever it says.",
    )


class RestoreRequested(JobEvent):
    """Restore an archive on a host. Issued by the gateway after the user confirmed it."""

    type: Literal["restore_requested.v1"] = "restore_requested.v1"
    archive: ArchiveRef
    target: RestoreTarget
    requested_by: str
    catalogued: CataloguedArchive | None = Field(
        default=None,
        description="The catalog's record of the archive. The executor restores only when the manifest "
        "agrees with it and takes the per-restore limits from its recorded counts; a request without it "
        "(issued before it existed) is refused.",
    )
    backup_first: BackupRequested | None = Field(
        default=None,
        description="Before a restore replaces a volume's content, or a container (with its volumes): an ad-hoc "
        "backup of that volume or container (its own job id, catalogued like any backup), run by the executor as "
        "the restore's first step, so a wrong restore can be undone. When it fails the restore stops and "
        "overwrites nothing. Skipped when the target does not exist (nothing is overwritten). None: the person "
        "chose not to.",
    )
    restore_special_bits: bool = Field(
        default=False,
        description="Whether files with setuid or setgid bits may be restored (the plan's "
        "`restore_special_bits`, which only an admin sets). Device files are never restored.",
    )

    @model_validator(mode="after")
    def _catalogued_is_the_archive(self) -> RestoreRequested:
        if self.catalogued is not None and (
            self.catalogued.artifact_id != self.archive.artifact_id
            or self.catalogued.sha256 != self.archive.sha256
            or self.catalogued.size_bytes != self.archive.size_bytes
        ):
            raise ValueError("catalogued must describe the archive being restored")
        first = self.backup_first
        if first is not None and (
            self.target.kind not in ("volume", "container")
            or first.resource != ResourceRef(kind=self.target.kind, name=self.target.name)
            or first.host_id != self.host_id
            or first.job_id == self.job_id
        ):
            raise ValueError(
                "backup_first must be a backup of the target volume or container on this host, as a job of its own"
            )
        return self


class VerifyRequested(JobEvent):
    """Check an archive: checksum, and that it reads back as a valid archive."""

    type: Literal["verify_requested.v1"] = "verify_requested.v1"
    plan_id: Id | None = None
    archive: ArchiveRef


class FetchRequested(JobEvent):
    """Bring an archive whose local copy is gone back from a remote copy (verified against
    its sha256), then hand `restore` to the host's executors. Addressed to the host's uploader."""

    type: Literal["fetch_requested.v1"] = "fetch_requested.v1"
    archive: ArchiveRef
    restore: RestoreRequested

    @model_validator(mode="after")
    def _fetchable(self) -> FetchRequested:
        if not self.archive.remote_locations:
            raise ValueError("an archive without remote copies cannot be fetched")
        if self.restore.job_id != self.job_id or self.restore.archive.artifact_id != self.archive.artifact_id:
            raise ValueError("the restore must be this job's, of this archive")
        return self


class SnapshotRef(Model):
    """A snapshot in a restic repository of the host's data dir (`repositories/<repository>`)."""

    artifact_id: Id
    repository: Name
    snapshot_id: str = Field(pattern=r"^[0-9a-f]{64}$", description="restic's full snapshot id")


class PruneRequested(JobEvent):
    """Delete the given artifacts (local and remote copies) within one (host, plan) scope."""

    type: Literal["prune_requested.v1"] = "prune_requested.v1"
    plan_id: Id
    resource: ResourceRef
    archives: Seq[ArchiveRef] = Field(min_length=1)


class ForgetRequested(JobEvent):
    """Forget exactly these snapshots of one (host, plan, resource, role) scope in the plan's
    repository (`restic forget <ids>`; their data goes at the repository's next `prune`).
    Addressed to the host's executor; a job of kind `prune`, ending with `ArtifactsPruned`."""

    type: Literal["forget_requested.v1"] = "forget_requested.v1"
    plan_id: Id
    resource: ResourceRef
    repository: Name
    snapshots: Seq[SnapshotRef] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_repository(self) -> ForgetRequested:
        if any(s.repository != self.repository for s in self.snapshots):
            raise ValueError("every snapshot must be in the request's repository")
        return self


class SnapshotRestoreRequested(JobEvent):
    """Restore a volume's snapshot (all of it, or `paths` from the volume's root) into a NEW volume
    named by `target`, on the snapshot's host (its executor). A job of kind `restore`, ending with
    `RestoreCompleted`; nothing existing is overwritten."""

    type: Literal["snapshot_restore_requested.v1"] = "snapshot_restore_requested.v1"
    plan_id: Id | None = None
    snapshot: SnapshotRef
    volume: Name = Field(description="The volume the snapshot is of.")
    target: RestoreTarget
    paths: Seq[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default=(), max_length=1000, description="Only these files or directories; empty: the whole volume."
    )
    requested_by: str = Field(min_length=1)
    restore_special_bits: bool = Field(
        default=False, description="The plan lets restores write setuid/setgid files (an admin's choice)."
    )
    labels: dict[str, str] = Field(default={}, description="The new volume's labels: the original's, as saved.")

    @model_validator(mode="after")
    def _into_a_new_volume(self) -> SnapshotRestoreRequested:
        if self.target.kind != "volume" or self.target.replace_existing:
            raise ValueError("a snapshot is restored into a new volume")
        return self


class DeleteRequested(JobEvent):
    """Delete ONE artifact a person chose (its local archive and manifest, and every remote
    copy), whatever its plan: an ad-hoc backup's too. Addressed to the host's uploader.

    Its scope is the artifact itself: the uploader deletes a file only when the manifest beside
    it names this artifact id (and the host, plan, resource and checksum given here), and a
    remote copy only under this (host, plan or "adhoc", resource) and with the archive's file
    name. It runs as a job of kind `prune` and ends with `ArtifactsPruned`, as a prune does."""

    type: Literal["delete_requested.v1"] = "delete_requested.v1"
    plan_id: Id | None = Field(
        default=None, description="The artifact's plan as catalogued; None for an ad-hoc backup."
    )
    resource: ResourceRef
    archive: ArchiveRef
    requested_by: str = Field(min_length=1)


class JobQueued(JobEvent):
    """A request was issued: the gateway records the job as queued even before a host takes it.

    Published by whoever issues a request outside the gateway (the scheduler), beside the
    request itself. It carries the request, so the gateway can publish it again if the
    request is lost.
    """

    type: Literal["job_queued.v1"] = "job_queued.v1"
    kind: JobKind
    plan_id: Id | None = None
    scheduled_for: UtcDatetime | None = None
    request: BackupRequested | VerifyRequested = Field(discriminator="type")


def queued_event_id(job_id: UUID) -> UUID:
    """The event id of a scheduled job's `JobQueued` item: the same from every scheduler replica,
    so the gateway records the job's queueing once however many replicas report it."""
    return uuid5(job_id, "queued")


class JobsQueued(HostEvent):
    """Several requests for one host were issued together (a scheduler's batch of due plans).

    Recorded as each item would be on its own, in one transaction: one message instead of one
    per job, so a burst of due plans is announced quickly. Every item is for the host the
    event (and its subject) names. A scheduler gives each item the event id
    `queued_event_id(job_id)`, so items from two replicas are recorded once.
    """

    type: Literal["jobs_queued.v1"] = "jobs_queued.v1"
    jobs: Seq[JobQueued] = Field(min_length=1)


class JobStarted(JobEvent):
    """A host began a job (once per attempt)."""

    type: Literal["job_started.v1"] = "job_started.v1"
    kind: JobKind
    resource: ResourceRef | None = Field(default=None, description="None for a plan's backup of several targets.")
    attempt: int = Field(ge=1)


class JobProgress(JobEvent):
    """How far a running job is. At most one a second per job; losing one is harmless."""

    type: Literal["job_progress.v1"] = "job_progress.v1"
    phase: JobPhase
    bytes_done: ByteCount = Field(description="Bytes of the current step's tar stream so far (read or restored).")
    bytes_total: ByteCount | None = Field(
        default=None,
        description="What the step is expected to reach: a volume's or image's size, a restore's recorded tar "
        "size; the exact figure on a step's last message. None when not known (no percentage).",
    )


class ArchiveCreated(JobEvent):
    """A complete, fsynced archive and its manifest exist in the host's data dir."""

    type: Literal["archive_created.v1"] = "archive_created.v1"
    plan_id: Id | None = None
    resource: ResourceRef
    role: str = Field(description="What this archive holds for the resource: a volume name, 'config' or 'image'.")
    archive: ArchiveRef
    manifest_path: str
    raw_bytes: ByteCount = Field(description="Size of the tar stream before compression.")
    file_count: ByteCount
    compression: Compression
    upload_targets: Seq[Name] = ()
    manifest_sha256: Sha256 | None = Field(
        default=None,
        description="sha256 of the manifest file's bytes as written: a manifest fetched back later must hash "
        "to it (None from executors older than this field).",
    )
    storage: VolumeStorage | None = Field(
        default=None, description="For a volume's archive: the volume's driver and options (credentials redacted)."
    )
    last_of_job: bool = Field(description="True on the job's final archive: the job's backup part is done.")


class SnapshotCreated(JobEvent):
    """A backup of format `repository` saved a snapshot of a volume or an image (a container's
    config stays an archive, `ArchiveCreated`). Announced once restic has written it and the
    repository names it; tagged in the repository with the host, plan, resource, role and job."""

    type: Literal["snapshot_created.v1"] = "snapshot_created.v1"
    plan_id: Id | None = None
    resource: ResourceRef
    role: str = Field(description="What this snapshot holds for the resource: a volume name or 'image'.")
    snapshot: SnapshotRef
    files_new: ByteCount
    files_changed: ByteCount
    files_unmodified: ByteCount = Field(
        description="Files restic found unchanged since the parent snapshot (not read)."
    )
    bytes_added: ByteCount = Field(description="New data this snapshot added to the repository (before compression).")
    total_files: ByteCount
    total_bytes: ByteCount = Field(description="Size of everything the snapshot holds.")
    storage: VolumeStorage | None = Field(
        default=None, description="A volume's driver and options, for restoring it as it was."
    )
    labels: dict[str, str] = Field(default={}, description="The volume's (or image's) labels when it was saved.")
    last_of_job: bool = Field(description="True on the job's final archive or snapshot: the job's backup part is done.")


class UploadCompleted(JobEvent):
    """An archive was copied to a remote target and the copy was verified."""

    type: Literal["upload_completed.v1"] = "upload_completed.v1"
    artifact_id: Id
    target_id: Name
    bucket: str
    key: str
    size_bytes: ByteCount
    sha256: Sha256
    verified_by: Literal["metadata", "full-read"]


class RestoreCompleted(JobEvent):
    """A restore finished and the target holds the archive's data."""

    type: Literal["restore_completed.v1"] = "restore_completed.v1"
    artifact_id: Id
    target: ResourceRef
    replaced_existing: bool
    restarted_containers: Seq[Name] = ()


class ArchiveVerified(JobEvent):
    """A verify job confirmed an archive's checksum and structure."""

    type: Literal["archive_verified.v1"] = "archive_verified.v1"
    artifact_id: Id
    sha256: Sha256
    file_count: ByteCount


class ArtifactsPruned(JobEvent):
    """A prune job (or a person's `DeleteRequested`) deleted the listed artifacts' copies."""

    type: Literal["artifacts_pruned.v1"] = "artifacts_pruned.v1"
    plan_id: Id | None = Field(default=None, description="None when a person deleted an ad-hoc backup.")
    artifact_ids: Seq[Id]


class LocalCopiesRemoved(JobEvent):
    """The uploader removed local archives whose remote copies are verified (the plan's
    local-copies policy); they are restored from a remote copy from now on."""

    type: Literal["local_copies_removed.v1"] = "local_copies_removed.v1"
    plan_id: Id | None = None
    artifact_ids: Seq[Id] = Field(min_length=1)


class JobFailed(JobEvent):
    """A job ended in failure. `retryable` says whether running it again may succeed."""

    type: Literal["job_failed.v1"] = "job_failed.v1"
    kind: JobKind
    phase: JobPhase
    reason: str = Field(min_length=1, description="What went wrong, in words a person can act on.")
    retryable: bool
    plan_id: Id | None = None
    resource: ResourceRef | None = None
    output: str | None = Field(
        default=None,
        max_length=16384,
        description="What a failed hook printed (its tail, secrets redacted on the host), kept apart from "
        "`reason`: the job log shows it to operators and admins, never to viewers or in alerts.",
    )


class JobSucceeded(JobEvent):
    """A job ended in success: recorded once, when the gateway moves it to succeeded."""

    type: Literal["job_succeeded.v1"] = "job_succeeded.v1"
    kind: JobKind
    plan_id: Id | None = None
    resource: ResourceRef | None = None
    bytes: ByteCount | None = Field(default=None, description="What the job wrote or moved, if known.")
    finished_at: UtcDatetime


class JobCancelled(JobEvent):
    """A job stopped because a user cancelled it; whatever it changed was put back."""

    type: Literal["job_cancelled.v1"] = "job_cancelled.v1"
    kind: JobKind
    phase: JobPhase
    reason: str = Field(min_length=1)


class RunMissed(HostEvent):
    """A plan's scheduled run did not happen (downtime longer than the grace period)."""

    type: Literal["run_missed.v1"] = "run_missed.v1"
    plan_id: Id
    plan_name: str | None = None
    scheduled_for: UtcDatetime = Field(description="The first slot that was missed.")
    missed_slots: int = Field(default=1, ge=1, description="How many consecutive slots were missed.")
    last_scheduled_for: UtcDatetime | None = Field(default=None, description="The last missed slot, if several.")
    reason: str = "the scheduler was not running at the plan's fire time"


class HostInventory(HostEvent):
    """Everything the executor sees on its host's Docker Engine."""

    type: Literal["host_inventory.v1"] = "host_inventory.v1"
    engine: EngineInfo
    containers: Seq[ContainerInfo] = ()
    volumes: Seq[VolumeInfo] = ()
    images: Seq[ImageInfo] = ()


class HostHeartbeat(HostEvent):
    """The host's executor is alive; the next heartbeat is due within `interval_seconds`."""

    type: Literal["host_heartbeat.v1"] = "host_heartbeat.v1"
    interval_seconds: float = Field(gt=0)
    executor_version: str
    running_jobs: ByteCount = 0
    running_job_ids: Seq[Id] = Field(default=(), description="The jobs this executor is working on now.")
    executor_instance: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Which executor process of the host this is (a host may run several, sharing its work; "
        "none from an older executor).",
    )
    data_dir_free_bytes: ByteCount | None = Field(
        default=None,
        description="Free bytes on the filesystem of the executor's data dir, where archives are written "
        "(none when it could not be measured, or from an older executor).",
    )
    data_dir_total_bytes: ByteCount | None = Field(
        default=None, description="The size of that filesystem in bytes (none when not measured)."
    )

    @model_validator(mode="after")
    def _no_job(self) -> HostHeartbeat:
        if self.job_id is not None:
            raise ValueError("a heartbeat belongs to no job")
        return self


REQUESTS: tuple[type[JobEvent], ...] = (
    BackupRequested,
    RestoreRequested,
    VerifyRequested,
    PruneRequested,
    FetchRequested,
    DeleteRequested,
    ForgetRequested,
    SnapshotRestoreRequested,
)
FACTS: tuple[type[Event], ...] = (
    JobQueued,
    JobsQueued,
    JobStarted,
    JobProgress,
    ArchiveCreated,
    SnapshotCreated,
    UploadCompleted,
    RestoreCompleted,
    ArchiveVerified,
    ArtifactsPruned,
    LocalCopiesRemoved,
    JobSucceeded,
    JobFailed,
    JobCancelled,
    RunMissed,
    HostInventory,
    HostHeartbeat,
)
ALL_EVENTS: tuple[type[Event], ...] = REQUESTS + FACTS

__all__ = [
    "ALL_EVENTS",
    "FACTS",
    "REQUESTS",
    "ArchiveCreated",
    "ArchiveRef",
    "ArchiveVerified",
    "ArtifactKind",
    "ArtifactsPruned",
    "BackupOptions",
    "BackupRequested",
    "CataloguedArchive",
    "DeleteRequested",
    "Event",
    "FetchRequested",
    "ForgetRequested",
    "HookCommand",
    "HostEvent",
    "HostHeartbeat",
    "HostId",
    "HostInventory",
    "JobCancelled",
    "JobEvent",
    "JobFailed",
    "JobProgress",
    "JobQueued",
    "JobStarted",
    "JobSucceeded",
    "JobsQueued",
    "LocalCopiesRemoved",
    "PruneRequested",
    "ResourceRef",
    "RestoreCompleted",
    "RestoreRequested",
    "RestoreTarget",
    "RunMissed",
    "SnapshotCreated",
    "SnapshotRef",
    "SnapshotRestoreRequested",
    "TargetSelector",
    "UploadCompleted",
    "VerifyRequested",
    "VolumeStorage",
    "artifact_id_for",
    "queued_event_id",
    "scheduled_job_id",
]
