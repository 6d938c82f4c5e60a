"""A viewer probes what its role may not do (creating plans, starting jobs, reading the audit
log and the users), over and over in a loop, hoping the refusals leave no trace: the gateway
refuses every attempt, and the admin's audit log names the viewer, each route it tried, and how
often, in a bounded number of rows (one per route a minute, not one per attempt).

Before, a 403 of the policy check wrote nothing: a viewer's twelve refused attempts left no row.
"""

from __future__ import annotations

from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin

from dockback_gateway.users.models import Role

PROBES = (("POST", "/plans"), ("POST", "/jobs"), ("GET", "/audit"), ("GET", "/users"))


async def test_a_viewer_probes_unnoticed(gateway: Gateway) -> None:
    async with logged_in_as(gateway, Role.VIEWER, "prober") as viewer:
        for _ in range(12):
            for method, path in PROBES:
                refused = await viewer.request(method, path, json={} if method == "POST" else None)
                assert refused.status_code == 403, (method, path)

    async with logged_in_admin(gateway) as admin:
        log = (await admin.get("/audit", params={"action": "access.refused", "actor": "prober"})).json()
    entries = log["entries"]
    assert sorted(e["target"] for e in entries) == sorted(f"{m} {p}" for m, p in PROBES)
    assert all(e["outcome"] == "failure" and e["details"]["role"] == "viewer" for e in entries)
