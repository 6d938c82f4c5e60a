"""The event vocabulary: complete, round-trips through JSON, frozen, strict, tolerant of new fields."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.samples import HOST, JOB, PLAN, VOLUME, every_event
from dockback_contracts import events as ev


def test_the_samples_cover_every_event_type() -> None:
    assert {type(e) for e in every_event()} == set(ev.ALL_EVENTS)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_event_survives_json_as_faststream_decodes_it(event: ev.Event) -> None:
    decoded = json.loads(event.model_dump_json())  # FastStream validates the decoded dict, not the bytes
    assert type(event).model_validate(decoded) == event
    assert decoded["type"].endswith(".v1")


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_an_older_consumer_ignores_fields_a_newer_producer_added(event: ev.Event) -> None:
    decoded = json.loads(event.model_dump_json())
    decoded["added_in_v2"] = {"anything": [1, 2]}
    assert type(event).model_validate(decoded) == event


def test_events_are_frozen() -> None:
    event = every_event()[0]
    with pytest.raises(ValidationError, match="frozen"):
        event.host_id = "other"  # type: ignore[misc]


def test_a_number_given_as_a_string_is_rejected_not_coerced() -> None:
    with pytest.raises(ValidationError) as caught:
        ev.JobProgress.model_validate({"job_id": str(JOB), "host_id": HOST, "phase": "archive", "bytes_done": "10"})
    assert caught.value.errors()[0]["loc"] == ("bytes_done",)


def test_a_boolean_given_as_a_string_is_rejected() -> None:
    with pytest.raises(ValidationError, match="retryable"):
        ev.JobFailed.model_validate(
            {
                "job_id": str(JOB),
                "host_id": HOST,
                "kind": "backup",
                "phase": "archive",
                "reason": "x",
                "retryable": "yes",
            }
        )


@pytest.mark.parametrize("host_id", ["", "a.b", "a b", "*", ">", "-leading", "x" * 65])
def test_a_host_id_that_is_not_one_subject_token_is_rejected(host_id: str) -> None:
    with pytest.raises(ValidationError, match="host_id"):
        ev.HostHeartbeat(host_id=host_id, interval_seconds=1, executor_version="0")


def test_a_naive_timestamp_is_rejected_and_aware_ones_are_stored_in_utc() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        ev.RunMissed(host_id=HOST, plan_id=PLAN, scheduled_for=datetime(2026, 1, 1), occurred_at=datetime(2026, 1, 1))
    berlin = timezone(timedelta(hours=1))
    event = ev.RunMissed(host_id=HOST, plan_id=PLAN, scheduled_for=datetime(2026, 1, 1, 1, 0, tzinfo=berlin))
    assert event.scheduled_for.utcoffset() == timedelta(0)
    assert event.scheduled_for.hour == 0


def test_an_unknown_compression_is_rejected_with_the_field_named() -> None:
    with pytest.raises(ValidationError) as caught:
        ev.BackupOptions.model_validate({"compression": "lz4"})
    assert caught.value.errors()[0]["loc"] == ("compression",)


def test_a_request_needs_a_job_id() -> None:
    with pytest.raises(ValidationError, match="job_id"):
        ev.BackupRequested.model_validate({"host_id": HOST, "resource": VOLUME.model_dump()})


@given(st.datetimes(timezones=st.timezones()), st.uuids())
def test_scheduled_job_ids_depend_only_on_the_plan_and_the_instant(fire_time: datetime, plan_id: uuid.UUID) -> None:
    same_instant_elsewhere = fire_time.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert ev.scheduled_job_id(plan_id, fire_time) == ev.scheduled_job_id(plan_id, same_instant_elsewhere)
    assert ev.scheduled_job_id(plan_id, fire_time) != ev.scheduled_job_id(plan_id, fire_time + timedelta(minutes=1))


def test_a_scheduled_job_id_needs_an_aware_fire_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ev.scheduled_job_id(PLAN, datetime(2026, 1, 1))


def test_artifact_ids_are_deterministic_per_job_resource_and_role() -> None:
    assert ev.artifact_id_for(JOB, VOLUME, "pgdata") == ev.artifact_id_for(JOB, VOLUME, "pgdata")
    assert ev.artifact_id_for(JOB, VOLUME, "pgdata") != ev.artifact_id_for(JOB, VOLUME, "config")
    assert ev.artifact_id_for(JOB, VOLUME, "pgdata") != ev.artifact_id_for(uuid.uuid4(), VOLUME, "pgdata")


def test_two_containers_of_one_job_get_distinct_artifact_ids_for_their_configs() -> None:
    web = ev.ResourceRef(kind="container", name="web")
    db = ev.ResourceRef(kind="container", name="db")
    assert ev.artifact_id_for(JOB, web, "config") != ev.artifact_id_for(JOB, db, "config")
    assert ev.artifact_id_for(JOB, web, "image") != ev.artifact_id_for(JOB, db, "image")
