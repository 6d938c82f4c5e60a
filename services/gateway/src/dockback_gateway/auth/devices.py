"""Device cookies (OWASP, "Slow down online guessing attacks with device cookies").

A successful login gives the browser a signed `dockback_device` cookie naming the account and a
random nonce. Logins that present a valid one for the same account are counted against that
device alone (auth.brakes), so an attacker who keeps the account braked from elsewhere does not
lock its owner out of a browser they logged in from before. A device that fails too often is
braked on its own. The cookie outlives logout; a later login (of any account) replaces it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt

AUDIENCE = "dockback-device"
ALGORITHM = "HS256"
DEVICE_DAYS = 365


def issue_device_token(secret: str, account: str) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": account,
        "jti": secrets.token_urlsafe(16),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(days=DEVICE_DAYS),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def device_of(secret: str, token: str | None, account: str) -> str | None:
    """The nonce of a valid device cookie issued to `account` (lower case); None for anything else."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, options={"require": ["sub", "jti", "exp"]}
        )
    except jwt.PyJWTError:
        return None
    if claims["sub"] != account or not isinstance(claims["jti"], str):
        return None
    return claims["jti"]
