"""Every JetStream stream, consumer and KV bucket, defined once.

The gateway owns the streams and buckets: it creates or updates them at start
(`declare` them). Everyone else binds to them by name and never declares them.
Each consumer is created-or-updated by the service that uses it before it subscribes,
because a durable consumer whose config changed is otherwise silently kept as it was.

Redelivery: we do not set the server's `backoff` on consumers. It replaces `ack_wait` for
the first deliveries, which would shorten the window in which a long job must send its
in-progress acks. Crash redelivery uses `ack_wait`; transient errors nak with an explicit
delay from the consumer's `RetryPolicy` (a nak without delay would redeliver at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from dockback_contracts import events as ev
from dockback_contracts import subjects

DAY = 24 * 3600.0

JOBS_STREAM = "DOCKBACK_JOBS"
EVENTS_STREAM = "DOCKBACK_EVENTS"
HOSTS_STREAM = "DOCKBACK_HOSTS"

PLANS_BUCKET = "dockback_plans"
SETTINGS_BUCKET = "dockback_settings"
CANCELS_BUCKET = "dockback_cancels"
SCHEDULER_BUCKET = "dockback_scheduler"
ALERTS_SENT_BUCKET = "dockback_alerts_sent"
SEALING_KEYS_BUCKET = "dockback_sealing_keys"

EVENTS_MAX_AGE = 30 * DAY
"""How long facts stay in the events stream; also how long the notifier remembers an alert it sent,
so even a consumer replaying the whole stream sends no alert twice."""

DUPLICATE_WINDOW = 2 * 3600.0
"""How long a `Nats-Msg-Id` is remembered. Longer than any scheduler restart or publisher retry."""


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    """The streams, with `replicas` copies each (3 on a JetStream cluster)."""
    return [
        StreamConfig(
            name=JOBS_STREAM,
            description="Work for the hosts: one message per requested job, removed once done.",
            subjects=[f"{subjects.JOBS_PREFIX}.*.*"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            discard=DiscardPolicy.NEW,  # refuse new work when full rather than drop queued jobs
            max_age=14 * DAY,
            duplicate_window=DUPLICATE_WINDOW,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=EVENTS_STREAM,
            description="Facts about jobs and hosts, read by the gateway, uploader and notifier.",
            subjects=[f"{subjects.EVENTS_PREFIX}.*.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=EVENTS_MAX_AGE,
            duplicate_window=DUPLICATE_WINDOW,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=HOSTS_STREAM,
            description="The latest inventory and heartbeat of every host.",
            subjects=[f"{subjects.HOSTS_PREFIX}.*.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_msgs_per_subject=1,
            max_age=30 * DAY,
            duplicate_window=60.0,
            num_replicas=replicas,
        ),
    ]


def kv_configs(replicas: int = 1) -> list[KeyValueConfig]:
    """The KV buckets: the gateway's snapshots and cancellations, the scheduler's watermarks,
    the notifier's record of the alerts it sent."""
    return [
        KeyValueConfig(
            bucket=PLANS_BUCKET,
            description="Plan snapshots by plan id",
            history=5,
            storage=StorageType.FILE,
            replicas=replicas,
        ),
        KeyValueConfig(
            bucket=SETTINGS_BUCKET,
            description="Settings snapshots by recipient (`host.<host id>`, `notifier`), each sealed to that "
            "recipient's key; read by direct get only, so each role's permissions name its one key",
            history=5,
            storage=StorageType.FILE,
            replicas=replicas,
            direct=True,
        ),
        KeyValueConfig(
            bucket=SEALING_KEYS_BUCKET,
            description="The public sealing key of each uploader and of the notifier, by NATS role name "
            "(SealingKey); each role may write only its own",
            history=1,
            storage=StorageType.FILE,
            replicas=replicas,
            direct=True,
        ),
        KeyValueConfig(
            bucket=CANCELS_BUCKET,
            description="Cancelled jobs by job id (JobCancellation), read by the executors",
            history=1,
            ttl=14 * DAY,
            storage=StorageType.FILE,
            replicas=replicas,
        ),
        KeyValueConfig(
            bucket=SCHEDULER_BUCKET,
            description="The scheduler's watermarks: the last slot handled, by plan id, "
            "so a restarted scheduler knows which runs it missed",
            history=1,
            storage=StorageType.FILE,
            replicas=replicas,
        ),
        KeyValueConfig(
            bucket=ALERTS_SENT_BUCKET,
            description="The alerts the notifiers took, by channel and alert key (create-only, "
            "so two notifiers send an alert once); kept as long as the facts they came from",
            history=1,
            ttl=EVENTS_MAX_AGE,
            storage=StorageType.FILE,
            replicas=replicas,
        ),
    ]


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between attempts after a transient failure; after the last, the job fails."""

    delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 1800.0)

    @property
    def max_deliver(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, num_delivered: int) -> float | None:
        """Delay before the next attempt after attempt `num_delivered` (1-based) failed;
        None when the budget is spent."""
        if num_delivered < 1:
            raise ValueError("num_delivered is 1-based")
        if num_delivered > len(self.delays):
            return None
        return self.delays[num_delivered - 1]


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer: which stream, its server-side config, its retry policy."""

    stream: str
    config: ConsumerConfig
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def durable(self) -> str:
        assert self.config.durable_name is not None
        return self.config.durable_name

    @property
    def filter_subject(self) -> str:
        assert self.config.filter_subject is not None
        return self.config.filter_subject

    @property
    def keep_alive_interval(self) -> float:
        """How often a handler holding a message sends an in-progress ack."""
        assert self.config.ack_wait is not None
        return self.config.ack_wait / 3

    def with_retry(self, retry: RetryPolicy) -> ConsumerSpec:
        return ConsumerSpec(self.stream, replace(self.config, max_deliver=retry.max_deliver), retry)

    def with_ack_wait(self, seconds: float) -> ConsumerSpec:
        return ConsumerSpec(self.stream, replace(self.config, ack_wait=seconds), self.retry)


