"""Every table, imported in one place so Alembic and the tests see the whole schema."""

import dockback_gateway.settings.models  # noqa: F401 - registers the settings tables
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.models import LoginBrake, PendingLogin, Session
from dockback_gateway.catalog.models import Artifact, ArtifactCopy
from dockback_gateway.dashboard.models import AttentionAcknowledgement, StorageChange
from dockback_gateway.db import Base
from dockback_gateway.jobs.models import Job, JobLogEntry, MissedRun
from dockback_gateway.outbox.models import OutboxMessage
from dockback_gateway.plans.models import Plan
from dockback_gateway.repositories.models import Repository
from dockback_gateway.resources.models import Host
from dockback_gateway.restores.models import RestoreConfirmation, RestoreLock
from dockback_gateway.users.models import RecoveryCode, User

__all__ = [
    "Artifact",
    "ArtifactCopy",
    "AttentionAcknowledgement",
    "AuditEntry",
    "Base",
    "Host",
    "Job",
    "JobLogEntry",
    "LoginBrake",
    "MissedRun",
    "OutboxMessage",
    "PendingLogin",
    "Plan",
    "RecoveryCode",
    "Repository",
    "RestoreConfirmation",
    "RestoreLock",
    "Session",
    "StorageChange",
    "User",
]
