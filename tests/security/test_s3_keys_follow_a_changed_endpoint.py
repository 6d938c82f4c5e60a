"""An admin session (which may change settings but never read a stored secret) points an S3
target at an endpoint the attacker runs, hoping the uploader then signs its requests (or a
Test) there with the stored keys. The real gateway refuses to move stored keys: a new endpoint,
port or https switch needs both keys sent again (422 naming the missing one), and nothing
changes, so the snapshot the uploaders read still binds the keys to the old endpoint."""

from __future__ import annotations

import nats
import pytest
from gateway.conftest import HOST_ID, HOST_KEY, Gateway, logged_in_admin
from gateway.job_facts import add_plan
from gateway.settings_bodies import published_snapshot
from nats.aio.msg import Msg

from dockback_contracts import subjects
from dockback_contracts.sealed import unseal
from dockback_runtime.connection import server_has_subscriptions

ACCESS_KEY = "canary-access-key-0e7d52"
SECRET_KEY = "canary-secret-key-8a3f16"
TARGET = {
    "endpoint": "s3.example.net",
    "secure": True,
    "bucket": "dockback-archives",
    "access_key": ACCESS_KEY,
    "secret_key": SECRET_KEY,
}
KEEPING_KEYS = {k: v for k, v in TARGET.items() if k not in ("access_key", "secret_key")}


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"endpoint": "s3.attacker.example"}, "access_key"),
        ({"endpoint": "s3.example.net:9000"}, "access_key"),
        ({"secure": False}, "access_key"),  # the same host over plain http: the keys would travel in clear
        ({"endpoint": "s3.attacker.example", "access_key": ACCESS_KEY}, "secret_key"),
    ],
)
async def test_s3_keys_follow_a_changed_endpoint(gateway: Gateway, change: dict[str, object], missing: str) -> None:
    await add_plan(gateway, host_id=HOST_ID, upload_targets=["offsite"])  # the host that gets its keys
    async with logged_in_admin(gateway) as admin:
        assert (await admin.post("/settings/targets", json={"target_id": "offsite", **TARGET})).status_code == 201
        moved = await admin.put("/settings/targets/offsite", json={**KEEPING_KEYS, **change})
        after = (await admin.get("/settings")).json()["targets"][0]

    assert moved.status_code == 422, moved.text
    assert moved.json()["detail"].startswith(f"{missing}:")
    assert (after["endpoint"], after["secure"]) == ("s3.example.net", True)
    _, snapshot = await published_snapshot(gateway)
    (target,) = snapshot.targets
    assert (target.endpoint, target.secure) == ("s3.example.net", True)
    assert unseal(HOST_KEY, "settings.targets.offsite.secret_key", target.secret_key) == SECRET_KEY


async def test_a_test_of_unsaved_values_never_sends_the_stored_keys_to_a_new_endpoint(gateway: Gateway) -> None:
    """The same attack through *Test* with the edit form's values: nothing is asked of any
    uploader unless both keys are typed again."""
    asked: list[bytes] = []

    async def uploader(message: Msg) -> None:
        asked.append(message.data)

    nc = await nats.connect(gateway.settings.nats_url)
    try:
        await nc.subscribe(subjects.check_target(HOST_ID), queue="uploaders", cb=uploader)
        await server_has_subscriptions(nc)
        async with logged_in_admin(gateway) as admin:
            assert (await admin.post("/settings/targets", json={"target_id": "offsite", **TARGET})).status_code == 201
            moved = await admin.post(
                "/settings/targets/offsite/test", json={**KEEPING_KEYS, "endpoint": "s3.attacker.example"}
            )
    finally:
        await nc.close()
    assert moved.status_code == 422, moved.text
    assert moved.json()["detail"].startswith("access_key: the endpoint differs from the saved one")
    assert asked == []
