"""Request and response bodies of the auth routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dockback_gateway import patterns


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=patterns.SOME_TEXT)
    password: str = Field(min_length=1, max_length=1024, pattern=patterns.NO_NUL)


class MfaRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mfa_token: str = Field(min_length=1, max_length=128)
    code: str | None = Field(default=None, pattern=patterns.TOTP_CODE, description="The current TOTP code")
    recovery_code: str | None = Field(default=None, min_length=8, max_length=32)


class LoginResponse(BaseModel):
    """Either logged in (cookies set), or a second factor is needed (`mfa_token` for /auth/login/mfa)."""

    logged_in: bool
    mfa_required: bool = False
    mfa_token: str | None = None
    must_change_password: bool = False
    must_enrol_mfa: bool = Field(
        default=False, description="The MFA policy requires a second factor: set one up before anything else"
    )
    csrf_token: str | None = Field(default=None, description="Send it back as the X-CSRF-Token header")


class Permissions(BaseModel):
    """What the caller may do: the routes of the access policy their role allows, as "METHOD /path"."""

    role: str
    must_change_password: bool
    must_enrol_mfa: bool = Field(
        default=False, description="The MFA policy requires a second factor: until it is set up, only that is allowed"
    )
    allowed: list[str] = Field(description='e.g. "POST /jobs"; the UI shows only the actions listed here')
