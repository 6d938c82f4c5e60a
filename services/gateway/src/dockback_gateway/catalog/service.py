"""The catalog's rules for people: reading it, checking an artifact now, deleting one, previewing
retention. Never commits: the request's session does."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.catalog import pruning, repository, retention
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactState
from dockback_gateway.catalog.repository import ArtifactFilter
from dockback_gateway.catalog.requests import request_deletion, request_verification
from dockback_gateway.catalog.schemas import (
    ArtifactDetail,
    ArtifactOut,
    ArtifactPage,
    CopyOut,
    DeleteStarted,
    ResourceOut,
    RetentionPreview,
    RetentionPreviewRequest,
    ScopePreview,
    VerdictOut,
    VerificationOut,
    VerifyStarted,
)
from dockback_gateway.errors import Conflict, Invalid, NotFound
from dockback_gateway.jobs.models import JobStatus
from dockback_gateway.plans.convert import retention_of


class CatalogService:
    def __init__(self, db: AsyncSession, actor: str, origin: Origin) -> None:
        self.db = db
        self.actor = actor
        self.origin = origin

    async def page(self, where: ArtifactFilter, cursor: str | None, limit: int) -> ArtifactPage:
        rows = await repository.page(self.db, where, before=_read_cursor(cursor), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        copies = await repository.copies_of(self.db, (a.id for a in rows))
        return ArtifactPage(
            items=[artifact_out(a, copies.get(a.id, [])) for a in rows],
            next_cursor=_cursor_of(rows[-1]) if more and rows else None,
        )

    async def get(self, artifact_id: uuid.UUID) -> ArtifactDetail:
        artifact = await self._artifact(artifact_id)
        copies = (await repository.copies_of(self.db, [artifact.id])).get(artifact.id, [])
        checks = await repository.verifications_of(self.db, artifact.id)
        return ArtifactDetail(
            **artifact_out(artifact, copies).model_dump(),
            remote_copies=[CopyOut.model_validate(c, from_attributes=True) for c in copies],
            verifications=[
                VerificationOut(
                    job_id=check.job_id,
                    requested_at=check.requested_at,
                    requested_by=check.requested_by,
                    scheduled_for=check.scheduled_for,
                    status=job.status if job is not None else "unknown",
                    outcome=check.outcome,
                    finished_at=check.finished_at,
                    error=check.error,
                )
                for check, job in checks
            ],
            manifest=artifact.manifest,
            storage=None if artifact.storage is None else artifact.storage.in_words(),
            manifest_path=artifact.manifest_path,
            prune_job_id=artifact.prune_job_id,
        )

    async def verify_now(self, artifact_id: uuid.UUID) -> VerifyStarted:
        """Ask the artifact's host to check it now (audited)."""
        artifact = await self._artifact(artifact_id, for_update=True)
        if artifact.state != ArtifactState.AVAILABLE:
            raise Conflict(f"artifact {artifact.id} is {artifact.state}: there is nothing left to verify")
        if not artifact.local_present:
            raise Conflict(f"artifact {artifact.id} has no copy on host {artifact.host_id} to verify")
        copies = (await repository.copies_of(self.db, [artifact.id])).get(artifact.id, [])
        job_id = uuid.uuid4()
        await request_verification(self.db, artifact, copies, job_id, requested_by=self.actor)
        await record(
            self.db,
            action="artifact.verify",
            outcome="success",
            actor=self.actor,
            origin=self.origin,
            target=str(artifact.id),
            details={
                "job_id": str(job_id),
                "host_id": artifact.host_id,
                "plan_id": str(artifact.plan_id) if artifact.plan_id else None,
                "resource": f"{artifact.resource_kind} {artifact.resource_name}",
            },
        )
        return VerifyStarted(job_id=job_id)

    async def delete(self, artifact_id: uuid.UUID) -> DeleteStarted:
        """Delete one backup for good (audited): it leaves the catalog's list at once, and its
        host's uploader removes the local archive, its manifest and every remote copy. Refused
        while a job reads or still writes it, and when it is already gone or going."""
        artifact = await self._artifact(artifact_id, for_update=True)
        await self._refuse_deletion(artifact)
        copies = (await repository.copies_of(self.db, [artifact.id])).get(artifact.id, [])
        request = await request_deletion(self.db, artifact, copies, requested_by=self.actor)
        await record(
            self.db,
            action="artifact.delete",
            outcome="success",
            actor=self.actor,
            origin=self.origin,
            target=str(artifact.id),
            details={
                "job_id": str(request.job_id),
                "host_id": artifact.host_id,
                "plan_id": str(artifact.plan_id) if artifact.plan_id else None,
                "resource": f"{artifact.resource_kind} {artifact.resource_name}",
                "role": artifact.role,
                "created_at": artifact.created_at.isoformat(),
                "remote_copies": [f"{c.target_id}:{c.key}" for c in copies],
            },
        )
        return DeleteStarted(job_id=request.job_id)

    async def _refuse_deletion(self, artifact: Artifact) -> None:
        """Raise Conflict, saying why and what to do, when the artifact cannot be deleted now."""
        what = f"backup {artifact.id} ({artifact.resource_kind} {artifact.resource_name})"
        if artifact.state != ArtifactState.AVAILABLE:
            prune = await repository.job(self.db, artifact.prune_job_id)
            by = (
                f"deleted by {prune.requested_by}"
                if prune is not None and prune.requested_by
                else "pruned by its plan's retention"
            )
            if artifact.state == ArtifactState.PRUNED:
                when = f" on {artifact.pruned_at:%Y-%m-%d %H:%M} UTC" if artifact.pruned_at else ""
                raise Conflict(f"{what} was already {by}{when}: there is nothing left to delete")
            raise Conflict(f"{what} is already being {by} (job {artifact.prune_job_id})")
        readers = await repository.open_jobs_reading(self.db, artifact.id)
        if readers:
            jobs = ", ".join(f"{j.kind} job {j.id} ({j.status})" for j in readers)
            raise Conflict(f"{what} is being read by {jobs}: delete it once that has ended (or cancel it)")
        backup = await repository.job(self.db, artifact.job_id)
        if backup is not None and not JobStatus(backup.status).finished:
            raise Conflict(
                f"{what} was made by {backup.kind} job {backup.id}, which is still {backup.status} "
                "(it may still be uploading this archive): delete it once that job has ended"
            )

    async def retention_preview(self, body: RetentionPreviewRequest, now: datetime | None = None) -> RetentionPreview:
        """What a policy (the plan's, or one given) would keep and delete now. Changes nothing."""
        plan = await repository.plan(self.db, body.plan_id)
        if plan is None:
            raise NotFound(f"there is no plan {body.plan_id}")
        policy = body.retention or retention_of(plan)
        now = now or datetime.now(UTC)
        artifacts = await repository.of_plan(self.db, plan.id)
        try:
            decisions = pruning.decide(artifacts, policy, plan.timezone, now)
        except ValueError as exc:
            raise Invalid(f"retention: {exc}") from exc
        by_id = {a.id: a for a in artifacts}
        scopes = [
            ScopePreview(
                host_id=d.scope.host_id,
                resource=ResourceOut(kind=d.scope.resource_kind, name=d.scope.resource_name),
                role=d.scope.role,
                keep=[_verdict(v, by_id) for v in d.decision.keep],
                delete=[_verdict(v, by_id) for v in d.decision.delete],
                pruning=[a.id for a in d.pruning],
            )
            for d in sorted(
                decisions, key=lambda d: (d.scope.host_id, d.scope.resource_kind, d.scope.resource_name, d.scope.role)
            )
        ]
        doomed = [by_id[v.artifact_id] for d in decisions for v in d.decision.delete]
        return RetentionPreview(
            plan_id=plan.id,
            policy=policy,
            policy_summary=retention.describe_policy(policy),
            timezone=plan.timezone,
            evaluated_at=now,
            scopes=scopes,
            delete_count=len(doomed),
            delete_bytes=sum(a.size_bytes for a in doomed),
        )

    async def _artifact(self, artifact_id: uuid.UUID, *, for_update: bool = False) -> Artifact:
        artifact = await repository.get(self.db, artifact_id, for_update=for_update)
        if artifact is None:
            raise NotFound(f"there is no artifact {artifact_id}")
        return artifact


