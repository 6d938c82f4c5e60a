"""A deliberate restore: preview what it does, confirm it with a token bound to that user and
that plan of action; the global safety lock.

A restore that overwrites something (an existing volume, container or image) is confirmed with
the target's name typed again as well; one into a new name overwrites nothing, and the token
alone confirms it.

Backing up first: a restore that replaces an existing volume, or an existing container (and its
volumes), carries, unless the person turned it off in the preview (`backup_first`, on by default
and bound to the token), an ad-hoc backup of that volume or container
(`RestoreRequested.backup_first`, a job id of its own). The executor takes
it as the restore job's first step, so it needs no waiting between two jobs: the backup is
catalogued like any other (a wrong restore can be undone by restoring it), and when it fails the
restore stops before writing anything.

The token is shown once; only its sha256 is stored. It is single use and expires after
`TOKEN_LIFETIME`. Every confirmation, refused or accepted, and every lock change is audited.
Never commits: the request's session does (a refusal keeps only its audit row).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from nats.aio.client import Client as NatsClient
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import events as ev
from dockback_contracts.storage import PLAIN_LOCAL, VolumeStorage
from dockback_gateway.audit.service import Origin, record
from dockback_gateway.auth.dependencies import Principal
from dockback_gateway.catalog import repository as catalog_repository
from dockback_gateway.catalog.models import Artifact, ArtifactCopy, ArtifactFormat, ArtifactKind, ArtifactState
from dockback_gateway.catalog.requests import archive_ref, catalogued
from dockback_gateway.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from dockback_gateway.jobs.queue import queue_job
from dockback_gateway.plans.models import Plan
from dockback_gateway.restores import repository
from dockback_gateway.restores.current_state import current_view
from dockback_gateway.restores.impact import Impact, RestoreRefusal, assess, describe, touched
from dockback_gateway.restores.models import RestoreConfirmation
from dockback_gateway.restores.schemas import (
    ArchiveSummary,
    ContainerUse,
    RestoreAccepted,
    RestoreConfirm,
    RestoreLockOut,
    RestoreLockUpdate,
    RestorePreview,
    RestorePreviewRequest,
    RestoreTargetIn,
    VolumeImpact,
)

TOKEN_LIFETIME = timedelta(minutes=5)


class RestoresLocked(DomainError):
    """An admin locked restores (the safety lock)."""

    status_code = 423
    error = "restores_locked"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RestoreService:
    def __init__(self, db: AsyncSession, principal: Principal, origin: Origin, nats: NatsClient | None = None) -> None:
        self.db = db
        self.user = principal.user
        self.origin = origin
        self.nats = nats  # to ask a host what uses a restore's target now (the preview)

    # -- preview -------------------------------------------------------------------------------

    async def preview(self, body: RestorePreviewRequest) -> RestorePreview:
        """What the restore would overwrite and stop, and a token that confirms exactly that.
        Works while restores are locked (a person may want to know before the lock is lifted)."""
        now = datetime.now(UTC)
        artifact = await repository.artifact(self.db, body.artifact_id)
        if artifact is None:
            raise NotFound(f"there is no artifact {body.artifact_id}")
        copies = await self._copies(artifact)
        _restorable(artifact, copies)
        await self._no_snapshots_beside(artifact)
        paths = _snapshot_paths(artifact, body)
        target = ev.RestoreTarget.model_validate(body.target.model_dump(), strict=False)
        inventory, inventory_at = await self._inventory(artifact.host_id)
        siblings = await repository.sibling_volumes(self.db, artifact) if artifact.kind == ArtifactKind.CONFIG else []
        asked = touched(artifact.kind, artifact.resource_name, target, siblings)
        host = await current_view(self.nats, inventory, inventory_at, asked)
        try:
            impact = assess(artifact.kind, artifact.resource_name, target, host.inventory, siblings)
        except RestoreRefusal as refusal:
            error = Conflict if refusal.conflict else Invalid
            raise error(f"{refusal.field}: {refusal.detail}" if refusal.field else refusal.detail) from None
        if artifact.format == ArtifactFormat.REPOSITORY and (impact.target_exists or target.replace_existing):
            raise Invalid(
                f"target.name: volume {target.name!r} exists; a snapshot is restored into a new volume for now "
                "(choose a new name; restoring into the original comes later)"
            )
        backup_first = body.backup_first and _replaces_current_data(artifact, impact)
        storage, storage_words = _storage(artifact, body.target, impact)
        target = target.model_copy(update={"storage": storage})  # bound to the token with the rest of the target
        warnings = list(impact.notes)
        if storage is not None and not storage.plain:
            warnings.append(
                f"the new volume is {storage.in_words()}, where the original volume keeps its data: files there "
                "with the same names as in the archive are overwritten"
            )
        fetch_from = [] if artifact.local_present else [c.target_id for c in copies]
        summary = describe(artifact.kind, target, impact, artifact.host_id)
        if storage_words:
            summary += f" {storage_words}"
        if backup_first:
            what = (
                f"volume {target.name!r}" if target.kind == "volume" else f"container {target.name!r} and its volumes"
            )
            summary += (
                f" The current data of {what} is backed up first (a backup of its own you can restore "
                "to undo this); if that backup fails, nothing is overwritten."
            )
        if fetch_from:
            summary += (
                f" Host {artifact.host_id} no longer holds the archive: it is first downloaded from the S3 target "
                f"{' or '.join(repr(t) for t in fetch_from)} and checked against its sha256."
            )
        if paths:
            shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
            summary += f" Only {shown} of the snapshot is restored."
        if artifact.format == ArtifactFormat.REPOSITORY:
            warnings.append(
                "restic checks every restored file against the snapshot's hashes; a snapshot holding setuid or "
                "setgid files is restored only if the plan allows it"
            )
        elif not artifact.verified:
            warnings.append("this archive has not been verified; its checksum is checked before anything is written")
        token = secrets.token_urlsafe(32)
        expires_at = now + TOKEN_LIFETIME
        await repository.forget_expired(self.db, now - timedelta(days=1))
        self.db.add(
            RestoreConfirmation(
                token_sha256=token_digest(token),
                user_id=self.user.id,
                username=self.user.username,
                artifact_id=artifact.id,
                host_id=artifact.host_id,
                action={**_action(artifact, target, impact, backup_first=backup_first), "paths": paths},
                created_at=now,
                expires_at=expires_at,
            )
        )
        return RestorePreview(
            archive=_summary(artifact),
            target=body.target,
            target_exists=impact.target_exists,
            overwrites=impact.overwrites,
            container=None if impact.container is None else ContainerUse(**vars(impact.container)),
            volumes=[
                VolumeImpact(
                    name=v.name,
                    exists=v.exists,
                    overwritten=v.overwritten,
                    used_by=[ContainerUse(**vars(u)) for u in v.used_by],
                )
                for v in impact.volumes
            ],
            stops=impact.stops,
            fetch_from=fetch_from,
            storage=storage_words,
            original_storage=None if artifact.storage is None else artifact.storage.in_words(),
            summary=summary,
            warnings=warnings,
            inventory_at=inventory_at,
            checked_on_host=host.checked_at is not None,
            checked_at=host.checked_at,
            fallback=host.fallback,
            backup_first=backup_first,
            confirm_name=target.name if impact.overwrites else None,
            token=token,
            expires_at=expires_at,
        )

    async def _inventory(self, host_id: str) -> tuple[ev.HostInventory, datetime | None]:
        host = await repository.host(self.db, host_id)
        if host is None or host.inventory is None:
            raise Conflict(
                f"host {host_id} has not reported what it holds yet, so the preview cannot tell what the "
                "restore would overwrite; start its executor and try again"
            )
        try:
            inventory = ev.HostInventory.model_validate(host.inventory, strict=False)
        except ValidationError:
            raise Conflict(f"host {host_id}'s last inventory is unreadable; wait for its next report") from None
        return inventory, host.inventory_at

    # -- confirm -------------------------------------------------------------------------------

    async def confirm(self, body: RestoreConfirm) -> RestoreAccepted:
        """Issue the restore the token stands for, once: the job (`queue_job`) and the audit
        row, in one transaction.

        The request is `RestoreRequested` for the host's executors when the host holds the
        archive; when only remote copies are left it is `FetchRequested` for the host's
        uploader, which downloads and checks the archive and then hands the embedded restore
        (same job id) to the executors. The job row stores what was sent, so the reconciler
        republishes the same thing."""
        now = datetime.now(UTC)
        confirmation = await repository.confirmation_for_update(self.db, token_digest(body.token))
        if confirmation is None:
            await self._refuse(None, Forbidden("unknown confirmation token: preview the restore to get one"))
        if confirmation.user_id != self.user.id:
            await self._refuse(
                confirmation,
                Forbidden("this confirmation token was issued to another user: preview the restore yourself"),
            )
        if confirmation.used_at is not None:
            await self._refuse(
                confirmation,
                Conflict(f"this confirmation token was used already (job {confirmation.job_id}): preview again"),
            )
        if confirmation.expires_at <= now:
            await self._refuse(
                confirmation,
                Conflict(f"this confirmation token expired at {confirmation.expires_at.isoformat()}: preview again"),
            )
        # The target exactly as previewed, with the storage chosen then: nothing in this request can change it.
        target = ev.RestoreTarget.model_validate(confirmation.action["target"], strict=False)
        typed_name_needed = bool(confirmation.action.get("overwrites", True))
        if (typed_name_needed or body.confirm_name is not None) and body.confirm_name != target.name:
            await self._refuse(
                confirmation,
                Invalid(f"confirm_name: type the target's name {target.name!r} exactly to confirm this restore"),
            )
        lock = await repository.lock(self.db, for_share=True)
        if lock.locked:
            since = f" since {lock.changed_at.isoformat()}" if lock.changed_at else ""
            why = f": {lock.reason}" if lock.reason else ""
            await self._refuse(
                confirmation,
                RestoresLocked(f"restores are locked by {lock.changed_by or 'an admin'}{since}{why}"),
            )
        artifact = await repository.artifact(self.db, confirmation.artifact_id, for_share=True)
        if artifact is None:
            await self._refuse(confirmation, Conflict(f"artifact {confirmation.artifact_id} is gone from the catalog"))
        copies = await self._copies(artifact)
        try:
            _restorable(artifact, copies)
            await self._no_snapshots_beside(artifact)
        except DomainError as refusal:
            await self._refuse(confirmation, refusal)

        job_id = uuid.uuid4()
        if artifact.format == ArtifactFormat.REPOSITORY:
            return await self._confirm_snapshot(confirmation, artifact, target, job_id, now)
        archive = archive_ref(artifact, copies)
        restore = ev.RestoreRequested(
            job_id=job_id,
            host_id=artifact.host_id,
            archive=archive,
            target=target,
            requested_by=self.user.username,
            catalogued=catalogued(artifact),
            restore_special_bits=await self._special_bits_allowed(artifact),
        )
        if confirmation.action.get("backup_first"):
            first = ev.BackupRequested(
                job_id=uuid.uuid4(),
                host_id=artifact.host_id,
                resource=ev.ResourceRef(kind=target.kind, name=target.name),
                requested_by=self.user.username,
            )
            restore = restore.model_copy(update={"backup_first": first})
        request: ev.RestoreRequested | ev.FetchRequested = restore
        if not artifact.local_present:
            request = ev.FetchRequested(job_id=job_id, host_id=artifact.host_id, archive=archive, restore=restore)
        confirmation.used_at, confirmation.job_id = now, job_id
        await queue_job(self.db, request, plan_id=artifact.plan_id)
        details: dict[str, Any] = {"job_id": str(job_id)}
        if isinstance(request, ev.FetchRequested):
            details["fetch_from"] = [c.target_id for c in copies]
        if restore.backup_first is not None:
            details["backup_job_id"] = str(restore.backup_first.job_id)
        await self._audit("success", confirmation, details)
        backup_job_id = None if restore.backup_first is None else restore.backup_first.job_id
        return RestoreAccepted(job_id=job_id, host_id=artifact.host_id, backup_job_id=backup_job_id)

    async def _confirm_snapshot(
        self,
        confirmation: RestoreConfirmation,
        artifact: Artifact,
        target: ev.RestoreTarget,
        job_id: uuid.UUID,
        now: datetime,
    ) -> RestoreAccepted:
        """The job that restores a volume's snapshot (or the previewed paths of it) into a new volume."""
        assert artifact.repository is not None
        assert artifact.snapshot_id is not None
        request = ev.SnapshotRestoreRequested(
            job_id=job_id,
            host_id=artifact.host_id,
            plan_id=artifact.plan_id,
            snapshot=ev.SnapshotRef(
                artifact_id=artifact.id, repository=artifact.repository, snapshot_id=artifact.snapshot_id
            ),
            volume=artifact.role,
            target=target,
            paths=tuple(confirmation.action.get("paths") or ()),
            requested_by=self.user.username,
            restore_special_bits=await self._special_bits_allowed(artifact),
            labels=_recorded_labels(artifact),
        )
        confirmation.used_at, confirmation.job_id = now, job_id
        await queue_job(self.db, request, plan_id=artifact.plan_id)
        await self._audit("success", confirmation, {"job_id": str(job_id), "paths": len(request.paths)})
        return RestoreAccepted(job_id=job_id, host_id=artifact.host_id, backup_job_id=None)

    async def _special_bits_allowed(self, artifact: Artifact) -> bool:
        """Whether the artifact's plan lets restores write setuid/setgid files (an admin's choice);
        never for an ad-hoc backup."""
        if artifact.plan_id is None:
            return False
        plan = await self.db.get(Plan, artifact.plan_id)
        return plan is not None and plan.restore_special_bits

    async def _no_snapshots_beside(self, artifact: Artifact) -> None:
        """A container's config is restored with the volumes its job saved; when those are
        snapshots (format `repository`), which this restore cannot read, it is refused rather than
        recreating the container without its data."""
        if artifact.kind != ArtifactKind.CONFIG:
            return
        if snapshots := await repository.snapshots_beside(self.db, artifact):
            raise Invalid(
                f"container {artifact.resource_name!r} was backed up with its volumes as snapshots "
                f"({', '.join(snapshots)}) in repository format: restoring it from DockBack is not available yet"
            )

    async def _copies(self, artifact: Artifact) -> list[ArtifactCopy]:
        """The artifact's verified remote copies, by target id (the order the uploader tries them)."""
        return (await catalog_repository.copies_of(self.db, [artifact.id])).get(artifact.id, [])

    async def _refuse(self, confirmation: RestoreConfirmation | None, error: DomainError) -> NoReturn:
        """Audit the refused confirmation and raise; only the audit row is kept."""
        await self._audit("failure", confirmation, {"reason": error.detail})
        error.keep_changes = True
        raise error

    async def _audit(self, outcome: str, confirmation: RestoreConfirmation | None, details: dict[str, Any]) -> None:
        if confirmation is not None:
            # What the backup is, so the row reads as a name even when no job was made (a refusal).
            artifact = await repository.artifact(self.db, confirmation.artifact_id)
            details = {
                "artifact_id": str(confirmation.artifact_id),
                "host_id": confirmation.host_id,
                "resource": None if artifact is None else f"{artifact.resource_kind} {artifact.resource_name}",
                "plan_id": None if artifact is None or artifact.plan_id is None else str(artifact.plan_id),
                "target": confirmation.action.get("target"),
                "token_issued_to": confirmation.username,
                **details,
            }
        await record(
            self.db,
            action="restore.request",
            outcome=outcome,
            actor=self.user.username,
            origin=self.origin,
            target=None if confirmation is None else str(confirmation.artifact_id),
            details=details,
        )

    # -- the safety lock -----------------------------------------------------------------------

    async def lock_state(self) -> RestoreLockOut:
        return _lock_out(await repository.lock(self.db))

    async def set_lock(self, body: RestoreLockUpdate) -> RestoreLockOut:
        """Lock or unlock restores (admins; audited, with who and why)."""
        lock = await repository.lock(self.db, for_update=True)
        was = lock.locked
        lock.locked, lock.reason = body.locked, body.reason if body.locked else None
        lock.changed_by, lock.changed_at = self.user.username, datetime.now(UTC)
        await record(
            self.db,
            action="restore.lock" if body.locked else "restore.unlock",
            outcome="success",
            actor=self.user.username,
            origin=self.origin,
            target="restores",
            details={"locked": body.locked, "was_locked": was, "reason": body.reason},
        )
        return _lock_out(lock)


