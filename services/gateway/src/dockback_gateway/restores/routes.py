"""/restores: preview a restore, confirm it, and the global restore lock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Problem  # one error shape across the API
from dockback_gateway.restores.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.restores.schemas import (
    RestoreAccepted,
    RestoreConfirm,
    RestoreLockOut,
    RestoreLockUpdate,
    RestorePreview,
    RestorePreviewRequest,
)
from dockback_gateway.restores.service import RestoreService

router = APIRouter(
    prefix="/restores",
    tags=["restores"],
    dependencies=[Depends(enforce_policy)],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


def _service(request: Request, db: DbSession, principal: CurrentPrincipal) -> RestoreService:
    return RestoreService(db, principal, origin_of(request), request.app.state.runtime.broker.connection)


Service = Annotated[RestoreService, Depends(_service)]


@router.post(
    "/preview",
    responses={
        404: {"model": Problem, "description": "No such artifact"},
        409: {
            "model": Problem,
            "description": "The host's state stands in the way (the target exists or is in use and that was not "
            "allowed), the artifact is pruned or not on its host, or the host's inventory is unknown",
        },
    },
)
async def preview_restore(body: RestorePreviewRequest, restores: Service, response: Response) -> RestorePreview:
    """What restoring this artifact to this target would do: whether the target exists and is
    overwritten, which containers use it, whether they run and are stopped, the archive's size
    and checksum. Returns a confirmation token for exactly this plan of action, valid for five
    minutes and only for you. Works while restores are locked."""
    response.headers["Cache-Control"] = "no-store"  # the token is shown once
    return await restores.preview(body)


@router.post(
    "",
    status_code=202,
    responses={
        403: {"model": Problem, "description": "Unknown token, or one issued to another user"},
        409: {"model": Problem, "description": "The token expired or was used, or the artifact is gone"},
        422: {"description": "confirm_name is not the target's name (detail says so), or a malformed request"},
        423: {"model": Problem, "description": "Restores are locked (the reason and who locked them are given)"},
    },
)
async def confirm_restore(body: RestoreConfirm, restores: Service) -> RestoreAccepted:
    """Confirm a previewed restore with its token and the target's name typed again: the
    restore job is queued for the host."""
    return await restores.confirm(body)


@router.get("/lock")
async def get_restore_lock(restores: Service) -> RestoreLockOut:
    """Whether restores are locked, why, and who set the lock."""
    return await restores.lock_state()


@router.put("/lock")
async def put_restore_lock(body: RestoreLockUpdate, restores: Service) -> RestoreLockOut:
    """Lock restores (previews keep working; confirmations are refused with the reason) or unlock them."""
    return await restores.set_lock(body)
