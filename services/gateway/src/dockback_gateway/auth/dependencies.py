"""Who is calling: the session behind the access cookie, checked against the database on
every request (so logout, password change, role change and disabling act at once)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dockback_gateway.audit.service import Origin
from dockback_gateway.auth.models import Session
from dockback_gateway.auth.policy import AUTHENTICATED, PUBLIC, rule_for
from dockback_gateway.auth.refusals import record_refusal
from dockback_gateway.auth.rules import Rule, SecondFactorSetup
from dockback_gateway.auth.tokens import read_access_token
from dockback_gateway.db import DbSession
from dockback_gateway.errors import Forbidden, NotAuthenticated
from dockback_gateway.users.models import MfaPolicy, User


@dataclass(frozen=True)
class Principal:
    user: User
    session: Session


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(value: str) -> tuple[Network, ...]:
    """DOCKBACK_TRUSTED_PROXIES parsed; ValueError naming the entry that is not an address or network."""
    networks = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"DOCKBACK_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
    return tuple(networks)


def client_address(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then X-Forwarded-For
    read right to left, skipping trusted hops, up to the first address that is not one (a client
    can write anything at the left end of the header, but not past the proxies it went through)."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if peer is None or not is_trusted(peer):
        return peer
    client = peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from further left: the last proxy's word is all there is
        client = hop
        if not is_trusted(hop):
            break
    return client


def origin_of(request: Request) -> Origin:
    trusted = getattr(request.app.state, "trusted_proxies", ())
    peer = request.client.host if request.client else None
    ip = client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)
    return Origin(ip=ip, user_agent=request.headers.get("user-agent"))


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


async def still_open(sessions: async_sessionmaker[AsyncSession], principal: Principal) -> bool:
    """Whether the principal's session is still open and its user enabled with the same role
    (an open event stream asks this at each heartbeat)."""
    async with sessions() as db:
        session = await db.get(Session, principal.session.id)
        user = await db.get(User, principal.user.id)
    return (
        session is not None
        and session.revoked_at is None
        and session.expires_at > datetime.now(UTC)
        and user is not None
        and not user.disabled
        and user.role == principal.user.role
    )


async def enforce_policy(request: Request, db: DbSession) -> Principal | None:
    """The route's rule from the policy table, applied; unknown routes are refused. Every refusal
    (403) leaves an audit row, rate-limited (see auth.refusals)."""
    rule = rule_for(request)
    if rule is None:
        await record_refusal(request, actor=None, role=None, reason="no access policy")
        raise Forbidden("this route has no access policy")
    if rule == PUBLIC:
        return None
    principal = await _principal(request, db)
    if rule == AUTHENTICATED:
        return principal
    user = principal.user
    refusal: str | None = None
    if user.must_change_password:
        refusal = "change your password first (POST /users/me/password)"
    elif user.role not in rule:
        refusal = f"the {user.role} role may not do this"
    elif await must_enrol_second_factor(db, user) and not waits_for_no_second_factor(rule):
        refusal = (
            "the MFA policy requires a second factor for your role: set one up first (POST /users/me/mfa/enrolment)"
        )
    if refusal is not None:
        await record_refusal(request, actor=user.username, role=str(user.role), reason=refusal)
        raise Forbidden(refusal)
    return principal


async def must_enrol_second_factor(db: AsyncSession, user: User) -> bool:
    """Whether the MFA policy requires a second factor of the user's role and the user has none."""
    if user.totp_enabled:
        return False
    policy = await db.get(MfaPolicy, 1)
    return policy is not None and user.role in policy.required_roles


def waits_for_no_second_factor(rule: Rule) -> bool:
    """Whether a route is open to a user the MFA policy sends to enrol: the enrolment itself,
    and what even a forced password change allows (who am I, log out)."""
    return rule == AUTHENTICATED or isinstance(rule, SecondFactorSetup)


async def current_principal(principal: Annotated[Principal | None, Depends(enforce_policy)]) -> Principal:
    if principal is None:
        raise NotAuthenticated("log in first", headers=SESSION_CHALLENGE)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
