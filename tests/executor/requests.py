"""Requests to this host's executor, as the gateway or the scheduler would send them."""

from __future__ import annotations

import uuid

from dockback_contracts import events as ev
from executor.conftest import HOST_ID
from harness.catalogue import catalogued_from


def backup_of(kind: str, name: str, **options: object) -> ev.BackupRequested:
    return ev.BackupRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        resource=ev.ResourceRef(kind=kind, name=name),
        options=ev.BackupOptions.model_validate(options),
    )


def restore_of(
    created: ev.ArchiveCreated, kind: str, name: str, *, restore_special_bits: bool = True, **target: object
) -> ev.RestoreRequested:
    """A restore of `created`, with the catalog's record of it as the gateway makes it. The volumes
    `volumes.populate` fills hold a setuid file, which these round trips must bring back, so the
    plan allows special bits unless told otherwise."""
    return ev.RestoreRequested(
        job_id=uuid.uuid4(),
        host_id=HOST_ID,
        archive=created.archive,
        target=ev.RestoreTarget(kind=kind, name=name, **target),
        requested_by="test",
        catalogued=catalogued_from(created),
        restore_special_bits=restore_special_bits,
    )
