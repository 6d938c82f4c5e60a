"""Who may publish and subscribe what on NATS, derived from the subjects, streams and consumers.

Every service connects as its own NATS user (an nkey, see `connection.py`) whose permissions
are built here from the same definitions the services use (`subjects`, `streams`), so the
allow-lists cannot drift from what the code does. Roles:

- `gateway`: owns the streams and buckets (declares them), so it may use the whole JetStream
  API; publishes requests for any host (outbox) and reads every fact.
- `scheduler`: publishes backup requests for any host and the facts it reports (JobQueued,
  JobsQueued, RunMissed); reads plans; keeps its watermarks.
- `notifier`: reads alert-worthy facts, plans and settings; answers channel checks; reads and
  writes the bucket of the alerts it sent; registers its own sealing key (and no other's).
  It publishes nothing on `dockback.>`: it cannot request a job.
- `executor-<host>`: consumes only its host's backup/restore/verify/forget/snapshot restore requests; publishes only
  its host's facts (`EXECUTOR_FACTS`: never JobQueued, JobsQueued, RunMissed or JobSucceeded), host state
  and progress; reads the cancellations bucket and its own share of the settings (`executor.<host>`:
  its repositories' passwords); registers its own sealing key; answers the
  restore preview's question about its own host (`subjects.target_users(host)`) and the listing
  of its own snapshots (`subjects.snapshot_tree(host)`) and the downloads of their files
  (`subjects.snapshot_download(host)` and its readers), and no other host's.
- `uploader-<host>`: consumes only its host's ArchiveCreated, prune, delete and fetch requests;
  publishes its host's facts (`UPLOADER_FACTS`) and progress and hands a fetched archive's
  restore to its host's executor; reads plans, the cancellations bucket and its own host's
  settings snapshot (no other key of the settings bucket); registers its own sealing key;
  answers the target checks asked of its own host (`subjects.check_target(host)`).

What each JetStream operation needs (nats-py, nats-server >= 2.9):
- create-or-update a durable consumer: `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`.
  Only this form is allowed: the server refuses a config whose filter differs from the one in
  the subject, so a host cannot create a consumer on another host's subjects. The shorter
  `CONSUMER.CREATE.<stream>.<name>` and `CONSUMER.DURABLE.CREATE...` forms are never allowed.
- bind and fetch: `$JS.API.CONSUMER.INFO.<stream>.<name>`, `$JS.API.CONSUMER.MSG.NEXT.<stream>.<name>`.
- ack, nak, in-progress: `$JS.ACK.<stream>.<name>.>`.
- read a KV bucket: `$JS.API.STREAM.INFO.KV_<bucket>`, direct or stream message get, and an
  ordered consumer for watches (`CONSUMER.CREATE.KV_<bucket>`, flow control on `$JS.FC.KV_<bucket>.>`).
  Nobody but the gateway may delete a consumer.
- write a KV bucket: publish on `$KV.<bucket>.>`.
- replies (JetStream API answers, publish acks, fetched messages, request/reply) arrive on the
  user's own inbox prefix `_INBOX.<role>.>` (`inbox_prefix`), so no user can read another's.
- answering a core request (the checks in `control.py`): `allow_responses`, which lets a user
  publish once to the reply subject of a request it received, and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockback_contracts import events as ev
from dockback_contracts import snapshots, streams, subjects
from dockback_contracts.streams import ConsumerSpec

JS_API = "$JS.API"
ALL = ">"

GATEWAY = "gateway"
SCHEDULER = "scheduler"
NOTIFIER = "notifier"
EXECUTOR = "executor"
UPLOADER = "uploader"

HOST_ROLES = (EXECUTOR, UPLOADER)
"""Roles that exist once per Docker host, named `<role>-<host id>`."""
CONTROL_PLANE_ROLES = (GATEWAY, SCHEDULER, NOTIFIER)

HOST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""The executor's host id rule: one subject token, no wildcard, no dot."""

