"""Who is calling: the session behind the access cookie, checked against the database on
every request (so logout, password change, role change and disabling act at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from dockback_gateway.audit.service import Origin
from dockback_gateway.auth.models import Session
from dockback_gateway.auth.policy import AUTHENTICATED, PUBLIC, rule_for
from dockback_gateway.auth.tokens import read_access_token
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Forbidden, NotAuthenticated
from dockback_gateway.users.models import User


@dataclass(frozen=True)
class Principal:
    user: User
    session: Session


def origin_of(request: Request) -> Origin:
    return Origin(ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent"))


# A 401 about the session itself (not about a password or code in the body) says so in the
# standard header: the UI then renews the session with the refresh cookie and tries once more,
# and never repeats a request whose credentials were simply wrong.
SESSION_CHALLENGE = {"WWW-Authenticate": 'Cookie realm="DockBack"'}


async def _principal(request: Request, db: DbSession) -> Principal:
    try:
        return await _session_principal(request, db)
    except NotAuthenticated as exc:
        raise NotAuthenticated(exc.detail, headers=SESSION_CHALLENGE) from None


async def _session_principal(request: Request, db: DbSession) -> Principal:
    token = request.cookies.get(request.app.state.cookies.access)
    if not token:
        raise NotAuthenticated("log in first")
    claims = read_access_token(request.app.state.secret_key, token)
    session = await db.get(Session, claims.session_id)
    now = datetime.now(UTC)
    if (
        session is None
        or session.revoked_at is not None
        or session.expires_at <= now
        or session.user_id != claims.user_id
    ):
        raise NotAuthenticated("the session has ended; log in again")
    user = await db.get(User, claims.user_id)
    if user is None or user.disabled:
        raise NotAuthenticated("this account is disabled")
    return Principal(user=user, session=session)


async def enforce_policy(request: Request, db: DbSession) -> Principal | None:
    """The route's rule from the policy table, applied; unknown routes are refused."""
    rule = rule_for(request)
    if rule is None:
        raise Forbidden("this route has no access policy")
    if rule == PUBLIC:
        return None
    principal = await _principal(request, db)
    if rule == AUTHENTICATED:
        return principal
    if principal.user.must_change_password:
        raise Forbidden("change your password first (POST /users/me/password)")
    if principal.user.role not in rule:
        raise Forbidden(f"the {principal.user.role} role may not do this")
    return principal


async def current_principal(principal: Annotated[Principal | None, Depends(enforce_policy)]) -> Principal:
    if principal is None:
        raise NotAuthenticated("log in first", headers=SESSION_CHALLENGE)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
