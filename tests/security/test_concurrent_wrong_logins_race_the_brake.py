"""Attack: fire many wrong logins for one account at once, so that all of them read the brake's
count before any failure is recorded, and every one gets its password checked.

The brake counts each attempt with one upsert before the password is checked: concurrent
attempts see each other's counts, and only the free attempts (plus one per elapsed delay) are
checked; the others are refused with 429 without a password check.
"""

from __future__ import annotations

import asyncio
import time

from gateway.conftest import Gateway
from sqlalchemy import func, select

from dockback_gateway.audit.models import AuditEntry
from security.brake_bounds import most_attempts_within

ATTEMPTS = 30


async def test_thirty_concurrent_wrong_logins_get_at_most_the_free_password_checks(gateway: Gateway) -> None:
    async with gateway.client() as client:
        started = time.monotonic()
        answers = await asyncio.gather(
            *(client.post("/auth/login", json={"username": "admin", "password": f"guess-{i}"}) for i in range(ATTEMPTS))
        )
        elapsed = time.monotonic() - started
    statuses = [answer.status_code for answer in answers]
    checked = statuses.count(401)
    assert set(statuses) <= {401, 429}
    assert checked <= most_attempts_within(elapsed), f"{checked} passwords checked in {elapsed:.1f} s"
    assert statuses.count(429) >= ATTEMPTS - most_attempts_within(elapsed)
    async with gateway.app.state.sessions() as db:
        audited = await db.scalar(
            select(func.count()).where(AuditEntry.action == "login", AuditEntry.outcome == "failure")
        )
    assert audited == checked, "every password that was checked is in the audit log, and no more"
