"""NATS security: nats-server runs with the authorization config `dockback-nats-auth` generates,
every client connects with its own role's credentials, and the server enforces who may
publish and subscribe what.

Host A's executor consumes host A's requests, but cannot read host B's (core subscriptions,
JetStream consumers, fetches and message gets are refused), cannot publish as host B, and
cannot read another user's replies; the notifier cannot publish a request and writes no
bucket but its record of sent alerts; and a whole
backup runs with every service on its own credentials without a single permission violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from executor.volumes import create_volume, populate
from gateway.conftest import Gateway, gateway, logged_in_admin, settings_for  # noqa: F401 - the gateway fixture
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError

from dockback_contracts import events as ev
from dockback_contracts import permissions, streams, subjects
from dockback_gateway.config import Settings as GatewaySettings
from dockback_gateway.streams import declare_streams
from dockback_ops.nats_auth import generate, main
from dockback_runtime.connection import NatsClientSettings, connect_options, read_credentials, server_has_subscriptions
from dockback_runtime.sealing import register_sealing_key, service_sealing_key
from harness.eventually import eventually
from harness.processes import stop
from harness.secured_nats import (
    HOST_A,
    HOST_B,
    REFUSAL_SECONDS,
    Connection,
    HostServices,
    SecuredNats,
    connected,
    start_secured_server,
)


def _backup_request(host_id: str) -> ev.BackupRequested:
    return ev.BackupRequested.model_validate(
        {
            "job_id": str(uuid.uuid4()),
            "host_id": host_id,
            "resource": {"kind": "volume", "name": "data"},
            "requested_by": "test",
        }
    )


async def _request_backup(publisher: Connection, host_id: str) -> ev.BackupRequested:
    request = _backup_request(host_id)
    await publisher.js.publish(
        subjects.subject_for(request), request.model_dump_json().encode(), stream=streams.JOBS_STREAM
    )
    return request


async def _stored(reader: Connection, stream: str, subject: str) -> bool:
    try:
        await reader.js.get_last_msg(stream, subject)
    except NotFoundError:
        return False
    return True


# -- the generator ---------------------------------------------------------------------------------


def test_generator_keeps_existing_seeds_when_a_host_is_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth_dir = tmp_path / "auth"
    assert main(["--dir", str(auth_dir), "--host", HOST_A]) == 0
    before = {path.name: path.read_text() for path in (auth_dir / "creds").iterdir()}
    assert sorted(before) == sorted(
        f"{role}.creds" for role in ["gateway", "scheduler", "notifier", "executor-host-a", "uploader-host-a"]
    )
    assert all(((auth_dir / "creds" / name).stat().st_mode & 0o777) == 0o600 for name in before)

    assert main(["--dir", str(auth_dir), "--host", HOST_B]) == 0
    after = {path.name: path.read_text() for path in (auth_dir / "creds").iterdir()}
    assert {name: after[name] for name in before} == before, "adding a host changes no other role's seed"
    assert set(after) - set(before) == {"executor-host-b.creds", "uploader-host-b.creds"}
    config = (auth_dir / "auth.conf").read_text()
    for name in after:
        public_key = read_credentials(auth_dir / "creds" / name).public_key()
        assert config.count(public_key) == 1
        assert read_credentials(auth_dir / "creds" / name).seed not in config, "no seed on the server"
    assert "new  executor-host-b" in capsys.readouterr().out


def test_generator_removes_a_host_and_rotates_a_role(tmp_path: Path) -> None:
    auth_dir = tmp_path / "auth"
    generate(auth_dir, [HOST_A, HOST_B])
    old_seed = read_credentials(auth_dir / "creds" / "notifier.creds").seed
    result = generate(auth_dir, remove_hosts=[HOST_B], rotate=["notifier"])
    assert sorted(result.removed) == ["executor-host-b", "uploader-host-b"]
    assert not (auth_dir / "creds" / "executor-host-b.creds").exists()
    assert "executor-host-b" not in (auth_dir / "auth.conf").read_text()
    assert read_credentials(auth_dir / "creds" / "notifier.creds").seed != old_seed
    assert result.created == ["notifier"]
    with pytest.raises(ValueError, match="one NATS subject token"):
        generate(auth_dir, ["bad.host"])


# -- what the server enforces ----------------------------------------------------------------------


async def test_an_executor_consumes_its_own_hosts_requests(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    request = await _request_backup(gateway_connection, HOST_A)
    async with connected(secured_nats.settings(f"executor-{HOST_A}")) as executor:
        spec = streams.executor_consumer(HOST_A, ev.BackupRequested)
        await executor.js.add_consumer(spec.stream, spec.config)
        subscription = await executor.js.pull_subscribe_bind(spec.durable, spec.stream)
        [message] = await subscription.fetch(1, timeout=5)
        assert ev.BackupRequested.model_validate_json(message.data).job_id == request.job_id
        await message.in_progress()
        await message.ack_sync()
        # and it announces facts about its own host
        started = ev.JobStarted.model_validate(
            {"job_id": str(request.job_id), "host_id": HOST_A, "kind": "backup", "attempt": 1}
        )
        await executor.js.publish(subjects.subject_for(started), started.model_dump_json().encode())
        assert executor.errors == []
    assert not await _stored(gateway_connection, streams.JOBS_STREAM, subjects.subject_for(request)), "acked: removed"
    assert secured_nats.violations() == []


async def test_an_executor_cannot_read_another_hosts_requests(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    async with connected(secured_nats.settings(f"executor-{HOST_B}")) as executor_b:
        own = streams.executor_consumer(HOST_B, ev.BackupRequested)
        await executor_b.js.add_consumer(own.stream, own.config)
    request = await _request_backup(gateway_connection, HOST_B)

    async with connected(secured_nats.settings(f"executor-{HOST_A}")) as executor_a:
        # core subscriptions to B's requests, to every request, and to other users' replies
        for subject in (
            subjects.request(ev.BackupRequested, HOST_B),
            f"{subjects.JOBS_PREFIX}.>",
            ">",
            "_INBOX.>",
            f"_INBOX.executor-{HOST_B}.>",
        ):
            await executor_a.nc.subscribe(subject)
            await executor_a.refused("Subscription", subject)

        # a consumer on B's subjects, under B's name or its own
        theirs = streams.executor_consumer(HOST_B, ev.BackupRequested)
        disguised = ConsumerConfig(**{**theirs.config.as_dict(), "name": None, "durable_name": None})
        disguised.name = disguised.durable_name = f"executor-{HOST_A}-backup"
        disguised.filter_subject = theirs.filter_subject
        for config in (theirs.config, disguised):
            with pytest.raises(nats.errors.TimeoutError):
                await executor_a.js.add_consumer(theirs.stream, config)
        await executor_a.refused(
            "Publish",
            f"$JS.API.CONSUMER.CREATE.{theirs.stream}.executor-{HOST_A}-backup.{theirs.filter_subject}",
        )
        # the short create form carries the filter only in its body: never allowed
        body = json.dumps({"stream_name": theirs.stream, "config": disguised.as_dict()}).encode()
        short = f"$JS.API.CONSUMER.CREATE.{theirs.stream}.executor-{HOST_A}-backup"
        with pytest.raises(nats.errors.TimeoutError):
            await executor_a.nc.request(short, body, timeout=REFUSAL_SECONDS)
        await executor_a.refused("Publish", short)

        # fetching from B's consumer, or reading the stream's messages directly
        stolen = await executor_a.js.pull_subscribe_bind(theirs.durable, theirs.stream)
        with pytest.raises(nats.errors.TimeoutError):
            await stolen.fetch(1, timeout=REFUSAL_SECONDS)
        await executor_a.refused("Publish", f"$JS.API.CONSUMER.MSG.NEXT.{theirs.stream}.{theirs.durable}")
        with pytest.raises(nats.errors.TimeoutError):
            await executor_a.js.get_last_msg(streams.JOBS_STREAM, subjects.subject_for(request))
        await executor_a.refused("Publish", f"$JS.API.STREAM.MSG.GET.{streams.JOBS_STREAM}")

    assert any(
        f'Subject "{subjects.request(ev.BackupRequested, HOST_B)}"' in line for line in secured_nats.violations()
    )
    # B's request is still there for B
    async with connected(secured_nats.settings(f"executor-{HOST_B}")) as executor_b:
        subscription = await executor_b.js.pull_subscribe_bind(own.durable, own.stream)
        [message] = await subscription.fetch(1, timeout=5)
        assert ev.BackupRequested.model_validate_json(message.data).job_id == request.job_id
        assert executor_b.errors == []


def _delete_request(host_id: str) -> ev.DeleteRequested:
    return ev.DeleteRequested.model_validate(
        {
            "job_id": str(uuid.uuid4()),
            "host_id": host_id,
            "resource": {"kind": "volume", "name": "data"},
            "archive": {
                "artifact_id": str(uuid.uuid4()),
                "path": "volumes/data/x.tar.zst",
                "sha256": "0" * 64,
                "size_bytes": 1,
            },
            "requested_by": "olga",
        }
    )


async def test_only_the_hosts_uploader_consumes_its_delete_requests(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    request = _delete_request(HOST_A)
    await gateway_connection.js.publish(
        subjects.subject_for(request), request.model_dump_json().encode(), stream=streams.JOBS_STREAM
    )
    spec = streams.uploader_delete_consumer(HOST_A)
    # Neither another host's uploader nor the host's own executor may create or read that consumer.
    for intruder in (f"uploader-{HOST_B}", f"executor-{HOST_A}"):
        async with connected(secured_nats.settings(intruder)) as other:
            with pytest.raises(nats.errors.TimeoutError):
                await other.js.add_consumer(spec.stream, spec.config)
            await other.refused(
                "Publish", f"$JS.API.CONSUMER.CREATE.{spec.stream}.{spec.durable}.{spec.filter_subject}"
            )
    async with connected(secured_nats.settings(f"uploader-{HOST_A}")) as uploader:
        await uploader.js.add_consumer(spec.stream, spec.config)
        subscription = await uploader.js.pull_subscribe_bind(spec.durable, spec.stream)
        [message] = await subscription.fetch(1, timeout=5)
        assert ev.DeleteRequested.model_validate_json(message.data).job_id == request.job_id
        await message.ack_sync()
        assert uploader.errors == []
    async with connected(secured_nats.settings(f"uploader-{HOST_B}")) as other:
        stolen = await other.js.pull_subscribe_bind(spec.durable, spec.stream)
        with pytest.raises(nats.errors.TimeoutError):
            await stolen.fetch(1, timeout=REFUSAL_SECONDS)
        await other.refused("Publish", f"$JS.API.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}")


async def test_an_executor_cannot_publish_as_another_host(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    job_id = uuid.uuid4()
    forged: list[ev.Event] = [
        ev.JobStarted.model_validate({"job_id": str(job_id), "host_id": HOST_B, "kind": "backup", "attempt": 1}),
        ev.JobFailed.model_validate(
            {
                "job_id": str(job_id),
                "host_id": HOST_B,
                "kind": "backup",
                "phase": "archive",
                "reason": "forged",
                "retryable": False,
            }
        ),
    ]
    async with connected(secured_nats.settings(f"executor-{HOST_A}")) as executor_a:
        for event in forged:
            subject = subjects.subject_for(event)
            with pytest.raises(nats.errors.TimeoutError):
                await executor_a.js.publish(subject, event.model_dump_json().encode())
            await executor_a.refused("Publish", subject)
            assert not await _stored(gateway_connection, streams.EVENTS_STREAM, subject)
        # nor request work, for its own host or another
        for host_id in (HOST_A, HOST_B):
            subject = subjects.request(ev.BackupRequested, host_id)
            with pytest.raises(nats.errors.TimeoutError):
                await executor_a.js.publish(subject, _backup_request(host_id).model_dump_json().encode())
            await executor_a.refused("Publish", subject)
        # nor another host's progress or inventory
        for subject in (subjects.progress(HOST_B, job_id), f"{subjects.HOSTS_PREFIX}.{HOST_B}.heartbeat"):
            await executor_a.nc.publish(subject, b"{}")
            await executor_a.refused("Publish", subject)


# What each service publishes (the payload does not matter to the server): allowed, and
# the neighbouring subjects it has no business with: refused.
ALLOWED: list[tuple[str, str]] = [
    *[
        (f"executor-{HOST_A}", subjects.fact(kind, HOST_A))
        for kind in (
            ev.JobStarted,
            ev.ArchiveCreated,
            ev.SnapshotCreated,
            ev.RestoreCompleted,
            ev.ArchiveVerified,
            ev.ArtifactsPruned,  # the snapshots it forgot
            ev.JobFailed,
            ev.JobCancelled,
        )
    ],
    (f"executor-{HOST_A}", subjects.host_state(ev.HostInventory, HOST_A)),
    (f"executor-{HOST_A}", subjects.host_state(ev.HostHeartbeat, HOST_A)),
    *[
        (f"uploader-{HOST_A}", subjects.fact(kind, HOST_A))
        for kind in (ev.UploadCompleted, ev.ArtifactsPruned, ev.LocalCopiesRemoved, ev.JobFailed, ev.JobCancelled)
    ],
    (f"uploader-{HOST_A}", subjects.request(ev.RestoreRequested, HOST_A)),  # a fetched archive's restore
    (permissions.SCHEDULER, subjects.request(ev.BackupRequested, HOST_B)),
    (permissions.SCHEDULER, subjects.fact(ev.JobQueued, HOST_B)),
    (permissions.SCHEDULER, subjects.fact(ev.JobsQueued, HOST_B)),
    (permissions.SCHEDULER, subjects.fact(ev.RunMissed, HOST_B)),
    *[
        (permissions.GATEWAY, subjects.request(kind, HOST_B))
        for kind in (
            ev.BackupRequested,
            ev.RestoreRequested,
            ev.VerifyRequested,
            ev.PruneRequested,
            ev.FetchRequested,
            ev.DeleteRequested,
            ev.ForgetRequested,
            ev.SnapshotRestoreRequested,
        )
    ],
    (permissions.GATEWAY, subjects.fact(ev.JobFailed, HOST_B)),
]
REFUSED: list[tuple[str, str]] = [
    (f"uploader-{HOST_A}", subjects.request(ev.RestoreRequested, HOST_B)),
    (f"uploader-{HOST_A}", subjects.request(ev.BackupRequested, HOST_A)),
    (f"uploader-{HOST_A}", subjects.fact(ev.UploadCompleted, HOST_B)),
    (f"executor-{HOST_A}", subjects.request(ev.RestoreRequested, HOST_A)),
    (permissions.SCHEDULER, subjects.request(ev.RestoreRequested, HOST_A)),
    (permissions.SCHEDULER, subjects.request(ev.PruneRequested, HOST_A)),
    (permissions.SCHEDULER, subjects.request(ev.DeleteRequested, HOST_A)),
    (f"uploader-{HOST_A}", subjects.request(ev.DeleteRequested, HOST_A)),  # it deletes what it is asked to, never asks
    (permissions.SCHEDULER, subjects.fact(ev.JobSucceeded, HOST_A)),
    (permissions.NOTIFIER, subjects.fact(ev.JobFailed, HOST_A)),
    # a host reports what it did, never that a job was queued, a run missed or a job done
    *[
        (role, subjects.fact(kind, HOST_A))
        for role in (f"executor-{HOST_A}", f"uploader-{HOST_A}")
        for kind in (ev.JobQueued, ev.JobsQueued, ev.RunMissed, ev.JobSucceeded)
    ],
    # and each of its services only its own kind of fact
    (f"executor-{HOST_A}", subjects.fact(ev.UploadCompleted, HOST_A)),
    (f"executor-{HOST_A}", subjects.fact(ev.LocalCopiesRemoved, HOST_A)),
    (f"executor-{HOST_A}", subjects.request(ev.ForgetRequested, HOST_A)),  # it forgets what it is asked to
    (f"uploader-{HOST_A}", subjects.fact(ev.SnapshotCreated, HOST_A)),
    (f"uploader-{HOST_A}", subjects.fact(ev.ArchiveCreated, HOST_A)),
    (f"uploader-{HOST_A}", subjects.fact(ev.RestoreCompleted, HOST_A)),
    (f"uploader-{HOST_A}", subjects.host_state(ev.HostHeartbeat, HOST_A)),
]


async def test_each_role_publishes_what_its_service_publishes_and_nothing_beside(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    roles = sorted({role for role, _ in ALLOWED + REFUSED})
    async with contextlib.AsyncExitStack() as stack:
        clients = {role: await stack.enter_async_context(connected(secured_nats.settings(role))) for role in roles}
        for role, subject in ALLOWED:
            ack = await clients[role].js.publish(subject, b"{}")
            assert ack.seq > 0, (role, subject)

        async def refused(role: str, subject: str) -> None:
            with pytest.raises(nats.errors.TimeoutError):
                await clients[role].js.publish(subject, b"{}")
            await clients[role].refused("Publish", subject)

        await asyncio.gather(*(refused(role, subject) for role, subject in REFUSED))
        assert all(clients[role].errors == [] for role in roles if role not in {r for r, _ in REFUSED})


async def test_only_a_hosts_own_uploaders_answer_its_target_checks_and_only_to_the_asker(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    """A target check carries the target's keys sealed to the host asked: only that host's
    uploaders may receive it, not another host's uploader nor any executor."""
    on_a = subjects.check_target(HOST_A)
    async with (
        connected(secured_nats.settings(f"uploader-{HOST_A}")) as uploader,
        connected(secured_nats.settings(f"uploader-{HOST_B}")) as other_uploader,
        connected(secured_nats.settings(f"executor-{HOST_A}")) as executor,
    ):

        async def answer(message: Msg) -> None:
            await message.respond(b"reachable")

        await uploader.nc.subscribe(on_a, queue="uploaders", cb=answer)
        await server_has_subscriptions(uploader.nc)
        reply = await gateway_connection.nc.request(on_a, b"{}", timeout=5)
        assert reply.data == b"reachable"
        assert reply.subject.startswith(f"{permissions.inbox_prefix(permissions.GATEWAY)}.")

        for intruder in (other_uploader, executor):
            await intruder.nc.subscribe(on_a)
            await intruder.refused("Subscription", on_a)
        unsolicited = f"{permissions.inbox_prefix(permissions.GATEWAY)}.forged.1"
        await uploader.nc.publish(unsolicited, b"not asked")
        await uploader.refused("Publish", unsolicited)


