"""/auth: login (password, then second factor), refresh, logout."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from dockback_gateway.auth.dependencies import (
    CurrentPrincipal,
    enforce_policy,
    must_enrol_second_factor,
    origin_of,
    waits_for_no_second_factor,
)
from dockback_gateway.auth.devices import DEVICE_DAYS
from dockback_gateway.auth.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.auth.policy import policy_of
from dockback_gateway.auth.rules import AUTHENTICATED, PUBLIC
from dockback_gateway.auth.schemas import LoginRequest, LoginResponse, MfaRequest, Permissions
from dockback_gateway.auth.service import AuthService, IssuedSession
from dockback_gateway.db import DbSession
from dockback_gateway.errors import NotAuthenticated

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(enforce_policy)])


def _service(request: Request, db: DbSession) -> AuthService:
    device = request.cookies.get(request.app.state.cookies.device)
    return AuthService(db, request.app.state.auth_config, origin_of(request), device_cookie=device)


async def _logged_in(request: Request, response: Response, issued: IssuedSession, db: DbSession) -> LoginResponse:
    config = request.app.state.auth_config
    request.app.state.cookies.set_session(
        response, issued.access, issued.refresh, issued.csrf, config.refresh_days * 86400
    )
    if issued.device is not None:
        request.app.state.cookies.set_device(response, issued.device, DEVICE_DAYS * 86400)
    return LoginResponse(
        logged_in=True,
        must_change_password=issued.user.must_change_password,
        must_enrol_mfa=await must_enrol_second_factor(db, issued.user),
        csrf_token=issued.csrf,
    )


@router.post("/login")
async def login(body: LoginRequest, request: Request, response: Response, db: DbSession) -> LoginResponse:
    """Check the password; sets the session cookies, or asks for the second factor."""
    outcome = await _service(request, db).login(body.username, body.password)
    if outcome.session is None:
        return LoginResponse(logged_in=False, mfa_required=True, mfa_token=outcome.mfa_token)
    return await _logged_in(request, response, outcome.session, db)


@router.post("/login/mfa")
async def login_mfa(body: MfaRequest, request: Request, response: Response, db: DbSession) -> LoginResponse:
    """Second step: a TOTP code, or one of the recovery codes."""
    issued = await _service(request, db).complete_mfa(body.mfa_token, body.code, body.recovery_code)
    return await _logged_in(request, response, issued, db)


@router.post("/refresh")
async def refresh(request: Request, response: Response, db: DbSession) -> LoginResponse:
    """New access token and a rotated refresh token, from the refresh cookie."""
    cookie = request.cookies.get(request.app.state.cookies.refresh)
    if not cookie:
        raise NotAuthenticated("no refresh token: log in again")
    return await _logged_in(request, response, await _service(request, db).refresh(cookie), db)


@router.post("/logout", status_code=204)
async def logout(principal: CurrentPrincipal, request: Request, response: Response, db: DbSession) -> Response:
    """End this session at once, everywhere it is used."""
    await _service(request, db).logout(principal.session, principal.user.username)
    response = Response(status_code=204)
    request.app.state.cookies.clear(response)
    return response


@router.get("/permissions")
async def permissions(principal: CurrentPrincipal, request: Request, db: DbSession) -> Permissions:
    """The routes the caller's role may use (one table decides, the same one the API enforces).

    Until the first password is changed only that change and logging out are allowed; until
    the second factor the MFA policy requires is set up, only that (and logging out)."""
    user = principal.user
    must_enrol = await must_enrol_second_factor(db, user)
    allowed = sorted(
        f"{method} {path}"
        for (method, path), rule in policy_of(request.app).items()
        if rule == AUTHENTICATED
        or (
            rule != PUBLIC
            and not user.must_change_password
            and user.role in rule
            and (not must_enrol or waits_for_no_second_factor(rule))
        )
    )
    return Permissions(
        role=str(user.role), must_change_password=user.must_change_password, must_enrol_mfa=must_enrol, allowed=allowed
    )