EXECUTOR_REQUESTS: tuple[type[ev.Event], ...] = (
    ev.BackupRequested,
    ev.RestoreRequested,
    ev.VerifyRequested,
    ev.ForgetRequested,
    ev.SnapshotRestoreRequested,
)
SCHEDULER_REQUESTS: tuple[type[ev.Event], ...] = (ev.BackupRequested,)
SCHEDULER_FACTS: tuple[type[ev.Event], ...] = (ev.JobQueued, ev.JobsQueued, ev.RunMissed)
NOTIFIER_FACTS: tuple[type[ev.Event], ...] = (ev.JobFailed, ev.RunMissed, ev.JobSucceeded)
EXECUTOR_FACTS: tuple[type[ev.Event], ...] = (
    ev.JobStarted,
    ev.ArchiveCreated,
    ev.SnapshotCreated,
    ev.RestoreCompleted,
    ev.ArchiveVerified,
    ev.ArtifactsPruned,  # snapshots it forgot
    ev.JobFailed,
    ev.JobCancelled,
)
UPLOADER_FACTS: tuple[type[ev.Event], ...] = (
    ev.UploadCompleted,
    ev.ArtifactsPruned,
    ev.LocalCopiesRemoved,
    ev.JobFailed,
    ev.JobCancelled,
)
"""The facts a host's services report. Not JobQueued, JobsQueued, RunMissed nor JobSucceeded: only the
scheduler and the gateway say a job was queued, a run missed or a job done."""


@dataclass(frozen=True)
class Permissions:
    """A NATS user's allow-lists (everything else is refused)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False


@dataclass(frozen=True)
class Role:
    """One NATS user: a service, or a host's executor or uploader."""

    name: str
    permissions: Permissions = field(compare=False)

    @property
    def inbox_prefix(self) -> str:
        return inbox_prefix(self.name)


def inbox_prefix(role_name: str) -> str:
    """The reply subjects' prefix of a role: only this role may subscribe below it."""
    return f"_INBOX.{role_name}"


def check_host_id(host_id: str) -> str:
    if not HOST_ID_PATTERN.match(host_id):
        raise ValueError(f"host id {host_id!r} must match {HOST_ID_PATTERN.pattern} (one NATS subject token)")
    return host_id


def host_role_name(role: str, host_id: str) -> str:
    if role not in HOST_ROLES:
        raise ValueError(f"{role!r} is not a per-host role ({', '.join(HOST_ROLES)})")
    return f"{role}-{check_host_id(host_id)}"


# -- the JetStream API, one operation at a time ---------------------------------------------------


def consumer_subjects(spec: ConsumerSpec) -> list[str]:
    """What a service publishes to create, bind, fetch from and acknowledge its durable consumer."""
    stream, name = spec.stream, spec.durable
    return [
        f"{JS_API}.CONSUMER.CREATE.{stream}.{name}.{spec.filter_subject}",
        f"{JS_API}.CONSUMER.INFO.{stream}.{name}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{name}",
        f"$JS.ACK.{stream}.{name}.>",
    ]


def kv_stream(bucket: str) -> str:
    return f"KV_{bucket}"


def kv_read_subjects(bucket: str) -> list[str]:
    """What a service publishes to open, read and watch a KV bucket."""
    stream = kv_stream(bucket)
    return [
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        # watches: an ordered consumer (ephemeral, unnamed: it lapses by itself), its info, flow control.
        # Its body may name any deliver subject: JetStream stores nothing delivered there, and the
        # bucket's content is what this role may read anyway.
        f"{JS_API}.CONSUMER.CREATE.{stream}",
        f"{JS_API}.CONSUMER.INFO.{stream}.*",
        f"$JS.FC.{stream}.>",
    ]


def kv_key_read_subjects(bucket: str, key: str) -> list[str]:
    """What a service publishes to open a KV bucket and read one key of it, nothing else: a direct
    get whose subject names the key (the bucket allows direct gets). No message get, no watch: their
    requests name the key in the body, where permissions cannot see it."""
    stream = kv_stream(bucket)
    return [f"{JS_API}.STREAM.INFO.{stream}", f"{JS_API}.DIRECT.GET.{stream}.$KV.{bucket}.{key}"]