def _restorable(artifact: Artifact, copies: Sequence[ArtifactCopy]) -> None:
    """A restore reads the archive from its host's data dir, or first fetches a verified remote
    copy; a volume's snapshot is read from its repository on its host."""
    if artifact.state != ArtifactState.AVAILABLE:
        raise Conflict(f"artifact {artifact.id} is {artifact.state}: it cannot be restored")
    if artifact.format == ArtifactFormat.REPOSITORY:
        if artifact.kind != ArtifactKind.VOLUME:
            raise Invalid(
                f"backup {artifact.id} is a snapshot of an image: restoring it from DockBack is not available yet"
            )
        return
    if not artifact.local_present and not copies:
        raise Conflict(
            f"artifact {artifact.id} has no copy on host {artifact.host_id} and no verified remote copy "
            "to fetch it from: it cannot be restored"
        )


def _recorded_labels(artifact: Artifact) -> dict[str, str]:
    """The labels the snapshot's volume had, as its SnapshotCreated recorded them."""
    labels = (artifact.manifest or {}).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _snapshot_paths(artifact: Artifact, body: RestorePreviewRequest) -> list[str]:
    """The paths to restore, each from the volume's root, checked: only a snapshot's, none leaving the volume."""
    if not body.paths:
        return []
    if artifact.format != ArtifactFormat.REPOSITORY:
        raise Invalid("paths: only a snapshot's files are restored one by one; an archive is restored whole")
    paths = []
    for path in body.paths:
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if ".." in parts or "\0" in path or not parts:
            raise Invalid(f"paths: {path!r} is not a file or directory inside the volume")
        paths.append("/" + "/".join(parts))
    return sorted(set(paths))


