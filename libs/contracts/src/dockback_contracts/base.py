"""The envelope every DockBack event shares, and the field types the events are built from.

Events are frozen and strictly validated: a string is never silently turned into a number
or a boolean. Unknown fields are ignored, so a consumer built against an older contract
keeps working when a newer producer adds fields. Fields whose JSON form is a string (ids,
timestamps) or an array (tuples) are validated leniently on purpose: FastStream hands the
decoded JSON (a dict of strings and lists) to the model, and strict mode would refuse a
UUID given as a string.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Id = Annotated[UUID, Field(strict=False)]
"""A UUID, accepted as a UUID or as its string form."""

UtcDatetime = Annotated[AwareDatetime, Field(strict=False), AfterValidator(_to_utc)]
"""A timezone-aware timestamp, normalised to UTC. Naive timestamps are rejected."""

HostId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
]
"""A Docker host's stable id. It is one token of a NATS subject, so no dots, spaces or wildcards."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
"""A Docker object name (volume, container, image reference) or a plan name."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A lowercase hex sha256 digest."""

ByteCount = Annotated[int, Field(ge=0)]

Compression = Literal["zstd", "gzip", "none"]
BackupFormat = Literal["archive", "repository"]
"""archive: a tar archive per volume, config and image, a full copy each time; repository: a
snapshot in a restic repository (incremental, deduplicated, encrypted) that the plan's host keeps."""
ResourceKind = Literal["volume", "container", "image"]
JobKind = Literal["backup", "restore", "verify", "prune"]
JobPhase = Literal["queued", "prepare", "archive", "upload", "restore", "verify", "prune", "cleanup"]


T = TypeVar("T")

Seq = Annotated[tuple[T, ...], Field(strict=False)]
"""An immutable sequence field, given as a JSON array."""


class Model(BaseModel):
    """A frozen, strictly validated value that tolerates unknown fields."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")


class Event(Model):
    """The envelope of every event on the bus.

    `type` names the event and its schema version (`backup_requested.v1`); a breaking change
    to an event is a new version, published beside the old one until consumers move.
    """

    type: str
    event_id: Id = Field(default_factory=uuid4, description="Unique id of this event.")
    occurred_at: UtcDatetime = Field(default_factory=utc_now, description="When it happened (UTC).")
    job_id: Id | None = Field(default=None, description="The job this event belongs to, for correlation.")


class HostEvent(Event):
    """An event about one Docker host."""

    host_id: HostId = Field(description="The Docker host this event is about.")


class JobEvent(HostEvent):
    """An event about one job on one host: the job id is required."""

    job_id: Id = Field(description="The job this event belongs to.")
