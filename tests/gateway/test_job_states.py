"""The jobs' state machine as pure logic (`jobs.states`): which fact moves a job's status
where. No database: the rules read and set an in-memory job row. The recorder's integration
with the bus and Postgres is tested in test_jobs.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockback_contracts import events as ev
from dockback_gateway.jobs import states
from dockback_gateway.jobs.models import Job, JobStatus

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
A1, A2 = uuid.UUID(int=1), uuid.UUID(int=2)


def job(**fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": "backup",
        "host_id": "host-a",
        "status": JobStatus.QUEUED,
        "phase": "queued",
        "attempts": 0,
        "created_at": T0,
        **fields,
    }
    return Job(**values)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def finished_job(status: JobStatus) -> Job:
    return job(status=status, phase="archive", started_at=at(1), finished_at=at(2), error="as it ended")


# -- moving forward ------------------------------------------------------------------------------


def test_any_sign_of_work_starts_a_queued_job_and_keeps_its_first_start() -> None:
    j = job()
    states.copy_uploaded(j, at(5))
    assert (j.status, j.started_at) == (JobStatus.RUNNING, at(5))
    states.start_running(j, at(9))
    assert j.started_at == at(5)


def test_a_start_moves_a_job_to_prepare_from_its_earliest_attempt() -> None:
    j = job()
    states.started(j, 2, at(7))
    assert (j.status, j.phase, j.attempts, j.started_at) == (JobStatus.RUNNING, "prepare", 2, at(7))
    states.started(j, 1, at(3))  # the first attempt's JobStarted arrives late
    assert (j.attempts, j.started_at) == (2, at(3))
    j.phase = "archive"
    states.started(j, 3, at(10))
    assert (j.phase, j.attempts) == ("archive", 3), "a new attempt does not move the phase back"


def test_the_last_archive_of_a_backup_with_uploads_moves_it_to_the_upload_phase() -> None:
    j = job(upload_targets=["s3-a"])
    states.archive_written(j, at(1), last_of_job=False, upload_targets=["ignored"])
    assert (j.status, j.phase, j.archives_done_at, j.upload_targets) == (JobStatus.RUNNING, "archive", None, ["s3-a"])
    states.archive_written(j, at(2), last_of_job=True, upload_targets=["s3-a"])
    assert (j.phase, j.archives_done_at) == ("upload", at(2))
    states.archive_written(j, at(3), last_of_job=True, upload_targets=["s3-a"])
    assert j.archives_done_at == at(2), "the first last archive counts"


def test_a_backup_learns_its_upload_targets_from_its_archives_when_its_request_was_lost() -> None:
    j = job(upload_targets=None)
    states.archive_written(j, at(1), last_of_job=True, upload_targets=["s3-a", "s3-b"])
    assert (j.upload_targets, j.phase) == (["s3-a", "s3-b"], "upload")
    bare = job(upload_targets=None)
    states.archive_written(bare, at(1), last_of_job=True, upload_targets=[])
    assert (bare.upload_targets, bare.phase) == ([], "archive")


def test_an_upload_moves_the_job_to_the_upload_phase_only_after_its_last_archive() -> None:
    j = job(upload_targets=["s3-a"])
    states.copy_uploaded(j, at(1))
    assert (j.status, j.phase) == (JobStatus.RUNNING, "queued")
    j.archives_done_at = at(2)
    states.copy_uploaded(j, at(3))
    assert j.phase == "upload"


# -- when a backup is complete -------------------------------------------------------------------


def test_a_backup_is_not_complete_before_its_last_archive() -> None:
    assert not states.backup_complete(job(upload_targets=[]), [A1], [])


def test_a_backup_without_uploads_is_complete_with_its_last_archive() -> None:
    assert states.backup_complete(job(upload_targets=[], archives_done_at=at(1)), [A1], [])
    assert states.backup_complete(job(upload_targets=None, archives_done_at=at(1)), [A1], [])


def test_a_backup_with_no_archive_in_the_catalog_is_never_complete() -> None:
    assert not states.backup_complete(job(upload_targets=[], archives_done_at=at(1)), [], [])


def test_a_backup_with_uploads_needs_every_archive_on_every_target() -> None:
    j = job(upload_targets=["s3-a", "s3-b"], archives_done_at=at(1))
    assert not states.backup_complete(j, [A1, A2], [(A1, "s3-a"), (A1, "s3-b"), (A2, "s3-a")])
    assert states.backup_complete(j, [A1, A2], [(A1, "s3-a"), (A1, "s3-b"), (A2, "s3-a"), (A2, "s3-b")])
    assert states.backup_complete(j, [A1], [(A1, "s3-a"), (A1, "s3-b"), (A2, "other")]), "copies of others count not"


# -- ending --------------------------------------------------------------------------------------


def test_success_failure_and_cancellation_end_an_open_job_with_what_the_fact_says() -> None:
    ok = job()
    assert states.succeed(ok, at(4), phase="verify")
    assert (ok.status, ok.phase, ok.started_at, ok.finished_at) == (JobStatus.SUCCEEDED, "verify", at(4), at(4))
    bad = job(status=JobStatus.RUNNING, phase="archive")
    assert states.fail(bad, at(5), phase="upload", reason="bucket gone", retryable=True)
    assert (bad.status, bad.phase, bad.error, bad.retryable, bad.finished_at) == (
        JobStatus.FAILED,
        "upload",
        "bucket gone",
        True,
        at(5),
    )
    stopped = job()
    assert states.cancel(stopped, at(6), phase="queued", reason="cancelled by olga")
    assert (stopped.status, stopped.error, stopped.finished_at) == (JobStatus.CANCELLED, "cancelled by olga", at(6))


def test_a_success_keeps_the_phase_it_reached_unless_the_fact_names_one() -> None:
    j = job(status=JobStatus.RUNNING, phase="upload")
    assert states.succeed(j, at(1))
    assert j.phase == "upload"


ENDED = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]

LATE_FACTS: dict[str, Callable[[Job], object]] = {
    "started": lambda j: states.started(j, 5, at(9)),
    "archive written": lambda j: states.archive_written(j, at(9), last_of_job=True, upload_targets=["s3-a"]),
    "copy uploaded": lambda j: states.copy_uploaded(j, at(9)),
    "succeeded": lambda j: states.succeed(j, at(9), phase="restore"),
    "failed": lambda j: states.fail(j, at(9), phase="restore", reason="late", retryable=False),
    "cancelled": lambda j: states.cancel(j, at(9), phase="restore", reason="late"),
}


@pytest.mark.parametrize("status", ENDED)
@pytest.mark.parametrize("fact", list(LATE_FACTS))
def test_a_finished_job_never_moves_again(status: JobStatus, fact: str) -> None:
    j = finished_job(status)
    before = (j.status, j.phase, j.error, j.started_at, j.finished_at)
    moved = LATE_FACTS[fact](j)
    assert (j.status, j.phase, j.error, j.started_at, j.finished_at) == before
    assert moved in (None, False)


def test_a_finished_job_still_counts_the_attempts_and_targets_late_facts_tell_of() -> None:
    j = finished_job(JobStatus.FAILED)
    states.started(j, 3, at(9))
    states.archive_written(j, at(9), last_of_job=True, upload_targets=["s3-a"])
    assert (j.attempts, j.upload_targets, j.archives_done_at) == (3, ["s3-a"], at(9))


def test_a_late_fact_is_logged_with_a_note_saying_what_the_job_had_become() -> None:
    assert states.late_note(job(status=JobStatus.RUNNING)) == ""
    assert states.late_note(finished_job(JobStatus.CANCELLED)) == " (after the job had been cancelled; ignored)"
    assert states.late_note(finished_job(JobStatus.FAILED)) == " (after the job had failed; ignored)"
    assert (
        states.late_note(finished_job(JobStatus.SUCCEEDED), verb="reported after", ignored=False)
        == " (reported after the job had succeeded)"
    )


# -- what facts tell besides the status ----------------------------------------------------------


def test_the_newest_fact_is_the_jobs_last_sign_of_life() -> None:
    j = job()
    states.heard_at(j, at(5))
    states.heard_at(j, at(2))  # an older fact arriving late
    assert j.last_event_at == at(5)
    states.heard_at(j, at(8))
    assert j.last_event_at == at(8)


def test_a_fact_fills_the_resource_but_never_overwrites_it() -> None:
    j = job()
    states.learn_resource(j, None)
    assert j.resource_kind is None
    states.learn_resource(j, ev.ResourceRef(kind="volume", name="pgdata"))
    states.learn_resource(j, ev.ResourceRef(kind="container", name="db"))
    assert (j.resource_kind, j.resource_name) == ("volume", "pgdata")


# -- any order of facts --------------------------------------------------------------------------

FACTS: dict[str, Callable[[Job, datetime], object]] = {
    "started": lambda j, t: states.started(j, 1, t),
    "archive": lambda j, t: states.archive_written(j, t, last_of_job=False, upload_targets=[]),
    "last archive": lambda j, t: states.archive_written(j, t, last_of_job=True, upload_targets=[]),
    "upload": lambda j, t: states.copy_uploaded(j, t),
    "succeeded": lambda j, t: states.succeed(j, t),
    "failed": lambda j, t: states.fail(j, t, phase="archive", reason="no space", retryable=False),
    "cancelled": lambda j, t: states.cancel(j, t, phase="archive", reason="by olga"),
}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(FACTS)), st.integers(0, 60)), max_size=12))
def test_in_any_order_of_facts_a_job_only_moves_forward_and_ends_once(facts: list[tuple[str, int]]) -> None:
    j = job()
    rank = {JobStatus.QUEUED: 0, JobStatus.RUNNING: 1}
    ended: tuple[str, datetime | None, str | None] | None = None
    for name, minute in facts:
        before = rank.get(JobStatus(j.status), 2)
        FACTS[name](j, at(minute))
        assert rank.get(JobStatus(j.status), 2) >= before
        if ended is not None:
            assert (j.status, j.finished_at, j.error) == ended, f"{name} moved a finished job"
        elif states.finished(j):
            ended = (j.status, j.finished_at, j.error)
            assert j.finished_at == at(minute)
        if j.status in (JobStatus.RUNNING, JobStatus.SUCCEEDED):
            assert j.started_at is not None, "a job that ran has a start"
