"""Host A, with its own generated NATS credentials, reports host B's backups uploaded, pruned,
failed and its local copies removed, announces an archive into B's plan and reports progress
on B's job: the real gateway
on the secured nats-server takes the host from the subject, refuses every fact that speaks for
B (counted in `dockback_gateway_foreign_facts_total`), and B's catalog and job stay as they were.

The subjects A may publish on are A's (the server refuses B's, tests/transport); the attack is
in the bodies: B's host id, or A's host id with B's job, artifacts or plan, all of which A can
read or derive (job ids and artifact ids are deterministic, plans are in a bucket A reads).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway.catalog_facts import archive_created
from gateway.conftest import Gateway, settings_for
from gateway.job_facts import add_plan, job_in, job_of, log_of, queued
from prometheus_client import REGISTRY
from sqlalchemy import select

from dockback_contracts import events as ev
from dockback_contracts import streams, subjects
from dockback_gateway.catalog.models import Artifact, ArtifactCopy
from dockback_gateway.config import Settings
from dockback_gateway.jobs.models import Job
from dockback_gateway.resources.models import Host
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


async def _publish(connection: Connection, subject: str, event: ev.Event) -> None:
    """Publish `event`'s body on `subject` (A's own subject), as A's services publish."""
    ack = await connection.js.publish(
        subject,
        event.model_dump_json().encode(),
        stream=streams.EVENTS_STREAM,
        headers={"Nats-Msg-Id": str(uuid.uuid4())},
    )
    assert ack.seq > 0, "the server stores it: the subject is A's own"


async def _b_state(gateway: Gateway, artifact_id: uuid.UUID, job_id: uuid.UUID) -> tuple[object, ...]:
    async with gateway.app.state.sessions() as db:
        artifact = await db.get(Artifact, artifact_id)
        job = await db.get(Job, job_id)
        copies = (await db.scalars(select(ArtifactCopy.target_id).where(ArtifactCopy.artifact_id == artifact_id))).all()
        host_b = await db.get(Host, HOST_B)
        assert artifact is not None
        assert job is not None
        return (
            artifact.host_id,
            artifact.state,
            artifact.local_present,
            artifact.verified_at,
            tuple(copies),
            job.host_id,
            job.status,
            job.phase,
            job.bytes_done,
            host_b.heartbeat_at if host_b else None,
        )


