"""The restore flow on the real gateway: preview against what the host says now (a stand-in
executor on its own NATS connection answers), or its reported inventory when it does not answer,
confirmation with a token bound to one user and one plan of action, exactly one
RestoreRequested on the host's jobs subject, refusals with their reasons, the safety lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg
from sqlalchemy import select, update

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.control import TargetUsers, TargetUsersQuery
from dockback_contracts.inventory import ContainerInfo, VolumeInfo, VolumeUser
from dockback_gateway.catalog.models import Artifact
from dockback_gateway.jobs.models import Job, JobLogEntry
from dockback_gateway.restores.models import RestoreConfirmation
from dockback_gateway.users.models import Role
from dockback_runtime.connection import server_has_subscriptions
from gateway.audited_callers import audit_rows, logged_in_as
from gateway.catalog_facts import archive_created, catalogued
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_requests import exactly_one, requests_on
from gateway.restore_steps import (
    HOST,
    RESTORE_SUBJECT,
    T0,
    backed_up_volume,
    confirm,
    known_host,
    new_volume,
    preview,
)
from harness.eventually import eventually

# -- the happy path ------------------------------------------------------------------------------


async def test_preview_then_confirm_puts_exactly_one_restore_request_on_the_hosts_subject(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        previewed = await preview(client, artifact_id, new_volume())
        assert previewed.status_code == 200, previewed.text
        body = previewed.json()
        assert body["target_exists"] is False
        assert body["overwrites"] is False
        assert body["stops"] == []
        assert body["confirm_name"] is None, "nothing is overwritten: no name to type"
        assert body["backup_first"] is False, "nothing to back up"
        assert body["archive"]["host_id"] == HOST
        assert body["archive"]["size_bytes"] > 0
        assert len(body["archive"]["sha256"]) == 64
        assert previewed.headers["cache-control"] == "no-store"
        expires = datetime.fromisoformat(body["expires_at"])
        assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5)

        accepted = await confirm(client, body["token"], None)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        assert accepted.json()["backup_job_id"] is None

    request = await exactly_one(gateway, RESTORE_SUBJECT)
    assert request.message_id == job_id
    restore = ev.RestoreRequested.model_validate(request.body, strict=False)
    assert str(restore.job_id) == job_id
    assert restore.archive.artifact_id == artifact_id
    assert restore.archive.sha256 == body["archive"]["sha256"]
    assert restore.target == ev.RestoreTarget(kind="volume", name="pgdata-restored")
    assert restore.requested_by == "olga"
    assert restore.backup_first is None
    async with gateway.app.state.sessions() as db:
        job = await db.get(Job, uuid.UUID(job_id))
        token_rows = (await db.scalars(select(RestoreConfirmation))).all()
    assert job is not None
    assert (job.kind, job.status, job.requested_by, job.resource_name) == (
        "restore",
        "queued",
        "olga",
        "pgdata-restored",
    )
    assert [len(r.token_sha256) for r in token_rows] == [64]
    assert body["token"] not in str(token_rows[0].action)
    audits = await audit_rows(gateway, "restore.request")
    assert [(a.actor, a.outcome, a.details["job_id"]) for a in audits] == [("olga", "success", job_id)]
    assert body["token"] not in str(audits[0].details)


async def test_the_preview_says_what_is_overwritten_and_which_containers_stop(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client:
        body = (await preview(client, artifact_id, new_volume("pgdata", replace_existing=True, allow_stop=True))).json()
    assert body["target_exists"] is True
    assert body["overwrites"] is True
    assert body["stops"] == ["db"]
    assert body["volumes"] == [
        {
            "name": "pgdata",
            "exists": True,
            "overwritten": True,
            "used_by": [{"container_id": "c0ffee", "container_name": "db", "running": True, "will_stop": True}],
        }
    ]
    assert "db" in body["summary"]


async def test_the_preview_refuses_what_the_executor_would_refuse(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client:
        existing = await preview(client, artifact_id, new_volume("pgdata"))
        in_use = await preview(client, artifact_id, new_volume("pgdata", replace_existing=True))
        wrong_kind = await preview(client, artifact_id, {"kind": "container", "name": "db"})
        unused = await preview(client, artifact_id, new_volume("spare", replace_existing=True))
        bad_name = await preview(client, artifact_id, new_volume("../etc"))
        unknown = await preview(client, uuid.uuid4(), new_volume())
    assert existing.status_code == 409
    assert existing.json()["detail"].startswith("target.replace_existing: ")
    assert "choose Original" in existing.json()["detail"], "words for the control a person has"
    assert "set replace_existing" not in existing.json()["detail"]
    assert in_use.status_code == 409
    assert in_use.json()["detail"].startswith("target.allow_stop: ")
    assert "allow stopping them" in in_use.json()["detail"]
    assert "db (running)" in in_use.json()["detail"]
    assert wrong_kind.status_code == 422
    assert "target.kind" in wrong_kind.json()["detail"]
    assert unused.status_code == 200
    assert unused.json()["overwrites"] is True
    assert unused.json()["stops"] == []
    assert bad_name.status_code == 422
    assert bad_name.json()["detail"][0]["field"] == "target.name"
    assert unknown.status_code == 404


async def test_a_pruned_artifact_or_one_without_a_local_copy_cannot_be_restored(gateway: Gateway) -> None:
    pruned = await backed_up_volume(gateway)
    remote_only = await catalogued(gateway, archive_created(HOST, None, "pgdata", T0 + timedelta(hours=1)))
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(Artifact).where(Artifact.id == pruned).values(state="pruned"))
        await db.execute(update(Artifact).where(Artifact.id == remote_only).values(local_present=False))
    async with logged_in_admin(gateway) as client:
        gone = await preview(client, pruned, new_volume())
        remote = await preview(client, remote_only, new_volume())
    assert gone.status_code == 409
    assert "pruned" in gone.json()["detail"]
    assert remote.status_code == 409
    assert "remote copy" in remote.json()["detail"]


async def test_a_host_that_never_reported_its_inventory_gets_no_preview(gateway: Gateway) -> None:
    artifact_id = await catalogued(gateway, archive_created("host-z", None, "pgdata", T0))
    async with logged_in_admin(gateway) as client:
        refused = await preview(client, artifact_id, new_volume())
    assert refused.status_code == 409
    assert "host-z" in refused.json()["detail"]


# -- tokens --------------------------------------------------------------------------------------


async def test_a_stale_token_is_refused(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        token = (await preview(client, artifact_id, new_volume())).json()["token"]
        async with gateway.app.state.sessions.begin() as db:
            await db.execute(update(RestoreConfirmation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        refused = await confirm(client, token, "pgdata-restored")
    assert refused.status_code == 409
    assert "expired" in refused.json()["detail"]
    assert await requests_on(gateway, RESTORE_SUBJECT) == []
    audits = await audit_rows(gateway, "restore.request")
    assert [(a.actor, a.outcome) for a in audits] == [("olga", "failure")]
    assert "expired" in audits[0].details["reason"]
    # a refusal makes no job: the row names the backup instead, for the audit page to show
    assert audits[0].details["resource"] == "volume pgdata"


async def test_a_token_works_once(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        token = (await preview(client, artifact_id, new_volume())).json()["token"]
        first = await confirm(client, token, "pgdata-restored")
        second = await confirm(client, token, "pgdata-restored")
    assert first.status_code == 202
    assert second.status_code == 409
    assert "used" in second.json()["detail"]
    await exactly_one(gateway, RESTORE_SUBJECT)


async def test_a_token_confirmed_twice_at_once_issues_one_restore(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        token = (await preview(client, artifact_id, new_volume())).json()["token"]
        answers = await asyncio.gather(*(confirm(client, token, "pgdata-restored") for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [202, 409]
    await exactly_one(gateway, RESTORE_SUBJECT)


async def test_a_token_belongs_to_the_user_it_was_issued_to(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as olga:
        token = (await preview(olga, artifact_id, new_volume())).json()["token"]
        async with logged_in_as(gateway, "otto", Role.OPERATOR) as otto:
            foreign = await confirm(otto, token, "pgdata-restored")
            unknown = await confirm(otto, "x" * 43, "pgdata-restored")
        own = await confirm(olga, token, "pgdata-restored")
    assert foreign.status_code == 403
    assert "another user" in foreign.json()["detail"]
    assert unknown.status_code == 403
    assert "unknown" in unknown.json()["detail"]
    assert own.status_code == 202, own.text
    outcomes = [(a.actor, a.outcome) for a in await audit_rows(gateway, "restore.request")]
    assert outcomes == [("otto", "failure"), ("otto", "failure"), ("olga", "success")]


async def test_the_target_name_must_be_typed_exactly(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        token = (await preview(client, artifact_id, new_volume())).json()["token"]
        wrong = await confirm(client, token, "pgdata")
        right = await confirm(client, token, "pgdata-restored")
    assert wrong.status_code == 422
    assert "confirm_name" in wrong.json()["detail"]
    assert right.status_code == 202, "a mistyped name does not use the token up"


async def test_replacing_an_existing_volume_still_needs_its_name_typed(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        body = (await preview(client, artifact_id, new_volume("pgdata", replace_existing=True, allow_stop=True))).json()
        assert body["confirm_name"] == "pgdata"
        untyped = await confirm(client, body["token"], None)
        wrong = await confirm(client, body["token"], "pgdata-restored")
        right = await confirm(client, body["token"], "pgdata")
    assert untyped.status_code == 422
    assert "type the target's name 'pgdata'" in untyped.json()["detail"]
    assert wrong.status_code == 422
    assert right.status_code == 202, right.text


async def test_replacing_a_volume_backs_up_its_current_data_first_unless_turned_off(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    replace = new_volume("pgdata", replace_existing=True, allow_stop=True)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        body = (await preview(client, artifact_id, replace)).json()
        assert body["backup_first"] is True, "on by default"
        assert "backed up first" in body["summary"]
        accepted = (await confirm(client, body["token"], "pgdata")).json()
        without = (await preview(client, artifact_id, replace, backup_first=False)).json()
        assert without["backup_first"] is False
        assert "backed up first" not in without["summary"]
        accepted_without = (await confirm(client, without["token"], "pgdata")).json()

    async def both() -> list[Any]:
        found = await requests_on(gateway, RESTORE_SUBJECT)
        return found if len(found) == 2 else []

    requests = {r.message_id: r for r in await eventually(both)}
    restore = ev.RestoreRequested.model_validate(requests[accepted["job_id"]].body, strict=False)
    assert restore.backup_first is not None
    assert str(restore.backup_first.job_id) == accepted["backup_job_id"] != accepted["job_id"]
    assert restore.backup_first.resource == ev.ResourceRef(kind="volume", name="pgdata")
    assert (restore.backup_first.host_id, restore.backup_first.plan_id) == (HOST, None)
    assert restore.backup_first.requested_by == "olga"
    async with gateway.app.state.sessions() as db:
        queued = await db.scalar(
            select(JobLogEntry.message).where(
                JobLogEntry.job_id == restore.job_id, JobLogEntry.type == "gateway.queued"
            )
        )
    assert f"after a backup of its current data (job {restore.backup_first.job_id})" in str(queued)
    unguarded = ev.RestoreRequested.model_validate(requests[accepted_without["job_id"]].body, strict=False)
    assert unguarded.backup_first is None
    assert accepted_without["backup_job_id"] is None


async def test_replacing_a_container_backs_up_the_container_and_its_volumes_first(gateway: Gateway) -> None:
    await known_host(gateway)
    job_id = uuid.uuid4()
    config = await catalogued(
        gateway, archive_created(HOST, None, "db", T0, kind="container", role="config", job_id=job_id)
    )
    await catalogued(gateway, archive_created(HOST, None, "db", T0, kind="container", role="pgdata", job_id=job_id))
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        replace = await preview(
            client, config, {"kind": "container", "name": "db", "replace_existing": True, "allow_stop": True}
        )
        beside = await preview(client, config, {"kind": "container", "name": "db-copy"})
        body = replace.json()
        assert body["backup_first"] is True, "on by default"
        assert "The current data of container 'db' and its volumes is backed up first" in body["summary"]
        assert beside.json()["backup_first"] is False, "nothing is replaced"
        accepted = (await confirm(client, body["token"], "db")).json()

    [request] = await eventually(lambda: requests_on(gateway, RESTORE_SUBJECT))
    restore = ev.RestoreRequested.model_validate(request.body, strict=False)
    assert restore.backup_first is not None
    assert str(restore.backup_first.job_id) == accepted["backup_job_id"] != accepted["job_id"]
    assert restore.backup_first.resource == ev.ResourceRef(kind="container", name="db")


# -- who may do what, and the lock ---------------------------------------------------------------


async def test_while_restores_are_locked_previews_work_and_confirmations_are_refused(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as admin:
        locked = await admin.put("/restores/lock", json={"locked": True, "reason": "storage migration tonight"})
        assert locked.status_code == 200, locked.text
        async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
            previewed = await preview(client, artifact_id, new_volume())
            assert previewed.status_code == 200
            refused = await confirm(client, previewed.json()["token"], "pgdata-restored")
            assert refused.status_code == 423
            assert "storage migration tonight" in refused.json()["detail"]
            assert "admin" in refused.json()["detail"]
            async with logged_in_as(gateway, "vera", Role.VIEWER) as viewer:
                state = (await viewer.get("/restores/lock")).json()
            assert state["locked"] is True
            assert state["reason"] == "storage migration tonight"
            assert state["changed_by"] == "admin"

            unlocked = await admin.put("/restores/lock", json={"locked": False})
            assert unlocked.json()["locked"] is False
            assert unlocked.json()["reason"] is None
            accepted = await confirm(client, previewed.json()["token"], "pgdata-restored")
            assert accepted.status_code == 202, "the token outlives the lock while it is valid"
    await exactly_one(gateway, RESTORE_SUBJECT)
    assert [(a.actor, a.details["reason"]) for a in await audit_rows(gateway, "restore.lock")] == [
        ("admin", "storage migration tonight")
    ]
    assert [a.actor for a in await audit_rows(gateway, "restore.unlock")] == ["admin"]


async def test_viewers_may_neither_preview_nor_confirm_and_only_admins_set_the_lock(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as operator:
        token = (await preview(operator, artifact_id, new_volume())).json()["token"]
        lock_attempt = await operator.put("/restores/lock", json={"locked": True, "reason": "mine"})
        async with logged_in_as(gateway, "vera", Role.VIEWER) as viewer:
            viewer_preview = await preview(viewer, artifact_id, new_volume())
            viewer_confirm = await confirm(viewer, token, "pgdata-restored")
            viewer_lock = await viewer.get("/restores/lock")
    assert lock_attempt.status_code == 403
    assert viewer_preview.status_code == 403
    assert viewer_confirm.status_code == 403
    assert viewer_lock.status_code == 200
    assert viewer_lock.json()["locked"] is False
    assert await requests_on(gateway, RESTORE_SUBJECT) == []
    assert await audit_rows(gateway, "restore.lock") == []


async def test_a_container_preview_covers_the_volumes_restored_with_it(gateway: Gateway) -> None:
    await known_host(gateway)
    job_id = uuid.uuid4()
    config = await catalogued(
        gateway, archive_created(HOST, None, "db", T0, kind="container", role="config", job_id=job_id)
    )
    await catalogued(gateway, archive_created(HOST, None, "db", T0, kind="container", role="pgdata", job_id=job_id))
    container = {"kind": "container", "name": "db"}
    async with logged_in_admin(gateway) as client:
        beside = await preview(client, config, {"kind": "container", "name": "db-copy"})
        existing = await preview(client, config, container)
        running = await preview(client, config, {**container, "replace_existing": True})
        replace = await preview(client, config, {**container, "replace_existing": True, "allow_stop": True})
    assert beside.status_code == 200, beside.text
    assert existing.status_code == 409
    assert "choose Original to replace it" in existing.json()["detail"], "words for the control a person has"
    assert beside.json()["overwrites"] is False
    assert [(v["name"], v["exists"]) for v in beside.json()["volumes"]] == [("db-copy-pgdata", False)]
    assert running.status_code == 409
    assert "allow_stop" in running.json()["detail"]
    assert replace.status_code == 200, replace.text
    assert replace.json()["container"]["will_stop"] is True
    assert [(v["name"], v["overwritten"], v["used_by"]) for v in replace.json()["volumes"]] == [("pgdata", True, [])]
    assert replace.json()["stops"] == ["db"]


# -- what the host says now, and the inventory when it does not answer ----------------------------


@asynccontextmanager
async def host_answering(
    gateway: Gateway, answer: Callable[[TargetUsersQuery], TargetUsers | None]
) -> AsyncIterator[list[TargetUsersQuery]]:
    """A stand-in for the host's executor on its own connection, answering the preview's question
    (None: it hears the question and stays silent); yields the questions it got."""
    questions: list[TargetUsersQuery] = []
    nc = await nats.connect(gateway.settings.nats_url)

    async def on_question(msg: Msg) -> None:
        question = TargetUsersQuery.model_validate_json(msg.data)
        questions.append(question)
        reply = answer(question)
        if reply is not None:
            await msg.respond(reply.model_dump_json().encode())

    try:
        await nc.subscribe(subjects.target_users(HOST), queue="executors", cb=on_question)
        await server_has_subscriptions(nc)  # before the gateway asks
        yield questions
    finally:
        await nc.close()


def now_used_by(*users: VolumeUser, host_id: str = HOST, problem: str | None = None) -> TargetUsers:
    """The host's answer: pgdata exists and these containers use it now."""
    volume = VolumeInfo(name="pgdata", driver="local", used_by=users)
    return TargetUsers(
        host_id=host_id, volumes=() if problem else (volume,), problem=problem, checked_at=datetime.now(UTC)
    )


