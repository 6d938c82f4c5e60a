"""Response bodies of the audit routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    target: str | None
    outcome: str
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    """Newest first. Pass `before=<next_before>` for the next page."""

    entries: list[AuditEntryOut]
    next_before: int | None
