"""The audit log as CSV: every entry matching the filters, newest first, read in batches."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_gateway.audit.models import AuditEntry

COLUMNS = ("id", "at", "actor", "action", "target", "outcome", "ip", "user_agent", "details", "hash")
BATCH = 1000
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): an actor's
# user agent or a login's typed username is the attacker's text, so such cells get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def row(entry: AuditEntry) -> list[str]:
    values = {
        **{column: getattr(entry, column) for column in COLUMNS},
        "at": entry.at.astimezone(UTC).isoformat(),
    }
    return [cell(values[column]) for column in COLUMNS]


def lines(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


async def csv_lines(sessions: async_sessionmaker[AsyncSession], query: Select[AuditEntry]) -> AsyncIterator[str]:
    """The header, then the matching entries in batches (keyset by id, each batch its own read)."""
    yield lines([list(COLUMNS)])
    before: int | None = None
    while True:
        batch_query = query if before is None else query.where(AuditEntry.id < before)
        async with sessions() as db:
            entries = (await db.scalars(batch_query.limit(BATCH))).all()
        if not entries:
            return
        yield lines([row(entry) for entry in entries])
        before = entries[-1].id