def _storage(artifact: Artifact, asked: RestoreTargetIn, impact: Impact) -> tuple[VolumeStorage | None, str | None]:
    """The storage a volume the restore creates gets (None: plain local), and where the restored
    data is written, in words. The original's storage is taken from the catalog, never the request."""
    original = artifact.storage
    field = "target.same_storage_as_original"
    if asked.same_storage_as_original:
        if artifact.kind != ArtifactKind.VOLUME:
            raise Invalid(f"{field}: only a volume restore can create its volume with the original's storage")
        if impact.target_exists:
            raise Invalid(
                f"{field}: volume {asked.name!r} exists and is replaced, and a replaced volume keeps its own driver "
                "and options; the original's storage can only be chosen for a restore to a new volume"
            )
        if original is None:
            raise Invalid(
                f"{field}: the catalog does not know the original volume's driver and options (its backup predates "
                "DockBack recording them); restore to a plain local volume"
            )
        if not original.recreatable:
            raise Invalid(
                f"{field}: the original volume's options hold a credential DockBack does not carry; create the "
                "volume yourself and restore into it (choose Original, or its name, and replace it)"
            )
        return original, (
            f"The new volume {asked.name!r} gets the original's driver and options, so it writes into "
            f"{original.in_words()}."
        )
    if artifact.kind == ArtifactKind.CONFIG and any(not v.exists for v in impact.volumes):
        return None, f"Volumes the restore creates are plain local volumes: {PLAIN_LOCAL}."
    if artifact.kind != ArtifactKind.VOLUME:
        return None, None
    if impact.target_exists:
        return None, f"Volume {asked.name!r} keeps its own driver and options; its content is replaced."
    words = f"The new volume {asked.name!r} is {PLAIN_LOCAL}"
    if original is not None and not original.plain:
        words += (
            f"; the original kept its data in {original.in_words()}, which this restore does not touch "
            "(choose the same driver and options as the original to write there instead)"
        )
    return None, words + "."


