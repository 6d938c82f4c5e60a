"""How the catalog domain records facts (see `dockback_gateway.recording`): idempotent handlers
that run in the recorder's transaction, beside the jobs domain's handlers of the same fact.

Facts can come twice or out of order: an archive is inserted once (its id is the
contracts' deterministic artifact id); a check's outcome counts only when it is newer than
the outcome recorded; a copy whose archive is not recorded yet is retried (the recorder
nacks with a delay) rather than lost.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_gateway.catalog import pruning, repository
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactFormat, ArtifactState
from dockback_gateway.jobs.models import Job
from dockback_gateway.recording import Handler

log = logging.getLogger(__name__)


class ArchiveNotRecordedYet(Exception):
    """A fact about an archive arrived before the archive itself: retry it later."""


async def on_archive_created(db: AsyncSession, event: ev.ArchiveCreated) -> None:
    """Catalog the archive (once), then apply its plan's retention to its series."""
    artifact = await repository.get(db, event.archive.artifact_id)
    if artifact is None:
        artifact = Artifact(
            id=event.archive.artifact_id,
            job_id=event.job_id,
            host_id=event.host_id,
            plan_id=event.plan_id,
            resource_kind=event.resource.kind,
            resource_name=event.resource.name,
            role=event.role,
            path=event.archive.path,
            manifest_path=event.manifest_path,
            size_bytes=event.archive.size_bytes,
            raw_bytes=event.raw_bytes,
            file_count=event.file_count,
            sha256=event.archive.sha256,
            compression=event.compression,
            manifest=event.model_dump(mode="json"),
            created_at=event.occurred_at,
            state=ArtifactState.AVAILABLE,
            local_present=True,
        )
        db.add(artifact)
        await db.flush()
    if artifact.state == ArtifactState.AVAILABLE:
        await pruning.apply_retention(db, artifact, datetime.now(UTC))


async def on_snapshot_created(db: AsyncSession, event: ev.SnapshotCreated) -> None:
    """Catalog the snapshot (once), then apply its plan's retention to its series (of snapshots)."""
    artifact = await repository.get(db, event.snapshot.artifact_id)
    if artifact is None:
        artifact = Artifact(
            id=event.snapshot.artifact_id,
            job_id=event.job_id,
            host_id=event.host_id,
            plan_id=event.plan_id,
            resource_kind=event.resource.kind,
            resource_name=event.resource.name,
            role=event.role,
            path=f"repositories/{event.snapshot.repository}",
            manifest_path="",
            size_bytes=event.bytes_added,
            raw_bytes=event.total_bytes,
            file_count=event.total_files,
            sha256="",
            compression="zstd",  # restic's repository format 2 compresses what it stores (auto)
            manifest=event.model_dump(mode="json"),
            created_at=event.occurred_at,
            state=ArtifactState.AVAILABLE,
            local_present=True,
            format=ArtifactFormat.REPOSITORY,
            repository=event.snapshot.repository,
            snapshot_id=event.snapshot.snapshot_id,
        )
        db.add(artifact)
        await db.flush()
    if artifact.state == ArtifactState.AVAILABLE:
        await pruning.apply_retention(db, artifact, datetime.now(UTC))


async def on_upload_completed(db: AsyncSession, event: ev.UploadCompleted) -> None:
    """Record the verified remote copy (the latest upload to a target wins)."""
    if await repository.get(db, event.artifact_id) is None:
        raise ArchiveNotRecordedYet(f"upload of artifact {event.artifact_id} before its ArchiveCreated was recorded")
    values = {
        "bucket": event.bucket,
        "key": event.key,
        "size_bytes": event.size_bytes,
        "sha256": event.sha256,
        "verified_by": event.verified_by,
        "uploaded_at": event.occurred_at,
    }
    statement = insert(ArtifactCopy).values(artifact_id=event.artifact_id, target_id=event.target_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[ArtifactCopy.artifact_id, ArtifactCopy.target_id],
        set_=values,
        where=ArtifactCopy.uploaded_at <= event.occurred_at,
    )
    await db.execute(statement)


async def on_archive_verified(db: AsyncSession, event: ev.ArchiveVerified) -> None:
    """The archive read back whole: it is verified, unless a later check failed."""
    artifact = await repository.get(db, event.artifact_id, for_update=True)
    if artifact is None:
        log.warning("catalog: ArchiveVerified for unknown artifact %s (job %s)", event.artifact_id, event.job_id)
        return
    at = event.occurred_at
    if artifact.verified_at is None or artifact.verified_at < at:
        artifact.verified_at = at
    if artifact.verify_failed_at is not None and artifact.verify_failed_at <= at:
        artifact.verify_failed_at, artifact.verify_error = None, None
    check = await repository.verification(db, event.job_id)
    if check is not None:
        check.outcome, check.finished_at, check.error = "passed", at, None


