"""`publish_acked` on a real nats-server: what an ack, a duplicate, a missing stream and a refused
publish each come back as."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import nats.js.errors
from nats.js import JetStreamContext

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_scheduler.publisher import TRANSIENT, Message, message_for, publish_acked
from dockback_scheduler.service import announcement_json, firing

from .conftest import HOST, make_plan, stored


def request() -> ev.BackupRequested:
    return ev.BackupRequested(
        job_id=uuid.uuid4(),
        host_id=HOST,
        plan_id=uuid.uuid4(),
        targets=(ev.TargetSelector(kind="volume", names=("pgdata",)),),
        scheduled_for=datetime.now(UTC),
    )


async def test_every_message_is_acked_once_stored_and_a_duplicate_is_acked_and_stored_once(
    js: JetStreamContext,
) -> None:
    messages = [message_for(request()) for _ in range(300)]
    assert await publish_acked(js, messages, 5.0) == [None] * 300
    assert await publish_acked(js, messages[:10], 5.0) == [None] * 10  # a retry whose first ack was lost
    held = await stored(js, streams.JOBS_STREAM)
    assert sorted(msg_id or "" for _, msg_id in held) == sorted(m.headers["Nats-Msg-Id"] for m in messages)  # type: ignore[index]


async def test_a_subject_no_stream_holds_is_a_transient_error_and_a_refused_publish_an_api_error(
    js: JetStreamContext,
) -> None:
    good = message_for(request())
    nowhere = Message("dockback-test.nowhere", b"{}", {"Nats-Msg-Id": str(uuid.uuid4())})
    wrong_stream = good._replace(stream="NOT_THE_STREAM", headers={"Nats-Msg-Id": str(uuid.uuid4())})
    results = await publish_acked(js, [nowhere, good, wrong_stream], 5.0)
    assert isinstance(results[0], nats.js.errors.NoStreamResponseError)
    assert isinstance(results[0], TRANSIENT)
    assert results[1] is None
    assert isinstance(results[2], nats.js.errors.APIError)
    assert not isinstance(results[2], nats.js.errors.ServiceUnavailableError)


def test_an_announcement_built_from_requests_serialised_once_is_the_json_of_the_event() -> None:
    """The scheduler serialises each request once, for its own message, and splices those bytes
    into its JobsQueued: the body must be exactly what serialising the whole event gives, for
    plans with every kind of field set and with only the defaults."""
    now = datetime.now(UTC)
    plans = [
        make_plan(),
        make_plan(
            name="full",
            targets=(
                ev.TargetSelector(kind="container", labels={"app": 'we"ird\\'}, compose_project="shop"),
                ev.TargetSelector(kind="volume", names=("a", "ünïcode")),
            ),
            options=ev.BackupOptions(
                compression_level=7,
                stop_containers=True,
                pre_commands=(ev.HookCommand(container="db", command=("pg_dump", "-f", "/x y")),),
                include_image=True,
            ),
            upload_targets=("s3-main", "b2"),
        ),
    ]
    built = [firing(plan, now.replace(microsecond=0) - timedelta(seconds=n), now) for n, plan in enumerate(plans)]
    assert all(json == request.model_dump_json().encode() for request, json, _ in built)
    event = ev.JobsQueued.model_construct(
        event_id=uuid.uuid4(), occurred_at=now, host_id=HOST, jobs=tuple(queued for _, _, queued in built)
    )
    body = announcement_json(event, [json for _, json, _ in built])
    assert body == event.model_dump_json().encode()
    assert ev.JobsQueued.model_validate_json(body) == event
    assert message_for(event, body).payload == message_for(event).payload