def _replaces_current_data(artifact: Artifact, impact: Impact) -> bool:
    """A restore that replaces an existing volume's content, or an existing container and its
    volumes (what `backup_first` covers)."""
    if artifact.kind == ArtifactKind.VOLUME:
        return impact.overwrites
    return artifact.kind == ArtifactKind.CONFIG and impact.target_exists


def _action(artifact: Artifact, target: ev.RestoreTarget, impact: Impact, *, backup_first: bool) -> dict[str, Any]:
    """The exact plan of action the token confirms."""
    return {
        "backup_first": backup_first,
        "artifact_id": str(artifact.id),
        "host_id": artifact.host_id,
        "archive": {"path": artifact.path, "sha256": artifact.sha256, "size_bytes": artifact.size_bytes},
        "target": target.model_dump(mode="json"),
        "overwrites": impact.overwrites,
        "stops": impact.stops,
        "volumes": [v.name for v in impact.volumes],
    }


def _summary(artifact: Artifact) -> ArchiveSummary:
    return ArchiveSummary(
        artifact_id=artifact.id,
        host_id=artifact.host_id,
        plan_id=artifact.plan_id,
        resource_kind=artifact.resource_kind,
        resource_name=artifact.resource_name,
        role=artifact.role,
        kind=artifact.kind.value,
        created_at=artifact.created_at,
        size_bytes=artifact.size_bytes,
        sha256=artifact.sha256,
        verified_at=artifact.verified_at if artifact.verified else None,
    )


def _lock_out(lock: Any) -> RestoreLockOut:
    return RestoreLockOut(
        locked=lock.locked, reason=lock.reason, changed_by=lock.changed_by, changed_at=lock.changed_at
    )
