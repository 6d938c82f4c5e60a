"""Request and response bodies of the /settings routes.

Secrets are write-only. In a request, a secret field that is left out keeps the stored
value, `null` clears it, a string replaces it. In a response a secret is only
`{"set": true|false}`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from dockback_gateway import patterns
from dockback_gateway.settings.models import SmtpSecurity

SettingId = Annotated[
    str,
    StringConstraints(pattern=patterns.SAFE_ID),
    Field(description="Letters, digits, '-' and '_' (it names the target in plans and in alerts)"),
]
SECRET_MAX_LENGTH = 4096
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=patterns.EMAIL_ADDRESS),
]
Compression = Literal["zstd", "gzip", "none"]
MiB = 1024 * 1024


def _secret_text(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > SECRET_MAX_LENGTH:
        raise ValueError(f"must be at most {SECRET_MAX_LENGTH} characters")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Secret = Annotated[
    SecretStr,
    Field(json_schema_extra={"minLength": 1, "maxLength": SECRET_MAX_LENGTH}),
    AfterValidator(_secret_text),
]


def _text(max_length: int) -> StringConstraints:
    """Free text without control characters (PostgreSQL refuses NUL, and no setting needs them)."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=patterns.NO_CONTROL_CHARACTERS)


HttpUrl = Annotated[
    str,
    StringConstraints(
        max_length=2048,
        pattern=patterns.HTTP_URL,
    ),
    Field(examples=["https://hooks.example.net/dockback"]),
]


def _webhook_url(value: SecretStr) -> SecretStr:
    if re.fullmatch(patterns.HTTP_URL, value.get_secret_value()) is None:
        raise ValueError(patterns.describe(patterns.HTTP_URL))
    return value


WebhookUrl = Annotated[
    SecretStr,
    Field(
        json_schema_extra={"maxLength": 2048, "pattern": patterns.HTTP_URL},
        examples=["https://hooks.example.net/dockback"],
        description="Write-only (a Slack-style URL is a credential): responses show only its host",
    ),
    AfterValidator(_secret_text),
    AfterValidator(_webhook_url),
]


class SecretState(BaseModel):
    """Whether a secret is stored; its value never leaves the gateway through the API."""

    set: bool


# -- S3 targets ----------------------------------------------------------------------------


class S3TargetFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(
        max_length=255,
        pattern=patterns.S3_ENDPOINT,
        description="host[:port], without a scheme (`secure` chooses https or http)",
        examples=["s3.eu-central-1.amazonaws.com", "minio.lan:9000"],
    )
    secure: bool = Field(default=True, description="https (true) or http (false)")
    region: Annotated[str, _text(64)] | None = None
    bucket: str = Field(pattern=patterns.S3_BUCKET, description="An S3 bucket name")
    prefix: str = Field(
        default="",
        max_length=512,
        pattern=patterns.NO_CONTROL_CHARACTERS,
        description="Key prefix of every archive, e.g. `dockback/`",
    )
    part_size_bytes: int = Field(default=64 * MiB, ge=5 * MiB, le=5 * 1024 * MiB)
    verify_full_read: bool = Field(default=False, description="Read each upload back in full to verify it")


class S3TargetCreate(S3TargetFields):
    """A new S3 target; both keys are required."""

    target_id: SettingId
    access_key: Secret
    secret_key: Secret


class S3TargetUpdate(S3TargetFields):
    """Replace an S3 target's settings. Leave a key out to keep the stored one; a changed
    endpoint or `secure` needs both keys again (422 naming the missing one)."""

    # null is refused (a target needs both keys); SkipJsonSchema keeps null out of the OpenAPI document
    access_key: Secret | SkipJsonSchema[None] = None
    secret_key: Secret | SkipJsonSchema[None] = None

    @field_validator("access_key", "secret_key", mode="before")
    @classmethod
    def _keys_cannot_be_cleared(cls, value: object) -> object:
        if value is None:
            raise ValueError("an S3 target needs it: leave the field out to keep the stored value")
        return value


