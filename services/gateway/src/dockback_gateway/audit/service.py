"""Writing audit rows: in the caller's transaction, chained to the previous row by hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.models import AuditEntry

GENESIS = "0" * 64
# One writer at a time appends to the chain; held until the request's transaction ends.
_CHAIN_LOCK = 0x0D0CBAC


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the audit log records it."""

    ip: str | None = None
    user_agent: str | None = None


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The row's hash: sha256 over the previous hash and the row's canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "details": entry.details,
    }


async def record(
    session: AsyncSession,
    *,
    action: str,
    outcome: str,
    actor: str | None,
    origin: Origin,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit row in the caller's transaction. Never pass a secret in `details`."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    entry = AuditEntry(
        at=datetime.now(UTC).replace(microsecond=0),
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:255] or None,
        details=details or {},
        prev_hash=prev,
        hash="",
    )
    entry.hash = entry_hash(prev, hashed_fields(entry))
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    rows: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


async def verify_chain(session: AsyncSession, batch: int = 1000) -> ChainReport:
    """Recompute every row's hash in order; the first row whose hash or link does not match."""
    prev, rows, last_id = GENESIS, 0, 0
    while True:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
            )
        ).all()
        if not entries:
            return ChainReport(rows=rows, first_broken_id=None)
        for entry in entries:
            if entry.prev_hash != prev or entry.hash != entry_hash(prev, hashed_fields(entry)):
                return ChainReport(rows=rows, first_broken_id=entry.id)
            prev, rows, last_id = entry.hash, rows + 1, entry.id
