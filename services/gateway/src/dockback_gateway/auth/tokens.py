"""Access tokens (short-lived JWTs naming their session) and refresh tokens (opaque, rotated)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from dockback_gateway.errors import NotAuthenticated

ALGORITHM = "HS256"
AUDIENCE = "dockback-api"
ISSUER = "dockback-gateway"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID


def issue_access_token(secret: str, user_id: uuid.UUID, session_id: uuid.UUID, minutes: int) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "sid": str(session_id),
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(secret: str, token: str) -> AccessClaims:
    """The token's claims; NotAuthenticated for anything but a valid, unexpired token of ours."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "aud", "iss", "sub", "sid"]},
        )
        return AccessClaims(user_id=uuid.UUID(claims["sub"]), session_id=uuid.UUID(claims["sid"]))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise NotAuthenticated("the session token is invalid or expired") from exc


def new_secret_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What we store of a token: its sha256 (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RefreshToken:
    """`<session id>.<generation>.<random>.<mac>`: the generation tells a rotated-out token from the
    current one; the mac (HMAC of the rest under the secret key) tells a token this gateway issued
    from a made-up one, so only a real old token coming back counts as theft."""

    session_id: uuid.UUID
    generation: int
    secret: str
    mac: str = ""

    @classmethod
    def issue(cls, key: str, session_id: uuid.UUID, generation: int, secret: str) -> RefreshToken:
        return cls(session_id, generation, secret, cls._mac(key, session_id, generation, secret))

    @staticmethod
    def _mac(key: str, session_id: uuid.UUID, generation: int, secret: str) -> str:
        message = f"refresh.{session_id}.{generation}.{secret}".encode()
        return hmac.new(key.encode(), message, "sha256").hexdigest()

    def signed_by(self, key: str) -> bool:
        expected = self._mac(key, self.session_id, self.generation, self.secret)
        return bool(self.mac) and hmac.compare_digest(expected, self.mac)

    def encode(self) -> str:
        return f"{self.session_id}.{self.generation}.{self.secret}.{self.mac}"

    @classmethod
    def parse(cls, value: str) -> RefreshToken:
        try:
            session_id, generation, secret, *mac = value.split(".")
            if len(mac) > 1:
                raise ValueError("too many parts")
            return cls(uuid.UUID(session_id), int(generation), secret, mac[0] if mac else "")
        except ValueError as exc:
            raise NotAuthenticated("the refresh token is malformed") from exc
