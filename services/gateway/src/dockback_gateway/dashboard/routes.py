"""/dashboard: the state of every backup at a glance, in one request; acknowledging what needs attention."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.dashboard.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.dashboard.schemas import Acknowledge, Acknowledgement, Dashboard
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
    unprotected volumes), with the items acknowledged apart; and the getting-started checklist of a
    new installation (until each of its steps is done, it counts the unprotected volumes instead)."""
    return await DashboardService(db).summary()


@router.post("/attention/acknowledgements", responses={404: {"model": Problem}})
async def acknowledge(
    body: Acknowledge, principal: CurrentPrincipal, request: Request, db: DbSession
) -> Acknowledgement:
    """Acknowledge one item of "needs attention" (operators and admins; audited): it leaves the
    list until something new happens in its series (see the body's description). Acknowledging a
    grouped line acknowledges every failure it stands for. Acknowledging an item already
    acknowledged changes nothing. 404 when no item has that key now."""
    return await DashboardService(db).acknowledge(body.key, principal.user.username, origin_of(request), body.at)


@router.delete("/attention/acknowledgements", status_code=204, responses={404: {"model": Problem}})
async def unacknowledge(
    key: Annotated[str, Query(min_length=1, max_length=600, description="The acknowledged item's key")],
    principal: CurrentPrincipal,
    request: Request,
    db: DbSession,
) -> None:
    """Take an acknowledgement back (operators and admins; audited): the item shows in "needs
    attention" again. For a grouped line, every acknowledgement that hides one of its failures.
    404 when no acknowledgement hides that item."""
    await DashboardService(db).unacknowledge(key, principal.user.username, origin_of(request))
