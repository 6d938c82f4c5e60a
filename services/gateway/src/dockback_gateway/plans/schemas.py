"""Request and response bodies of the /plans routes.

The parts of a plan (targets, options, retention) are the contracts' models, so the API,
the snapshot the scheduler reads and the request the executor runs share one definition.
In a request they refuse unknown fields: a misspelt `label_selector` must not silently
widen or narrow what a plan backs up.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from dockback_contracts.base import HostId, Seq
from dockback_contracts.events import BackupOptions, HookCommand, TargetSelector
from dockback_contracts.schedule import parse_zone, validate_cron
from dockback_contracts.snapshots import LocalCopies, RetentionPolicy
from dockback_gateway import patterns

MAX_GRACE_SECONDS = 30 * 86400.0
PREVIEW_COUNT = 5
_STRICT_INPUT = ConfigDict(frozen=True, strict=True, extra="forbid")


def _cron(value: str) -> str:
    validate_cron(value)  # ValueError naming the expression: becomes the field's 422 message
    return value


def _zone(value: str) -> str:
    parse_zone(value)
    return value


Cron = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=patterns.NO_CONTROL_CHARACTERS),
    AfterValidator(_cron),
    Field(
        description="Five fields (minute hour day-of-month month day-of-week), or six with seconds last; "
        "evaluated in the plan's time zone",
        examples=["0 3 * * *"],
    ),
]
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=patterns.NO_CONTROL_CHARACTERS),
    AfterValidator(_zone),
    Field(description="IANA time zone name", examples=["Europe/Berlin"]),
]
PlanName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=patterns.NO_CONTROL_CHARACTERS),
    Field(description="Unique among the plans that exist (whatever its case)"),
]


class TargetSelectorIn(TargetSelector):
    __doc__ = TargetSelector.__doc__
    model_config = _STRICT_INPUT


class HookCommandIn(HookCommand):
    __doc__ = HookCommand.__doc__
    model_config = _STRICT_INPUT


class BackupOptionsIn(BackupOptions):
    """How to take a backup: compression and consistency. A compression left out is the
    settings' default compression for new plans."""

    model_config = _STRICT_INPUT
    pre_commands: Seq[HookCommandIn] = ()
    post_commands: Seq[HookCommandIn] = ()


class RetentionPolicyIn(RetentionPolicy):
    __doc__ = RetentionPolicy.__doc__
    model_config = _STRICT_INPUT


class LocalCopiesIn(LocalCopies):
    __doc__ = LocalCopies.__doc__
    model_config = _STRICT_INPUT


RESTORE_SPECIAL_BITS = (
    "Whether restores of this plan's archives may write setuid and setgid files (for a volume that "
    "legitimately holds such programs); without it a restore refuses an archive that holds one. Only an "
    "admin may change it (403 otherwise). Device files are never restored"
)


class PlanFields(BaseModel):
    """What a plan says; the host is given at creation and never changes."""

    model_config = ConfigDict(extra="forbid")

    name: PlanName
    targets: list[TargetSelectorIn] = Field(
        min_length=1,
        max_length=100,
        description="What to back up: each selector names resources by name, label selector or compose "
        "project; resolved on the host when the job runs, so new matching resources join the plan",
    )
    cron: Cron
    timezone: TimeZone = "UTC"
    enabled: bool = Field(default=True, description="A disabled plan is kept but never fires")
    options: BackupOptionsIn = Field(default_factory=BackupOptionsIn)
    upload_targets: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=20,
        description="Ids of S3 targets (see /settings) to copy each archive to",
    )
    retention: RetentionPolicyIn = Field(default_factory=RetentionPolicyIn)
    local_copies: LocalCopiesIn = Field(
        default_factory=LocalCopiesIn,
        description="What stays on the host once an archive's remote copies are verified (the uploader "
        "removes the rest); an archive without a verified remote copy always stays",
    )
    verify_cron: Cron | None = Field(
        default=None, description="When to verify the newest archives (same syntax as `cron`); none: never"
    )
    missed_run_grace_seconds: float = Field(
        default=3600.0,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="A run missed by less than this (the scheduler was down) still fires once; older "
        "missed runs are reported",
    )


class PlanCreate(PlanFields):
    host_id: HostId = Field(description="The Docker host, as its executor reports it (see /resources/hosts)")
    restore_special_bits: bool = Field(default=False, description=RESTORE_SPECIAL_BITS)


class PlanUpdate(PlanFields):
    """The plan's new fields, replacing all of them (those left out take their defaults)."""

    host_id: HostId | None = Field(
        default=None, description="May be sent, but must be the plan's host: a plan never moves to another host"
    )
    restore_special_bits: bool | None = Field(
        default=None, description=RESTORE_SPECIAL_BITS + ". Left out: it stays as it is."
    )


class JobSummary(BaseModel):
    """The plan's newest backup job."""

    id: uuid.UUID
    status: str
    phase: str
    created_at: datetime
    finished_at: datetime | None
    error: str | None


class PlanOut(BaseModel):
    id: uuid.UUID
    name: str
    host_id: str
    enabled: bool
    cron: str
    timezone: str
    targets: list[TargetSelector]
    options: BackupOptions = Field(
        description="Hooks' argv are shown to admins only: for other roles each command reads as one "
        "placeholder; sending the hooks back as shown keeps them unchanged"
    )
    hook_argv_hidden: bool = Field(
        default=False, description="Whether the hooks' argv are hidden from you (only admins see them)"
    )
    upload_targets: list[str]
    retention: RetentionPolicy
    local_copies: LocalCopies
    verify_cron: str | None
    missed_run_grace_seconds: float
    restore_special_bits: bool = Field(description=RESTORE_SPECIAL_BITS)
    revision: int = Field(description="Raised by every change; the scheduler's snapshot carries it")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = Field(description="Set once the plan is deleted (its archives stay)")
    next_fire_times: list[datetime] = Field(
        description=f"The next {PREVIEW_COUNT} runs, in the plan's time zone (with its offset); "
        "empty while the plan is disabled or deleted"
    )
    last_job: JobSummary | None


class SchedulePreview(BaseModel):
    cron: str
    timezone: str
    fire_times: list[datetime] = Field(
        description=f"The next {PREVIEW_COUNT} fire times after `after`, in the time zone (with its offset); "
        "fewer if the expression runs out of dates"
    )


def _plausible(value: datetime) -> datetime:
    if not datetime(1970, 1, 1, tzinfo=UTC) <= value <= datetime(3000, 1, 1, tzinfo=UTC):
        raise ValueError("must lie between the years 1970 and 3000")
    return value


PreviewAfter = Annotated[AwareDatetime, AfterValidator(_plausible)]