def artifact_out(artifact: Artifact, copies: Sequence[ArtifactCopy]) -> ArtifactOut:
    return ArtifactOut(
        id=artifact.id,
        job_id=artifact.job_id,
        host_id=artifact.host_id,
        plan_id=artifact.plan_id,
        resource=ResourceOut(kind=artifact.resource_kind, name=artifact.resource_name),
        role=artifact.role,
        kind=artifact.kind.value,
        format=artifact.format,
        repository=artifact.repository,
        snapshot_id=artifact.snapshot_id,
        path=artifact.path,
        size_bytes=artifact.size_bytes,
        raw_bytes=artifact.raw_bytes,
        file_count=artifact.file_count,
        sha256=artifact.sha256,
        compression=artifact.compression,
        created_at=artifact.created_at,
        state=artifact.state,
        local_present=artifact.local_present,
        verified=artifact.verified,
        verified_at=artifact.verified_at,
        verify_failed_at=artifact.verify_failed_at,
        verify_error=artifact.verify_error,
        pruned_at=artifact.pruned_at,
        copies=len(copies),
    )


def _verdict(verdict: retention.Verdict, by_id: dict[uuid.UUID, Artifact]) -> VerdictOut:
    artifact = by_id[verdict.artifact_id]
    return VerdictOut(
        artifact_id=artifact.id,
        created_at=artifact.created_at,
        verified=artifact.verified,
        size_bytes=artifact.size_bytes,
        reasons=list(verdict.reasons),
    )


def _cursor_of(artifact: Artifact) -> str:
    raw = f"{artifact.created_at.astimezone(UTC).isoformat()}|{artifact.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The position a cursor names; 422 naming `cursor` when it is not one of ours."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, artifact_id = raw.split("|")
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at.astimezone(UTC), uuid.UUID(artifact_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise Invalid("cursor: not a cursor this API returned; start again without it") from None