class S3TargetOut(BaseModel):
    target_id: str
    endpoint: str
    secure: bool
    region: str | None
    bucket: str
    prefix: str
    part_size_bytes: int
    verify_full_read: bool
    access_key: SecretState
    secret_key: SecretState
    updated_at: datetime


# -- SMTP ----------------------------------------------------------------------------------


class SmtpUpdate(BaseModel):
    """The mail server alerts go through. Leave `password` out to keep the stored one (unless the
    host or port changes: the stored password then is dropped); null clears it."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255, pattern=patterns.MAIL_HOST)
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = Field(
        default="starttls", description="starttls (usually port 587), tls (465) or none (plain text)"
    )
    username: Annotated[str, _text(255)] | None = None
    password: Secret | None = None
    from_address: EmailAddress
    recipients: list[EmailAddress] = Field(min_length=1, max_length=50)
    succeeded_digest: bool = Field(
        default=False, description="Also send a digest of succeeded jobs (once a day by default)"
    )


class SmtpOut(BaseModel):
    host: str
    port: int
    security: SmtpSecurity
    username: str | None
    password: SecretState
    from_address: str
    recipients: list[str]
    succeeded_digest: bool = Field(description="Whether a digest of succeeded jobs is sent too")
    updated_at: datetime


# -- webhooks ------------------------------------------------------------------------------


class WebhookFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slack_format: bool = Field(default=False, description="Post Slack's message format instead of DockBack's")
    succeeded_digest: bool = Field(
        default=False, description="Also send a digest of succeeded jobs (once a day by default)"
    )


class WebhookCreate(WebhookFields):
    """A new webhook; with a signing secret, each POST carries an HMAC of its body."""

    webhook_id: SettingId
    url: WebhookUrl
    signing_secret: Secret | None = None


class WebhookUpdate(WebhookFields):
    """Replace a webhook's settings. Leave `url` out to keep the stored one (a webhook needs one);
    leave `signing_secret` out to keep it, null clears it. A new URL clears the stored signing
    secret unless one is sent with it (signatures go where the URL points)."""

    url: WebhookUrl | SkipJsonSchema[None] = None
    signing_secret: Secret | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _url_cannot_be_cleared(cls, value: object) -> object:
        if value is None:
            raise ValueError("a webhook needs it: leave the field out to keep the stored URL")
        return value


class WebhookOut(BaseModel):
    webhook_id: str
    url: SecretState = Field(description="The URL is write-only: whether one is stored")
    url_host: str = Field(description="The host name of the stored URL (the rest may hold a token)")
    signing_secret: SecretState
    slack_format: bool
    succeeded_digest: bool = Field(description="Whether a digest of succeeded jobs is sent too")
    updated_at: datetime


# -- defaults ------------------------------------------------------------------------------


class DefaultsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_compression: Compression = Field(default="zstd", description="Compression of new plans")
    ui_base_url: HttpUrl | None = Field(
        default=None, description="Where links in alerts point; null: DOCKBACK_BASE_URL of the gateway"
    )


class DefaultsOut(BaseModel):
    default_compression: str
    ui_base_url: str | None
    updated_at: datetime | None


class SettingsOut(BaseModel):
    """Every setting; secrets only as `{"set": ...}`."""

    revision: int
    targets: list[S3TargetOut]
    smtp: SmtpOut | None
    webhooks: list[WebhookOut]
    defaults: DefaultsOut


class CheckOut(BaseModel):
    """What a check found, as the service that ran it (an uploader, a notifier) answered."""

    ok: bool = Field(description="Whether the check passed.")
    detail: str = Field(description="What was checked, or what went wrong and how to fix it.")
    answered_by: str = Field(description="Which service instance answered (e.g. uploader on host h1).")
    checked_at: datetime