def own_sealing_key_subjects(role_name: str) -> list[str]:
    """What a recipient of sealed settings publishes to read and register its own public key
    (and nobody else's: the key's name is its provenance)."""
    return [
        *kv_key_read_subjects(streams.SEALING_KEYS_BUCKET, role_name),
        f"$KV.{streams.SEALING_KEYS_BUCKET}.{role_name}",
    ]


def kv_write_subjects(bucket: str) -> list[str]:
    """What a service publishes to put, update or delete keys of a KV bucket."""
    return [f"$KV.{bucket}.>"]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _role(name: str, publish: Iterable[str], subscribe: Iterable[str] = (), *, responds: bool = False) -> Role:
    return Role(
        name,
        Permissions(
            publish=_unique(publish),
            subscribe=_unique([*subscribe, f"{inbox_prefix(name)}.>"]),
            allow_responses=responds,
        ),
    )


# -- the roles ------------------------------------------------------------------------------------


def gateway_consumers() -> list[ConsumerSpec]:
    return [streams.gateway_recorder_consumer(), streams.gateway_hosts_consumer()]


def executor_consumers(host_id: str) -> list[ConsumerSpec]:
    return [streams.executor_consumer(host_id, kind) for kind in EXECUTOR_REQUESTS]


def uploader_consumers(host_id: str) -> list[ConsumerSpec]:
    return [
        streams.uploader_archive_consumer(host_id),
        streams.uploader_prune_consumer(host_id),
        streams.uploader_fetch_consumer(host_id),
        streams.uploader_delete_consumer(host_id),
    ]


def notifier_consumers() -> list[ConsumerSpec]:
    return [streams.notifier_consumer(kind) for kind in NOTIFIER_FACTS]


def _host_publications(host_id: str, facts: Iterable[type[ev.Event]]) -> list[str]:
    """The facts a host's service reports (JetStream), each on its own subject, and its jobs'
    progress (core)."""
    return [*[subjects.fact(kind, host_id) for kind in facts], subjects.progress(host_id, subjects.ANY)]


def gateway() -> Role:
    """The control plane's owner: declares streams and buckets, relays requests, records facts."""
    buckets = [kv.bucket for kv in streams.kv_configs() if kv.bucket]
    return _role(
        GATEWAY,
        publish=[
            f"{subjects.NAMESPACE}.>",  # requests for any host (outbox), control checks
            f"{JS_API}.>",  # it declares every stream, bucket and its consumers
            *[f"$JS.ACK.{spec.stream}.{spec.durable}.>" for spec in gateway_consumers()],
            *[subject for bucket in buckets for subject in kv_write_subjects(bucket)],
            *[f"$JS.FC.{kv_stream(bucket)}.>" for bucket in buckets],
        ],
        subscribe=[subjects.progress(subjects.ANY, subjects.ANY)],
    )


def scheduler() -> Role:
    """Publishes scheduled backups and the facts about them; reads plans; keeps its watermarks."""
    return _role(
        SCHEDULER,
        publish=[
            *[subjects.request(kind, subjects.ANY) for kind in SCHEDULER_REQUESTS],
            *[subjects.fact(kind, subjects.ANY) for kind in SCHEDULER_FACTS],
            *kv_read_subjects(streams.PLANS_BUCKET),
            *kv_read_subjects(streams.SCHEDULER_BUCKET),
            *kv_write_subjects(streams.SCHEDULER_BUCKET),
        ],
    )


def notifier() -> Role:
    """Reads the facts it alerts on, plans and settings; answers channel checks; records the alerts
    it sent. Requests nothing."""
    return _role(
        NOTIFIER,
        publish=[
            *[subject for spec in notifier_consumers() for subject in consumer_subjects(spec)],
            # its own snapshot; it could watch the others' too (a watch names its key in the body),
            # but those are sealed to the hosts' keys
            *kv_read_subjects(streams.SETTINGS_BUCKET),
            *own_sealing_key_subjects(NOTIFIER),
            *kv_read_subjects(streams.PLANS_BUCKET),
            *kv_read_subjects(streams.ALERTS_SENT_BUCKET),
            *kv_write_subjects(streams.ALERTS_SENT_BUCKET),
        ],
        subscribe=[subjects.CHECK_CHANNEL],
        responds=True,
    )


