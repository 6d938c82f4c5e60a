"""/plans: backup plans (what to back up on which host, when, how long to keep it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from dockback_contracts.base import HostId
from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Problem  # one error shape across the API
from dockback_gateway.plans.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.plans.schemas import (
    Cron,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    PreviewAfter,
    SchedulePreview,
    TimeZone,
)
from dockback_gateway.plans.service import PlanService, schedule_preview
from dockback_gateway.plans.snapshot import PlanPublisher

router = APIRouter(
    prefix="/plans",
    tags=["plans"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
MISSING: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such plan (or it was deleted)"}}
TAKEN: dict[int | str, dict[str, Any]] = {409: {"model": Problem, "description": "Another plan has that name"}}


def publisher_of(request: Request) -> PlanPublisher:
    publisher: PlanPublisher = request.app.state.runtime.state["plans"]
    return publisher


def _service(request: Request, db: DbSession, principal: CurrentPrincipal) -> PlanService:
    return PlanService(
        db,
        publisher_of(request),
        principal.user.username,
        origin_of(request),
        principal.user.role,
        request.app.state.settings_publisher,
        request.app.state.auth_config.cipher,
    )


Service = Annotated[PlanService, Depends(_service)]


@router.get("")
async def list_plans(
    plans: Service,
    host_id: Annotated[HostId | None, Query(description="Only this host's plans")] = None,
    enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false) plans")] = None,
) -> list[PlanOut]:
    """The plans (deleted ones are left out), by name, each with its next fire times."""
    return await plans.list_plans(host_id=host_id, enabled=enabled)


@router.post("", status_code=201, responses=TAKEN)
async def create_plan(body: PlanCreate, plans: Service) -> PlanOut:
    """Create a plan; the scheduler picks it up within a second.

    422 names the field and the reason (an invalid cron expression or time zone, a host no
    executor has reported, an unknown upload target, a schedule that never fires).
    """
    return await plans.create(body)


@router.get("/schedule-preview")
async def preview_schedule(
    cron: Annotated[Cron, Query()],
    timezone: Annotated[TimeZone, Query()] = "UTC",
    after: Annotated[PreviewAfter | None, Query(description="Start from this instant instead of now")] = None,
) -> SchedulePreview:
    """The next five fire times of a cron expression in a time zone (the plan editor shows them as
    the user types); 422 naming `cron` or `timezone` when either is invalid."""
    return schedule_preview(cron, timezone, after)


@router.get("/{plan_id}", responses=MISSING)
async def get_plan(plan_id: uuid.UUID, plans: Service) -> PlanOut:
    """One plan. A deleted plan is still shown (its jobs and archives name it), with `deleted_at` set."""
    return await plans.get(plan_id)


@router.put("/{plan_id}", responses={**MISSING, **TAKEN})
async def update_plan(plan_id: uuid.UUID, body: PlanUpdate, plans: Service) -> PlanOut:
    """Replace the plan's fields (the host stays); raises its revision when anything changed."""
    return await plans.update(plan_id, body)


@router.delete("/{plan_id}", status_code=204, responses=MISSING)
async def delete_plan(plan_id: uuid.UUID, plans: Service) -> Response:
    """Delete the plan: it never fires again and its name is free. Its archives stay."""
    await plans.delete(plan_id)
    return Response(status_code=204)


@router.post("/{plan_id}/enable", responses=MISSING)
async def enable_plan(plan_id: uuid.UUID, plans: Service) -> PlanOut:
    """Let the plan fire on its schedule again (no effect when it is enabled)."""
    return await plans.set_enabled(plan_id, True)


@router.post("/{plan_id}/disable", responses=MISSING)
async def disable_plan(plan_id: uuid.UUID, plans: Service) -> PlanOut:
    """Stop the plan from firing, keeping it and its archives (no effect when it is disabled)."""
    return await plans.set_enabled(plan_id, False)
