"""Every NATS subject DockBack uses. Namespace first, then the host, then what it is.

The host id sits in a fixed position so a host's NATS credentials can be limited to
`dockback.jobs.<host>.>`, `dockback.events.<host>.>` and the like.

- `dockback.jobs.<host>.<kind>`: requests, work-queue stream `DOCKBACK_JOBS`.
- `dockback.events.<host>.<fact>`: facts, stream `DOCKBACK_EVENTS`.
- `dockback.hosts.<host>.inventory|heartbeat`: the last value per host, stream `DOCKBACK_HOSTS`.
- `dockback.progress.<host>.<job>`: job progress, core NATS only (losing one is harmless).
- `dockback.control.<service>.<action>`: core-NATS request/reply for checks the API offers.
- `dockback.control.<host>.<question>`: core-NATS request/reply that only that host's
  executors may answer (the restore preview's `target_users`).
"""

from __future__ import annotations

from uuid import UUID

from dockback_contracts import events as ev

NAMESPACE = "dockback"

JOBS_PREFIX = f"{NAMESPACE}.jobs"
EVENTS_PREFIX = f"{NAMESPACE}.events"
HOSTS_PREFIX = f"{NAMESPACE}.hosts"
PROGRESS_PREFIX = f"{NAMESPACE}.progress"
CONTROL_PREFIX = f"{NAMESPACE}.control"

CHECK_CHANNEL = f"{CONTROL_PREFIX}.notifiers.check_channel"
"""Core-NATS request/reply (queue group `notifiers`): send a test alert through one channel."""

ANY = "*"


def check_target(host_id: str) -> str:
    """Core-NATS request/reply (queue group `uploaders`): can this host's uploader reach an S3 target
    (`control.CheckTarget` -> `control.CheckResult`)? Only that host's uploaders may subscribe."""
    return f"{CONTROL_PREFIX}.{host_id}.check_target"


def snapshot_tree(host_id: str) -> str:
    """Core-NATS request/reply (queue group `executors`): one directory of a snapshot in one of the
    host's repositories. Only that host's executors may subscribe to it (`permissions.executor`)."""
    return f"{CONTROL_PREFIX}.{host_id}.snapshot_tree"


def snapshot_download(host_id: str) -> str:
    """Core-NATS request/reply (queue group `executors`): start a download of files of a snapshot
    in one of the host's repositories (`control.SnapshotDownloadOpen`). Only that host's executors
    may subscribe to it (`permissions.executor`)."""
    return f"{CONTROL_PREFIX}.{host_id}.snapshot_download"


def snapshot_download_reader(host_id: str, instance_id: str) -> str:
    """Core-NATS request/reply: the bytes of the downloads one executor (`instance_id`) of the host
    started (`control.SnapshotDownloadRead`), which only it holds."""
    return f"{snapshot_download(host_id)}.{instance_id}"


def target_users(host_id: str) -> str:
    """Core-NATS request/reply (queue group `executors`): what exists on the host now, for a
    restore preview (`control.TargetUsersQuery` -> `control.TargetUsers`). Only that host's
    executors may subscribe to it (`permissions.executor`)."""
    return f"{CONTROL_PREFIX}.{host_id}.target_users"


# The last token of each request/fact subject, by event class.
_REQUEST_TOKENS: dict[type[ev.Event], str] = {
    ev.BackupRequested: "backup",
    ev.RestoreRequested: "restore",
    ev.VerifyRequested: "verify",
    ev.PruneRequested: "prune",
    ev.FetchRequested: "fetch",
    ev.DeleteRequested: "delete",
    ev.ForgetRequested: "forget",
    ev.SnapshotRestoreRequested: "restore_snapshot",
}
_FACT_TOKENS: dict[type[ev.Event], str] = {
    ev.JobQueued: "job_queued",
    ev.JobsQueued: "jobs_queued",
    ev.JobStarted: "job_started",
    ev.ArchiveCreated: "archive_created",
    ev.SnapshotCreated: "snapshot_created",
    ev.UploadCompleted: "upload_completed",
    ev.RestoreCompleted: "restore_completed",
    ev.ArchiveVerified: "archive_verified",
    ev.ArtifactsPruned: "artifacts_pruned",
    ev.LocalCopiesRemoved: "local_copies_removed",
    ev.JobSucceeded: "job_succeeded",
    ev.JobFailed: "job_failed",
    ev.JobCancelled: "job_cancelled",
    ev.RunMissed: "run_missed",
}
_HOST_TOKENS: dict[type[ev.Event], str] = {
    ev.HostInventory: "inventory",
    ev.HostHeartbeat: "heartbeat",
}


def request(event_type: type[ev.Event], host_id: str) -> str:
    """The subject a request of `event_type` for `host_id` is published on."""
    return f"{JOBS_PREFIX}.{host_id}.{_REQUEST_TOKENS[event_type]}"


def fact(event_type: type[ev.Event], host_id: str) -> str:
    """The subject a fact of `event_type` about `host_id` is published on (`*` for any host)."""
    return f"{EVENTS_PREFIX}.{host_id}.{_FACT_TOKENS[event_type]}"


def host_state(event_type: type[ev.Event], host_id: str) -> str:
    """The subject of a host's inventory or heartbeat (`*` for any host)."""
    return f"{HOSTS_PREFIX}.{host_id}.{_HOST_TOKENS[event_type]}"


def progress(host_id: str, job_id: UUID | str) -> str:
    """The core-NATS subject of a job's progress (`*` for any host or job)."""
    return f"{PROGRESS_PREFIX}.{host_id}.{job_id}"


def subject_for(event: ev.Event) -> str:
    """The subject an event instance is published on."""
    event_type = type(event)
    if not isinstance(event, ev.HostEvent):
        raise KeyError(f"{event_type.__name__} is not host-scoped: no subject")
    host_id = event.host_id
    if event_type in _REQUEST_TOKENS:
        return request(event_type, host_id)
    if event_type in _FACT_TOKENS:
        return fact(event_type, host_id)
    if event_type in _HOST_TOKENS:
        return host_state(event_type, host_id)
    if event_type is ev.JobProgress:
        return progress(host_id, event.job_id or ANY)
    raise KeyError(f"no subject for {event_type.__name__}")


def message_id(event: ev.Event) -> str:
    """The `Nats-Msg-Id` of an event: its natural key, so a request or fact published again
    (a scheduler replica, a redelivered job announcing its archive again) is stored once."""
    if type(event) in _REQUEST_TOKENS and event.job_id is not None:
        return str(event.job_id)  # a request is its job: the job id is the key, as the scheduler's uuid5
    token = _FACT_TOKENS.get(type(event)) or type(event).__name__
    match event:
        case ev.ArchiveCreated():
            return f"{token}:{event.archive.artifact_id}"
        case ev.SnapshotCreated():
            return f"{token}:{event.snapshot.artifact_id}"
        case ev.UploadCompleted():
            return f"{token}:{event.artifact_id}:{event.target_id}"
        case ev.JobStarted():
            return f"{token}:{event.job_id}:{event.attempt}"
        case ev.RunMissed():
            return f"{token}:{event.plan_id}:{event.scheduled_for.timestamp():.0f}"
        case ev.JobProgress() | ev.HostInventory() | ev.HostHeartbeat():
            return str(event.event_id)
        case _ if event.job_id is not None:
            return f"{token}:{event.job_id}"
    return str(event.event_id)
