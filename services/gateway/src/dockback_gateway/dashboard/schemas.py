"""Response body of GET /dashboard: the state of every backup at a glance, in one request."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from dockback_gateway.resources.schemas import CoverageCount

AttentionKind = Literal["failed_job", "missed_run", "offline_host", "low_space", "unprotected_volume"]


class HostCounts(BaseModel):
    online: int = Field(description="Hosts whose executor's heartbeats keep coming")
    offline: int = Field(description="Hosts whose last heartbeat is too old (or never came)")


class JobCounts(BaseModel):
    """Jobs of every kind: those that ended in the last 24 hours by how they ended, and those
    still open (queued or running) whatever their age."""

    succeeded: int
    failed: int
    cancelled: int
    running: int
    queued: int


class NextRun(BaseModel):
    plan_id: uuid.UUID
    plan_name: str
    host_id: str
    fires_at: datetime = Field(description="The plan's next fire time, in the plan's time zone (its offset)")
    timezone: str


class PlanVerification(BaseModel):
    """A live plan's newest archive and its newest verified archive (from the catalog)."""

    plan_id: uuid.UUID
    plan_name: str
    host_id: str
    enabled: bool
    last_backup_at: datetime | None = Field(description="Its newest archive that was not pruned")
    last_verified_at: datetime | None = Field(
        description="When one of its archives (not pruned) last passed a check, with no failed check since"
    )
    last_verified_artifact_id: uuid.UUID | None = Field(description="The archive of that check")


class StorageDay(BaseModel):
    """Bytes kept at the end of one day (UTC; today: now)."""

    day: date
    total_bytes: int = Field(description="Archives created by then and not pruned by then (one copy each)")
    local_bytes: int = Field(
        description="Of those, archives on their host: until pruned, or until their first remote copy when the "
        "uploader has removed the local file since (the catalog keeps no time for that removal)"
    )
    remote_bytes: int = Field(description="Remote copies uploaded by then of archives not pruned by then (all targets)")


class AttentionItem(BaseModel):
    """Something a person should look at, most important first, in one short line."""

    key: str = Field(
        description="The item's series, stable from one reading to the next; an acknowledgement names it. "
        "failed_job: its kind, plan, host, resource and cause (the reason with names, ids, paths and hashes left "
        "out); a grouped line: its kind and cause; missed_run: the plan; offline_host and low_space: the host; "
        "unprotected_volume: the host and the volume's name"
    )
    kind: AttentionKind = Field(
        description="failed_job: a job whose failure no later success of the same plan or resource followed; "
        "missed_run: a plan slot that produced no job and no success since; offline_host; "
        "low_space: the filesystem of the host's data dir is nearly full (free space low); "
        "unprotected_volume: no live, enabled plan backs it up"
    )
    message: str = Field(
        description="What happened, in one short line: a failure's reason is cut to its first problem, with no "
        "archive file names, paths, ids or hashes (the job's page has the whole reason). Failures of one kind "
        "with one cause, across plans, hosts and resources, are one line that counts them and names a few: "
        "'12 restores failed: volume does not exist (a, b, c and 9 more)'"
    )
    count: int = Field(
        default=1,
        description="How many failed jobs the line stands for (more than 1: a grouped line, whose job_id is "
        "null; the failed jobs of its job_kind, host_id and plan_id list them)",
    )
    at: datetime | None = Field(
        description="When it happened (the failure, the newest of a grouped line's, the missed slot, the last "
        "heartbeat; for low_space the heartbeat that measured it)"
    )
    host_id: str | None = Field(description="The host; null for a grouped line whose failures are on several hosts")
    job_id: uuid.UUID | None = Field(default=None, description="For failed_job, one failure")
    job_kind: str | None = Field(default=None, description="For failed_job: backup, restore, verify or prune")
    plan_id: uuid.UUID | None = Field(
        default=None, description="For failed_job and missed_run, when a plan (for a grouped line: when all one plan)"
    )
    plan_name: str | None = None
    resource_kind: str | None = Field(default=None, description="volume, container or image, when one resource")
    resource_name: str | None = None
    acknowledged_by: str | None = Field(default=None, description="In `acknowledged`: who acknowledged it")
    acknowledged_at: datetime | None = Field(default=None, description="In `acknowledged`: when")


