"""Every table, imported in one place so Alembic and the tests see the whole schema."""

import dockback_gateway.settings.models  # noqa: F401 - registers the settings tables
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.models import LoginFailure, PendingLogin, Session
from dockback_gateway.db import Base
from dockback_gateway.users.models import RecoveryCode, User

__all__ = ["AuditEntry", "Base", "LoginFailure", "PendingLogin", "RecoveryCode", "Session", "User"]
