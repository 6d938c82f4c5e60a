"""Request and response bodies of the user routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dockback_gateway import patterns
from dockback_gateway.auth.passwords import MAX_LENGTH, MIN_LENGTH, check_policy
from dockback_gateway.errors import Invalid
from dockback_gateway.users.models import Role


def _password_policy(password: str, username: str | None = None) -> str:
    """The password policy as a validation error, so the 422 names the field."""
    try:
        check_policy(password, username)
    except Invalid as exc:
        raise PydanticCustomError("password_policy", exc.detail) from None
    return password


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    role: str
    disabled: bool
    must_change_password: bool
    mfa_enabled: bool
    last_login_at: datetime | None = Field(
        default=None, description="The last successful login (password and second factor); null: never"
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


# -- the caller's own second factor ----------------------------------------------------------


class CurrentPassword(BaseModel):
    """Proof that the person at the keyboard knows the account's password."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)


class MfaStatus(BaseModel):
    enabled: bool
    pending: bool = Field(description="An enrolment was started and waits for its confirmation code")
    recovery_codes_left: int


class MfaEnrolment(BaseModel):
    """The new authenticator secret, shown once: scan the QR code or type the secret in."""

    secret: str = Field(description="Base32 TOTP secret, for authenticator apps that cannot scan")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an inline SVG element")


class MfaConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=patterns.TOTP_CODE, description="The current code shown by the authenticator app")


class RecoveryCodes(BaseModel):
    """Single-use codes that replace a TOTP code at login; shown only this once."""

    recovery_codes: list[str]


# -- administration of accounts (admins) ------------------------------------------------------


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=patterns.USERNAME, description="1-64 characters: letters, digits, '.', '_', '-'")
    role: Role
    password: str = Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description="Temporary password; the user must change it at first login",
    )

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, password: str, info: ValidationInfo) -> str:
        return _password_policy(password, info.data.get("username"))


class UserUpdate(BaseModel):
    """Change the role, disable or enable; at least one of the two."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    role: Role | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UserUpdate:
        if self.role is None and self.disabled is None:
            raise ValueError("give `role`, `disabled`, or both")
        return self


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description="Temporary password; the user must change it at next login",
    )

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, password: str) -> str:
        return _password_policy(password)


class MfaPolicyBody(BaseModel):
    """The roles whose users must have a second factor; every role: everyone; none: nobody."""

    model_config = ConfigDict(extra="forbid")

    required_roles: list[Role] = Field(
        max_length=len(Role),
        description="A user of these roles without a second factor is sent to set one up at the next login",
    )