class Acknowledge(BaseModel):
    """Acknowledge an item of the dashboard's "needs attention": it leaves the list (and
    attention_total) until something new happens in its series. failed_job: a newer failure of the
    same series (for a grouped line: of the same kind and cause, anywhere); missed_run: a later
    missed slot of the plan; offline_host: the host offline again after a heartbeat since;
    low_space: free space down to half of what it was when acknowledged; unprotected_volume: it
    stays hidden ("not backed up on purpose") until the acknowledgement is taken back."""

    key: str = Field(min_length=1, max_length=600, description="The item's key, as GET /dashboard gave it")
    at: datetime | None = Field(
        default=None,
        description="The item's `at` as the person read it: an occurrence after it is not acknowledged (a failure "
        "that came after the page was read still shows). Without it, everything up to now is",
    )


class Acknowledgement(BaseModel):
    key: str
    message: str = Field(description="What the item said when it was acknowledged")
    acknowledged_by: str
    acknowledged_at: datetime


GettingStartedStepId = Literal["host_online", "storage_target", "first_plan", "first_backup", "first_verified_backup"]


class GettingStartedStep(BaseModel):
    """One step of the getting-started checklist and what proves it is done."""

    step: GettingStartedStepId = Field(
        description="host_online: an executor's heartbeats keep coming from some host; storage_target: an S3 "
        "target is configured (settings), so archives can be copied off their host; first_plan: a live, enabled "
        "plan exists; first_backup: a backup job has succeeded (any time, any plan or resource); "
        "first_verified_backup: an archive has passed verification (read back whole, its checksum matched) with "
        "no failed check since"
    )
    title: str = Field(description="What to do, as the checklist says it")
    done: bool
    detail: str = Field(
        description="What proves the step done (the host, target, plan, backup or archive), or what is missing"
    )
    at: datetime | None = Field(
        default=None,
        description="When the proof happened: the heartbeat, the plan's creation, the backup's end, the verification",
    )
    host_id: str | None = Field(default=None, description="The host of the proof (or of the last heartbeat)")
    plan_id: uuid.UUID | None = Field(
        default=None,
        description="The plan of the proof; while first_backup is not done, the plan to run; while "
        "first_verified_backup is not done, the plan of the archive to verify",
    )
    job_id: uuid.UUID | None = Field(default=None, description="first_backup: the newest backup job that succeeded")
    artifact_id: uuid.UUID | None = Field(
        default=None,
        description="first_verified_backup: the newest verified archive, or while not done the newest archive that can "
        "be verified now (kept and on its host)",
    )


class GettingStarted(BaseModel):
    """The checklist of a new installation. Steps read what exists now: one comes back undone when its
    proof goes (every host offline, the S3 targets or the enabled plans removed); a backup that succeeded
    and an archive that was verified stay proven."""

    complete: bool = Field(description="Every step is done: the dashboard shows no checklist")
    steps: list[GettingStartedStep] = Field(description="In the order a new user does them")
    unprotected_volumes: int = Field(
        description="Volumes no enabled plan backs up. While the checklist is not complete they are this one "
        "count instead of an unprotected_volume item each in `attention`"
    )


class Dashboard(BaseModel):
    """Hosts, coverage, recent jobs, what runs next, verification, storage and what needs attention."""

    generated_at: datetime = Field(description="The database's clock when this was read")
    hosts: HostCounts
    volumes: CoverageCount = Field(description="Protected and unprotected volumes of all hosts")
    containers: CoverageCount = Field(description="Protected and unprotected containers of all hosts")
    jobs_24h: JobCounts
    next_runs: list[NextRun] = Field(description="The soonest next fire time of each enabled plan, soonest first")
    plans: list[PlanVerification] = Field(description="Every live plan, by name")
    storage: list[StorageDay] = Field(description="The last 30 days, oldest first, today last")
    attention: list[AttentionItem] = Field(
        description="Failed jobs (newest first; a failure repeated with the same cause is one line), then missed "
        "runs, offline hosts, hosts low on free space and unprotected volumes (those only once `getting_started` "
        "is complete); none that an acknowledgement hides"
    )
    attention_total: int = Field(description="How many items there are in all (the list is cut)")
    acknowledged: list[AttentionItem] = Field(
        description="Items an acknowledgement hides from `attention`, in the same order, with who acknowledged "
        "them and when (cut like `attention`)"
    )
    acknowledged_total: int = Field(description="How many items acknowledgements hide in all")
    getting_started: GettingStarted = Field(description="The checklist of a new installation, until complete")
