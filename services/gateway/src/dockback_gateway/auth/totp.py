"""TOTP codes: one rule for login and for enrolment."""

from __future__ import annotations

import hmac
import time
import uuid

import pyotp

from dockback_gateway.keys import Cipher
from dockback_gateway.users.models import User

TOTP_STEP_SECONDS = 30


def totp_secret_aad(user_id: uuid.UUID) -> str:
    """The associated data binding a stored TOTP secret to its user."""
    return f"users.totp_secret:{user_id}"


def accept_totp(cipher: Cipher, user: User, code: str) -> bool:
    """±1 step of drift, and a step used once (or older) never again: no replay."""
    if user.totp_secret is None:
        return False
    totp = pyotp.TOTP(cipher.decrypt(user.totp_secret, totp_secret_aad(user.id)).decode())
    now_step = int(time.time()) // TOTP_STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            user.totp_last_step = step
            return True
    return False


def is_last_code_again(cipher: Cipher, user: User, code: str) -> bool:
    """Whether `code` is the one last accepted (its step is used up): typed again, as happens when
    logging in right after enrolling. Only for the message: it is refused like any wrong code."""
    if user.totp_secret is None or user.totp_last_step is None:
        return False
    totp = pyotp.TOTP(cipher.decrypt(user.totp_secret, totp_secret_aad(user.id)).decode())
    return hmac.compare_digest(totp.at(user.totp_last_step * TOTP_STEP_SECONDS), code)
