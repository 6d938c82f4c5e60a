"""Browsing a snapshot: one directory at a time, listed by the snapshot's host (its executor runs
`restic ls` in a runner; the gateway never holds a repository open)."""

from __future__ import annotations

import logging
import uuid
from typing import TypeVar

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import subjects
from dockback_contracts.control import SnapshotTree, SnapshotTreeQuery
from dockback_gateway.catalog import repository
from dockback_gateway.catalog.models import Artifact, ArtifactFormat, ArtifactKind, ArtifactState
from dockback_gateway.errors import Conflict, DomainError, Invalid, NotFound

log = logging.getLogger(__name__)

TREE_ANSWER_SECONDS = 30.0
"""How long the host may take: restic derives the repository's key (about half a second) and loads
its index before it lists anything."""


class HostUnavailable(DomainError):
    """The snapshot's host could not list it: no executor connected, no answer in time, or restic
    failed (the detail says which)."""

    status_code = 503
    error = "host_unavailable"


async def snapshot_tree(
    db: AsyncSession, connection: NatsClient | None, artifact_id: uuid.UUID, path: str
) -> SnapshotTree:
    """The entries directly inside `path` (from the volume's root) of a volume's snapshot."""
    artifact = await volume_snapshot(db, artifact_id)
    check_path(path, "path")
    assert artifact.repository is not None
    assert artifact.snapshot_id is not None
    query = SnapshotTreeQuery(
        repository=artifact.repository, snapshot_id=artifact.snapshot_id, volume=artifact.role, path=path or "/"
    )
    host = artifact.host_id
    tree = await ask_host(connection, host, subjects.snapshot_tree(host), query, SnapshotTree)
    if tree.problem:
        raise HostUnavailable(f"host {host} could not list {path!r}: {tree.problem}")
    return tree


async def volume_snapshot(db: AsyncSession, artifact_id: uuid.UUID) -> Artifact:
    """The artifact, when it is a snapshot of a volume that is still kept."""
    artifact = await repository.get(db, artifact_id)
    if artifact is None:
        raise NotFound(f"there is no artifact {artifact_id}")
    if artifact.format != ArtifactFormat.REPOSITORY or artifact.repository is None or artifact.snapshot_id is None:
        raise Invalid(
            f"backup {artifact_id} is an archive: only snapshots (plans of the format repository) are browsed"
        )
    if artifact.kind != ArtifactKind.VOLUME:
        raise Invalid(
            f"backup {artifact_id} is a snapshot of {artifact.kind} {artifact.resource_name!r}, not of a volume"
        )
    if artifact.state == ArtifactState.PRUNED:
        raise Conflict(f"backup {artifact_id} was pruned")
    return artifact


def check_path(path: str, field: str) -> None:
    if ".." in path.split("/") or "\0" in path:
        raise Invalid(f"{field}: {path!r} leaves the volume (no '..' and no NUL)")


A = TypeVar("A", bound=BaseModel)


async def ask_host(connection: NatsClient | None, host: str, subject: str, question: BaseModel, answer: type[A]) -> A:
    """The answer (`answer`, whose `host_id` must be `host`) of one executor of `host` to a core request;
    HostUnavailable saying why there is none."""
    if connection is None or not connection.is_connected:
        raise HostUnavailable("the gateway is not connected to NATS")
    try:
        reply = await connection.request(subject, question.model_dump_json().encode(), timeout=TREE_ANSWER_SECONDS)
    except NoRespondersError as exc:
        raise HostUnavailable(f"no executor of host {host} is connected") from exc
    except (NatsTimeoutError, TimeoutError) as exc:
        raise HostUnavailable(f"host {host} did not answer within {TREE_ANSWER_SECONDS:g} s") from exc
    except NatsError as exc:
        raise HostUnavailable(f"the gateway could not ask host {host} ({exc})") from exc
    try:
        answered = answer.model_validate_json(reply.data)
    except ValidationError as exc:
        log.warning("an answer from host %s on %s is unreadable: %r", host, subject, reply.data[:200])
        raise HostUnavailable(f"host {host} sent an unreadable answer") from exc
    said = getattr(answered, "host_id", None)
    if said != host:
        raise HostUnavailable(f"host {said} answered instead of host {host}")
    return answered
