"""Every job the gateway queues (a backup run by hand, a restore, a verification, a prune) is
queued the same way: it is on the live feed once its transaction commits and its log starts
with a "queued" line. And the feed hears the state a fact's transaction committed, once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from dockback_gateway.jobs.feed import FEED, News
from dockback_gateway.users.models import Role
from gateway.audited_callers import logged_in_as
from gateway.catalog_facts import add_plan, archive_created, catalogued, hours
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_facts import archived, log_of, publish, queued
from gateway.restore_steps import backed_up_volume, confirm, new_volume, preview

HOST = "host-a"


async def news_about(queue: asyncio.Queue[News], wanted: Callable[[News], bool]) -> News:
    """The first status news on `queue` that `wanted` accepts (others, e.g. the backups that
    made the archives, pass by)."""

    async def first() -> News:
        while True:
            news = await queue.get()
            if news.kind == "job" and wanted(news):
                return news

    return await asyncio.wait_for(first(), 10)


def about(job_id: str | uuid.UUID) -> Callable[[News], bool]:
    return lambda news: news.job_id == uuid.UUID(str(job_id))


async def queued_line(gateway: Gateway, job_id: str | uuid.UUID) -> tuple[str, str, dict[str, Any]]:
    lines = await log_of(gateway, uuid.UUID(str(job_id)))
    assert lines, f"job {job_id} has no log"
    first = lines[0]
    return first.type, first.message, first.data


async def test_a_confirmed_restore_is_on_the_live_feed_and_logged_as_queued(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    with FEED.listen() as feed:
        async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
            token = (await preview(client, artifact_id, new_volume())).json()["token"]
            accepted = await confirm(client, token, "pgdata-restored")
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
        news = await news_about(feed, about(job_id))
    assert (news.data["kind"], news.data["status"], news.data["requested_by"]) == ("restore", "queued", "olga")
    assert (news.data["resource_kind"], news.data["resource_name"]) == ("volume", "pgdata-restored")
    assert await queued_line(gateway, job_id) == (
        "gateway.queued",
        "queued by olga (restore into volume pgdata-restored)",
        {"requested_by": "olga"},
    )


async def test_a_verification_asked_for_is_on_the_live_feed_and_logged_as_queued(gateway: Gateway) -> None:
    artifact_id = await catalogued(gateway, archive_created(HOST, None, "pgdata", hours(0)))
    with FEED.listen() as feed:
        async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
            started = await client.post(f"/artifacts/{artifact_id}/verify")
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]
        news = await news_about(feed, about(job_id))
    assert (news.data["kind"], news.data["status"], news.data["resource_name"]) == ("verify", "queued", "pgdata")
    assert await queued_line(gateway, job_id) == (
        "gateway.queued",
        "queued by olga (check of the archive of volume pgdata)",
        {"requested_by": "olga"},
    )


async def test_a_prune_queued_by_retention_is_on_the_live_feed_and_logged_as_queued(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", HOST, keep_last=2)
    with FEED.listen() as feed:
        for i in range(3):
            await catalogued(gateway, archive_created(HOST, plan_id, "pgdata", hours(i)))
        news = await news_about(feed, lambda n: n.data["kind"] == "prune")
    assert (news.data["status"], news.data["plan_id"], news.data["resource_name"]) == (
        "queued",
        str(plan_id),
        "pgdata",
    )
    assert await queued_line(gateway, news.job_id) == (
        "gateway.queued",
        "queued (prune of 1 archive(s) of volume pgdata that the plan's retention drops)",
        {"requested_by": None},
    )


async def test_a_backup_run_by_hand_is_on_the_live_feed_and_logged_as_queued(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", HOST)
    with FEED.listen() as feed:
        async with logged_in_admin(gateway) as admin:
            response = await admin.post("/jobs", json={"plan_id": str(plan_id)})
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
        news = await news_about(feed, about(job_id))
    assert (news.data["kind"], news.data["status"]) == ("backup", "queued")
    assert await queued_line(gateway, job_id) == (
        "gateway.queued",
        "queued by admin (plan run)",
        {"requested_by": "admin"},
    )


async def test_the_feed_hears_the_state_a_fact_left_not_the_steps_to_it(gateway: Gateway) -> None:
    # The last archive of a backup without uploads moves it queued -> running -> succeeded in
    # one transaction (the handler, then the settle step): the listener hears "succeeded" once.
    job_id = uuid.uuid4()
    with FEED.listen(job_id) as feed:
        await publish(gateway, queued(job_id))
        await publish(gateway, archived(job_id))
        news = await news_about(feed, about(job_id))
        assert (news.data["status"], news.data["phase"]) == ("succeeded", "archive")
