"""An operator lets restores write setuid files, to plant a setuid-root program through a restore.

Restores refuse setuid and setgid files unless the archive's plan allows them
(`restore_special_bits`), because a setuid-root program in a volume is root for whoever can run it
in a container. The allowance must be an admin's: before the fix there was no such field, and
nothing at all kept such files out. Against the real gateway: an operator can neither create a plan
with the allowance nor turn it on or off (403 naming the field, nothing changed), may still edit a
plan an admin allowed it on without losing the allowance, and the restore request the gateway
sends carries the allowance of the archive's plan only (never for an ad-hoc backup).
"""

from __future__ import annotations

import uuid
from typing import Any

from gateway.audited_callers import logged_in_as
from gateway.catalog_facts import archive_created, catalogued
from gateway.conftest import Gateway, logged_in_admin
from gateway.job_requests import exactly_one
from gateway.plan_requests import plan_body
from gateway.restore_steps import HOST, RESTORE_SUBJECT, T0, confirm, known_host, new_volume, preview

from dockback_contracts import events as ev
from dockback_gateway.users.models import Role


def body(**changes: Any) -> dict[str, Any]:
    return plan_body(name="pg", host_id=HOST, **changes)


async def restore_request(gateway: Gateway, artifact_id: uuid.UUID, name: str) -> ev.RestoreRequested:
    async with logged_in_as(gateway, f"restorer-{name}", Role.OPERATOR) as operator:
        previewed = await preview(operator, artifact_id, new_volume(name))
        assert previewed.status_code == 200, previewed.text
        accepted = await confirm(operator, previewed.json()["token"], name)
        assert accepted.status_code == 202, accepted.text
    request = await exactly_one(gateway, RESTORE_SUBJECT)
    return ev.RestoreRequested.model_validate(request.body, strict=False)


async def test_an_operator_allows_setuid_restores(gateway: Gateway) -> None:
    await known_host(gateway)
    async with logged_in_as(gateway, "olga", Role.OPERATOR) as operator:
        refused_create = await operator.post("/plans", json=body(restore_special_bits=True))
        created = await operator.post("/plans", json=body())
        plan = created.json()
        refused_update = await operator.put(f"/plans/{plan['id']}", json=body(restore_special_bits=True))
        assert (await operator.get(f"/plans/{plan['id']}")).json()["revision"] == 1
    assert (refused_create.status_code, created.status_code, refused_update.status_code) == (403, 201, 403)
    for refused in (refused_create, refused_update):
        assert "restore_special_bits" in refused.json()["detail"]
    assert plan["restore_special_bits"] is False

    async with logged_in_admin(gateway) as admin:
        allowed = await admin.put(f"/plans/{plan['id']}", json=body(restore_special_bits=True))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["restore_special_bits"] is True

    async with logged_in_as(gateway, "olga-again", Role.OPERATOR) as operator:
        edited = await operator.put(f"/plans/{plan['id']}", json=body(cron="0 4 * * *"))  # field left out
        turned_off = await operator.put(f"/plans/{plan['id']}", json=body(restore_special_bits=False))
    assert edited.status_code == 200, edited.text
    assert edited.json()["restore_special_bits"] is True, "an operator's edit keeps the admin's choice"
    assert turned_off.status_code == 403

    in_plan = await catalogued(gateway, archive_created(HOST, uuid.UUID(plan["id"]), "pgdata", T0))
    restore = await restore_request(gateway, in_plan, "pgdata-restored")
    assert restore.restore_special_bits is True
    assert restore.catalogued is not None
    assert restore.catalogued.artifact_id == in_plan
    assert restore.catalogued.plan_id == uuid.UUID(plan["id"])


async def test_restores_of_a_plan_without_the_allowance_or_of_an_ad_hoc_backup_refuse_special_bits(
    gateway: Gateway,
) -> None:
    await known_host(gateway)
    ad_hoc = await catalogued(gateway, archive_created(HOST, None, "pgdata", T0))
    restore = await restore_request(gateway, ad_hoc, "pgdata-restored")
    assert restore.restore_special_bits is False
    assert restore.catalogued is not None
    assert restore.catalogued.plan_id is None
