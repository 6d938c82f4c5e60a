"""Requests and replies of the checks the API offers, over core NATS (`subjects.CHECK_CHANNEL`,
`subjects.check_target(host)`), the question the restore preview asks a host
(`subjects.target_users`), the listing of a snapshot's directory (`subjects.snapshot_tree`) and
the download of files from a snapshot (`subjects.snapshot_download`).

The gateway asks; one notifier (or one of the chosen host's uploaders or executors) of the queue
group answers. Replies say what went wrong in words a person can act on, and never carry a secret.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockback_contracts.base import HostId, Model, Name, Seq, UtcDatetime
from dockback_contracts.inventory import ContainerInfo, ImageInfo, VolumeInfo
from dockback_contracts.snapshots import S3Target, SmtpSettings, Webhook


class CheckTarget(Model):
    """Can this S3 target be reached with its credentials, and does its bucket exist? Asked of one
    host's uploaders (`subjects.check_target(host)`), with the target as saved, its keys sealed to
    that host's uploader key: a host whose plans do not use a target never has its keys otherwise,
    so the check carries them, to the host an admin chose to check from."""

    type: Literal["check_target.v2"] = "check_target.v2"
    target: S3Target
    recipient: str = Field(min_length=1, description="The public sealing key the target's keys are sealed to.")


class CheckChannel(Model):
    """Send a test alert through the SMTP channel or one webhook."""

    type: Literal["check_channel.v1"] = "check_channel.v1"
    channel: Literal["smtp", "webhook"]
    webhook_id: Name | None = Field(default=None, description="For channel=webhook.")
    requested_by: str
    settings_revision: int | None = Field(
        default=None,
        ge=1,
        description="The settings revision to check (the gateway's newest, at least what the user just saved): "
        "the answering service first waits, briefly, until its settings snapshot has it. None: check what it has.",
    )
    smtp: SmtpSettings | None = Field(
        default=None,
        description="For channel=smtp: these values (a settings form, not saved) instead of the saved ones; "
        "their password sealed to `recipient`.",
    )
    webhook: Webhook | None = Field(
        default=None,
        description="For channel=webhook: this webhook (a settings form, not saved) instead of the saved one; "
        "its URL and signing secret sealed to `recipient`.",
    )
    recipient: str | None = Field(
        default=None, max_length=64, description="The notifier's public sealing key the values' secrets are sealed to."
    )


class CheckResult(Model):
    """The answer to a check."""

    type: Literal["check_result.v1"] = "check_result.v1"
    ok: bool
    detail: str = Field(description="What was checked, or what went wrong and how to fix it.")
    answered_by: str = Field(description="Which service instance answered (e.g. uploader on host h1).")
    checked_at: UtcDatetime


class TargetUsersQuery(Model):
    """What the restore preview asks a host's executor, on `subjects.target_users(host)`: which of
    these volumes, containers and images exist on its Docker Engine now, and which containers
    use those volumes (the host's last inventory may be minutes old)."""

    type: Literal["target_users_query.v1"] = "target_users_query.v1"
    volumes: Seq[Name] = Field(default=(), description="Volumes the restore would write.")
    containers: Seq[Name] = Field(default=(), description="Containers the restore would replace.")
    images: Seq[Name] = Field(default=(), description="Images (tag or id) the restore would load over.")


class TargetUsers(Model):
    """The executor's answer, read from its Docker Engine when asked. Lists only the asked objects
    that exist: an asked name that is missing here does not exist on the host."""

    type: Literal["target_users.v1"] = "target_users.v1"
    host_id: HostId
    volumes: Seq[VolumeInfo] = Field(default=(), description="With `used_by`: every container that mounts each.")
    containers: Seq[ContainerInfo] = ()
    images: Seq[ImageInfo] = ()
    problem: str | None = Field(
        default=None,
        description="Why the engine could not be read (the lists are then empty and mean nothing).",
    )
    checked_at: UtcDatetime


SNAPSHOT_TREE_MOST_ENTRIES = 5000
"""The most entries one answer lists (a NATS message stays small); `truncated` says there are more."""


class SnapshotTreeQuery(Model):
    """What the Backups page asks a host's executor, on `subjects.snapshot_tree(host)`: the entries
    directly inside `path` (from the volume's root) of a snapshot of a volume in one of the host's
    repositories."""

    type: Literal["snapshot_tree_query.v1"] = "snapshot_tree_query.v1"
    repository: Name
    snapshot_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    volume: Name = Field(description="The volume the snapshot is of.")
    path: str = Field(default="/", max_length=4096, description="A directory, from the volume's root.")


class SnapshotEntry(Model):
    """One entry of a snapshot's directory, as restic recorded it."""

    name: str
    path: str = Field(description="From the volume's root.")
    type: str = Field(description="file, dir, symlink, dev, chardev, fifo or socket.")
    size: int | None = Field(default=None, description="A file's size in bytes.")
    mode: int | None = Field(default=None, description="Permission bits and type, as Go's os.FileMode.")
    uid: int | None = None
    gid: int | None = None
    mtime: UtcDatetime | None = None


class SnapshotTree(Model):
    """The executor's answer: the directory's entries by name, or the problem that stopped it."""

    type: Literal["snapshot_tree.v1"] = "snapshot_tree.v1"
    host_id: HostId
    path: str
    entries: Seq[SnapshotEntry] = ()
    truncated: bool = Field(default=False, description="The directory holds more entries than listed.")
    problem: str | None = Field(default=None, description="Why the directory could not be listed.")


SNAPSHOT_DOWNLOAD_MOST_PATHS = 100
SNAPSHOT_DOWNLOAD_CHUNK_BYTES = 512 * 1024
"""The most bytes of a download one reply carries (NATS' payload limit is 1 MiB)."""


class SnapshotDownloadOpen(Model):
    """The gateway asks one executor of the host, on `subjects.snapshot_download(host)`, to start a
    download of `paths` (from the volume's root) of a snapshot of a volume: one file as it is, else
    a tar of everything chosen (directories with what is below them), named from their directory."""

    type: Literal["snapshot_download_open.v1"] = "snapshot_download_open.v1"
    download_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Chosen by the gateway.")
    repository: Name
    snapshot_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    volume: Name = Field(description="The volume the snapshot is of.")
    paths: Seq[str] = Field(min_length=1, max_length=SNAPSHOT_DOWNLOAD_MOST_PATHS)


class SnapshotDownloadOpened(Model):
    """The executor's answer: what the download is and the subject its bytes are read from, or the
    problem that stopped it."""

    type: Literal["snapshot_download_opened.v1"] = "snapshot_download_opened.v1"
    host_id: HostId
    download_id: str
    reader: str | None = Field(default=None, description="The subject `SnapshotDownloadRead`s go to.")
    file_name: str | None = Field(default=None, description="The name to save it as.")
    tar: bool = Field(default=False, description="A tar of the chosen entries, else one file as it is.")
    size: int | None = Field(default=None, description="A single file's size in bytes.")
    problem: str | None = None


class SnapshotDownloadRead(Model):
    """The next bytes of a download from `offset` (what the asker has already), or, with `close`,
    the end of it (the asker went away). The answer is one frame: `D` and up to
    `SNAPSHOT_DOWNLOAD_CHUNK_BYTES` of data, `W` when nothing more came within seconds (ask
    again), `E` at the end, or `P` and the problem (UTF-8) that cut it short."""

    type: Literal["snapshot_download_read.v1"] = "snapshot_download_read.v1"
    download_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    offset: int = Field(ge=0)
    close: bool = False
