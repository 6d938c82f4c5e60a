"""/users: the caller's own account (admin management of users comes with their routes)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.db import DbSession
from dockback_gateway.users import service
from dockback_gateway.users.schemas import PasswordChange, UserOut

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(enforce_policy)])


@router.get("/me")
async def me(principal: CurrentPrincipal) -> UserOut:
    """Who is logged in."""
    return service.user_out(principal.user)


@router.post("/me/password", status_code=204)
async def change_my_password(
    body: PasswordChange, principal: CurrentPrincipal, request: Request, db: DbSession
) -> Response:
    """Change the password (needs the current one); ends every other session."""
    await service.change_password(db, principal, body.current_password, body.new_password, origin_of(request))
    return Response(status_code=204)
