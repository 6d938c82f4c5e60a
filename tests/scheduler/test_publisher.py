"""`publish_acked` on a real nats-server: what an ack, a duplicate, a missing stream and a refused
publish each come back as."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import nats.js.errors
from nats.js import JetStreamContext

from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_scheduler.publisher import TRANSIENT, Message, message_for, publish_acked

from .conftest import HOST, stored


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