async def test_only_a_hosts_own_executors_answer_the_restore_previews_questions_about_it(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    """Host B's executor would otherwise tell a preview of host A that nothing uses the target."""
    question = subjects.target_users(HOST_A)
    async with (
        connected(secured_nats.settings(f"executor-{HOST_A}")) as executor_a,
        connected(secured_nats.settings(f"executor-{HOST_B}")) as executor_b,
        connected(secured_nats.settings(f"uploader-{HOST_A}")) as uploader_a,
    ):

        def answering(says: bytes) -> Any:
            async def answer(message: Msg) -> None:
                await message.respond(says)

            return answer

        # B's executor tries to hear A's questions: in A's executors' queue group, alone, or every host's
        for subject, queue in (
            (question, "executors"),
            (question, ""),
            (subjects.target_users(subjects.ANY), ""),
            (f"{subjects.CONTROL_PREFIX}.>", ""),
        ):
            executor_b.errors.clear()
            await executor_b.nc.subscribe(subject, queue=queue, cb=answering(b"nothing uses it"))
            await executor_b.refused("Subscription", subject)
        await uploader_a.nc.subscribe(question, queue="executors")
        await uploader_a.refused("Subscription", question)

        await executor_a.nc.subscribe(question, queue="executors", cb=answering(b"host-a: db uses it"))
        await server_has_subscriptions(executor_a.nc)
        for _ in range(3):  # every answer is A's: the refused subscriptions took no share of the queue
            reply = await gateway_connection.nc.request(question, b"{}", timeout=5)
            assert reply.data == b"host-a: db uses it"

        # nor can B answer unasked into the gateway's inbox, or ask A's executor itself
        forged = f"{permissions.inbox_prefix(permissions.GATEWAY)}.forged.1"
        for subject in (forged, question):
            executor_b.errors.clear()
            await executor_b.nc.publish(subject, b"nothing uses it")
            await executor_b.refused("Publish", subject)

        # B's executor answers about its own host
        executor_b.errors.clear()
        await executor_b.nc.subscribe(subjects.target_users(HOST_B), queue="executors", cb=answering(b"host-b"))
        await server_has_subscriptions(executor_b.nc)
        reply = await gateway_connection.nc.request(subjects.target_users(HOST_B), b"{}", timeout=5)
        assert reply.data == b"host-b"
        assert executor_b.errors == []
        assert executor_a.errors == []
    assert any(f'Subject "{question}"' in line for line in secured_nats.violations())


async def test_the_notifier_cannot_publish_a_request(secured_nats: SecuredNats, gateway_connection: Connection) -> None:
    async with connected(secured_nats.settings(permissions.NOTIFIER)) as notifier:
        requests: tuple[type[ev.Event], ...] = (*permissions.EXECUTOR_REQUESTS, ev.PruneRequested)
        for event_type in requests:
            subject = subjects.request(event_type, HOST_A)
            with pytest.raises(nats.errors.TimeoutError):
                await notifier.js.publish(subject, _backup_request(HOST_A).model_dump_json().encode())
            await notifier.refused("Publish", subject)
            assert not await _stored(gateway_connection, streams.JOBS_STREAM, subject)
        # nor write the buckets it reads
        with pytest.raises(nats.errors.TimeoutError):
            await notifier.js.publish(f"$KV.{streams.CANCELS_BUCKET}.x", b"{}")
        await notifier.refused("Publish", f"$KV.{streams.CANCELS_BUCKET}.x")


async def test_the_notifier_reads_and_writes_the_bucket_of_sent_alerts_and_no_other(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    async with connected(secured_nats.settings(permissions.NOTIFIER)) as notifier:
        # what dockback_notifier.sent does: create-only, read, compare-and-set, put, delete
        kv = await notifier.js.key_value(streams.ALERTS_SENT_BUCKET)
        revision = await kv.create("alert", b"sending")
        with pytest.raises(KeyWrongLastSequenceError):
            await kv.create("alert", b"sending")
        assert (await kv.get("alert")).value == b"sending"
        revision = await kv.update("alert", b"sending", last=revision)
        await kv.put("alert", b"done")
        await kv.delete("alert")
        assert notifier.errors == []

        others = [
            streams.CANCELS_BUCKET,
            streams.SCHEDULER_BUCKET,
            streams.PLANS_BUCKET,
            streams.SETTINGS_BUCKET,
        ]
        for bucket in others:
            subject = f"$KV.{bucket}.x"
            with pytest.raises(nats.errors.TimeoutError):
                await notifier.js.publish(subject, b"{}")
            await notifier.refused("Publish", subject)
        # the buckets it has no business with cannot even be opened
        for bucket in (streams.CANCELS_BUCKET, streams.SCHEDULER_BUCKET):
            with pytest.raises(nats.errors.TimeoutError):
                await notifier.js.key_value(bucket)
            await notifier.refused("Publish", f"$JS.API.STREAM.INFO.{permissions.kv_stream(bucket)}")


async def test_each_recipient_registers_only_its_own_sealing_key_and_reads_only_its_own_settings(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    settings = await gateway_connection.js.key_value(streams.SETTINGS_BUCKET)
    for key in ("notifier", f"host.{HOST_A}", f"host.{HOST_B}"):
        await settings.put(key, b"{}")  # as the gateway publishes them
    for role, own_snapshot, other_role in (
        (permissions.NOTIFIER, "notifier", f"uploader-{HOST_A}"),
        (f"uploader-{HOST_A}", f"host.{HOST_A}", permissions.NOTIFIER),
    ):
        key = service_sealing_key(role, secured_nats.credentials_file(role), None)
        async with connected(secured_nats.settings(role)) as connection:
            await register_sealing_key(connection.js, role, key)
            assert (await (await connection.js.key_value(streams.SETTINGS_BUCKET)).get(own_snapshot)).value == b"{}"
            assert connection.errors == []
            keys = await connection.js.key_value(streams.SEALING_KEYS_BUCKET)
            with pytest.raises(nats.errors.TimeoutError):
                await keys.put(other_role, b"{}")
            await connection.refused("Publish", f"$KV.{streams.SEALING_KEYS_BUCKET}.{other_role}")
    registered = await gateway_connection.js.key_value(streams.SEALING_KEYS_BUCKET)
    assert sorted(await registered.keys()) == [permissions.NOTIFIER, f"uploader-{HOST_A}"]


async def test_a_host_added_later_connects_after_a_reload_and_the_others_keep_theirs(
    secured_nats: SecuredNats, gateway_connection: Connection
) -> None:
    host_c = "host-c"
    result = generate(secured_nats.auth_dir, [host_c])
    assert sorted(result.created) == [f"executor-{host_c}", f"uploader-{host_c}"]
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(
            **connect_options(secured_nats.settings(f"executor-{host_c}")),
            allow_reconnect=False,
            max_reconnect_attempts=1,
        )
    assert secured_nats.process is not None
    secured_nats.process.send_signal(signal.SIGHUP)  # what `nats-server --signal reload` sends
    await eventually(lambda: "Reloaded server configuration" in secured_nats.log_path.read_text(), timeout=10)
    async with connected(secured_nats.settings(f"executor-{host_c}")) as executor_c:
        spec = streams.executor_consumer(host_c, ev.BackupRequested)
        await executor_c.js.add_consumer(spec.stream, spec.config)
        request = await _request_backup(gateway_connection, host_c)  # the gateway's connection lives on
        [message] = await (await executor_c.js.pull_subscribe_bind(spec.durable, spec.stream)).fetch(1, timeout=5)
        assert ev.BackupRequested.model_validate_json(message.data).job_id == request.job_id
    async with connected(secured_nats.settings(f"executor-{HOST_A}")) as executor_a:
        assert executor_a.nc.is_connected


async def test_an_unknown_key_cannot_connect(secured_nats: SecuredNats, tmp_path: Path) -> None:
    stranger = generate(tmp_path / "elsewhere", [HOST_A]).creds[f"executor-{HOST_A}"]
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(
            **connect_options(NatsClientSettings(nats_url=secured_nats.url, nats_credentials_file=stranger)),
            allow_reconnect=False,
            max_reconnect_attempts=1,
        )


# -- TLS -------------------------------------------------------------------------------------------


def _certificate_authority(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all made here."""
    now = dt.datetime.now(dt.UTC)

    def issue(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        issuer_key: ec.EllipticCurvePrivateKey,
        *,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    files: dict[str, Path] = {}

    def save(name: str, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        files[f"{name}_key"] = directory / f"{name}.key"
        files[f"{name}_cert"] = directory / f"{name}.pem"
        files[f"{name}_key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        os.chmod(files[f"{name}_key"], 0o600)
        files[f"{name}_cert"].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DockBack test CA")])
    save("ca", ca_key, issue("DockBack test CA", ca_key, ca_name, ca_key, ca=True))
    for name in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        save(name, key, issue(f"dockback-{name}", key, ca_name, ca_key, ca=False))
    return files


async def test_services_connect_with_tls_and_their_credentials(tmp_path: Path) -> None:
    auth_dir = tmp_path / "nats-auth"
    generate(auth_dir, [HOST_A])
    pki = _certificate_authority(tmp_path)
    process, port, log_path = start_secured_server(
        auth_dir,
        "tls {\n"
        f'  cert_file: "{pki["server_cert"]}"\n'
        f'  key_file: "{pki["server_key"]}"\n'
        f'  ca_file: "{pki["ca_cert"]}"\n'
        "  verify: true\n"  # clients must show a certificate from the CA too
        "}\n",
    )
    try:
        server = SecuredNats(url=f"tls://127.0.0.1:{port}", auth_dir=auth_dir, log_path=log_path)
        tls = {
            "nats_tls_ca_file": pki["ca_cert"],
            "nats_tls_cert_file": pki["client_cert"],
            "nats_tls_key_file": pki["client_key"],
        }
        async with connected(server.settings(permissions.GATEWAY, **tls)) as control:
            await declare_streams(control.nc.jetstream())
            assert control.nc.connected_url is not None
            assert control.nc.connected_url.scheme == "tls"
            request = await _request_backup(control, HOST_A)
        async with connected(server.settings(f"executor-{HOST_A}", **tls)) as executor:
            spec = streams.executor_consumer(HOST_A, ev.BackupRequested)
            await executor.js.add_consumer(spec.stream, spec.config)
            [message] = await (await executor.js.pull_subscribe_bind(spec.durable, spec.stream)).fetch(1, timeout=5)
            assert ev.BackupRequested.model_validate_json(message.data).job_id == request.job_id
        # without a client certificate, or without the CA, the handshake fails
        for partial in (
            {"nats_tls_ca_file": pki["ca_cert"]},
            {k: v for k, v in tls.items() if k != "nats_tls_ca_file"},
        ):
            with pytest.raises(Exception):  # noqa: B017, PT011 - ssl and nats wrap it differently
                await nats.connect(
                    **connect_options(server.settings(f"executor-{HOST_A}", **partial)),
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    connect_timeout=3,
                )
        assert server.violations() == []
    finally:
        stop(process)


# -- the whole flow, every service on its own credentials -------------------------------------------


@pytest.fixture
def gateway_settings(database_url: str, secured_nats: SecuredNats, tmp_path: Path) -> GatewaySettings:
    """The in-process gateway on the secured server, as the `gateway` user."""
    return settings_for(
        database_url,
        secured_nats.url,
        tmp_path,
        nats_credentials_file=secured_nats.credentials_file(permissions.GATEWAY),
        reconcile_interval_seconds=1.0,
        progress_write_seconds=0.5,
    )


async def _jobs(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/jobs", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_scheduled_backup_succeeds_with_every_service_on_its_own_credentials(
    gateway: Gateway,  # noqa: F811 - the fixture imported above
    secured_nats: SecuredNats,
    host_services: HostServices,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
) -> None:
    volume = unique_name
    await create_volume(volume, {**docker_labels, "nats.perm": volume})
    await populate(busybox_image, volume, docker_labels, small_files=20)
    host_services.start("executor", "dockback_executor", f"executor-{HOST_A}")
    host_services.start("uploader", "dockback_uploader", f"uploader-{HOST_A}")
    host_services.start("scheduler", "dockback_scheduler", permissions.SCHEDULER)
    host_services.start("notifier", "dockback_notifier", permissions.NOTIFIER)
    async with logged_in_admin(gateway) as client:

        async def host_online_with_inventory() -> bool:
            # The restore preview below needs what the host holds: its first inventory, which comes
            # after its first heartbeat (the engine's `system df` walks every volume first).
            hosts = (await client.get("/resources/hosts")).json()
            items = hosts["items"] if isinstance(hosts, dict) else hosts
            return any(h["host_id"] == HOST_A and h["online"] and h["inventory_at"] for h in items)

        await eventually(host_online_with_inventory, timeout=60)
        created = await client.post(
            "/plans",
            json={
                "name": f"secured {volume}",
                "host_id": HOST_A,
                "targets": [{"kind": "volume", "label_selector": {"nats.perm": volume}}],
                "cron": "* * * * * */2",
                "timezone": "UTC",
                "retention": {"keep_last": 5, "keep_minimum": 1},
            },
        )
        assert created.status_code == 201, created.text
        plan = created.json()

        async def succeeded() -> list[dict[str, Any]]:
            return [j for j in await _jobs(client, plan_id=plan["id"]) if j["status"] == "succeeded"]

        try:
            done = await eventually(succeeded, timeout=120, interval=0.5)
        except AssertionError:
            raise AssertionError(host_services.logs()) from None
        assert (await client.post(f"/plans/{plan['id']}/disable")).status_code == 200
        detail = (await client.get(f"/jobs/{done[0]['id']}")).json()
        assert [line["type"] for line in detail["events"]][:3] == [
            "job_queued.v1",
            "job_started.v1",
            "archive_created.v1",
        ]
        # the restore preview asks the host's executor what uses the target, on their own credentials
        previewed = await client.post(
            "/restores/preview",
            json={"artifact_id": detail["artifacts"][0]["id"], "target": {"kind": "volume", "name": f"{volume}-new"}},
        )
        assert previewed.status_code == 200, previewed.text
        assert previewed.json()["checked_on_host"] is True, previewed.json()["fallback"]
    assert all(p.poll() is None for p in host_services.processes.values()), host_services.logs()
    assert secured_nats.violations() == [], "\n".join(secured_nats.violations())


def test_every_permission_subject_is_a_valid_nats_subject() -> None:
    token = re.compile(r"^[^\s.]+$")
    for role in permissions.all_roles([HOST_A, HOST_B]):
        for subject in (*role.permissions.publish, *role.permissions.subscribe):
            assert all(token.match(part) for part in subject.split(".")), (role.name, subject)
            assert ">" not in subject.split(".")[:-1], (role.name, subject)


# -- the connection options every service builds ----------------------------------------------------


def test_without_credentials_a_service_connects_as_before(tmp_path: Path) -> None:
    options = connect_options(NatsClientSettings(nats_url="nats://a:4222, nats://b:4222"))
    assert options == {"servers": ["nats://a:4222", "nats://b:4222"], "inbox_prefix": "_INBOX"}


def test_credentials_give_the_seed_and_the_roles_own_inbox(tmp_path: Path) -> None:
    creds = generate(tmp_path, [HOST_A]).creds[f"uploader-{HOST_A}"]
    options = connect_options(NatsClientSettings(nats_credentials_file=creds))
    assert options["inbox_prefix"] == f"_INBOX.uploader-{HOST_A}"
    assert options["nkeys_seed_str"] == read_credentials(creds).seed
    assert "user_credentials" not in options


def test_a_nats_jwt_creds_file_is_passed_on_as_is(tmp_path: Path) -> None:
    creds = tmp_path / "user.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\neyJ0eXAi\n------END NATS USER JWT------\n")
    options = connect_options(NatsClientSettings(nats_credentials_file=creds))
    assert options["user_credentials"] == str(creds)
    assert options["inbox_prefix"] == "_INBOX"


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    pki = _certificate_authority(tmp_path)
    with pytest.raises(ValueError, match="go together"):
        connect_options(NatsClientSettings(nats_tls_ca_file=pki["ca_cert"], nats_tls_cert_file=pki["client_cert"]))
    assert "tls" in connect_options(NatsClientSettings(nats_tls_ca_file=pki["ca_cert"]))
    assert "tls" in connect_options(NatsClientSettings(nats_url="tls://nats.example:4222"))