def _durable(
    name: str,
    filter_subject: str,
    *,
    ack_wait: float,
    retry: RetryPolicy,
    max_ack_pending: int = 1000,
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL,
) -> ConsumerConfig:
    return ConsumerConfig(
        name=name,
        durable_name=name,
        filter_subject=filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=retry.max_deliver,
        max_ack_pending=max_ack_pending,
        deliver_policy=deliver_policy,
    )


_JOB_RETRY = RetryPolicy()
_EVENT_RETRY = RetryPolicy(delays=(1.0, 5.0, 30.0, 120.0, 600.0))


def executor_consumer(host_id: str, request_type: type[ev.Event]) -> ConsumerSpec:
    """The consumer a host's executors share for one kind of request.

    ack_wait 60 s: a job keeps its message with an in-progress ack every 20 s, so a crashed
    executor's job is redelivered to another within a minute.
    """
    kind = subjects.request(request_type, host_id).rsplit(".", 1)[1]
    name = f"executor-{host_id}-{kind}"
    return ConsumerSpec(
        JOBS_STREAM,
        _durable(name, subjects.request(request_type, host_id), ack_wait=60.0, retry=_JOB_RETRY),
        _JOB_RETRY,
    )


def uploader_archive_consumer(host_id: str) -> ConsumerSpec:
    """The consumer of a host's uploaders: its `ArchiveCreated` facts."""
    name = f"uploader-{host_id}-archives"
    return ConsumerSpec(
        EVENTS_STREAM,
        _durable(name, subjects.fact(ev.ArchiveCreated, host_id), ack_wait=60.0, retry=_JOB_RETRY),
        _JOB_RETRY,
    )


def uploader_prune_consumer(host_id: str) -> ConsumerSpec:
    """The consumer of a host's uploaders for `PruneRequested` (local and remote copies)."""
    name = f"uploader-{host_id}-prune"
    return ConsumerSpec(
        JOBS_STREAM,
        _durable(name, subjects.request(ev.PruneRequested, host_id), ack_wait=60.0, retry=_JOB_RETRY),
        _JOB_RETRY,
    )


def uploader_fetch_consumer(host_id: str) -> ConsumerSpec:
    """The consumer of a host's uploaders for `FetchRequested` (a restore from a remote copy)."""
    name = f"uploader-{host_id}-fetch"
    return ConsumerSpec(
        JOBS_STREAM,
        _durable(name, subjects.request(ev.FetchRequested, host_id), ack_wait=60.0, retry=_JOB_RETRY),
        _JOB_RETRY,
    )


def uploader_delete_consumer(host_id: str) -> ConsumerSpec:
    """The consumer of a host's uploaders for `DeleteRequested` (a person deletes one artifact)."""
    name = f"uploader-{host_id}-delete"
    return ConsumerSpec(
        JOBS_STREAM,
        _durable(name, subjects.request(ev.DeleteRequested, host_id), ack_wait=60.0, retry=_JOB_RETRY),
        _JOB_RETRY,
    )


def gateway_recorder_consumer() -> ConsumerSpec:
    """The gateway's consumer of every fact, to record jobs and artifacts in Postgres."""
    name = "gateway-recorder"
    return ConsumerSpec(
        EVENTS_STREAM, _durable(name, f"{subjects.EVENTS_PREFIX}.>", ack_wait=30.0, retry=_EVENT_RETRY), _EVENT_RETRY
    )


def gateway_hosts_consumer() -> ConsumerSpec:
    """The gateway's consumer of host inventories and heartbeats."""
    name = "gateway-hosts"
    return ConsumerSpec(
        HOSTS_STREAM,
        _durable(
            name,
            f"{subjects.HOSTS_PREFIX}.>",
            ack_wait=30.0,
            retry=_EVENT_RETRY,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        ),
        _EVENT_RETRY,
    )


def notifier_consumer(fact_type: type[ev.Event]) -> ConsumerSpec:
    """The notifier's consumer of one kind of alert-worthy fact (`JobFailed`, `RunMissed`, `JobSucceeded`)."""
    token = subjects.fact(fact_type, subjects.ANY).rsplit(".", 1)[1]
    name = f"notifier-{token}"
    return ConsumerSpec(
        EVENTS_STREAM,
        _durable(name, subjects.fact(fact_type, subjects.ANY), ack_wait=60.0, retry=_EVENT_RETRY),
        _EVENT_RETRY,
    )


def stream_for(event: ev.Event) -> str | None:
    """The stream an event is stored in; None for core-NATS-only events (progress)."""
    subject = subjects.subject_for(event)
    for prefix, stream in (
        (subjects.JOBS_PREFIX, JOBS_STREAM),
        (subjects.EVENTS_PREFIX, EVENTS_STREAM),
        (subjects.HOSTS_PREFIX, HOSTS_STREAM),
    ):
        if subject.startswith(prefix + "."):
            return stream
    return None
