"""Attack: a viewer acknowledges the dashboard's "needs attention" items (a failed backup, an
offline host) so that nobody sees them, or takes back an operator's acknowledgement.

Acknowledging and taking back are for operators and admins: the gateway answers 403, the items
stay on every user's dashboard, the operator's acknowledgement stays, and no audit row claims the
viewer acknowledged anything.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from gateway.accounts import logged_in_as
from gateway.conftest import Gateway
from sqlalchemy import select

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.jobs.models import Job
from dockback_gateway.resources.models import Host
from dockback_gateway.users.models import Role

ACKNOWLEDGEMENTS = "/dashboard/attention/acknowledgements"


async def test_a_viewer_hides_what_needs_attention(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    async with gateway.app.state.sessions.begin() as db:
        db.add_all(
            [
                Host(
                    host_id=host,
                    inventory={},
                    heartbeat_at=now - timedelta(hours=2),
                    heartbeat_interval_seconds=10.0,
                    running_job_ids=[],
                    first_seen_at=now - timedelta(days=3),
                )
                for host in ("down-1", "down-2")
            ]
        )
        db.add(
            Job(
                id=uuid.uuid4(),
                kind="backup",
                host_id="down-1",
                status="failed",
                phase="done",
                resource_kind="volume",
                resource_name="db",
                error="disk full",
                created_at=now - timedelta(hours=3),
                finished_at=now - timedelta(hours=3),
            )
        )
    async with logged_in_as(gateway, Role.OPERATOR, "olga") as operator:
        items = {a["kind"] + a["host_id"]: a["key"] for a in (await operator.get("/dashboard")).json()["attention"]}
        assert set(items) == {"failed_jobdown-1", "offline_hostdown-1", "offline_hostdown-2"}
        acknowledged = await operator.post(ACKNOWLEDGEMENTS, json={"key": items["offline_hostdown-2"]})
        assert acknowledged.status_code == 200, acknowledged.text

    async with logged_in_as(gateway, Role.VIEWER, "mallory") as viewer:
        answers = [
            (await viewer.post(ACKNOWLEDGEMENTS, json={"key": items["failed_jobdown-1"]})).status_code,
            (await viewer.post(ACKNOWLEDGEMENTS, json={"key": items["offline_hostdown-1"]})).status_code,
            (await viewer.delete(ACKNOWLEDGEMENTS, params={"key": items["offline_hostdown-2"]})).status_code,
        ]
        seen = (await viewer.get("/dashboard")).json()
    assert answers == [403, 403, 403]
    assert {a["key"] for a in seen["attention"]} == {items["failed_jobdown-1"], items["offline_hostdown-1"]}
    assert [a["acknowledged_by"] for a in seen["acknowledged"]] == ["olga"]
    async with gateway.app.state.sessions() as db:
        actors = list(await db.scalars(select(AuditEntry.actor).where(AuditEntry.action.like("attention.%"))))
    assert actors == ["olga"]
