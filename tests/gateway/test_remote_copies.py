"""Remote copies on the real gateway: a plan's local-copies policy (API, stored, in the
scheduler's and uploader's snapshot), the uploader's LocalCopiesRemoved recorded in the
catalog, requests that name each verified remote copy, and a restore of an archive whose
local copy is gone going to the host's uploader as FetchRequested."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from dockback_contracts import events as ev
from dockback_gateway.catalog.models import Artifact
from dockback_gateway.catalog.repository import copies_of
from dockback_gateway.jobs.models import Job
from dockback_gateway.users.models import Role
from gateway.audited_callers import audit_rows, logged_in_as
from gateway.catalog_facts import add_plan, archive_created, artifact_row, catalogued, hours, publish
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_requests import exactly_one, requests_on
from gateway.plan_requests import create, known_host, plan_body, refusal, snapshot
from gateway.restore_steps import HOST, RESTORE_SUBJECT, T0, backed_up_volume, confirm, new_volume, preview
from harness.eventually import eventually

FETCH_SUBJECT = f"dockback.jobs.{HOST}.fetch"
TARGET = {
    "target_id": "offsite",
    "endpoint": "s3.example.net",
    "bucket": "archives",
    "access_key": "access-key-1",
    "secret_key": "secret-key-1",
}


async def add_target(client: httpx.AsyncClient, target_id: str = "offsite") -> None:
    assert (await client.post("/settings/targets", json={**TARGET, "target_id": target_id})).status_code == 201


def uploaded(artifact: ev.ArchiveCreated, target_id: str = "offsite") -> ev.UploadCompleted:
    return ev.UploadCompleted(
        job_id=artifact.job_id,
        host_id=artifact.host_id,
        artifact_id=artifact.archive.artifact_id,
        target_id=target_id,
        bucket="archives",
        key=f"{artifact.host_id}/{artifact.archive.path}",
        size_bytes=artifact.archive.size_bytes,
        sha256=artifact.archive.sha256,
        verified_by="metadata",
    )


async def copied(gateway: Gateway, event: ev.ArchiveCreated, *target_ids: str) -> list[str]:
    """Publish the uploads of `event` and wait until the catalog has them; their locations."""
    for target_id in target_ids:
        await publish(gateway, uploaded(event, target_id))

    async def recorded() -> bool:
        async with gateway.app.state.sessions() as db:
            copies = await copies_of(db, [event.archive.artifact_id])
        return len(copies[event.archive.artifact_id]) == len(target_ids)

    await eventually(recorded)
    return [f"{t}:{event.host_id}/{event.archive.path}" for t in sorted(target_ids)]


# -- plans: the local-copies policy --------------------------------------------------------------


async def test_a_plans_local_copies_policy_round_trips_and_reaches_its_snapshot(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        await add_target(client)
        default = await create(client, name="default")
        chosen = await create(
            client, name="chosen", upload_targets=["offsite"], local_copies={"keep": "last", "last": 3}
        )
        changed = await client.put(
            f"/plans/{chosen['id']}",
            json={
                "name": "chosen",
                "targets": chosen["targets"],
                "cron": chosen["cron"],
                "upload_targets": ["offsite"],
                "local_copies": {"keep": "none"},
            },
        )
        read = (await client.get(f"/plans/{chosen['id']}")).json()
    assert default["local_copies"] == {"keep": "all", "last": 1}
    assert chosen["local_copies"] == {"keep": "last", "last": 3}
    assert changed.status_code == 200, changed.text
    assert read["local_copies"] == {"keep": "none", "last": 1}
    assert read["revision"] == 2
    assert (await snapshot(gateway, default["id"])).local_copies.keep == "all"
    published = await snapshot(gateway, chosen["id"])
    assert (published.local_copies.keep, published.local_copies.last, published.revision) == ("none", 1, 2)


async def test_a_bad_local_copies_policy_is_refused_naming_the_field(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        await add_target(client)
        answers = {
            "zero": await client.post(
                "/plans", json=plan_body(upload_targets=["offsite"], local_copies={"keep": "last", "last": 0})
            ),
            "unknown keep": await client.post(
                "/plans", json=plan_body(upload_targets=["offsite"], local_copies={"keep": "some"})
            ),
            "stray field": await client.post(
                "/plans", json=plan_body(upload_targets=["offsite"], local_copies={"keep": "all", "lats": 2})
            ),
            "nowhere to copy": await client.post("/plans", json=plan_body(local_copies={"keep": "none"})),
        }
    assert "local_copies.last" in refusal(answers["zero"])
    assert "local_copies.keep" in refusal(answers["unknown keep"])
    assert "local_copies" in refusal(answers["stray field"])
    assert "upload_targets" in refusal(answers["nowhere to copy"])


# -- catalog -----------------------------------------------------------------------------------


async def test_local_copies_removed_marks_only_that_hosts_and_plans_artifacts(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=10)
    other_plan = await add_plan(gateway, "db-prod", "host-a", keep_last=10)
    mine = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(0)))
    kept = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(1)))
    theirs = await catalogued(gateway, archive_created("host-a", other_plan, "pgdata", hours(0)))
    # The removal names an artifact of another plan too: the catalog ignores that one.
    await publish(
        gateway,
        ev.LocalCopiesRemoved(job_id=uuid.uuid4(), host_id="host-a", plan_id=plan_id, artifact_ids=(mine, theirs)),
    )

    async def removed() -> bool:
        row = await artifact_row(gateway, mine)
        return row is not None and row.local_present is False

    await eventually(removed)
    rows = [await artifact_row(gateway, a) for a in (mine, kept, theirs)]
    assert [(r.local_present, r.state) for r in rows if r] == [
        (False, "available"),
        (True, "available"),
        (True, "available"),
    ]
    async with logged_in_admin(gateway) as client:
        detail = (await client.get(f"/artifacts/{mine}")).json()
        verify = await client.post(f"/artifacts/{mine}/verify")
    assert detail["local_present"] is False
    assert verify.status_code == 409
    assert "no copy on host" in verify.json()["detail"]


async def test_a_prune_names_each_verified_remote_copy_of_its_artifacts(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=1)
    oldest = archive_created("host-a", plan_id, "pgdata", hours(0))
    await catalogued(gateway, oldest)
    locations = await copied(gateway, oldest, "offsite", "cold")
    await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(1)))

    request = await exactly_one(gateway, "dockback.jobs.host-a.prune")
    prune = ev.PruneRequested.model_validate(request.body, strict=False)
    assert [(a.artifact_id, a.remote_locations) for a in prune.archives] == [
        (oldest.archive.artifact_id, tuple(locations))
    ]


# -- restores from a remote copy -----------------------------------------------------------------


async def remote_only_volume(gateway: Gateway) -> uuid.UUID:
    """An archive of pgdata copied to offsite whose local copy the uploader removed."""
    await backed_up_volume(gateway)  # the host's inventory, and an older archive that stays local
    event = archive_created(HOST, None, "pgdata", T0 + timedelta(hours=1))
    artifact_id = await catalogued(gateway, event)
    await copied(gateway, event, "offsite")
    await publish(gateway, ev.LocalCopiesRemoved(job_id=uuid.uuid4(), host_id=HOST, artifact_ids=(artifact_id,)))

    async def removed() -> bool:
        row = await artifact_row(gateway, artifact_id)
        return row is not None and row.local_present is False

    await eventually(removed)
    return artifact_id


async def test_a_restore_of_a_remote_only_archive_fetches_it_through_the_hosts_uploader(gateway: Gateway) -> None:
    artifact_id = await remote_only_volume(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        previewed = await preview(client, artifact_id, new_volume())
        assert previewed.status_code == 200, previewed.text
        body = previewed.json()
        accepted = await confirm(client, body["token"], "pgdata-restored")
    assert body["fetch_from"] == ["offsite"]
    assert "downloaded from the S3 target 'offsite'" in body["summary"]
    assert "sha256" in body["summary"]
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]

    request = await exactly_one(gateway, FETCH_SUBJECT)
    assert request.message_id == job_id
    fetch = ev.FetchRequested.model_validate(request.body, strict=False)
    assert str(fetch.job_id) == job_id
    assert fetch.host_id == HOST
    assert fetch.archive.artifact_id == artifact_id
    assert fetch.archive.remote_locations[0].startswith("offsite:")
    assert len(fetch.archive.remote_locations) == 1
    assert str(fetch.restore.job_id) == job_id
    assert fetch.restore.archive == fetch.archive
    assert fetch.restore.target == ev.RestoreTarget(kind="volume", name="pgdata-restored")
    assert fetch.restore.requested_by == "olga"
    assert await requests_on(gateway, RESTORE_SUBJECT) == []
    async with gateway.app.state.sessions() as db:
        job = await db.get(Job, uuid.UUID(job_id))
    assert job is not None
    assert (job.kind, job.status) == ("restore", "queued")
    assert job.request == request.body  # what the reconciler would publish again
    audits = await audit_rows(gateway, "restore.request")
    assert [(a.outcome, a.details["fetch_from"]) for a in audits] == [("success", ["offsite"])]


async def test_an_archive_with_neither_a_local_nor_a_remote_copy_cannot_be_restored(gateway: Gateway) -> None:
    artifact_id = await backed_up_volume(gateway)
    async with logged_in_admin(gateway) as client:
        token = (await preview(client, artifact_id, new_volume())).json()["token"]
        async with gateway.app.state.sessions.begin() as db:
            await db.execute(update(Artifact).where(Artifact.id == artifact_id).values(local_present=False))
        previewed = await preview(client, artifact_id, new_volume())
        confirmed = await confirm(client, token, "pgdata-restored")
    assert previewed.status_code == 409
    assert "no verified remote copy" in previewed.json()["detail"]
    assert confirmed.status_code == 409
    assert "no verified remote copy" in confirmed.json()["detail"]
    assert await requests_on(gateway, FETCH_SUBJECT) == []
    assert await requests_on(gateway, RESTORE_SUBJECT) == []


async def test_an_archive_still_on_its_host_is_restored_from_there(gateway: Gateway) -> None:
    event = archive_created(HOST, None, "pgdata", T0)
    await backed_up_volume(gateway)  # the inventory
    artifact_id = await catalogued(gateway, event)
    await copied(gateway, event, "offsite")
    async with logged_in_admin(gateway) as client:
        body = (await preview(client, artifact_id, new_volume())).json()
        assert (await confirm(client, body["token"], "pgdata-restored")).status_code == 202
    assert body["fetch_from"] == []
    restore = ev.RestoreRequested.model_validate((await exactly_one(gateway, RESTORE_SUBJECT)).body, strict=False)
    assert restore.archive.remote_locations[0].startswith("offsite:")
    assert await requests_on(gateway, FETCH_SUBJECT) == []
