"""Every event has a subject, every stored subject lies in exactly one stream, consumers don't overlap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.samples import HOST, every_event
from dockback_contracts import events as ev
from dockback_contracts import streams, subjects


def _matches(pattern: str, subject: str) -> bool:
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_event_has_a_subject_naming_its_host(event: ev.Event) -> None:
    subject = subjects.subject_for(event)
    assert subject.startswith("dockback.")
    assert HOST in subject.split(".")


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_stored_event_lands_in_exactly_one_stream(event: ev.Event) -> None:
    subject = subjects.subject_for(event)
    holders = [c.name for c in streams.stream_configs() if any(_matches(p, subject) for p in c.subjects or [])]
    if isinstance(event, ev.JobProgress):
        assert holders == []  # core NATS only
    else:
        assert holders == [streams.stream_for(event)]


def test_every_stream_sets_its_duplicate_window_and_replicas_explicitly() -> None:
    for config in streams.stream_configs(replicas=3):
        assert config.duplicate_window
        assert config.duplicate_window > 0
        assert config.num_replicas == 3


def test_a_request_is_deduplicated_by_its_job_id() -> None:
    request = every_event()[0]
    again = request.model_copy(
        update={"event_id": ev.artifact_id_for(request.job_id, ev.ResourceRef(kind="volume", name="other"), "other")}
    )
    assert subjects.message_id(request) == subjects.message_id(again) == str(request.job_id)


def test_consumers_on_the_work_queue_never_overlap() -> None:
    """A work-queue stream refuses two consumers whose filters overlap."""
    filters = [
        streams.executor_consumer(HOST, t).filter_subject
        for t in (ev.BackupRequested, ev.RestoreRequested, ev.VerifyRequested)
    ]
    filters.append(streams.uploader_prune_consumer(HOST).filter_subject)
    assert len(set(filters)) == len(filters)
    assert all("*" not in f and ">" not in f for f in filters)


@given(
    st.lists(st.floats(min_value=0.01, max_value=3600), min_size=1, max_size=8), st.integers(min_value=1, max_value=20)
)
def test_the_retry_budget_ends_after_the_last_delay(delays: list[float], attempt: int) -> None:
    policy = streams.RetryPolicy(delays=tuple(delays))
    delay = policy.delay_after(attempt)
    if attempt <= len(delays):
        assert delay == delays[attempt - 1]
    else:
        assert delay is None
    assert policy.max_deliver == len(delays) + 1


def test_a_consumer_with_another_retry_policy_delivers_as_often_as_it_retries() -> None:
    spec = streams.executor_consumer(HOST, ev.BackupRequested).with_retry(streams.RetryPolicy(delays=(1, 2)))
    assert spec.config.max_deliver == 3
    assert spec.keep_alive_interval == pytest.approx(spec.config.ack_wait / 3)  # type: ignore[operator]
