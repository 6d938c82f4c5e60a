"""The caller's own second factor: enrolling a TOTP authenticator, recovery codes, turning it off.

An enrolment stores a fresh secret (encrypted, bound to the user id) without enabling it; only
a valid code from the authenticator enables it, so a half-finished enrolment never locks
anyone out. Every change of the second factor needs proof of the password (or, for the
confirmation, of the new secret) and ends every other session of the user. Secrets and
recovery codes are returned to the caller once and never reach an audit row or a log line.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import NoReturn

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_gateway.audit.service import Origin, record
from dockback_gateway.auth import repository
from dockback_gateway.auth.dependencies import Principal
from dockback_gateway.auth.service import (
    AuthConfig,
    check_password_in_session,
    end_other_sessions,
    recovery_code_digest,
)
from dockback_gateway.auth.totp import accept_totp, totp_secret_aad
from dockback_gateway.errors import Conflict, DomainError, NotAuthenticated
from dockback_gateway.users.models import MfaPolicy

ISSUER = "DockBack"
RECOVERY_CODE_COUNT = 10
MAX_WRONG_CONFIRMATIONS = 5  # then the pending secret is dropped; starting again needs the password
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32: no 0/1/8/9 to mistake for o/l/b/g
_RECOVERY_GROUP = 5


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class Status:
    enabled: bool
    pending: bool
    recovery_codes_left: int


def new_recovery_code() -> str:
    """Ten base32 characters (50 bits) from the CSPRNG, as two groups: `abcde-fghij`."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(2 * _RECOVERY_GROUP))
    return f"{chars[:_RECOVERY_GROUP]}-{chars[_RECOVERY_GROUP:]}"


def qr_svg(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="DockBack TOTP enrolment"))


class MfaService:
    """MFA of the logged-in user. Never commits: the request's session does."""

    def __init__(self, db: AsyncSession, config: AuthConfig, principal: Principal, origin: Origin) -> None:
        self.db = db
        self.config = config
        self.principal = principal
        self.user = principal.user
        self.origin = origin

    async def status(self) -> Status:
        left = await repository.unused_recovery_codes(self.db, self.user.id)
        pending = self.user.totp_secret is not None and not self.user.totp_enabled
        return Status(enabled=self.user.totp_enabled, pending=pending, recovery_codes_left=left)

    async def start(self, current_password: str) -> Enrolment:
        """A fresh secret, stored encrypted but not enabled until `confirm` sees a valid code."""
        action = "mfa.enrolment_start"
        await self._check_password(action, current_password)
        if self.user.totp_enabled:
            await self._refuse(
                action,
                Conflict(
                    "MFA is already enabled; to move it to another authenticator, disable it "
                    "(POST /users/me/mfa/disable) and enrol again"
                ),
            )
        secret = pyotp.random_base32()
        self.user.totp_secret = self.config.cipher.encrypt(secret.encode(), totp_secret_aad(self.user.id))
        self.user.totp_last_step = None
        await self._audit(action, "success")
        uri = pyotp.TOTP(secret).provisioning_uri(name=self.user.username, issuer_name=ISSUER)
        return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))

    async def confirm(self, code: str) -> list[str]:
        """Enable MFA with a valid code of the pending secret; new recovery codes, other sessions ended."""
        action = "mfa.enable"
        await self.db.refresh(self.user, with_for_update=True)  # one confirmation at a time
        if self.user.totp_enabled:
            await self._refuse(action, Conflict("MFA is already enabled"))
        if self.user.totp_secret is None:
            await self._refuse(action, Conflict("no enrolment to confirm: start one (POST /users/me/mfa/enrolment)"))
        if not accept_totp(self.config.cipher, self.user, code):
            if await self._wrong_confirmations() + 1 >= MAX_WRONG_CONFIRMATIONS:
                self.user.totp_secret = None  # kept: `_refuse` commits
                await self._refuse(
                    action, NotAuthenticated("too many wrong codes: the enrolment is cancelled; start it again")
                )
            await self._refuse(
                action,
                NotAuthenticated("wrong or already used code: MFA stays off; enter the authenticator's current code"),
            )
        self.user.totp_enabled = True
        codes = await self._replace_recovery_codes()
        await end_other_sessions(self.db, self.user.id, keep=self.principal.session.id, reason="mfa enabled")
        await self._audit(action, "success")
        return codes

    async def disable(self, current_password: str) -> None:
        """Turn MFA off (or drop a pending enrolment); recovery codes go, other sessions end."""
        action = "mfa.disable"
        await self._check_password(action, current_password)
        if self.user.totp_secret is None and not self.user.totp_enabled:
            await self._refuse(action, Conflict("MFA is not enabled"))
        was_enabled = self.user.totp_enabled
        policy = await self.db.get(MfaPolicy, 1)
        if was_enabled and policy is not None and self.user.role in policy.required_roles:
            await self._refuse(
                action,
                Conflict(
                    f"the MFA policy requires a second factor for the {self.user.role} role: it stays on "
                    "(for a lost authenticator an admin can reset it)"
                ),
            )
        self.user.totp_enabled = False
        self.user.totp_secret = None
        self.user.totp_last_step = None
        await repository.delete_recovery_codes(self.db, self.user.id)
        await end_other_sessions(self.db, self.user.id, keep=self.principal.session.id, reason="mfa disabled")
        await self._audit(action, "success", was_enabled=was_enabled)

    async def regenerate_recovery_codes(self, current_password: str) -> list[str]:
        """New recovery codes; the old ones stop working and other sessions end."""
        action = "mfa.recovery_codes_regenerate"
        await self._check_password(action, current_password)
        if not self.user.totp_enabled:
            await self._refuse(action, Conflict("MFA is not enabled: enrol first (POST /users/me/mfa/enrolment)"))
        codes = await self._replace_recovery_codes()
        await end_other_sessions(
            self.db, self.user.id, keep=self.principal.session.id, reason="recovery codes regenerated"
        )
        await self._audit(action, "success")
        return codes

    async def _wrong_confirmations(self) -> int:
        """Wrong codes since the pending enrolment started, counted from the audit log (the
        rows are written in the same transactions, under the user's row lock)."""
        return await repository.wrong_confirmations(self.db, self.user.username)

    async def _replace_recovery_codes(self) -> list[str]:
        await repository.delete_recovery_codes(self.db, self.user.id)
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        hashes = [recovery_code_digest(self.config.secret_key, code) for code in codes]
        repository.add_recovery_codes(self.db, self.user.id, hashes)
        return codes

    async def _check_password(self, action: str, password: str) -> None:
        session_id = self.principal.session.id
        if not await check_password_in_session(self.db, self.config, session_id, self.user.password_hash, password):
            await self._refuse(action, NotAuthenticated("the current password is wrong"))

    async def _refuse(self, action: str, error: DomainError) -> NoReturn:
        """Audit the refusal and keep that row: nothing else has changed at this point."""
        await self._audit(action, "failure", reason=error.detail)
        error.keep_changes = True
        raise error

    async def _audit(self, action: str, outcome: str, **details: object) -> None:
        await record(
            self.db,
            action=action,
            outcome=outcome,
            actor=self.user.username,
            origin=self.origin,
            target=self.user.username,
            details=details,
        )
