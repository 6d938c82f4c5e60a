"""Making a plan's repository: its password is chosen here, at random, once."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts.snapshots import plan_repository, repository_password
from dockback_gateway.keys import Cipher
from dockback_gateway.plans.models import Plan
from dockback_gateway.repositories.models import Repository

PASSWORD_BYTES = 32  # 256 bits of randomness, as URL-safe text (what a person copies off a recovery sheet)


async def ensure_plan_repository(db: AsyncSession, cipher: Cipher, plan: Plan) -> bool:
    """The row of `plan`'s repository on its host, made with a new random password when there is
    none yet; whether it was made (the host's executor then needs its settings again)."""
    name = plan_repository(str(plan.id))
    if await db.get(Repository, (plan.host_id, name)) is not None:
        return False
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    sealed = cipher.encrypt(password.encode(), repository_password(plan.host_id, name))
    db.add(Repository(host_id=plan.host_id, name=name, plan_id=plan.id, password=sealed))
    await db.flush()
    return True
