"""/audit: the audit log, newest first, with filters and keyset pagination (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from dockback_gateway.audit import repository
from dockback_gateway.audit.export import csv_lines
from dockback_gateway.audit.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.audit.schemas import AuditEntryOut, AuditPage
from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy
from dockback_gateway.db import DbSession

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(enforce_policy)])


@router.get("")
async def audit_log(
    principal: CurrentPrincipal,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only entries older than this id")] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, description="Action, or its prefix (e.g. 'login')")] = None,
    outcome: Literal["success", "failure"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """Who did what, when, from where, and how it ended."""
    entries = await repository.page(
        db, limit=limit, before=before, actor=actor, action=action, outcome=outcome, since=since, until=until
    )
    return AuditPage(
        entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries],
        next_before=entries[-1].id if len(entries) == limit else None,
    )


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The entries as CSV"}},
)
async def audit_export(
    principal: CurrentPrincipal,
    request: Request,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, description="Action, or its prefix (e.g. 'login')")] = None,
    outcome: Literal["success", "failure"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """Every entry matching the filters (the same as GET /audit's), newest first, as CSV with a header
    row; a cell a spreadsheet would run as a formula starts with a quote."""
    query = repository.filtered(actor=actor, action=action, outcome=outcome, since=since, until=until)
    return StreamingResponse(
        csv_lines(request.app.state.sessions, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dockback-audit.csv"'},
    )
