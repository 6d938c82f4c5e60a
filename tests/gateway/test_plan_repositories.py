"""A plan whose format is `repository` gets its restic repository on its host, with a random
password made once, kept encrypted by the settings key, and sent to nobody in clear."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from dockback_contracts.snapshots import plan_repository, repository_password
from dockback_gateway.repositories.models import Repository
from gateway.conftest import Gateway, logged_in_admin
from gateway.plan_requests import HOST, create, known_host, plan_body, snapshot


async def repositories(gateway: Gateway) -> list[Repository]:
    async with gateway.app.state.sessions() as db:
        return list(await db.scalars(select(Repository).order_by(Repository.name)))


def password_of(gateway: Gateway, repository: Repository) -> str:
    cipher = gateway.app.state.auth_config.cipher
    return str(cipher.decrypt(repository.password, repository_password(repository.host_id, repository.name)).decode())


async def test_a_repository_plan_gets_one_repository_whose_password_never_changes(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        archives = await create(client, name="archives")
        plan = await create(client, name="snapshots", options={"format": "repository"})
        [made] = await repositories(gateway)
        password = password_of(gateway, made)
        changed = await client.put(
            f"/plans/{plan['id']}", json=plan_body(name="snapshots", cron="0 4 * * *", options={"format": "repository"})
        )
        assert changed.status_code == 200, changed.text

        assert (made.host_id, made.name, made.plan_id) == (HOST, plan_repository(plan["id"]), uuid.UUID(plan["id"]))
        assert plan["options"]["format"] == "repository"
        assert archives["options"]["format"] == "archive"
        assert (await snapshot(gateway, plan["id"])).options.format == "repository"  # the scheduler's requests say so
        [still] = await repositories(gateway)
        assert password_of(gateway, still) == password  # every snapshot in it opens with this one
        assert len(password) >= 43
        assert password.encode() not in still.password


async def test_a_plan_turned_to_repository_gets_its_repository_then_and_keeps_it_when_turned_back(
    gateway: Gateway,
) -> None:
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        plan = await create(client, name="later")
        assert await repositories(gateway) == []
        for format_ in ("repository", "archive"):
            changed = await client.put(
                f"/plans/{plan['id']}", json=plan_body(name="later", options={"format": format_})
            )
            assert changed.status_code == 200, changed.text
            assert [r.name for r in await repositories(gateway)] == [plan_repository(plan["id"])]
        refused = await client.put(f"/plans/{plan['id']}", json=plan_body(name="later", options={"format": "zip"}))
        assert refused.status_code == 422
        assert "format" in refused.text