async def test_a_host_forges_another_hosts_backups(
    gateway: Gateway, secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    # B's backup, as B's own services report it: archived, waiting for its upload to s3-b
    plan_b = await add_plan(gateway, host_id=HOST_B)
    plan_a = await add_plan(gateway, host_id=HOST_A)
    job_b = uuid.uuid4()
    genuine = archive_created(HOST_B, plan_b.id, "pgdata", datetime.now(UTC), job_id=job_b)
    genuine = genuine.model_copy(update={"upload_targets": ("s3-b",)})
    artifact_b = genuine.archive.artifact_id
    job_queued = queued(job_b, host=HOST_B, plan_id=plan_b.id, upload_targets=("s3-b",))
    await gateway_connection.js.publish(subjects.subject_for(job_queued), job_queued.model_dump_json().encode())
    async with connected(secured_nats.settings(f"executor-{HOST_B}")) as executor_b:
        await executor_b.js.publish(subjects.subject_for(genuine), genuine.model_dump_json().encode())

    async def b_catalogued() -> bool:
        job = await job_of(gateway, job_b)
        return job is not None and job.status == "running" and await _b_has(gateway, artifact_b)

    await eventually(b_catalogued)
    before = await _b_state(gateway, artifact_b, job_b)

    stranger = uuid.uuid4()  # a job of A's own the gateway has not heard of
    upload = ev.UploadCompleted(
        job_id=job_b,
        host_id=HOST_A,
        artifact_id=artifact_b,
        target_id="s3-b",
        bucket="b-bucket",
        key=f"{HOST_B}/pgdata/{artifact_b}.tar.zst",
        size_bytes=genuine.archive.size_bytes,
        sha256=genuine.archive.sha256,
        verified_by="metadata",
    )
    into_b_plan = archive_created(HOST_A, plan_b.id, "pgdata", genuine.occurred_at, job_id=stranger)
    # (publisher, subject A may use, forged body, the reason the gateway gives)
    forgeries: list[tuple[str, str, ev.Event, str]] = [
        # B's host id in the body, on A's subject
        (
            "uploader",
            subjects.fact(ev.UploadCompleted, HOST_A),
            upload.model_copy(update={"host_id": HOST_B}),
            "subject_host",
        ),
        (
            "uploader",
            subjects.fact(ev.ArtifactsPruned, HOST_A),
            ev.ArtifactsPruned(job_id=uuid.uuid4(), host_id=HOST_B, plan_id=plan_b.id, artifact_ids=[artifact_b]),
            "subject_host",
        ),
        (
            "executor",
            subjects.host_state(ev.HostHeartbeat, HOST_A),
            ev.HostHeartbeat(host_id=HOST_B, interval_seconds=10, executor_version="forged"),
            "subject_host",
        ),
        # A's host id, with B's job, artifact or plan
        ("uploader", subjects.fact(ev.UploadCompleted, HOST_A), upload, "job"),
        (
            "uploader",
            subjects.fact(ev.ArtifactsPruned, HOST_A),
            ev.ArtifactsPruned(job_id=stranger, host_id=HOST_A, plan_id=plan_b.id, artifact_ids=[artifact_b]),
            "artifact",
        ),
        (
            "uploader",
            subjects.fact(ev.LocalCopiesRemoved, HOST_A),
            ev.LocalCopiesRemoved(job_id=stranger, host_id=HOST_A, plan_id=plan_b.id, artifact_ids=[artifact_b]),
            "artifact",
        ),
        (
            "executor",
            subjects.fact(ev.JobFailed, HOST_A),
            ev.JobFailed(job_id=job_b, host_id=HOST_A, kind="backup", phase="upload", reason="forged", retryable=False),
            "job",
        ),
        ("executor", subjects.fact(ev.ArchiveCreated, HOST_A), into_b_plan, "plan"),
    ]
    expected: dict[tuple[str, str], float] = {}
    for _, _, event, reason in forgeries:
        key = (event.type, reason)
        expected[key] = expected.get(key, _refused(*key)) + 1

    async with (
        connected(secured_nats.settings(f"executor-{HOST_A}")) as executor_a,
        connected(secured_nats.settings(f"uploader-{HOST_A}")) as uploader_a,
    ):
        by_role = {"executor": executor_a, "uploader": uploader_a}
        for role, subject, event, _ in forgeries:
            if subject.startswith(subjects.HOSTS_PREFIX):
                await by_role[role].js.publish(subject, event.model_dump_json().encode(), stream=streams.HOSTS_STREAM)
            else:
                await _publish(by_role[role], subject, event)
        # and B's job's progress, on A's progress subject (core NATS, straight to the live view)
        for claimed, reason in ((HOST_B, "subject_host"), (HOST_A, "job")):
            progress = ev.JobProgress(job_id=job_b, host_id=claimed, phase="upload", bytes_done=1, bytes_total=1)
            key = (progress.type, reason)
            expected[key] = expected.get(key, _refused(*key)) + 1
            await executor_a.nc.publish(subjects.progress(HOST_A, job_b), progress.model_dump_json().encode())
        # A's own archive, in A's own plan, is still recorded
        own = archive_created(HOST_A, plan_a.id, "pgdata", genuine.occurred_at)
        await _publish(executor_a, subjects.subject_for(own), own)

    async def all_refused() -> bool:
        return all(_refused(*key) >= count for key, count in expected.items())

    await eventually(all_refused)
    await eventually(lambda: _b_has(gateway, own.archive.artifact_id))
    assert {key: _refused(*key) for key in expected} == expected
    assert await _b_state(gateway, artifact_b, job_b) == before, "B's catalog, job and host are as B left them"
    assert await job_of(gateway, stranger) is None, "no job was opened for the forged facts"
    assert not await _b_has(gateway, into_b_plan.archive.artifact_id), "no archive was put into B's plan"
    assert secured_nats.violations() == [], "A used only subjects its credentials allow"


async def _b_has(gateway: Gateway, artifact_id: uuid.UUID) -> bool:
    async with gateway.app.state.sessions() as db:
        return await db.get(Artifact, artifact_id) is not None


async def test_a_host_claims_the_id_of_another_hosts_next_scheduled_job(
    gateway: Gateway, secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    """A scheduled job's id can be worked out from its plan and fire time. Host A reports that
    job started, archived (into a plan of its own) and failed before the scheduler queues it
    for B: once the JobQueued says whose job it is, what A said is dropped and B's own facts
    are recorded."""
    plan_a = await add_plan(gateway, host_id=HOST_A)
    plan_b = await add_plan(gateway, host_id=HOST_B)
    job_b = uuid.uuid4()  # the id of B's next run
    claimed_archive = archive_created(HOST_A, plan_a.id, "pgdata", datetime.now(UTC), job_id=job_b)
    claims: list[ev.Event] = [
        ev.JobStarted(job_id=job_b, host_id=HOST_A, kind="backup", attempt=1),
        claimed_archive,
        ev.JobFailed(job_id=job_b, host_id=HOST_A, kind="backup", phase="archive", reason="claimed", retryable=False),
    ]
    async with connected(secured_nats.settings(f"executor-{HOST_A}")) as executor_a:
        for claim in claims:
            await _publish(executor_a, subjects.subject_for(claim), claim)
    await eventually(lambda: job_in(gateway, job_b, "failed"))
    assert (await job_of(gateway, job_b)).host_id == HOST_A  # type: ignore[union-attr]

    job_queued = queued(job_b, host=HOST_B, plan_id=plan_b.id)
    key = (job_queued.type, "job_claimed")
    expected = _refused(*key) + 1
    await gateway_connection.js.publish(subjects.subject_for(job_queued), job_queued.model_dump_json().encode())
    await eventually(lambda: _refused(*key) >= expected)
    started_b = ev.JobStarted(job_id=job_b, host_id=HOST_B, kind="backup", attempt=1)
    async with connected(secured_nats.settings(f"executor-{HOST_B}")) as executor_b:
        await executor_b.js.publish(subjects.subject_for(started_b), started_b.model_dump_json().encode())

    job = await eventually(lambda: job_in(gateway, job_b, "running"))
    assert job.host_id == HOST_B
    assert job.plan_id == plan_b.id
    assert [entry.message for entry in await log_of(gateway, job_b)] == [
        "queued",
        "attempt 1 started",
    ], "nothing A reported is left in B's job's log"
    assert not await _b_has(gateway, claimed_archive.archive.artifact_id), "A's archive under B's job is gone"
    assert _refused(*key) == expected
    assert secured_nats.violations() == []
