"""Succeeded-job digests on the gateway: one JobSucceeded per job on the bus, and the
per-channel `succeeded_digest` flag stored, returned and published in the snapshot."""

from __future__ import annotations

import uuid

from nats.errors import TimeoutError as NatsTimeoutError
from sqlalchemy import func, select

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.streams import EVENTS_STREAM
from dockback_gateway.outbox.models import OutboxMessage
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_facts import HOST, archived, job_in, publish, queued, recorder_idle, started
from gateway.settings_bodies import SMTP, WEBHOOK, published_snapshot
from harness.eventually import eventually


async def succeeded_on_the_bus(gateway: Gateway) -> list[ev.JobSucceeded]:
    js = gateway.app.state.broker.connection.jetstream()
    sub = await js.pull_subscribe(subjects.fact(ev.JobSucceeded, HOST), stream=EVENTS_STREAM)
    found: list[ev.JobSucceeded] = []
    try:
        while True:
            try:
                batch = await sub.fetch(10, timeout=0.5)
            except NatsTimeoutError:
                return found
            found.extend(ev.JobSucceeded.model_validate_json(m.data) for m in batch)
    finally:
        await sub.unsubscribe()


async def outbox_relayed(gateway: Gateway) -> bool:
    """Whether every event the gateway wrote to its outbox is on the bus (a row is marked
    published in the transaction that took it, after the server acknowledged it)."""
    async with gateway.app.state.sessions() as db:
        unpublished = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        return await db.scalar(unpublished) == 0


async def test_a_job_reaching_succeeded_puts_exactly_one_job_succeeded_on_the_bus(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, started(job_id))
    last = archived(job_id)
    await publish(gateway, last)
    await eventually(lambda: job_in(gateway, job_id, "succeeded"))
    # the same fact again under another message id (the bus does not drop it), and a late start
    js = gateway.app.state.broker.connection.jetstream()
    await js.publish(subjects.subject_for(last), last.model_dump_json().encode(), headers={"Nats-Msg-Id": "again"})
    await publish(gateway, started(job_id, attempt=2))

    [event] = await eventually(lambda: succeeded_on_the_bus(gateway))
    # A second JobSucceeded, if the recorder wrote one, would be on the bus once every fact
    # published so far is recorded (acked after its transaction, outbox row included, committed)
    # and what those transactions wrote to the outbox has gone out; in that order.
    await eventually(lambda: recorder_idle(gateway))
    await eventually(lambda: outbox_relayed(gateway))
    found = await succeeded_on_the_bus(gateway)

    assert [e.job_id for e in found] == [job_id]
    assert (event.kind, event.host_id, event.resource) == ("backup", HOST, ev.ResourceRef(kind="volume", name="pgdata"))
    job = await job_in(gateway, job_id, "succeeded")
    assert job is not None
    assert job.finished_at is not None
    assert event.finished_at == job.finished_at.replace(tzinfo=event.finished_at.tzinfo)


async def test_the_succeeded_digest_flag_round_trips_and_reaches_the_snapshot(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        smtp = await client.put("/settings/smtp", json={**SMTP, "succeeded_digest": True})
        hook = await client.post("/settings/webhooks", json={**WEBHOOK, "succeeded_digest": True})
        other = await client.post("/settings/webhooks", json={**WEBHOOK, "webhook_id": "quiet"})
        assert [r.status_code for r in (smtp, hook, other)] == [200, 201, 201], [smtp.text, hook.text, other.text]
        assert (smtp.json()["succeeded_digest"], hook.json()["succeeded_digest"]) == (True, True)
        assert other.json()["succeeded_digest"] is False

        _, snapshot = await published_snapshot(gateway)
        assert snapshot.smtp is not None
        assert snapshot.smtp.succeeded_digest
        assert {w.webhook_id: w.succeeded_digest for w in snapshot.webhooks} == {"chat": True, "quiet": False}

        off = await client.put("/settings/webhooks/chat", json={"url": WEBHOOK["url"], "succeeded_digest": False})
        assert off.status_code == 200, off.text
        assert (await client.get("/settings")).json()["smtp"]["succeeded_digest"] is True
        _, snapshot = await published_snapshot(gateway)
        assert {w.webhook_id: w.succeeded_digest for w in snapshot.webhooks} == {"chat": False, "quiet": False}
