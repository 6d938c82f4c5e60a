"""/users: the caller's own account and second factor, and (admins) everyone's accounts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from dockback_gateway.auth.dependencies import CurrentPrincipal, enforce_policy, origin_of
from dockback_gateway.auth.mfa import MfaService
from dockback_gateway.db import DbSession
from dockback_gateway.users import service
from dockback_gateway.users.policy import ROWS as POLICY  # noqa: F401 - app.py mounts it with the router
from dockback_gateway.users.schemas import (
    CurrentPassword,
    MfaConfirmation,
    MfaEnrolment,
    MfaPolicyBody,
    MfaStatus,
    PasswordChange,
    PasswordReset,
    RecoveryCodes,
    UserCreate,
    UserOut,
    UserUpdate,
)
from dockback_gateway.users.service import UserAdministration

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(enforce_policy)])


def _mfa(principal: CurrentPrincipal, request: Request, db: DbSession) -> MfaService:
    return MfaService(db, request.app.state.auth_config, principal, origin_of(request))


def _administration(principal: CurrentPrincipal, request: Request, db: DbSession) -> UserAdministration:
    return UserAdministration(db, principal, origin_of(request))


Mfa = Annotated[MfaService, Depends(_mfa)]
Administration = Annotated[UserAdministration, Depends(_administration)]


def _not_stored(response: Response) -> None:
    """Secrets shown once must not linger in a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store"


# -- the caller's own account -------------------------------------------------------------------


@router.get("/me")
async def me(principal: CurrentPrincipal) -> UserOut:
    """Who is logged in."""
    return service.user_out(principal.user)


@router.post("/me/password", status_code=204)
async def change_my_password(
    body: PasswordChange, principal: CurrentPrincipal, request: Request, db: DbSession
) -> Response:
    """Change the password (needs the current one); ends every other session."""
    await service.change_password(
        db, request.app.state.auth_config, principal, body.current_password, body.new_password, origin_of(request)
    )
    return Response(status_code=204)


@router.get("/me/mfa")
async def my_mfa(mfa: Mfa) -> MfaStatus:
    """Whether MFA is on, an enrolment is pending, and how many recovery codes are left."""
    status = await mfa.status()
    return MfaStatus(enabled=status.enabled, pending=status.pending, recovery_codes_left=status.recovery_codes_left)


@router.post("/me/mfa/enrolment")
async def start_mfa_enrolment(body: CurrentPassword, mfa: Mfa, response: Response) -> MfaEnrolment:
    """Start enrolling a TOTP authenticator (needs the current password; refused while MFA is on).

    Returns a fresh secret as an otpauth URI and a QR code (SVG). MFA stays off until
    POST /users/me/mfa/confirm receives a valid code; starting again replaces the pending secret.
    """
    enrolment = await mfa.start(body.current_password)
    _not_stored(response)
    return MfaEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post("/me/mfa/confirm")
async def confirm_mfa_enrolment(body: MfaConfirmation, mfa: Mfa, response: Response) -> RecoveryCodes:
    """Turn MFA on with the authenticator's current code; ends every other session.

    Returns 10 single-use recovery codes, shown only this once (older ones stop working).
    """
    codes = await mfa.confirm(body.code)
    _not_stored(response)
    return RecoveryCodes(recovery_codes=codes)


@router.post("/me/mfa/disable", status_code=204)
async def disable_mfa(body: CurrentPassword, mfa: Mfa) -> Response:
    """Turn MFA off (or drop a pending enrolment); needs the current password, ends every other session."""
    await mfa.disable(body.current_password)
    return Response(status_code=204)


@router.post("/me/mfa/recovery-codes")
async def regenerate_recovery_codes(body: CurrentPassword, mfa: Mfa, response: Response) -> RecoveryCodes:
    """Replace the recovery codes (needs the current password); ends every other session.

    Returns 10 new single-use codes, shown only this once.
    """
    codes = await mfa.regenerate_recovery_codes(body.current_password)
    _not_stored(response)
    return RecoveryCodes(recovery_codes=codes)


# -- administration (admins) ------------------------------------------------------------------


@router.get("")
async def list_users(admin: Administration) -> list[UserOut]:
    """Every account, by username."""
    return [service.user_out(user) for user in await admin.list_users()]


@router.post("", status_code=201)
async def create_user(body: UserCreate, admin: Administration) -> UserOut:
    """Create an account with a temporary password, which the user must change at first login.

    409 when the username is taken (whatever its case).
    """
    return service.user_out(await admin.create(body.username, body.role, body.password))


@router.get("/mfa-policy")
async def get_mfa_policy(admin: Administration) -> MfaPolicyBody:
    """The roles whose users must have a second factor."""
    return MfaPolicyBody(required_roles=await admin.mfa_policy())


@router.put("/mfa-policy")
async def set_mfa_policy(body: MfaPolicyBody, admin: Administration) -> MfaPolicyBody:
    """Require a second factor of every user of these roles (an empty list: of nobody); audited.

    Such a user without one is sent to set it up after the password and can use nothing else
    until it is set up (403 naming the enrolment route)."""
    return MfaPolicyBody(required_roles=await admin.set_mfa_policy(body.required_roles))


@router.get("/{user_id}")
async def get_user(user_id: uuid.UUID, admin: Administration) -> UserOut:
    """One account."""
    return service.user_out(await admin.get(user_id))


@router.patch("/{user_id}")
async def update_user(user_id: uuid.UUID, body: UserUpdate, admin: Administration) -> UserOut:
    """Change the role and/or disable or enable the account.

    A role change or disabling ends every session of the user at once. Demoting or disabling
    the last enabled admin is refused with 409.
    """
    return service.user_out(await admin.update(user_id, body.role, body.disabled))


@router.post("/{user_id}/password", status_code=204)
async def reset_password(user_id: uuid.UUID, body: PasswordReset, admin: Administration) -> Response:
    """Give the user a temporary password, to be changed at next login; ends every session of the user.

    Not for one's own account (use POST /users/me/password, which needs the current password).
    """
    await admin.reset_password(user_id, body.password)
    return Response(status_code=204)


@router.post("/{user_id}/mfa/reset", status_code=204)
async def reset_mfa(user_id: uuid.UUID, admin: Administration) -> Response:
    """Turn the user's MFA off and delete the recovery codes (a lost authenticator); ends every session.

    Not for one's own account (use POST /users/me/mfa/disable, which needs the password).
    """
    await admin.reset_mfa(user_id)
    return Response(status_code=204)


@router.delete("/{user_id}", status_code=204)
async def delete_user(user_id: uuid.UUID, admin: Administration) -> Response:
    """Delete the account: its sessions and event streams end at once; audit entries keep its name.

    409 for one's own account and for the last enabled admin.
    """
    await admin.delete(user_id)
    return Response(status_code=204)
