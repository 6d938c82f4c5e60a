"""The /repositories API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class RepositoryOut(BaseModel):
    """A plan's restic repository on its host. Its password is never shown here."""

    host_id: str
    name: str = Field(description="Its directory under `repositories` in the host's data dir.")
    plan_id: uuid.UUID | None
    plan_name: str | None = Field(description="None when the plan is gone (the repository stays).")
    created_at: datetime
    snapshots: int = Field(description="Snapshots in it the catalog holds (not pruned).")
    added_bytes: int = Field(description="New data those snapshots added, before compression: about what it stores.")


class RecoverySheet(BaseModel):
    """Everything needed to read a repository with plain restic, without DockBack."""

    host_id: str
    name: str
    plan_id: uuid.UUID | None
    location: str = Field(description="Where the repository is, in words: its path under the host's data dir.")
    password: str = Field(description="The repository's password: it opens every snapshot in it.")
    text: str = Field(description="The sheet to print or keep offline, with the restic commands to list and restore.")
