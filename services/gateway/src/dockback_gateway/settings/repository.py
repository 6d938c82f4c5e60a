"""Reading and writing the settings tables; never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.settings.models import S3Target, SettingsDefaults, SettingsRevision, SmtpServer, Webhook


@dataclass(frozen=True)
class StoredSettings:
    """Every settings row, read in one transaction."""

    revision: SettingsRevision
    targets: list[S3Target]
    smtp: SmtpServer | None
    webhooks: list[Webhook]
    defaults: SettingsDefaults | None


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
        )

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
