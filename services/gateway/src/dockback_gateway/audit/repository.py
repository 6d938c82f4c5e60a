"""Reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.models import AuditEntry


async def page(
    db: AsyncSession,
    *,
    limit: int,
    before: int | None,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Sequence[AuditEntry]:
    query = filtered(actor=actor, action=action, outcome=outcome, since=since, until=until)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return (await db.scalars(query.limit(limit))).all()


def filtered(
    *,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[AuditEntry]:
    """The entries matching the filters, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if outcome is not None:
        query = query.where(AuditEntry.outcome == outcome)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query
