"""Jobs on the real gateway: the recorder's state machine fed through the real bus, the
/jobs routes (list, detail, run now, cancel, live events)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from dockback_contracts import events as ev
from dockback_contracts import subjects
from dockback_contracts.snapshots import JobCancellation
from dockback_contracts.streams import CANCELS_BUCKET, JOBS_STREAM
from dockback_gateway import recording
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.catalog import recording as catalog_recording
from dockback_gateway.jobs import recording as jobs_recording
from dockback_gateway.jobs.models import Job, JobLogEntry
from gateway.accounts import create_user, first_login
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_facts import (
    HOST,
    SHA,
    add_host,
    add_plan,
    archived,
    failed,
    job_in,
    job_of,
    log_of,
    publish,
    queued,
    started,
)
from harness.eventually import eventually
from harness.processes import free_port


@asynccontextmanager
async def user_with_role(gateway: Gateway, admin: httpx.AsyncClient, role: str) -> AsyncIterator[httpx.AsyncClient]:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    await create_user(admin, name, role)
    async with first_login(gateway, name) as client:
        yield client


# -- the recorder --------------------------------------------------------------------------------


async def test_a_job_goes_queued_running_succeeded_as_its_facts_arrive(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    job = await eventually(lambda: job_in(gateway, job_id, "queued"))
    assert job.kind == "backup"
    assert job.resource_name == "pgdata"
    assert job.request is not None
    assert job.request["job_id"] == str(job_id)

    await publish(gateway, started(job_id))
    job = await eventually(lambda: job_in(gateway, job_id, "running"))
    assert job.attempts == 1
    assert job.started_at is not None

    await publish(gateway, archived(job_id))
    job = await eventually(lambda: job_in(gateway, job_id, "succeeded"))
    assert job.finished_at is not None
    messages = [line.message for line in await log_of(gateway, job_id)]
    assert messages[1:] == ["attempt 1 started", f"archive pgdata 12.3 MiB (sha256 {SHA[:8]}…) written"]


async def test_a_backup_with_uploads_succeeds_once_every_target_has_a_copy(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id, upload_targets=("s3-a", "s3-b")))
    archive = archived(job_id, upload_targets=("s3-a", "s3-b"))
    await publish(gateway, archive)
    job = await eventually(lambda: _phase(gateway, job_id, "upload"))
    assert job.status == "running"

    for target in ("s3-a", "s3-b"):
        await publish(
            gateway,
            ev.UploadCompleted(
                job_id=job_id,
                host_id=HOST,
                artifact_id=archive.archive.artifact_id,
                target_id=target,
                bucket="backups",
                key=f"{HOST}/{archive.archive.artifact_id}",
                size_bytes=archive.archive.size_bytes,
                sha256=SHA,
                verified_by="metadata",
            ),
        )
        if target == "s3-a":
            await eventually(lambda: _lines(gateway, job_id, 3))
            job = await job_of(gateway, job_id)
            assert job is not None
            assert job.status == "running", "one of two targets is not done"
    await eventually(lambda: job_in(gateway, job_id, "succeeded"))


async def test_a_backup_is_settled_from_what_is_stored_whatever_order_the_domains_record_in(
    gateway: Gateway,
) -> None:
    # The jobs and catalog handlers of a fact may run in either order: the backup is settled
    # after both, from the archives and copies the catalog really stored.
    orders = {
        "jobs first": recording.merge(jobs_recording.HANDLERS, catalog_recording.HANDLERS),
        "catalog first": recording.merge(catalog_recording.HANDLERS, jobs_recording.HANDLERS),
    }
    for order, handlers in orders.items():
        recorder = recording.Recorder(gateway.app.state.sessions, handlers, jobs_recording.SETTLE)
        job_id = uuid.uuid4()
        archive = archived(job_id, upload_targets=("s3-a",))
        await recorder.record(queued(job_id, upload_targets=("s3-a",)))
        await recorder.record(archive)
        job = await job_of(gateway, job_id)
        assert job is not None
        assert (job.status, job.phase) == ("running", "upload"), order
        await recorder.record(
            ev.UploadCompleted(
                job_id=job_id,
                host_id=HOST,
                artifact_id=archive.archive.artifact_id,
                target_id="s3-a",
                bucket="backups",
                key=f"{HOST}/{archive.archive.artifact_id}",
                size_bytes=archive.archive.size_bytes,
                sha256=SHA,
                verified_by="metadata",
            )
        )
        job = await job_of(gateway, job_id)
        assert job is not None
        assert (job.status, job.phase) == ("succeeded", "upload"), order


async def _phase(gateway: Gateway, job_id: uuid.UUID, phase: str) -> Job | None:
    job = await job_of(gateway, job_id)
    return job if job is not None and job.phase == phase else None


async def _lines(gateway: Gateway, job_id: uuid.UUID, count: int) -> list[JobLogEntry] | None:
    lines = await log_of(gateway, job_id)
    return lines if len(lines) >= count else None


async def test_a_failed_job_keeps_its_reason_and_a_late_start_does_not_reopen_it(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, started(job_id))
    await publish(gateway, failed(job_id))
    job = await eventually(lambda: job_in(gateway, job_id, "failed"))
    assert job.error == "the volume pgdata does not exist"
    assert job.phase == "archive"
    assert job.retryable is False

    await publish(gateway, started(job_id, attempt=2))
    lines = await eventually(lambda: _lines(gateway, job_id, 4))
    assert lines[-1].message == "attempt 2 started"
    job = await job_of(gateway, job_id)
    assert job is not None
    assert job.status == "failed"
    assert job.finished_at is not None


async def test_a_failure_reported_after_success_is_only_logged(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, archived(job_id))
    await eventually(lambda: job_in(gateway, job_id, "succeeded"))
    await publish(gateway, failed(job_id, reason="the post-command failed"))
    lines = await eventually(lambda: _lines(gateway, job_id, 3))
    assert (
        lines[-1].message == "failed in phase archive: the post-command failed (reported after the job had succeeded)"
    )
    job = await job_of(gateway, job_id)
    assert job is not None
    assert job.status == "succeeded"
    assert job.error is None


async def test_facts_that_come_twice_or_before_the_job_was_queued_are_recorded_once(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    first_start = started(job_id, resource=ev.ResourceRef(kind="volume", name="pgdata"))
    await publish(gateway, first_start)  # before its JobQueued: the job is made from what it says
    job = await eventually(lambda: job_in(gateway, job_id, "running"))
    assert job.request is None
    assert job.resource_name == "pgdata"

    js = gateway.app.state.broker.connection.jetstream()
    # The same event again under another Nats-Msg-Id (past the stream's duplicate window).
    await js.publish(subjects.subject_for(first_start), first_start.model_dump_json().encode())
    await publish(gateway, queued(job_id))
    job = await eventually(lambda: _with_request(gateway, job_id))
    assert job.status == "running", "a late JobQueued does not move the job back"
    lines = await log_of(gateway, job_id)
    assert [line.type for line in lines] == ["job_started.v1", "job_queued.v1"]


async def test_a_jobs_queued_from_two_schedulers_records_each_of_its_jobs_queued_once(gateway: Gateway) -> None:
    """Two scheduler replicas batch the same slots differently; the items' event ids agree."""
    job_ids = [uuid.uuid4() for _ in range(3)]
    items = [queued(job_id, event_id=ev.queued_event_id(job_id)) for job_id in job_ids]
    await publish(gateway, ev.JobsQueued(host_id=HOST, jobs=items[:2]))
    await publish(gateway, ev.JobsQueued(host_id=HOST, jobs=items[1:]))
    for job_id in job_ids:
        job = await eventually(lambda job_id=job_id: job_in(gateway, job_id, "queued"))
        assert job.request is not None
        assert job.request["job_id"] == str(job_id)
    # Job 2 is only in the second batch, recorded in one transaction: job 1 was in it too.
    for job_id in job_ids:
        assert [line.type for line in await log_of(gateway, job_id)] == ["job_queued.v1"]


