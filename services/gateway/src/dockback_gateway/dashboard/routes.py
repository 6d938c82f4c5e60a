"""/dashboard: the state of every backup at a glance, in one request."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockback_gateway.auth.dependencies import enforce_policy
from dockback_gateway.dashboard.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.dashboard.schemas import Dashboard
from dockback_gateway.dashboard.service import DashboardService
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Problem  # one error shape across the API

router = APIRouter(
    prefix="/dashboard",
    tags=["dashboard"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


@router.get("")
async def dashboard(db: DbSession) -> Dashboard:
    """Hosts online and offline, volume and container coverage, jobs of the last 24 hours, the next
    scheduled runs, the last verified backup of each plan, storage kept over the last 30 days, and
    what needs attention first (failures no success has followed, missed runs, offline hosts,
    unprotected volumes)."""
    return await DashboardService(db).summary()
