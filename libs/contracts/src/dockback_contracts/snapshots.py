"""Snapshots the gateway publishes into JetStream KV buckets for the other services.

Plans go to the plans bucket under the plan id. Settings go to the settings bucket once per
recipient: `host.<host id>` for that host's uploader (S3 targets only), `executor.<host id>` for
that host's executor (the passwords of its repositories only), `notifier` for the notifier (mail
and webhooks only), each sealed to the recipient's own public key, which the
recipient registered in the sealing keys bucket (`SealingKey`). Secret fields travel only
sealed (see `dockback_contracts.sealed`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockback_contracts.base import HostId, Id, Model, Name, Seq, UtcDatetime
from dockback_contracts.events import BackupOptions, TargetSelector
from dockback_contracts.sealed import SealedSecret

NOTIFIER_SETTINGS_KEY = "notifier"
"""The key of the notifier's settings snapshot in the settings bucket."""
HOST_SETTINGS_PREFIX = "host"


def host_settings_key(host_id: str) -> str:
    """The key of a host's settings snapshot (what its uploader reads) in the settings bucket."""
    return f"{HOST_SETTINGS_PREFIX}.{host_id}"


def executor_settings_key(host_id: str) -> str:
    """The key of the settings snapshot of a host's executor (its repositories' passwords)."""
    return f"executor.{host_id}"


def plan_repository(plan_id: str) -> str:
    """The name of a plan's restic repository on its host (a directory under the data dir's
    `repositories`): one per plan, so a plan's snapshots and passwords are its own."""
    return f"plan-{plan_id}"


# The names sealed secrets are bound to (their AES-GCM associated data), at rest in the
# gateway and in the snapshot alike: a value copied into another field does not open.
SMTP_PASSWORD = "settings.smtp.password"  # noqa: S105 - the name of the setting, not a password
TargetSecret = Literal["access_key", "secret_key"]


def target_secret(target_id: str, field: TargetSecret) -> str:
    """The name an S3 target's access key or secret key is sealed under."""
    return f"settings.targets.{target_id}.{field}"


def repository_password(host_id: str, name: str) -> str:
    """The name a repository's password is sealed under (each host's repository of a plan has its own)."""
    return f"repositories.{host_id}.{name}.password"


def webhook_signing_secret(webhook_id: str) -> str:
    """The name a webhook's signing secret is sealed under."""
    return f"settings.webhooks.{webhook_id}.signing_secret"


def webhook_url(webhook_id: str) -> str:
    """The name a webhook's URL is sealed under (a Slack-style URL is itself a credential)."""
    return f"settings.webhooks.{webhook_id}.url"


class RetentionPolicy(Model):
    """Which backups a plan keeps, per resource: an artifact is kept when any rule keeps it.

    keep_last N newest; keep_daily/weekly/monthly/yearly the newest of each of the last N
    days/ISO weeks/months/years that have a backup (in the plan's time zone); keep_within
    everything younger than that many seconds; never fewer than keep_minimum, and never
    the newest verified artifact.
    """

    keep_last: int = Field(default=7, ge=0, le=10_000)
    keep_daily: int = Field(default=0, ge=0, le=10_000)
    keep_weekly: int = Field(default=0, ge=0, le=10_000)
    keep_monthly: int = Field(default=0, ge=0, le=10_000)
    keep_yearly: int = Field(default=0, ge=0, le=1_000)
    keep_within_seconds: int = Field(default=0, ge=0, le=100 * 366 * 86400)
    keep_minimum: int = Field(default=1, ge=1, le=10_000)


class LocalCopies(Model):
    """What stays in the host's data dir once an archive's remote copies are verified.

    all: every archive stays (retention alone removes them); last: the newest `last` archives
    of each series stay; none: an archive is removed as soon as all its copies are verified.
    An archive without a verified remote copy is never removed by this.
    """

    keep: Literal["all", "last", "none"] = "all"
    last: int = Field(default=1, ge=1, le=10_000)


class PlanSnapshot(Model):
    """A plan as the scheduler needs it. `revision` increases with every change."""

    type: Literal["plan_snapshot.v1"] = "plan_snapshot.v1"
    plan_id: Id
    revision: int = Field(ge=1)
    name: Name
    host_id: HostId
    enabled: bool
    cron: str = Field(min_length=1)
    timezone: str = Field(min_length=1, description="IANA zone name, e.g. Europe/Berlin")
    targets: Seq[TargetSelector] = Field(min_length=1)
    options: BackupOptions = BackupOptions()
    upload_targets: Seq[Name] = ()
    retention: RetentionPolicy = RetentionPolicy()
    local_copies: LocalCopies = LocalCopies()
    verify_cron: str | None = None
    missed_run_grace_seconds: float = Field(default=3600, ge=0)
    updated_at: UtcDatetime


class JobCancellation(Model):
    """A user's request to cancel a job, kept in the cancellations bucket under the job id."""

    type: Literal["job_cancellation.v1"] = "job_cancellation.v1"
    job_id: Id
    requested_by: str
    requested_at: UtcDatetime


class S3Target(Model):
    """An S3-compatible bucket to copy archives to."""

    target_id: Name
    endpoint: str = Field(min_length=1, description="host[:port]")
    secure: bool = True
    region: str | None = None
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    access_key: SealedSecret
    secret_key: SealedSecret
    part_size_bytes: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024)
    verify_full_read: bool = False


class RepositoryKey(Model):
    """A restic repository of the executor's host and its password, which restic's own key
    derivation protects the repository's data with."""

    name: Name
    password: SealedSecret


class SmtpSettings(Model):
    """The mail server alerts go through."""

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SealedSecret | None = None
    from_address: str = Field(min_length=3)
    recipients: Seq[str] = ()
    succeeded_digest: bool = Field(default=False, description="Also send a digest of succeeded jobs.")


class Webhook(Model):
    """A URL that receives a JSON POST per alert. The URL travels sealed, like the signing
    secret: a Slack-style URL carries its token in the path."""

    webhook_id: Name
    url: SealedSecret
    signing_secret: SealedSecret | None = None
    slack_format: bool = False
    succeeded_digest: bool = Field(default=False, description="Also send a digest of succeeded jobs.")


class SealingKey(Model):
    """A role's public sealing key, registered by the role itself under its name in the sealing
    keys bucket (its NATS permissions let it write only that key)."""

    type: Literal["sealing_key.v1"] = "sealing_key.v1"
    role: str = Field(min_length=1, max_length=128, description="NATS role: uploader-<host id> or notifier")
    public_key: str = Field(min_length=1, max_length=64, description="X25519 public key, base64")
    registered_at: UtcDatetime


class SettingsSnapshot(Model):
    """One recipient's share of the settings: a host's uploader gets the S3 targets, its executor
    its repositories, the notifier mail and webhooks; `recipient` is the public key their secrets
    are sealed to. `ui_base_url`
    builds links to jobs in alerts."""

    type: Literal["settings_snapshot.v1"] = "settings_snapshot.v1"
    revision: int = Field(ge=1)
    recipient: str | None = Field(default=None, description="The public sealing key the secrets are sealed to")
    targets: Seq[S3Target] = ()
    repositories: Seq[RepositoryKey] = ()
    smtp: SmtpSettings | None = None
    webhooks: Seq[Webhook] = ()
    ui_base_url: str = "http://localhost:3000"
    updated_at: UtcDatetime
