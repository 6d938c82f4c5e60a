"""Backups on a three-node JetStream cluster (streams with 3 replicas) survive the loss of a node:
the one the executor is connected to, which also leads the jobs stream, the events stream and the
executor's consumer, is SIGKILLed while jobs run, and every job still ends exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from cluster.conftest import Executors, archives_in, fill_volumes, parse_event, stage, stored_events, within
from dockback_contracts import events as ev
from dockback_contracts import streams
from dockback_runtime.delivery import wait_until_set
from dockback_scheduler.publisher import Publisher
from harness.gateway_process import GatewayProcess, run_gateway
from harness.nats_cluster import NatsCluster, connected_nodes

log = logging.getLogger(__name__)

HOST_ID = "cluster-host"
JOBS = 24
FIRST_WAVE = 12  # published before the kill; the rest while the cluster elects new leaders
VOLUME_KIB = 1024


async def replicated(js: JetStreamContext, stream: str) -> bool:
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return False
    return (
        info.config.num_replicas == 3
        and info.cluster is not None
        and info.cluster.leader is not None
        and len(info.cluster.replicas or []) == 2
    )


async def stream_leader(js: JetStreamContext, stream: str) -> str | None:
    info = await js.stream_info(stream)
    return info.cluster.leader if info.cluster else None


async def consumer_leader(js: JetStreamContext, stream: str, consumer: str) -> str | None:
    try:
        info = await js.consumer_info(stream, consumer)
    except NotFoundError:
        return None
    return info.cluster.leader if info.cluster else None


async def leads_stream(js: JetStreamContext, stream: str, node: str) -> bool:
    return await stream_leader(js, stream) == node


async def leads_consumer(js: JetStreamContext, consumer: str, node: str) -> bool:
    return await consumer_leader(js, streams.JOBS_STREAM, consumer) == node


async def step_down_to(client: Client, api_subject: str, node: str) -> None:
    """Ask a stream's or consumer's leader to hand over to `node` (placement.preferred)."""
    answer = await client.request(api_subject, json.dumps({"placement": {"preferred": node}}).encode(), timeout=5)
    reply = json.loads(answer.data)
    assert reply.get("success"), f"{api_subject} to {node}: {reply}"


@pytest.fixture
def cluster_gateway(nats_cluster: NatsCluster, database_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    """The gateway on the cluster: it declares the streams and buckets with 3 replicas."""
    with run_gateway(database_url, nats_cluster.urls, tmp_path, DOCKBACK_STREAM_REPLICAS="3") as process:
        yield process


async def test_every_backup_ends_exactly_once_when_the_node_leading_the_streams_and_serving_the_executor_is_killed(
    nats_cluster: NatsCluster,
    cluster_gateway: GatewayProcess,
    executors: Executors,
    busybox_image: str,
    docker_labels: dict[str, str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    volumes = [f"{unique_name}-{i:02d}" for i in range(JOBS)]
    await fill_volumes(busybox_image, volumes, docker_labels, kib=VOLUME_KIB)
    log.info("%d volumes of %d KiB made", JOBS, VOLUME_KIB)
    data_dir = tmp_path / "data"
    consumer = streams.executor_consumer(HOST_ID, ev.BackupRequested).durable

    def logs() -> str:
        return f"{executors.logs()}\n--- gateway\n{cluster_gateway.log.read_text()[-4000:]}\n{nats_cluster.logs()}"

    client = await nats.connect(nats_cluster.urls.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = client.jetstream(timeout=3)
    heard: list[ev.Event] = []
    arrived = asyncio.Event()

    async def on_event(msg: Msg) -> None:
        heard.append(parse_event(msg.data))
        arrived.set()

    try:
        await client.subscribe(f"dockback.events.{HOST_ID}.>", cb=on_event)
        await client.subscribe(f"dockback.hosts.{HOST_ID}.heartbeat", cb=on_event)
        for stream in (streams.JOBS_STREAM, streams.EVENTS_STREAM, streams.HOSTS_STREAM):
            await within(30, f"the gateway declared {stream} with 3 replicas", partial(replicated, js, stream), logs)

        # A publish that fails while leaders are elected (JobStarted, ArchiveCreated) is a transient
        # error: the job is retried and the attempt counts. Short delays keep the test fast; their
        # sum (32 s) outlasts a leader election (seconds) several times over.
        executor = executors.start(
            "executor",
            nats_url=nats_cluster.urls,
            host_id=HOST_ID,
            data_dir=data_dir,
            DOCKBACK_JOB_RETRY_DELAYS_SECONDS="[1, 2, 3, 5, 8, 13]",
        )
        async with stage(30, "the executor's first heartbeat (it runs once the executor subscribed)", logs):
            while not any(isinstance(e, ev.HostHeartbeat) for e in heard):
                arrived.clear()
                await arrived.wait()
        log.info("the executor subscribed")
        # The hardest node to lose: the executor's own connection, and the leader of the jobs
        # stream, of the executor's consumer and of the events stream it publishes to.
        [victim] = connected_nodes(nats_cluster, executor.pid)
        for stream in (streams.JOBS_STREAM, streams.EVENTS_STREAM):
            if await stream_leader(js, stream) != victim.name:
                await step_down_to(client, f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", victim.name)
            await within(10, f"{victim.name} leads {stream}", partial(leads_stream, js, stream, victim.name), logs)
        if await consumer_leader(js, streams.JOBS_STREAM, consumer) != victim.name:
            await step_down_to(
                client, f"$JS.API.CONSUMER.LEADER.STEPDOWN.{streams.JOBS_STREAM}.{consumer}", victim.name
            )
        await within(
            10,
            f"{victim.name} leads the consumer {consumer}",
            partial(leads_consumer, js, consumer, victim.name),
            logs,
        )

        requests = [
            ev.BackupRequested(
                job_id=uuid.uuid4(),
                host_id=HOST_ID,
                resource=ev.ResourceRef(kind="volume", name=volume),
                options=ev.BackupOptions(compression="gzip"),
                requested_by="cluster-test",
            )
            for volume in volumes
        ]
        publisher = Publisher(js, timeout=2.0)

        async def publish(wave: list[ev.BackupRequested]) -> None:
            """As the gateway and scheduler do: JobQueued first, then the request, each retried
            until stored, deduplicated by its Nats-Msg-Id."""
            async with stage(60, f"publishing {len(wave)} jobs", logs):
                await publisher.publish_all(
                    [ev.JobQueued(job_id=r.job_id, host_id=HOST_ID, kind="backup", request=r) for r in wave]
                )
                await publisher.publish_all(wave)

        log.info(
            "%s serves the executor and leads the jobs and events streams and the consumer; meta leader: %s",
            victim.name,
            nats_cluster.meta_leader(),
        )
        await publish(requests[:FIRST_WAVE])

        def archived() -> set[uuid.UUID]:
            return {e.job_id for e in heard if isinstance(e, ev.ArchiveCreated) and e.job_id}

        def started() -> set[uuid.UUID]:
            return {e.job_id for e in heard if isinstance(e, ev.JobStarted) and e.job_id}

        async with stage(60, "three jobs done and one running", logs):  # the moment to kill
            while not (len(archived()) >= 3 and started() - archived()):
                arrived.clear()
                await arrived.wait()
        in_flight = started() - archived()
        done_before_kill = len(archived())
        nats_cluster.kill(victim)
        killed_at = time.monotonic()
        log.info("killed %s with %d job(s) done and %d running", victim.name, done_before_kill, len(in_flight))

        await publish(requests[FIRST_WAVE:])
        log.info("second wave stored %.1fs after the kill", time.monotonic() - killed_at)
        job_ids = {r.job_id for r in requests}

        def terminal() -> set[uuid.UUID]:
            return {e.job_id for e in heard if isinstance(e, ev.JobSucceeded | ev.JobFailed) and e.job_id}

        async with stage(120, "every job ended", logs):
            while not job_ids <= terminal():
                arrived.clear()
                if not await wait_until_set(arrived, 2.0):  # quiet: read what the failover kept from us
                    heard[:] = [e for _, e in await stored_events(js, streams.EVENTS_STREAM)]
        log.info("every job ended %.1fs after the kill", time.monotonic() - killed_at)

        async def settled() -> bool:
            """No job message is left or held, and the gateway has read every fact."""
            jobs = await js.stream_info(streams.JOBS_STREAM)
            executor_consumer = await js.consumer_info(streams.JOBS_STREAM, consumer)
            recorder = await js.consumer_info(streams.EVENTS_STREAM, streams.gateway_recorder_consumer().durable)
            pending = (
                jobs.state.messages,
                executor_consumer.num_ack_pending,
                recorder.num_pending,
                recorder.num_ack_pending,
            )
            last_pending[:] = [pending]
            return pending == (0, 0, 0, 0)

        # An ack sent to the killed node is lost: that message comes back after its ack wait (30 s
        # for the gateway's recorder), and must not end its job a second time.
        last_pending: list[tuple[int, ...]] = []
        await within(
            45,
            "nothing left pending",
            settled,
            lambda: f"(jobs, executor acks, recorder pending, recorder acks): {last_pending}\n{logs()}",
        )
        log.info("nothing left pending %.1fs after the kill", time.monotonic() - killed_at)
        stored = [e for _, e in await stored_events(js, streams.EVENTS_STREAM)]
        leader_after = await stream_leader(js, streams.JOBS_STREAM)
    finally:
        await client.close()

    ended = Counter(e.job_id for e in stored if isinstance(e, ev.JobSucceeded | ev.JobFailed))
    failed = [e for e in stored if isinstance(e, ev.JobFailed)]
    artifacts: dict[uuid.UUID | None, set[Any]] = {}
    for e in stored:
        if isinstance(e, ev.ArchiveCreated):
            artifacts.setdefault(e.job_id, set()).add(e.archive.artifact_id)
    created = {e.job_id: e for e in stored if isinstance(e, ev.ArchiveCreated)}
    on_disk = archives_in(data_dir)

    assert in_flight, "the node was killed while a job ran"
    assert done_before_kill < FIRST_WAVE, "the node was killed before the first wave was done"
    assert leader_after not in (None, victim.name)
    assert ended == Counter({job_id: 1 for job_id in job_ids}), "each job has exactly one JobSucceeded or JobFailed"
    assert failed == [], "losing one of three nodes fails no job"
    assert artifacts == {job_id: {created[job_id].archive.artifact_id} for job_id in job_ids}, "one archive per job"
    assert sorted(on_disk) == sorted(str(job_id) for job_id in job_ids)
    for job_id in job_ids:
        archive = created[job_id].archive
        [path] = on_disk[str(job_id)]
        assert path == data_dir / archive.path
        assert path.stat().st_size == archive.size_bytes
        assert hashlib.sha256(path.read_bytes()).hexdigest() == archive.sha256
