"""Requests and replies of the checks the API offers, over core NATS (`subjects.CHECK_*`).

The gateway asks; one uploader (or notifier) of the queue group answers. Replies say what
went wrong in words a person can act on, and never carry a secret.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockback_contracts.base import Model, Name, UtcDatetime


class CheckTarget(Model):
    """Can this S3 target be reached with its credentials, and does its bucket exist?"""

    type: Literal["check_target.v1"] = "check_target.v1"
    target_id: Name
    settings_revision: int | None = Field(
        default=None,
        ge=1,
        description="The settings revision to check (the gateway's newest, at least what the user just saved): "
        "the answering service first waits, briefly, until its settings snapshot has it. None: check what it has.",
    )


class CheckChannel(Model):
    """Send a test alert through the SMTP channel or one webhook."""

    type: Literal["check_channel.v1"] = "check_channel.v1"
    channel: Literal["smtp", "webhook"]
    webhook_id: Name | None = Field(default=None, description="For channel=webhook.")
    requested_by: str
    settings_revision: int | None = Field(
        default=None,
        ge=1,
        description="The settings revision to check (the gateway's newest, at least what the user just saved): "
        "the answering service first waits, briefly, until its settings snapshot has it. None: check what it has.",
    )


class CheckResult(Model):
    """The answer to a check."""

    type: Literal["check_result.v1"] = "check_result.v1"
    ok: bool
    detail: str = Field(description="What was checked, or what went wrong and how to fix it.")
    answered_by: str = Field(description="Which service instance answered (e.g. uploader on host h1).")
    checked_at: UtcDatetime
