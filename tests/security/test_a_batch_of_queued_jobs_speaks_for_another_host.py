"""A JobsQueued (the scheduler's announcement of a batch of jobs for one host) on host A's
subject carries an item for host B, or an item whose request is for B, or an item in B's plan:
the real gateway on the secured nats-server takes the host from the subject, refuses the
announcement whose items speak for another host (none of its jobs is recorded), refuses an
item in another host's plan on its own, and records the genuine items.

Only the scheduler and the gateway may publish on a `jobs_queued` subject (tests/transport);
what is tested here is that a body cannot make the gateway record a job for a host the
subject does not name, as for every other fact.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gateway.conftest import Gateway, settings_for
from gateway.job_facts import add_plan, job_in, job_of, queued
from prometheus_client import REGISTRY

from dockback_contracts import events as ev
from dockback_contracts import permissions, streams, subjects
from dockback_gateway.config import Settings
from harness.eventually import eventually
from harness.secured_nats import HOST_A, HOST_B, Connection, SecuredNats, connected

METRIC = "dockback_gateway_foreign_facts_total"


@pytest.fixture
def gateway_settings(database_url: str, secured_nats: SecuredNats, tmp_path: Path) -> Settings:
    """The real gateway on the secured server, as the `gateway` user."""
    return settings_for(
        database_url, secured_nats.url, tmp_path, nats_credentials_file=secured_nats.credentials_file("gateway")
    )


def _refused(kind: str, reason: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"kind": kind, "reason": reason}) or 0.0


def _item(host: str, *, request_host: str | None = None, **extra: object) -> ev.JobQueued:
    job_id = uuid.uuid4()
    item = queued(job_id, host=host, event_id=ev.queued_event_id(job_id), **extra)
    if request_host is not None:
        item = item.model_copy(update={"request": item.request.model_copy(update={"host_id": request_host})})
    return item


async def _announce(scheduler: Connection, items: list[ev.JobQueued]) -> None:
    announcement = ev.JobsQueued(host_id=HOST_A, jobs=items)
    ack = await scheduler.js.publish(
        subjects.fact(ev.JobsQueued, HOST_A),
        announcement.model_dump_json().encode(),
        stream=streams.EVENTS_STREAM,
        headers={"Nats-Msg-Id": subjects.message_id(announcement)},
    )
    assert ack.seq > 0


async def test_a_batch_with_an_item_for_another_host_is_refused_whole(
    gateway: Gateway, secured_nats: SecuredNats
) -> None:
    plan_b = await add_plan(gateway, host_id=HOST_B)
    genuine = _item(HOST_A)
    for_b = _item(HOST_B)
    request_for_b = _item(HOST_A, request_host=HOST_B)
    in_bs_plan = _item(HOST_A, plan_id=plan_b.id)
    also_genuine = _item(HOST_A)
    subject_key, plan_key = ("jobs_queued.v1", "subject_host"), ("job_queued.v1", "plan")
    expected_subject, expected_plan = _refused(*subject_key) + 2, _refused(*plan_key) + 1

    async with connected(secured_nats.settings(permissions.SCHEDULER)) as scheduler:
        await _announce(scheduler, [genuine, for_b])
        await _announce(scheduler, [genuine, request_for_b])
        await _announce(scheduler, [in_bs_plan, also_genuine])

    await eventually(lambda: job_in(gateway, also_genuine.job_id, "queued"))
    assert _refused(*subject_key) == expected_subject
    assert _refused(*plan_key) == expected_plan
    for refused in (genuine, for_b, request_for_b, in_bs_plan):
        assert await job_of(gateway, refused.job_id) is None, refused
