"""Request and response bodies of the user routes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    role: str
    disabled: bool
    must_change_password: bool
    mfa_enabled: bool


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
