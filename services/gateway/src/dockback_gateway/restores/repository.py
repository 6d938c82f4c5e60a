"""Reading and locking restore confirmations, the restore lock, and what a preview looks at."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.catalog.models import Artifact, ArtifactFormat, ArtifactKind, ArtifactState
from dockback_gateway.resources.models import Host
from dockback_gateway.restores.models import RestoreConfirmation, RestoreLock


async def confirmation_for_update(db: AsyncSession, token_sha256: str) -> RestoreConfirmation | None:
    """The confirmation, locked: two requests with one token cannot both use it."""
    query = (
        select(RestoreConfirmation)
        .where(RestoreConfirmation.token_sha256 == token_sha256)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await db.scalar(query)


async def forget_expired(db: AsyncSession, before: datetime) -> None:
    """Drop confirmations that expired before `before` (the audit log keeps what was done)."""
    await db.execute(delete(RestoreConfirmation).where(RestoreConfirmation.expires_at < before))


async def lock(db: AsyncSession, *, for_update: bool = False, for_share: bool = False) -> RestoreLock:
    """The single lock row (migration 0004 inserts it; made here if someone removed it)."""
    query = select(RestoreLock).where(RestoreLock.id == 1)
    if for_update or for_share:
        query = query.with_for_update(read=for_share and not for_update).execution_options(populate_existing=True)
    row = await db.scalar(query)
    if row is None:
        row = RestoreLock(id=1, locked=False)
        db.add(row)
        await db.flush()
    return row


async def host(db: AsyncSession, host_id: str) -> Host | None:
    return await db.get(Host, host_id)


async def sibling_volumes(db: AsyncSession, config: Artifact) -> Sequence[str]:
    """The volumes backed up in the same job as a container's config (restored with it)."""
    query = select(Artifact).where(
        Artifact.job_id == config.job_id,
        Artifact.host_id == config.host_id,
        Artifact.resource_kind == config.resource_kind,
        Artifact.resource_name == config.resource_name,
        Artifact.state != ArtifactState.PRUNED,
    )
    return sorted(a.role for a in (await db.scalars(query)).all() if a.kind == ArtifactKind.VOLUME)


async def snapshots_beside(db: AsyncSession, config: Artifact) -> list[str]:
    """The roles of the snapshots saved in the same job as a container's config."""
    query = select(Artifact.role).where(
        Artifact.job_id == config.job_id,
        Artifact.host_id == config.host_id,
        Artifact.resource_kind == config.resource_kind,
        Artifact.resource_name == config.resource_name,
        Artifact.format != ArtifactFormat.ARCHIVE,
    )
    return sorted((await db.scalars(query)).all())


async def artifact(db: AsyncSession, artifact_id: uuid.UUID, *, for_share: bool = False) -> Artifact | None:
    query = select(Artifact).where(Artifact.id == artifact_id)
    if for_share:
        query = query.with_for_update(read=True)
    return await db.scalar(query)