async def _with_request(gateway: Gateway, job_id: uuid.UUID) -> Job | None:
    job = await job_of(gateway, job_id)
    return job if job is not None and job.request is not None else None


async def test_a_job_cancelled_by_its_executor_ends_cancelled(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, started(job_id))
    await publish(
        gateway,
        ev.JobCancelled(job_id=job_id, host_id=HOST, kind="backup", phase="archive", reason="cancelled by alice"),
    )
    job = await eventually(lambda: job_in(gateway, job_id, "cancelled"))
    assert job.error == "cancelled by alice"
    await publish(gateway, archived(job_id))
    await eventually(lambda: _lines(gateway, job_id, 4))
    job = await job_of(gateway, job_id)
    assert job is not None
    assert job.status == "cancelled"


# -- GET /jobs -----------------------------------------------------------------------------------


async def test_jobs_are_listed_newest_first_a_page_at_a_time(gateway: Gateway) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [uuid.uuid4() for _ in range(7)]
    for n, job_id in enumerate(ids):
        await publish(
            gateway, queued(job_id, host="host-a" if n % 2 else "host-b", occurred_at=base + timedelta(minutes=n))
        )
    async with logged_in_admin(gateway) as admin:
        await eventually(lambda: _count(admin, 7))
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = (await admin.get("/jobs", params=params)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [str(i) for i in reversed(ids)]

        on_a = (await admin.get("/jobs", params={"host_id": "host-a"})).json()["items"]
        assert [item["id"] for item in on_a] == [str(ids[5]), str(ids[3]), str(ids[1])]
        window = {
            "since": (base + timedelta(minutes=2)).isoformat(),
            "until": (base + timedelta(minutes=4)).isoformat(),
        }
        assert [i["id"] for i in (await admin.get("/jobs", params=window)).json()["items"]] == [
            str(ids[3]),
            str(ids[2]),
        ]
        assert (await admin.get("/jobs", params={"status": "running"})).json()["items"] == []
        assert len((await admin.get("/jobs", params={"status": "queued", "kind": "backup"})).json()["items"]) == 7

        bad = await admin.get("/jobs", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422
        assert "cursor" in bad.json()["detail"]
        too_many = await admin.get("/jobs", params={"limit": 201})
        assert too_many.status_code == 422
        assert too_many.json()["detail"][0]["field"] == "limit"


async def test_list_filters_postgres_cannot_hold_are_422_naming_the_field(gateway: Gateway) -> None:
    # Times that leave PostgreSQL's range once in UTC, and NUL bytes, used to reach the database (500).
    far = json.dumps({"c": "9999-12-31T23:59:59-14:00", "i": str(uuid.uuid4())}).encode()
    far_cursor = base64.urlsafe_b64encode(far).decode().rstrip("=")
    async with logged_in_admin(gateway) as admin:
        answers = {
            "since": await admin.get("/jobs", params={"since": "9999-12-31T23:59:59-14:00"}),
            "until": await admin.get("/jobs", params={"until": "0001-01-01T00:00:00+14:00"}),
            "cursor": await admin.get("/jobs", params={"cursor": far_cursor}),
            "host_id": await admin.get("/jobs", params={"host_id": "a\x00b"}),
        }
    for field, answer in answers.items():
        assert answer.status_code == 422, (field, answer.text)
        assert field in answer.text


async def _count(client: httpx.AsyncClient, count: int) -> bool:
    return len((await client.get("/jobs", params={"limit": 200})).json()["items"]) >= count


async def test_a_job_shows_its_log_in_order(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, started(job_id))
    await publish(gateway, failed(job_id))
    await eventually(lambda: job_in(gateway, job_id, "failed"))
    async with logged_in_admin(gateway) as admin:
        detail = (await admin.get(f"/jobs/{job_id}")).json()
        assert detail["status"] == "failed"
        assert detail["finished"] is True
        assert [e["message"] for e in detail["events"]] == [
            "queued",
            "attempt 1 started",
            "failed in phase archive: the volume pgdata does not exist",
        ]
        assert detail["artifacts"] == []
        missing = await admin.get(f"/jobs/{uuid.uuid4()}")
        assert missing.status_code == 404


# -- POST /jobs ----------------------------------------------------------------------------------


async def test_running_a_plan_now_queues_a_job_and_publishes_one_request(gateway: Gateway) -> None:
    plan = await add_plan(gateway, upload_targets=["s3-a"])
    async with logged_in_admin(gateway) as admin:
        response = await admin.post("/jobs", json={"plan_id": str(plan.id)})
        assert response.status_code == 202, response.text
        job_id = uuid.UUID(response.json()["id"])

    job = await job_of(gateway, job_id)
    assert job is not None
    assert (job.status, job.plan_id, job.requested_by, job.upload_targets) == ("queued", plan.id, "admin", ["s3-a"])
    js = gateway.app.state.broker.connection.jetstream()
    subject = subjects.request(ev.BackupRequested, HOST)
    message = await eventually(lambda: js.get_last_msg(JOBS_STREAM, subject))
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == str(job_id)
    request = ev.BackupRequested.model_validate_json(message.data)
    assert (request.job_id, request.plan_id, request.requested_by) == (job_id, plan.id, "admin")
    assert [t.names for t in request.targets] == [("pgdata",)]
    assert (await js.stream_info(JOBS_STREAM)).state.messages == 1
    async with gateway.app.state.sessions() as db:
        audit = await db.scalar(select(AuditEntry).where(AuditEntry.action == "job.run"))
    assert audit is not None
    assert (audit.actor, audit.target) == ("admin", str(job_id))


async def test_an_ad_hoc_backup_of_one_resource_goes_to_its_host(gateway: Gateway) -> None:
    await add_host(gateway)
    async with logged_in_admin(gateway) as admin:
        response = await admin.post(
            "/jobs",
            json={
                "host_id": HOST,
                "resource": {"kind": "volume", "name": "pgdata"},
                "options": {"compression": "gzip"},
            },
        )
        assert response.status_code == 202, response.text
        job_id = uuid.UUID(response.json()["id"])
    js = gateway.app.state.broker.connection.jetstream()
    message = await eventually(lambda: js.get_last_msg(JOBS_STREAM, subjects.request(ev.BackupRequested, HOST)))
    request = ev.BackupRequested.model_validate_json(message.data)
    assert request.job_id == job_id
    assert request.resource == ev.ResourceRef(kind="volume", name="pgdata")
    assert request.options.compression == "gzip"
    job = await job_of(gateway, job_id)
    assert job is not None
    assert (job.resource_kind, job.resource_name, job.plan_id) == ("volume", "pgdata", None)


async def test_running_an_unknown_plan_or_on_an_unknown_host_is_refused_and_sends_nothing(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        unknown_plan = await admin.post("/jobs", json={"plan_id": str(uuid.uuid4())})
        assert unknown_plan.status_code == 404
        deleted = await add_plan(gateway, deleted_at=datetime.now(UTC))
        assert (await admin.post("/jobs", json={"plan_id": str(deleted.id)})).status_code == 404
        unknown_host = await admin.post(
            "/jobs", json={"host_id": "nowhere", "resource": {"kind": "volume", "name": "x"}}
        )
        assert unknown_host.status_code == 422
        assert "host_id" in unknown_host.json()["detail"]
        both = await admin.post(
            "/jobs", json={"plan_id": str(uuid.uuid4()), "host_id": HOST, "resource": {"kind": "volume", "name": "x"}}
        )
        assert both.status_code == 422
        neither = await admin.post("/jobs", json={"host_id": HOST})
        assert neither.status_code == 422
        assert "host_id and resource" in json.dumps(neither.json())
    js = gateway.app.state.broker.connection.jetstream()
    assert (await js.stream_info(JOBS_STREAM)).state.messages == 0
    async with gateway.app.state.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Job)) == 0


async def test_a_viewer_reads_jobs_but_may_not_run_or_cancel_them(gateway: Gateway) -> None:
    plan = await add_plan(gateway)
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await eventually(lambda: job_of(gateway, job_id))
    async with logged_in_admin(gateway) as admin, user_with_role(gateway, admin, "viewer") as viewer:
        assert (await viewer.get("/jobs")).status_code == 200
        assert (await viewer.get(f"/jobs/{job_id}")).status_code == 200
        assert (await viewer.post("/jobs", json={"plan_id": str(plan.id)})).status_code == 403
        assert (await viewer.post(f"/jobs/{job_id}/cancel")).status_code == 403
        async with user_with_role(gateway, admin, "operator") as operator:
            assert (await operator.post("/jobs", json={"plan_id": str(plan.id)})).status_code == 202


# -- cancel --------------------------------------------------------------------------------------


async def test_cancelling_a_job_tells_the_executors_through_the_bucket_and_is_audited(gateway: Gateway) -> None:
    await add_host(gateway)
    job_id = uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, started(job_id))
    await eventually(lambda: job_in(gateway, job_id, "running"))
    async with logged_in_admin(gateway) as admin:
        response = await admin.post(f"/jobs/{job_id}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "running", "it ends when the executor confirms"
        assert response.json()["cancel_requested_by"] == "admin"
    kv = await gateway.app.state.broker.connection.jetstream().key_value(CANCELS_BUCKET)
    entry = await eventually(lambda: kv.get(str(job_id)))
    cancellation = JobCancellation.model_validate_json(entry.value)
    assert (cancellation.job_id, cancellation.requested_by) == (job_id, "admin")
    async with gateway.app.state.sessions() as db:
        audit = await db.scalar(select(AuditEntry).where(AuditEntry.action == "job.cancel"))
    assert audit is not None
    assert (audit.actor, audit.target) == ("admin", str(job_id))


async def test_a_queued_job_on_an_offline_host_is_cancelled_at_once_and_a_finished_one_not_at_all(
    gateway: Gateway,
) -> None:
    await add_host(gateway, online=False)
    job_id, done_id = uuid.uuid4(), uuid.uuid4()
    await publish(gateway, queued(job_id))
    await publish(gateway, queued(done_id))
    await publish(gateway, archived(done_id))
    await eventually(lambda: job_of(gateway, job_id))
    await eventually(lambda: job_in(gateway, done_id, "succeeded"))
    async with logged_in_admin(gateway) as admin:
        response = await admin.post(f"/jobs/{job_id}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        assert "offline" in response.json()["error"]
        assert (await admin.post(f"/jobs/{job_id}/cancel")).status_code == 409
        assert (await admin.post(f"/jobs/{done_id}/cancel")).status_code == 409
        assert (await admin.post(f"/jobs/{uuid.uuid4()}/cancel")).status_code == 404


async def test_a_prune_is_cancelled_through_the_bucket_its_uploader_watches(gateway: Gateway) -> None:
    await add_host(gateway, online=True)
    job_id = uuid.uuid4()
    async with gateway.app.state.sessions.begin() as db:
        db.add(Job(id=job_id, kind="prune", host_id=HOST, status="queued", phase="queued"))
    async with logged_in_admin(gateway) as admin:
        response = await admin.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    job = await job_of(gateway, job_id)
    assert job is not None
    assert (job.status, job.cancel_requested_by) == ("queued", "admin")  # until its uploader reports it
    kv = await gateway.app.state.broker.connection.jetstream().key_value(CANCELS_BUCKET)
    entry = await eventually(lambda: kv.get(str(job_id)))
    assert JobCancellation.model_validate_json(entry.value).requested_by == "admin"


# -- GET /jobs/events ----------------------------------------------------------------------------


@asynccontextmanager
async def served(gateway: Gateway) -> AsyncIterator[str]:
    """The app behind a real HTTP server (the ASGI test transport cannot stream)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(gateway.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_live_events_carry_status_changes_and_progress(gateway: Gateway) -> None:
    job_id = uuid.uuid4()
    async with logged_in_admin(gateway) as admin, served(gateway) as url:
        cookies = "; ".join(f"{name}={value}" for name, value in admin.cookies.items())
        async with (
            httpx.AsyncClient(base_url=url, headers={"Cookie": cookies}, timeout=10) as client,
            client.stream(
                "GET", "/jobs/events", params={"job_id": str(job_id)}, headers={"Accept": "text/event-stream"}
            ) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await anext(lines) == ": connected"

            await publish(gateway, queued(job_id))
            await publish(gateway, started(job_id))
            news = await asyncio.wait_for(_next_event(lines), 10)
            assert news[0] == "job"
            assert (news[1]["id"], news[1]["status"]) == (str(job_id), "running")

            progress = ev.JobProgress(job_id=job_id, host_id=HOST, phase="archive", bytes_done=1024, bytes_total=4096)
            await gateway.app.state.broker.connection.publish(
                subjects.subject_for(progress), progress.model_dump_json().encode()
            )
            news = await asyncio.wait_for(_next_event(lines), 10)
            assert news == ("progress", news[1])
            assert (news[1]["bytes_done"], news[1]["bytes_total"], news[1]["phase"]) == (1024, 4096, "archive")

    job = await eventually(lambda: _phase(gateway, job_id, "archive"), timeout=10)
    assert (job.bytes_done, job.bytes_total) == (1024, 4096), "progress reaches the job's row too"


async def _next_event(lines: AsyncIterator[str]) -> tuple[str, dict[str, Any]]:
    kind = ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind:
            return kind, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


async def test_live_events_need_a_login_and_an_event_stream_client(gateway: Gateway) -> None:
    async with gateway.client() as anonymous:
        assert (await anonymous.get("/jobs/events", headers={"Accept": "text/event-stream"})).status_code == 401
    async with logged_in_admin(gateway) as admin:
        not_a_stream = await admin.get("/jobs/events")  # a JSON client would otherwise wait forever
        assert not_a_stream.status_code == 406
        assert "text/event-stream" in not_a_stream.json()["detail"]


async def test_a_finished_job_shows_the_bytes_its_archive_records_not_its_last_progress_sample(
    gateway: Gateway,
) -> None:
    backup_id, restore_id = uuid.uuid4(), uuid.uuid4()
    await publish(gateway, queued(backup_id))
    await publish(gateway, started(backup_id))
    await eventually(lambda: job_in(gateway, backup_id, "running"))
    # The last sample a host sent: 552 of 600 MiB heard; the archive then records 20 MB.
    sample = ev.JobProgress(job_id=backup_id, host_id=HOST, phase="archive", bytes_done=552, bytes_total=600)
    await gateway.app.state.broker.connection.publish(subjects.subject_for(sample), sample.model_dump_json().encode())
    job = await eventually(lambda: _phase(gateway, backup_id, "archive"), timeout=10)
    assert (job.bytes_done, job.bytes_total) == (552, 600)

    created = archived(backup_id)
    await publish(gateway, created)
    job = await eventually(lambda: job_in(gateway, backup_id, "succeeded"))
    assert (job.bytes_done, job.bytes_total) == (created.raw_bytes, created.raw_bytes)

    # A restore of that archive, without any progress heard: its figures are the archive's too.
    await publish(
        gateway,
        ev.RestoreCompleted(
            job_id=restore_id,
            host_id=HOST,
            artifact_id=created.archive.artifact_id,
            target=ev.ResourceRef(kind="volume", name="pgdata-restored"),
            replaced_existing=False,
        ),
    )
    restore = await eventually(lambda: job_in(gateway, restore_id, "succeeded"))
    assert restore.kind == "restore"
    assert (restore.bytes_done, restore.bytes_total) == (created.raw_bytes, created.raw_bytes)
    async with logged_in_admin(gateway) as admin:
        shown = (await admin.get(f"/jobs/{restore_id}")).json()
    assert (shown["bytes_done"], shown["bytes_total"], shown["finished"]) == (20_000_000, 20_000_000, True)