def executor(host_id: str) -> Role:
    """A host's executor: its host's requests in, its host's facts out; answers questions about its
    host; reads its own share of the settings (its repositories' passwords, sealed to its key)."""
    name = host_role_name(EXECUTOR, host_id)
    return _role(
        name,
        publish=[
            *[subject for spec in executor_consumers(host_id) for subject in consumer_subjects(spec)],
            *_host_publications(host_id, EXECUTOR_FACTS),
            subjects.host_state(ev.HostInventory, host_id),
            subjects.host_state(ev.HostHeartbeat, host_id),
            *kv_read_subjects(streams.CANCELS_BUCKET),
            *kv_key_read_subjects(streams.SETTINGS_BUCKET, snapshots.executor_settings_key(host_id)),
            *own_sealing_key_subjects(name),
        ],
        # what uses a restore's target, asked by the preview; a snapshot's directory and the
        # downloads of its files, by the Backups page
        subscribe=[
            subjects.target_users(host_id),
            subjects.snapshot_tree(host_id),
            subjects.snapshot_download(host_id),
            subjects.snapshot_download_reader(host_id, subjects.ANY),
        ],
        responds=True,
    )


def uploader(host_id: str) -> Role:
    """A host's uploader: its host's archives, prunes, deletions and fetches in, its host's facts out."""
    name = host_role_name(UPLOADER, host_id)
    return _role(
        name,
        publish=[
            *[subject for spec in uploader_consumers(host_id) for subject in consumer_subjects(spec)],
            *_host_publications(host_id, UPLOADER_FACTS),
            subjects.request(ev.RestoreRequested, host_id),  # a fetched archive's restore, for its executor
            # its host's settings snapshot only (sealed to its own key), and its own key's registration
            *kv_key_read_subjects(streams.SETTINGS_BUCKET, snapshots.host_settings_key(host_id)),
            *own_sealing_key_subjects(name),
            *kv_read_subjects(streams.PLANS_BUCKET),
            *kv_read_subjects(streams.CANCELS_BUCKET),  # users' cancellations of its jobs
        ],
        subscribe=[subjects.check_target(host_id)],  # checks of an S3 target from this host
        responds=True,
    )


def control_plane_roles() -> list[Role]:
    return [gateway(), scheduler(), notifier()]


def host_roles(host_id: str) -> list[Role]:
    return [executor(host_id), uploader(host_id)]


def role_named(name: str) -> Role:
    """The role of a user name: `gateway`, `scheduler`, `notifier`, `executor-<host>`, `uploader-<host>`."""
    for role in control_plane_roles():
        if role.name == name:
            return role
    kind, _, host_id = name.partition("-")
    if kind == EXECUTOR and host_id:
        return executor(host_id)
    if kind == UPLOADER and host_id:
        return uploader(host_id)
    raise ValueError(f"unknown NATS role {name!r}")


def all_roles(host_ids: Iterable[str]) -> list[Role]:
    """The control plane's roles and each host's."""
    return [*control_plane_roles(), *[role for host_id in host_ids for role in host_roles(host_id)]]


# -- the server's configuration -------------------------------------------------------------------


def _quoted(items: Iterable[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def authorization_config(users: Iterable[tuple[Role, str]]) -> str:
    """The nats-server `authorization` block for these (role, public nkey) pairs; `include` it in nats.conf."""
    lines = [
        "# DockBack's NATS users: one nkey per service and per host's executor and uploader.",
        "# Generated by dockback-nats-auth from dockback_contracts.permissions; do not edit by hand.",
        "# Only public keys are here; the seeds are in each service's credentials file.",
        "authorization {",
        "  users = [",
    ]
    for role, public_key in users:
        permissions = role.permissions
        lines += [
            f"    # {role.name}",
            "    {",
            f'      nkey: "{public_key}"',
            "      permissions: {",
            f"        publish: {{ allow: [{_quoted(permissions.publish)}] }}",
            f"        subscribe: {{ allow: [{_quoted(permissions.subscribe)}] }}",
        ]
        if permissions.allow_responses:
            lines.append("        allow_responses: true")
        lines += ["      }", "    }"]
    lines += ["  ]", "}", ""]
    return "\n".join(lines)