DB = VolumeUser(container_id="c0ffee", container_name="db", running=True)
WORKER = VolumeUser(container_id="beef", container_name="worker", running=True)


async def test_the_preview_names_the_containers_the_host_says_use_the_target_now(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    replace = new_volume("pgdata", replace_existing=True, allow_stop=True)
    async with logged_in_admin(gateway) as client, host_answering(gateway, lambda _: now_used_by(DB, WORKER)) as asked:
        refused = await preview(client, artifact_id, new_volume("pgdata", replace_existing=True))
        body = (await preview(client, artifact_id, replace)).json()
    assert [q.volumes for q in asked] == [("pgdata",), ("pgdata",)]
    assert refused.status_code == 409
    assert "worker (running)" in refused.json()["detail"], "created after the last inventory"
    assert body["stops"] == ["db", "worker"]
    assert body["checked_on_host"] is True
    assert datetime.fromisoformat(body["checked_at"]) > datetime.fromisoformat(body["inventory_at"])
    assert body["fallback"] is None
    assert "'worker'" in body["summary"]


async def test_a_container_preview_asks_about_the_container_and_its_volumes(gateway: Gateway) -> None:
    await known_host(gateway)
    job_id = uuid.uuid4()
    config = await catalogued(
        gateway, archive_created(HOST, None, "db", T0, kind="container", role="config", job_id=job_id)
    )
    await catalogued(gateway, archive_created(HOST, None, "db", T0, kind="container", role="pgdata", job_id=job_id))
    copy = ContainerInfo(id="d00d", name="db-copy", image="postgres:16", image_id="sha256:aa", state="exited")

    def created_since(question: TargetUsersQuery) -> TargetUsers:
        return TargetUsers(host_id=HOST, containers=(copy,), checked_at=datetime.now(UTC))

    async with logged_in_admin(gateway) as client, host_answering(gateway, created_since) as asked:
        beside = await preview(client, config, {"kind": "container", "name": "db-copy"})
    assert [(q.containers, q.volumes) for q in asked] == [(("db-copy",), ("db-copy-pgdata",))]
    assert beside.status_code == 409, "db-copy exists now, though the inventory does not list it"
    assert "replace_existing" in beside.json()["detail"]


async def test_with_no_executor_connected_the_preview_is_from_the_inventory_and_says_so(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client:
        body = (await preview(client, artifact_id, new_volume("pgdata", replace_existing=True, allow_stop=True))).json()
    assert body["stops"] == ["db"]
    assert body["checked_on_host"] is False
    assert body["checked_at"] is None
    inventory_at = datetime.fromisoformat(body["inventory_at"]).astimezone(UTC)
    assert body["fallback"] == (
        f"No executor of host {HOST} is connected: this preview is from the host's inventory of "
        f"{inventory_at:%Y-%m-%d %H:%M:%S} UTC, so a container created or started since then is not listed. "
        "The executor checks the target again before it writes."
    )


async def test_a_host_that_does_not_answer_in_time_gets_a_preview_from_its_inventory_that_says_so(
    gateway: Gateway,
) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client, host_answering(gateway, lambda _: None) as asked:
        started = asyncio.get_running_loop().time()
        previewed = await preview(client, artifact_id, new_volume("pgdata", replace_existing=True, allow_stop=True))
        waited = asyncio.get_running_loop().time() - started
    assert previewed.status_code == 200, previewed.text
    body = previewed.json()
    assert len(asked) == 1
    assert 2 <= waited < 10
    assert body["checked_on_host"] is False
    assert body["fallback"].startswith(
        f"Host {HOST} did not answer within 2 s: this preview is from the host's inventory"
    )
    assert body["stops"] == ["db"]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (now_used_by(problem="Docker Engine error on containers: EOF"), "could not read its Docker Engine"),
        (now_used_by(DB, WORKER, host_id="host-b"), "Host host-b answered instead of host host-a"),
    ],
)
async def test_an_answer_the_preview_cannot_use_leaves_it_on_the_inventory(
    gateway: Gateway, answer: TargetUsers, said: str
) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client, host_answering(gateway, lambda _: answer):
        body = (await preview(client, artifact_id, new_volume("pgdata", replace_existing=True, allow_stop=True))).json()
    assert body["checked_on_host"] is False
    assert said in body["fallback"]
    assert body["stops"] == ["db"]


@pytest.mark.parametrize(
    "name",
    [
        "pgdata:restored",  # an image's character, not a volume's
        "pg data",  # refused by every rule: still the volume's rule, not the image's ':', '/' and '@'
        "p" * 256,  # too long: the rule says how long a name may be
    ],
)
async def test_a_volume_name_docker_refuses_is_refused_with_dockers_rule_in_words(gateway: Gateway, name: str) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client:
        refused = await preview(client, artifact_id, new_volume(name))
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["field"] == "target.name"
    assert error["message"] == (
        "Use letters, digits, '_', '.' or '-', starting with a letter or a digit, at most 255 characters "
        "(Docker's rule for volume and container names)"
    )