async def on_job_failed(db: AsyncSession, event: ev.JobFailed) -> None:
    """A failed check marks its artifact (unless it could not run); a failed prune gives its artifacts back."""
    if event.kind == "verify":
        await _verification_failed(db, event)
    elif event.kind == "prune":
        for artifact in await repository.of_prune_job(db, event.job_id):
            pruning.release(artifact)


async def on_job_cancelled(db: AsyncSession, event: ev.JobCancelled) -> None:
    """A prune cancelled before it deleted anything gives its artifacts back (once its uploader has
    passed the point of no return it runs to its end and reports ArtifactsPruned instead)."""
    if event.kind == "prune":
        for artifact in await repository.of_prune_job(db, event.job_id):
            pruning.release(artifact)


async def _verification_failed(db: AsyncSession, event: ev.JobFailed) -> None:
    at = event.occurred_at
    check = await repository.verification(db, event.job_id)
    if check is not None:
        check.outcome, check.finished_at, check.error = "failed", at, event.reason
    if event.retryable:
        # The check could not run (its host was away, it gave up retrying): nothing was learnt
        # about the archive, which keeps its "verified" (retention protects the newest verified).
        return
    if check is not None:
        artifact_id: uuid.UUID | None = check.artifact_id
    else:  # a verify job the catalog did not issue (e.g. queued by another service): its request names it
        artifact_id = await _artifact_of_request(db, event.job_id)
    artifact = None if artifact_id is None else await repository.get(db, artifact_id, for_update=True)
    if artifact is None:
        log.warning("catalog: verify job %s failed but names no artifact the catalog knows", event.job_id)
        return
    if artifact.verified_at is not None and artifact.verified_at > at:
        return  # a later check passed
    if artifact.verify_failed_at is None or artifact.verify_failed_at <= at:
        artifact.verify_failed_at, artifact.verify_error = at, event.reason


async def _artifact_of_request(db: AsyncSession, job_id: uuid.UUID) -> uuid.UUID | None:
    job = await db.get(Job, job_id)
    try:
        return uuid.UUID(str(job.request["archive"]["artifact_id"])) if job and job.request else None
    except (KeyError, TypeError, ValueError):
        return None


async def on_artifacts_pruned(db: AsyncSession, event: ev.ArtifactsPruned) -> None:
    """The host deleted these artifacts (a prune, or a person's deletion: plan None for an ad-hoc
    backup); only those of that plan on that host are marked."""
    for artifact_id in event.artifact_ids:
        artifact = await repository.get(db, artifact_id, for_update=True)
        if artifact is None or artifact.host_id != event.host_id or artifact.plan_id != event.plan_id:
            log.warning(
                "catalog: host %s reports artifact %s of plan %s pruned, which the catalog does not "
                "have for that host and plan; ignored",
                event.host_id,
                artifact_id,
                event.plan_id,
            )
            continue
        if artifact.state != ArtifactState.PRUNED:
            artifact.state = ArtifactState.PRUNED
            artifact.pruned_at = event.occurred_at
            artifact.local_present = False


async def on_local_copies_removed(db: AsyncSession, event: ev.LocalCopiesRemoved) -> None:
    """The uploader removed these local archives (their remote copies are verified): restores
    of them fetch a remote copy from now on. Only those of that plan on that host are marked."""
    for artifact_id in event.artifact_ids:
        artifact = await repository.get(db, artifact_id, for_update=True)
        if artifact is None:  # the removal follows the archive's upload: its ArchiveCreated is on its way
            raise ArchiveNotRecordedYet(f"local copy of artifact {artifact_id} removed before it was recorded")
        if artifact.host_id != event.host_id or artifact.plan_id != event.plan_id:
            log.warning(
                "catalog: host %s reports the local copy of artifact %s of plan %s removed, which the "
                "catalog does not have for that host and plan; ignored",
                event.host_id,
                artifact_id,
                event.plan_id,
            )
            continue
        artifact.local_present = False


HANDLERS: dict[type[ev.Event], list[Handler]] = {
    ev.ArchiveCreated: [on_archive_created],
    ev.SnapshotCreated: [on_snapshot_created],
    ev.UploadCompleted: [on_upload_completed],
    ev.ArchiveVerified: [on_archive_verified],
    ev.JobFailed: [on_job_failed],
    ev.JobCancelled: [on_job_cancelled],
    ev.ArtifactsPruned: [on_artifacts_pruned],
    ev.LocalCopiesRemoved: [on_local_copies_removed],
}
