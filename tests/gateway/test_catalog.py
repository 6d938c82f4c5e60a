"""The artifact catalog on the real gateway: facts recorded from the bus, retention applied
per scope with PruneRequested on the jobs stream, verify now and scheduled checks, the
retention dry run and the catalog's pages."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from dockback_contracts import events as ev
from dockback_gateway.catalog import worker
from dockback_gateway.catalog.models import Artifact
from dockback_gateway.jobs.models import Job
from dockback_gateway.users.models import Role
from gateway.audited_callers import audit_rows, logged_in_as
from gateway.catalog_facts import (
    add_plan,
    archive_created,
    artifact_row,
    catalogued,
    hours,
    publish,
    snapshot_created,
)
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_requests import Request, exactly_one, requests_on
from harness.eventually import eventually


async def states(gateway: Gateway, *artifact_ids: uuid.UUID) -> list[str]:
    rows = [await artifact_row(gateway, a) for a in artifact_ids]
    return [row.state if row else "missing" for row in rows]


# -- recording -----------------------------------------------------------------------------------


async def test_an_archive_is_catalogued_once_however_often_it_is_announced(gateway: Gateway) -> None:
    event = archive_created("host-a", None, "pgdata", hours(0))
    await publish(gateway, event)
    await publish(gateway, event, message_id="a-redelivered-job-announcing-it-again")
    async with logged_in_admin(gateway) as client:
        await eventually(lambda: artifact_row(gateway, event.archive.artifact_id))
        listed = (await client.get("/artifacts", params={"host_id": "host-a"})).json()
        detail = (await client.get(f"/artifacts/{event.archive.artifact_id}")).json()
    assert [a["id"] for a in listed["items"]] == [str(event.archive.artifact_id)]
    assert detail["sha256"] == event.archive.sha256
    assert detail["size_bytes"] == event.archive.size_bytes
    assert detail["kind"] == "volume"
    assert detail["resource"] == {"kind": "volume", "name": "pgdata"}
    assert detail["plan_id"] is None
    assert detail["state"] == "available"
    assert detail["created_at"].startswith("2026-11-01T02:00:00")
    assert detail["manifest"]["archive"]["path"] == event.archive.path


async def test_a_containers_archives_are_of_the_kinds_their_roles_say(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    ids = {
        role: await catalogued(
            gateway, archive_created("host-a", None, "web", hours(0), kind="container", role=role, job_id=job_id)
        )
        for role in ("config", "image", "webdata", "bind/srv")
    }
    async with logged_in_admin(gateway) as client:
        kinds = {role: (await client.get(f"/artifacts/{i}")).json()["kind"] for role, i in ids.items()}
    assert kinds == {"config": "config", "image": "image", "webdata": "volume", "bind/srv": "bind"}


async def test_uploaded_copies_are_recorded_with_the_artifact(gateway: Gateway) -> None:
    event = archive_created("host-a", None, "pgdata", hours(0))
    artifact_id = await catalogued(gateway, event)
    upload = ev.UploadCompleted(
        job_id=event.job_id,
        host_id="host-a",
        artifact_id=artifact_id,
        target_id="offsite",
        bucket="dockback",
        key=f"host-a/{event.archive.path}",
        size_bytes=event.archive.size_bytes,
        sha256=event.archive.sha256,
        verified_by="full-read",
    )
    await publish(gateway, upload)
    await publish(gateway, upload, message_id="again")
    async with logged_in_admin(gateway) as client:

        async def copied() -> list[dict[str, Any]]:
            return list((await client.get(f"/artifacts/{artifact_id}")).json()["remote_copies"])

        copies = await eventually(copied)
        listed = (await client.get("/artifacts")).json()["items"]
    assert [(c["target_id"], c["key"], c["verified_by"]) for c in copies] == [
        ("offsite", f"host-a/{event.archive.path}", "full-read")
    ]
    assert listed[0]["copies"] == 1


async def test_verify_now_puts_a_verify_request_on_the_bus_and_records_the_outcome(gateway: Gateway) -> None:
    event = archive_created("host-a", None, "pgdata", hours(0))
    artifact_id = await catalogued(gateway, event)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        started = await client.post(f"/artifacts/{artifact_id}/verify")
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        request = await exactly_one(gateway, "dockback.jobs.host-a.verify")
        assert request.message_id == job_id
        verify = ev.VerifyRequested.model_validate(request.body, strict=False)
        assert verify.archive.artifact_id == artifact_id
        assert verify.archive.sha256 == event.archive.sha256
        assert verify.archive.path == event.archive.path

        await publish(
            gateway,
            ev.ArchiveVerified(
                job_id=uuid.UUID(job_id),
                host_id="host-a",
                artifact_id=artifact_id,
                sha256=event.archive.sha256,
                file_count=3,
            ),
        )

        async def verified() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get(f"/artifacts/{artifact_id}")).json()
            return body if body["verified"] else None

        detail = await eventually(verified)
        assert detail["verify_error"] is None
        assert [(v["job_id"], v["requested_by"], v["outcome"]) for v in detail["verifications"]] == [
            (job_id, "olga", "passed")
        ]
        assert [a["id"] for a in (await client.get("/artifacts", params={"verified": True})).json()["items"]] == [
            str(artifact_id)
        ]
    audits = await audit_rows(gateway, "artifact.verify")
    assert [(r.actor, r.target) for r in audits] == [("olga", str(artifact_id))]
    # the row names the backup, for the audit page to show a name instead of the bare id
    assert audits[0].details["resource"] == "volume pgdata"


async def test_a_failed_verification_marks_the_artifact(gateway: Gateway) -> None:
    artifact_id = await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(0)))
    async with logged_in_admin(gateway) as client:
        job_id = uuid.UUID((await client.post(f"/artifacts/{artifact_id}/verify")).json()["job_id"])
        await publish(
            gateway,
            ev.JobFailed(
                job_id=job_id,
                host_id="host-a",
                kind="verify",
                phase="verify",
                reason="archive x is corrupt: its sha256 is 00…, expected 11…",
                retryable=False,
            ),
        )

        async def failed() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get(f"/artifacts/{artifact_id}")).json()
            return body if body["verify_error"] else None

        detail = await eventually(failed)
        unverified = (await client.get("/artifacts", params={"verified": False})).json()["items"]
    assert detail["verified"] is False
    assert detail["verify_error"].startswith("archive x is corrupt")
    assert detail["verifications"][0]["outcome"] == "failed"
    assert [a["id"] for a in unverified] == [str(artifact_id)]


async def test_a_check_that_could_not_run_leaves_the_artifact_verified(gateway: Gateway) -> None:
    # A retryable failure (the host was offline, the reconciler gave up) says nothing about the
    # archive: it must not take away the "verified" that protects it from retention.
    artifact_id = await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(0)))
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(Artifact).where(Artifact.id == artifact_id).values(verified_at=hours(1)))
    async with logged_in_admin(gateway) as client:
        job_id = uuid.UUID((await client.post(f"/artifacts/{artifact_id}/verify")).json()["job_id"])
        await publish(
            gateway,
            ev.JobFailed(
                job_id=job_id,
                host_id="host-a",
                kind="verify",
                phase="queued",
                reason="host host-a is offline; the job never started",
                retryable=True,
            ),
        )

        async def check_failed() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get(f"/artifacts/{artifact_id}")).json()
            return body if body["verifications"][0]["outcome"] == "failed" else None

        detail = await eventually(check_failed)
    assert detail["verifications"][0]["error"] == "host host-a is offline; the job never started"
    assert detail["verified"] is True
    assert detail["verify_error"] is None


async def test_a_failed_check_the_catalog_did_not_issue_is_found_by_its_request(gateway: Gateway) -> None:
    event = archive_created("host-a", None, "pgdata", hours(0))
    artifact_id = await catalogued(gateway, event)
    job_id = uuid.uuid4()
    request = ev.VerifyRequested(job_id=job_id, host_id="host-a", archive=event.archive)
    async with gateway.app.state.sessions.begin() as db:
        db.add(Job(id=job_id, kind="verify", host_id="host-a", request=request.model_dump(mode="json")))
    await publish(
        gateway,
        ev.JobFailed(
            job_id=job_id, host_id="host-a", kind="verify", phase="verify", reason="truncated", retryable=False
        ),
    )

    async def marked() -> Artifact | None:
        row = await artifact_row(gateway, artifact_id)
        return row if row is not None and row.verify_error else None

    row = await eventually(marked)
    assert row.verify_error == "truncated"
    assert row.verified is False


async def test_verify_now_is_refused_for_a_pruned_artifact_and_for_viewers(gateway: Gateway) -> None:
    artifact_id = await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(0)))
    async with logged_in_as(gateway, "vera", Role.VIEWER) as viewer:
        assert (await viewer.post(f"/artifacts/{artifact_id}/verify")).status_code == 403
        assert (await viewer.get(f"/artifacts/{artifact_id}")).status_code == 200
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(Artifact).where(Artifact.id == artifact_id).values(state="pruned"))
    async with logged_in_admin(gateway) as client:
        refused = await client.post(f"/artifacts/{artifact_id}/verify")
        missing = await client.post(f"/artifacts/{uuid.uuid4()}/verify")
    assert refused.status_code == 409
    assert "pruned" in refused.json()["detail"]
    assert missing.status_code == 404
    assert await requests_on(gateway, "dockback.jobs.host-a.verify") == []


# -- retention -----------------------------------------------------------------------------------


async def test_the_archive_past_keep_last_prunes_the_oldest_of_its_scope_once(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=2)
    ids = [await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(i))) for i in range(3)]

    request = await exactly_one(gateway, "dockback.jobs.host-a.prune")
    prune = ev.PruneRequested.model_validate(request.body, strict=False)
    assert request.message_id == str(prune.job_id)
    assert prune.plan_id == plan_id
    assert prune.resource == ev.ResourceRef(kind="volume", name="pgdata")
    assert [a.artifact_id for a in prune.archives] == [ids[0]]
    assert await states(gateway, *ids) == ["pruning", "available", "available"]
    async with gateway.app.state.sessions() as db:
        job = await db.get(Job, prune.job_id)
    assert job is not None
    assert job.kind == "prune"
    assert job.request is not None

    await publish(
        gateway, ev.ArtifactsPruned(job_id=prune.job_id, host_id="host-a", plan_id=plan_id, artifact_ids=[ids[0]])
    )
    await eventually(lambda: states_are(gateway, ids, ["pruned", "available", "available"]))
    async with logged_in_admin(gateway) as client:
        pruned = (await client.get("/artifacts", params={"state": "pruned"})).json()["items"]
    assert [a["id"] for a in pruned] == [str(ids[0])]
    assert pruned[0]["pruned_at"] is not None


async def states_are(gateway: Gateway, ids: list[uuid.UUID], expected: list[str]) -> bool:
    return await states(gateway, *ids) == expected


async def test_plans_sharing_a_name_prefix_and_other_hosts_never_prune_each_other(gateway: Gateway) -> None:
    db_plan = await add_plan(gateway, "db", "host-a", keep_last=1)
    db_prod = await add_plan(gateway, "db-prod", "host-a", keep_last=1)
    db_on_b = await add_plan(gateway, "db on host-b", "host-b", keep_last=1)
    # db-prod's and host-b's archives of the same volume are older than all of db's on host-a.
    others = [
        await catalogued(gateway, archive_created("host-a", db_prod, "pgdata", hours(-5))),
        await catalogued(gateway, archive_created("host-b", db_on_b, "pgdata", hours(-5))),
    ]
    first = await catalogued(gateway, archive_created("host-a", db_plan, "pgdata", hours(0)))
    second = await catalogued(gateway, archive_created("host-a", db_plan, "pgdata", hours(1)))

    prune = ev.PruneRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.prune")).body, strict=False
    )
    assert [a.artifact_id for a in prune.archives] == [first]
    assert prune.plan_id == db_plan
    assert await requests_on(gateway, "dockback.jobs.host-b.prune") == []
    assert await states(gateway, *others, second) == ["available", "available", "available"]

    # A confirmation names artifacts of its own plan and host only; others are ignored.
    await publish(
        gateway, ev.ArtifactsPruned(job_id=uuid.uuid4(), host_id="host-b", plan_id=db_plan, artifact_ids=[first])
    )
    await publish(
        gateway, ev.ArtifactsPruned(job_id=uuid.uuid4(), host_id="host-a", plan_id=db_prod, artifact_ids=[first])
    )
    await publish(
        gateway,
        ev.ArtifactsPruned(job_id=prune.job_id, host_id="host-a", plan_id=db_plan, artifact_ids=[first, others[0]]),
    )
    await eventually(lambda: states_are(gateway, [first], ["pruned"]))
    assert await states(gateway, *others, second) == ["available", "available", "available"]


async def test_retention_forgets_exactly_the_snapshots_it_drops_in_their_plans_repository(gateway: Gateway) -> None:
    plan = await add_plan(gateway, "snapshots", "host-a", keep_last=1)
    other = await add_plan(gateway, "other", "host-a", keep_last=1)
    on_b = await add_plan(gateway, "snapshots on b", "host-b", keep_last=1)
    # an archive of the same series (the plan was `archive` before) and others' snapshots, all older
    kept = [
        await catalogued(gateway, archive_created("host-a", plan, "pgdata", hours(-9))),
        await catalogued(gateway, snapshot_created("host-a", other, "pgdata", hours(-8))),
        await catalogued(gateway, snapshot_created("host-b", on_b, "pgdata", hours(-7))),
    ]
    first = await catalogued(gateway, snapshot_created("host-a", plan, "pgdata", hours(0)))
    second = await catalogued(gateway, snapshot_created("host-a", plan, "pgdata", hours(1)))

    forget = ev.ForgetRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.forget")).body, strict=False
    )
    assert (forget.plan_id, forget.repository) == (plan, f"plan-{plan}")
    assert [s.artifact_id for s in forget.snapshots] == [first]
    assert await requests_on(gateway, "dockback.jobs.host-a.prune") == []  # no archive file is touched
    assert await states(gateway, first, second, *kept) == [
        "pruning",
        "available",
        "available",
        "available",
        "available",
    ]
    async with gateway.app.state.sessions() as db:
        job = await db.get(Job, forget.job_id)
    assert job is not None
    assert job.kind == "prune"

    await publish(
        gateway, ev.ArtifactsPruned(job_id=forget.job_id, host_id="host-a", plan_id=plan, artifact_ids=[first])
    )
    await eventually(lambda: states_are(gateway, [first, second], ["pruned", "available"]))


async def test_ad_hoc_archives_are_never_pruned_nor_counted(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=1)
    manual = [await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(i))) for i in range(3)]
    planned = [await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(10 + i))) for i in range(2)]
    prune = ev.PruneRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.prune")).body, strict=False
    )
    assert [a.artifact_id for a in prune.archives] == [planned[0]]
    assert await states(gateway, *manual) == ["available"] * 3


async def test_the_newest_verified_artifact_is_kept_past_keep_last(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=1)
    oldest = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(0)))
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(Artifact).where(Artifact.id == oldest).values(verified_at=hours(0)))
    middle = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(1)))
    newest = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(2)))
    prune = ev.PruneRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.prune")).body, strict=False
    )
    assert [a.artifact_id for a in prune.archives] == [middle]
    assert await states(gateway, oldest, middle, newest) == ["available", "pruning", "available"]


async def test_a_failed_prune_gives_its_artifacts_back_for_the_next_run(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=1)
    ids = [await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(i))) for i in range(2)]
    prune = ev.PruneRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.prune")).body, strict=False
    )
    await publish(
        gateway,
        ev.JobFailed(
            job_id=prune.job_id, host_id="host-a", kind="prune", phase="prune", reason="disk away", retryable=True
        ),
    )
    await eventually(lambda: states_are(gateway, ids, ["available", "available"]))
    third = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(2)))

    async def second_prune() -> list[Request]:
        found = await requests_on(gateway, "dockback.jobs.host-a.prune")
        return found if len(found) == 2 else []

    retried = ev.PruneRequested.model_validate((await eventually(second_prune))[1].body, strict=False)
    assert sorted(a.artifact_id for a in retried.archives) == sorted(ids)
    assert await states(gateway, *ids, third) == ["pruning", "pruning", "available"]


async def test_a_prune_its_uploader_reports_cancelled_gives_its_artifacts_back(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=1)
    ids = [await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(i))) for i in range(2)]
    prune = ev.PruneRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.prune")).body, strict=False
    )
    assert await states(gateway, *ids) == ["pruning", "available"]

    await publish(
        gateway,
        ev.JobCancelled(
            job_id=prune.job_id, host_id="host-a", kind="prune", phase="queued", reason="cancelled by olga"
        ),
    )

    await eventually(lambda: states_are(gateway, ids, ["available", "available"]))


async def test_an_artifact_an_open_restore_or_verify_reads_is_not_pruned_until_it_ends(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=1)
    restoring = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(0)))
    restore_id = uuid.uuid4()
    row = await artifact_row(gateway, restoring)
    assert row is not None
    restore = ev.RestoreRequested(
        job_id=restore_id,
        host_id="host-a",
        archive=ev.ArchiveRef(artifact_id=restoring, path=row.path, sha256=row.sha256, size_bytes=row.size_bytes),
        target=ev.RestoreTarget(kind="volume", name="pgdata-restored"),
        requested_by="olga",
    )
    async with gateway.app.state.sessions.begin() as db:
        db.add(Job(id=restore_id, kind="restore", host_id="host-a", request=restore.model_dump(mode="json")))
    verifying = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(1)))
    async with logged_in_admin(gateway) as client:
        assert (await client.post(f"/artifacts/{verifying}/verify")).status_code == 202
    newest = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(2)))

    assert await requests_on(gateway, "dockback.jobs.host-a.prune") == []
    assert await states(gateway, restoring, verifying, newest) == ["available"] * 3

    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(Job).where(Job.kind.in_(("restore", "verify"))).values(status="succeeded"))
    latest = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(3)))
    prune = ev.PruneRequested.model_validate(
        (await exactly_one(gateway, "dockback.jobs.host-a.prune")).body, strict=False
    )
    assert sorted(a.artifact_id for a in prune.archives) == sorted([restoring, verifying, newest])
    assert await states(gateway, latest) == ["available"]


async def test_the_retention_dry_run_shows_reasons_and_changes_nothing(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=3)
    ids = [await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(i))) for i in range(3)]
    async with logged_in_as(gateway, "vera", Role.VIEWER) as viewer:
        own = await viewer.post("/artifacts/retention-preview", json={"plan_id": str(plan_id)})
        tighter = await viewer.post(
            "/artifacts/retention-preview",
            json={"plan_id": str(plan_id), "retention": {"keep_last": 1, "keep_minimum": 1}},
        )
        unknown = await viewer.post("/artifacts/retention-preview", json={"plan_id": str(uuid.uuid4())})
        invalid = await viewer.post(
            "/artifacts/retention-preview", json={"plan_id": str(plan_id), "retention": {"keep_minimum": 0}}
        )
    assert own.status_code == 200, own.text
    assert [len(s["keep"]) for s in own.json()["scopes"]] == [3]
    assert own.json()["delete_count"] == 0

    assert tighter.status_code == 200, tighter.text
    scope = tighter.json()["scopes"][0]
    assert (scope["host_id"], scope["resource"], scope["role"]) == (
        "host-a",
        {"kind": "volume", "name": "pgdata"},
        "pgdata",
    )
    assert [v["artifact_id"] for v in scope["keep"]] == [str(ids[2])]
    assert scope["keep"][0]["reasons"] == ["keep_last 1"]
    assert [v["artifact_id"] for v in scope["delete"]] == [str(ids[1]), str(ids[0])]
    assert all(v["reasons"][0].startswith("kept by no rule") for v in scope["delete"])
    assert tighter.json()["delete_count"] == 2

    assert unknown.status_code == 404
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["field"].startswith("retention.keep_minimum")
    assert await states(gateway, *ids) == ["available"] * 3
    assert await requests_on(gateway, "dockback.jobs.host-a.prune") == []


# -- scheduled verification ----------------------------------------------------------------------


async def test_scheduled_verification_checks_the_newest_artifact_of_each_scope_once_per_slot(gateway: Gateway) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    plan_id = await add_plan(gateway, "db", "host-a", verify_cron="*/10 * * * *", created_at=now - timedelta(days=3))
    old, newest = [
        await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", now - timedelta(hours=h)))
        for h in (3, 2)
    ]
    other_scope = await catalogued(gateway, archive_created("host-a", plan_id, "cache", now - timedelta(hours=5)))
    young_plan = await add_plan(
        gateway, "young", "host-a", verify_cron="0 0 1 1 *", created_at=now - timedelta(hours=1)
    )
    await catalogued(gateway, archive_created("host-a", young_plan, "pgdata", now - timedelta(minutes=30)))

    sessions = gateway.app.state.sessions
    issued = await worker.schedule_verifications(sessions, now)
    again = await worker.schedule_verifications(sessions, now)  # another replica, or a restart
    assert len(issued) == 2
    assert again == []

    async def two_requests() -> list[Request]:
        found = await requests_on(gateway, "dockback.jobs.host-a.verify")
        return found if len(found) >= 2 else []

    found = await eventually(two_requests)
    checked = {ev.VerifyRequested.model_validate(r.body, strict=False).archive.artifact_id for r in found}
    assert checked == {newest, other_scope}
    assert old not in checked
    assert {r.message_id for r in found} == {str(j) for j in issued}
    async with sessions() as db:
        jobs = (await db.scalars(select(Job).where(Job.kind == "verify"))).all()
    assert all(j.scheduled_for is not None and j.plan_id == plan_id for j in jobs)


# -- reading the catalog -------------------------------------------------------------------------


async def test_the_catalog_pages_newest_first_with_filters(gateway: Gateway) -> None:
    ids = [await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(i))) for i in range(5)]
    elsewhere = await catalogued(gateway, archive_created("host-b", None, "cache", hours(9)))
    async with logged_in_as(gateway, "vera", Role.VIEWER) as client:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"host_id": "host-a", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/artifacts", params=params)).json()
            seen += [a["id"] for a in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        by_name = (await client.get("/artifacts", params={"resource_kind": "volume", "resource_name": "cache"})).json()
        bad_cursor = await client.get("/artifacts", params={"cursor": "not-a-cursor"})
        bad_state = await client.get("/artifacts", params={"state": "gone"})
        # Values PostgreSQL cannot take (a time out of its range once in UTC, a NUL byte): 422, not 500.
        far = base64.urlsafe_b64encode(f"9999-12-31T23:59:59-14:00|{uuid.uuid4()}".encode()).decode()
        beyond = [
            await client.get("/artifacts", params={"cursor": far}),
            await client.get("/artifacts", params={"host_id": "a\x00b"}),
            await client.get("/artifacts", params={"resource_name": "a\x00b"}),
        ]
    assert seen == [str(i) for i in reversed(ids)]
    assert [a["id"] for a in by_name["items"]] == [str(elsewhere)]
    assert bad_cursor.status_code == 422
    assert "cursor" in bad_cursor.json()["detail"]
    assert bad_state.status_code == 422
    assert bad_state.json()["detail"][0]["field"] == "state"
    assert [b.status_code for b in beyond] == [422, 422, 422], [b.text for b in beyond]


# -- deleting a backup ---------------------------------------------------------------------------


async def listed_ids(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get("/artifacts", params=params)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


async def test_an_operator_deletes_an_ad_hoc_backup_everywhere_and_it_leaves_the_list(gateway: Gateway) -> None:
    event = archive_created("host-a", None, "pgdata", hours(0))
    artifact_id = await catalogued(gateway, event)
    kept = await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(1)))
    key = f"host-a/{event.archive.path}"
    await publish(
        gateway,
        ev.UploadCompleted(
            job_id=event.job_id,
            host_id="host-a",
            artifact_id=artifact_id,
            target_id="offsite",
            bucket="b",
            key=key,
            size_bytes=event.archive.size_bytes,
            sha256=event.archive.sha256,
            verified_by="metadata",
        ),
    )
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as client:
        await eventually(lambda: _has_copy(client, artifact_id))
        started = await client.delete(f"/artifacts/{artifact_id}")
        assert started.status_code == 202, started.text
        job_id = uuid.UUID(started.json()["job_id"])

        request = await exactly_one(gateway, "dockback.jobs.host-a.delete")
        deletion = ev.DeleteRequested.model_validate(request.body, strict=False)
        assert request.message_id == str(job_id)
        assert (deletion.job_id, deletion.plan_id, deletion.requested_by) == (job_id, None, "olga")
        assert deletion.archive.artifact_id == artifact_id
        assert deletion.archive.path == event.archive.path
        assert deletion.archive.remote_locations == (f"offsite:{key}",)
        assert await listed_ids(client) == [str(kept)]
        assert await states(gateway, artifact_id, kept) == ["pruning", "available"]
        async with gateway.app.state.sessions() as db:
            job = await db.get(Job, job_id)
        assert job is not None
        assert (job.kind, job.status, job.requested_by) == ("prune", "queued", "olga")

        await publish(
            gateway, ev.ArtifactsPruned(job_id=job_id, host_id="host-a", plan_id=None, artifact_ids=[artifact_id])
        )
        await eventually(lambda: states_are(gateway, [artifact_id], ["pruned"]))
        assert await listed_ids(client) == [str(kept)]
        assert await listed_ids(client, state="pruned") == [str(artifact_id)]
        finished = (await client.get(f"/jobs/{job_id}")).json()
        again = await client.delete(f"/artifacts/{artifact_id}")
    assert finished["status"] == "succeeded"
    assert again.status_code == 409
    assert "already deleted by olga" in again.json()["detail"]
    [audit] = await audit_rows(gateway, "artifact.delete")
    assert (audit.actor, audit.target, audit.outcome) == ("olga", str(artifact_id), "success")
    assert audit.details["job_id"] == str(job_id)
    assert audit.details["remote_copies"] == [f"offsite:{key}"]
    assert len(await requests_on(gateway, "dockback.jobs.host-a.delete")) == 1


async def _has_copy(client: httpx.AsyncClient, artifact_id: uuid.UUID) -> bool:
    return bool((await client.get(f"/artifacts/{artifact_id}")).json()["remote_copies"])


async def test_a_viewer_cannot_delete_a_backup(gateway: Gateway) -> None:
    artifact_id = await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(0)))
    async with logged_in_as(gateway, "vera", Role.VIEWER) as viewer:
        refused = await viewer.delete(f"/artifacts/{artifact_id}")
        listed = await listed_ids(viewer)
    assert refused.status_code == 403
    assert listed == [str(artifact_id)]
    assert await states(gateway, artifact_id) == ["available"]
    assert await requests_on(gateway, "dockback.jobs.host-a.delete") == []
    assert await audit_rows(gateway, "artifact.delete") == []


async def test_deleting_is_refused_while_a_restore_or_a_verify_reads_the_backup(gateway: Gateway) -> None:
    artifact_id = await catalogued(gateway, archive_created("host-a", None, "pgdata", hours(0)))
    row = await artifact_row(gateway, artifact_id)
    assert row is not None
    restore_id = uuid.uuid4()
    restore = ev.RestoreRequested(
        job_id=restore_id,
        host_id="host-a",
        archive=ev.ArchiveRef(artifact_id=artifact_id, path=row.path, sha256=row.sha256, size_bytes=row.size_bytes),
        target=ev.RestoreTarget(kind="volume", name="pgdata-restored"),
        requested_by="olga",
    )
    async with gateway.app.state.sessions.begin() as db:
        db.add(
            Job(
                id=restore_id,
                kind="restore",
                host_id="host-a",
                status="running",
                request=restore.model_dump(mode="json"),
            )
        )
    async with logged_in_admin(gateway) as client:
        during_restore = await client.delete(f"/artifacts/{artifact_id}")
        async with gateway.app.state.sessions.begin() as db:
            await db.execute(update(Job).where(Job.id == restore_id).values(status="succeeded"))
        verify_id = (await client.post(f"/artifacts/{artifact_id}/verify")).json()["job_id"]
        during_verify = await client.delete(f"/artifacts/{artifact_id}")
        still_listed = await listed_ids(client)
    assert during_restore.status_code == 409
    assert f"restore job {restore_id} (running)" in during_restore.json()["detail"]
    assert during_verify.status_code == 409
    assert f"verify job {verify_id} (queued)" in during_verify.json()["detail"]
    assert still_listed == [str(artifact_id)]
    assert await states(gateway, artifact_id) == ["available"]
    assert await requests_on(gateway, "dockback.jobs.host-a.delete") == []
    assert await audit_rows(gateway, "artifact.delete") == []


async def test_deleting_is_refused_while_the_backup_job_that_made_it_runs(gateway: Gateway) -> None:
    event = archive_created("host-a", None, "pgdata", hours(0))
    artifact_id = await catalogued(gateway, event)
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(Job).where(Job.id == event.job_id).values(status="running", finished_at=None))
    async with logged_in_admin(gateway) as client:
        refused = await client.delete(f"/artifacts/{artifact_id}")
        missing = await client.delete(f"/artifacts/{uuid.uuid4()}")
    assert refused.status_code == 409
    assert f"backup job {event.job_id}, which is still running" in refused.json()["detail"]
    assert missing.status_code == 404
    assert await states(gateway, artifact_id) == ["available"]


async def test_a_deletion_that_fails_gives_the_backup_back(gateway: Gateway) -> None:
    plan_id = await add_plan(gateway, "db", "host-a", keep_last=5)
    artifact_id = await catalogued(gateway, archive_created("host-a", plan_id, "pgdata", hours(0)))
    async with logged_in_admin(gateway) as client:
        job_id = uuid.UUID((await client.delete(f"/artifacts/{artifact_id}")).json()["job_id"])
        deletion = ev.DeleteRequested.model_validate(
            (await exactly_one(gateway, "dockback.jobs.host-a.delete")).body, strict=False
        )
        assert deletion.plan_id == plan_id
        assert await listed_ids(client) == []
        await publish(
            gateway,
            ev.JobFailed(
                job_id=job_id,
                host_id="host-a",
                kind="prune",
                phase="prune",
                reason="refused to delete archives not provably of the request's scope, deleted nothing: …",
                retryable=False,
            ),
        )
        await eventually(lambda: states_are(gateway, [artifact_id], ["available"]))
        assert await listed_ids(client) == [str(artifact_id)]
        assert (await client.delete(f"/artifacts/{artifact_id}")).status_code == 202  # and may be tried again
