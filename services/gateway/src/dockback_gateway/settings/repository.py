"""Reading and writing the settings tables; never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.catalog.models import Artifact, ArtifactCopy
from dockback_gateway.plans.models import Plan
from dockback_gateway.repositories.models import Repository
from dockback_gateway.settings.models import S3Target, SettingsDefaults, SettingsRevision, SmtpServer, Webhook


@dataclass(frozen=True)
class StoredSettings:
    """Every settings row, read in one transaction, and which S3 targets each host may use."""

    revision: SettingsRevision
    targets: list[S3Target]
    smtp: SmtpServer | None
    webhooks: list[Webhook]
    defaults: SettingsDefaults | None
    grants: dict[str, frozenset[str]]
    """Host id -> the ids of the S3 targets its share of the settings holds (`granted_targets`)."""
    repositories: list[Repository]
    """Every plan's repository on its host (each host's executor gets its own)."""


class SettingsRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def lock_revision(self) -> SettingsRevision:
        """The revision row, locked until the transaction ends: settings change one writer at a time."""
        await self.db.execute(insert(SettingsRevision).values(id=1, revision=1).on_conflict_do_nothing())
        return (await self.db.scalars(select(SettingsRevision).with_for_update())).one()

    async def revision(self) -> int | None:
        """The committed settings revision (None before the first change)."""
        return await self.db.scalar(select(SettingsRevision.revision).where(SettingsRevision.id == 1))

    async def read_all(self) -> StoredSettings:
        revision = await self.db.get(SettingsRevision, 1)
        return StoredSettings(
            revision=revision or SettingsRevision(id=1, revision=1, updated_at=datetime.now(UTC)),
            targets=list(await self.db.scalars(select(S3Target).order_by(S3Target.target_id))),
            smtp=await self.db.get(SmtpServer, 1),
            webhooks=list(await self.db.scalars(select(Webhook).order_by(Webhook.webhook_id))),
            defaults=await self.db.get(SettingsDefaults, 1),
            grants=await self.granted_targets(),
            repositories=list(await self.db.scalars(select(Repository).order_by(Repository.host_id, Repository.name))),
        )

    async def granted_targets(self) -> dict[str, frozenset[str]]:
        """Host id -> the S3 targets that host's uploader gets the keys of: those its live plans
        upload to (enabled or not), and those holding copies of its archives (which retention,
        restores and verifications on that host read or delete). No other: a host whose plans
        never named a target cannot read its keys."""
        grants: dict[str, set[str]] = {}
        plans = await self.db.execute(select(Plan.host_id, Plan.upload_targets).where(Plan.deleted_at.is_(None)))
        for host_id, upload_targets in plans:
            grants.setdefault(host_id, set()).update(upload_targets or ())
        copies = await self.db.execute(
            select(Artifact.host_id, ArtifactCopy.target_id)
            .join(ArtifactCopy, ArtifactCopy.artifact_id == Artifact.id)
            .distinct()
        )
        for host_id, target_id in copies:
            grants.setdefault(host_id, set()).add(target_id)
        return {host_id: frozenset(targets) for host_id, targets in grants.items()}

    async def hosts_granted(self, target_id: str) -> list[str]:
        """The hosts whose share of the settings holds `target_id` (see `granted_targets`), sorted."""
        return sorted(h for h, targets in (await self.granted_targets()).items() if target_id in targets)

    async def target(self, target_id: str) -> S3Target | None:
        return await self.db.get(S3Target, target_id)

    async def smtp(self) -> SmtpServer | None:
        return await self.db.get(SmtpServer, 1)

    async def webhook(self, webhook_id: str) -> Webhook | None:
        return await self.db.get(Webhook, webhook_id)

    async def defaults(self) -> SettingsDefaults | None:
        return await self.db.get(SettingsDefaults, 1)

    def add(self, row: S3Target | SmtpServer | Webhook | SettingsDefaults) -> None:
        self.db.add(row)

    async def delete(self, row: S3Target | SmtpServer | Webhook) -> None:
        await self.db.delete(row)
        await self.db.flush()
