"""Host A, on its own real NATS credentials, tries to read host B's secrets and the notifier's.

Before, every uploader and the notifier opened one settings snapshot with one shared settings
key, and every uploader could read the whole settings bucket: A read B's S3 keys and the SMTP
password. Now the real gateway (on the secured nats-server, as the `gateway` user) seals each
recipient's share to that recipient's own key, derived from its NATS credentials and registered
by itself; a host's share holds only the S3 targets its plans use (B's target is sealed to nobody
on A's side); A's permissions name its own snapshot only, and A's key opens nothing sealed to B or
to the notifier. The same holds for the passwords of the hosts' restic repositories, which only
each host's executor gets (not even its own uploader).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import nats.errors
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from gateway.conftest import Gateway, logged_in_admin, settings_for
from gateway.job_facts import add_plan
from gateway.plan_requests import known_host, plan_body
from sqlalchemy import select

from dockback_contracts import permissions, streams
from dockback_contracts.sealed import SealError, public_key_text, unseal
from dockback_contracts.snapshots import (
    NOTIFIER_SETTINGS_KEY,
    SealingKey,
    SettingsSnapshot,
    executor_settings_key,
    host_settings_key,
    plan_repository,
    repository_password,
    target_secret,
)
from dockback_gateway.config import Settings as GatewaySettings
from dockback_gateway.repositories.models import Repository
from dockback_runtime.sealing import register_sealing_key, service_sealing_key
from harness.secured_nats import HOST_A, HOST_B, Connection, SecuredNats, connected

S3_SECRET = "canary-s3-secret-of-the-offsite-target"
SMTP_PASSWORD = "canary-smtp-password-of-the-notifier"
TARGET = {
    "target_id": "offsite",
    "endpoint": "s3.example.net",
    "bucket": "dockback-archives",
    "access_key": "canary-access-key",
    "secret_key": S3_SECRET,
}
A_SECRET = "canary-s3-secret-of-host-a-s-own-target"
A_TARGET = {**TARGET, "target_id": "nearby", "secret_key": A_SECRET}
SMTP = {
    "host": "mail.example.net",
    "port": 587,
    "security": "starttls",
    "username": "alerts",
    "password": SMTP_PASSWORD,
    "from_address": "dockback@example.net",
    "recipients": ["ops@example.net"],
}


@pytest.fixture
def gateway_settings(database_url: str, secured_nats: SecuredNats, tmp_path: Path) -> GatewaySettings:
    """The in-process gateway on the secured server, as the `gateway` user."""
    return settings_for(
        database_url,
        secured_nats.url,
        tmp_path,
        nats_credentials_file=secured_nats.credentials_file(permissions.GATEWAY),
    )


def key_of(secured_nats: SecuredNats, role: str) -> X25519PrivateKey:
    """A role's sealing key, as its service derives it from its own credentials file."""
    return service_sealing_key(role, secured_nats.credentials_file(role), None)


async def register(secured_nats: SecuredNats, role: str) -> X25519PrivateKey:
    """What the service does at start: register its public key, on its own credentials."""
    key = key_of(secured_nats, role)
    async with connected(secured_nats.settings(role)) as connection:
        await register_sealing_key(connection.js, role, key)
        assert connection.errors == []
    return key


async def sealed_to(gateway: Gateway, snapshot_key: str, key: X25519PrivateKey) -> SettingsSnapshot:
    """The snapshot under `snapshot_key` once the gateway has sealed it to `key` (it reseals when
    a key registers), read as the gateway."""
    js = gateway.app.state.broker.connection.jetstream()
    watcher = await (await js.key_value(streams.SETTINGS_BUCKET)).watch(snapshot_key)
    try:
        async with asyncio.timeout(20):
            async for entry in watcher:
                if entry is None or not entry.value:
                    continue
                snapshot = SettingsSnapshot.model_validate_json(entry.value)
                if snapshot.recipient == public_key_text(key) and (
                    snapshot.targets or snapshot.smtp or snapshot.repositories
                ):
                    return snapshot
    finally:
        await watcher.stop()
    raise AssertionError(f"{snapshot_key} was never sealed to its key")


async def refused_read(host_a: Connection, snapshot_key: str) -> None:
    """Every way to read a key of the settings bucket fails for host A (tried at once: each
    refusal is a request that times out)."""
    bucket = f"$KV.{streams.SETTINGS_BUCKET}.{snapshot_key}"
    stream = permissions.kv_stream(streams.SETTINGS_BUCKET)
    kv = await host_a.js.key_value(streams.SETTINGS_BUCKET)

    async def times_out(attempt: Awaitable[object]) -> None:
        with pytest.raises(nats.errors.TimeoutError):
            await attempt

    await asyncio.gather(
        times_out(kv.get(snapshot_key)),  # direct get, the key in the subject
        times_out(host_a.js.get_last_msg(stream, bucket)),  # message get, the key in the body
        times_out(kv.watch(snapshot_key)),  # a consumer of its own, the key in the body
    )
    await host_a.refused("Publish", f"$JS.API.DIRECT.GET.{stream}.{bucket}")
    await host_a.refused("Publish", f"$JS.API.STREAM.MSG.GET.{stream}")
    await host_a.refused("Publish", f"$JS.API.CONSUMER.CREATE.{stream}")


async def test_a_host_reads_another_hosts_s3_secrets(gateway: Gateway, secured_nats: SecuredNats) -> None:
    await add_plan(gateway, host_id=HOST_B, upload_targets=["offsite"])  # B's plan uploads to offsite
    await add_plan(gateway, host_id=HOST_A, upload_targets=["nearby"])  # A's to its own target
    async with logged_in_admin(gateway) as admin:
        assert (await admin.post("/settings/targets", json=TARGET)).status_code == 201
        assert (await admin.post("/settings/targets", json=A_TARGET)).status_code == 201
    role_a = permissions.host_role_name(permissions.UPLOADER, HOST_A)
    role_b = permissions.host_role_name(permissions.UPLOADER, HOST_B)
    key_a, key_b = await register(secured_nats, role_a), await register(secured_nats, role_b)
    snapshot_b = await sealed_to(gateway, host_settings_key(HOST_B), key_b)
    own = await sealed_to(gateway, host_settings_key(HOST_A), key_a)

    async with connected(secured_nats.settings(role_a)) as host_a:
        # its own snapshot it reads and opens: its own target, and not B's, not even sealed
        kv = await host_a.js.key_value(streams.SETTINGS_BUCKET)
        raw = (await kv.get(host_settings_key(HOST_A))).value or b""
        mine = SettingsSnapshot.model_validate_json(raw)
        assert mine == own
        assert [t.target_id for t in mine.targets] == ["nearby"]
        assert unseal(key_a, target_secret("nearby", "secret_key"), mine.targets[0].secret_key) == A_SECRET
        assert b"offsite" not in raw
        # B's it cannot read
        await refused_read(host_a, host_settings_key(HOST_B))
        # nor make the gateway seal B's share to a key of A's choosing
        forged = f"$KV.{streams.SEALING_KEYS_BUCKET}.{role_b}"
        registration = SealingKey(role=role_b, public_key=public_key_text(key_a), registered_at=datetime.now(UTC))
        keys = await host_a.js.key_value(streams.SEALING_KEYS_BUCKET)
        with pytest.raises(nats.errors.TimeoutError):
            await keys.put(role_b, registration.model_dump_json().encode())
        await host_a.refused("Publish", forged)

    still_b = await sealed_to(gateway, host_settings_key(HOST_B), key_b)
    assert still_b.recipient == public_key_text(key_b)
    # and B's sealed blob, had A got it anyway, does not open with A's key
    with pytest.raises(SealError):
        unseal(key_a, target_secret("offsite", "secret_key"), snapshot_b.targets[0].secret_key)
    assert unseal(key_b, target_secret("offsite", "secret_key"), snapshot_b.targets[0].secret_key) == S3_SECRET


async def test_a_host_reads_the_notifiers_secrets(gateway: Gateway, secured_nats: SecuredNats) -> None:
    await add_plan(gateway, host_id=HOST_A, upload_targets=["offsite"])
    async with logged_in_admin(gateway) as admin:
        assert (await admin.put("/settings/smtp", json=SMTP)).status_code == 200
        assert (await admin.post("/settings/targets", json=TARGET)).status_code == 201
    role_a = permissions.host_role_name(permissions.UPLOADER, HOST_A)
    key_a = await register(secured_nats, role_a)
    notifier_key = await register(secured_nats, permissions.NOTIFIER)
    notifier = await sealed_to(gateway, NOTIFIER_SETTINGS_KEY, notifier_key)
    own = await sealed_to(gateway, host_settings_key(HOST_A), key_a)

    assert (own.smtp, own.webhooks) == (None, ())  # a host's share holds no mail or webhook secret
    async with connected(secured_nats.settings(role_a)) as host_a:
        await refused_read(host_a, NOTIFIER_SETTINGS_KEY)
    assert notifier.smtp is not None
    assert notifier.smtp.password is not None
    with pytest.raises(SealError):
        unseal(key_a, "settings.smtp.password", notifier.smtp.password)
    assert unseal(notifier_key, "settings.smtp.password", notifier.smtp.password) == SMTP_PASSWORD


async def test_a_host_reads_another_hosts_repository_passwords(gateway: Gateway, secured_nats: SecuredNats) -> None:
    async with logged_in_admin(gateway) as admin:
        plans = {}
        for host in (HOST_A, HOST_B):
            await known_host(gateway, admin, host)
            body = plan_body(name=f"repository-{host}", host_id=host, options={"format": "repository"})
            created = await admin.post("/plans", json=body)
            assert created.status_code == 201, created.text
            plans[host] = plan_repository(created.json()["id"])
    role_a = permissions.host_role_name(permissions.EXECUTOR, HOST_A)
    role_b = permissions.host_role_name(permissions.EXECUTOR, HOST_B)
    key_a, key_b = await register(secured_nats, role_a), await register(secured_nats, role_b)
    snapshot_b = await sealed_to(gateway, executor_settings_key(HOST_B), key_b)
    own = await sealed_to(gateway, executor_settings_key(HOST_A), key_a)
    [b_repository] = snapshot_b.repositories
    password_b = unseal(key_b, repository_password(HOST_B, plans[HOST_B]), b_repository.password)

    async with connected(secured_nats.settings(role_a)) as executor_a:
        # its own share it reads and opens: its own plan's repository, and not B's, not even sealed
        kv = await executor_a.js.key_value(streams.SETTINGS_BUCKET)
        raw = (await kv.get(executor_settings_key(HOST_A))).value or b""
        mine = SettingsSnapshot.model_validate_json(raw)
        assert mine == own
        assert [r.name for r in mine.repositories] == [plans[HOST_A]]
        assert mine.targets == ()
        assert mine.smtp is None
        unseal(key_a, repository_password(HOST_A, plans[HOST_A]), mine.repositories[0].password)
        assert plans[HOST_B].encode() not in raw
        # B's executor's share it cannot read, nor its own host's uploader's
        await refused_read(executor_a, executor_settings_key(HOST_B))
        await refused_read(executor_a, host_settings_key(HOST_A))
    uploader_a = permissions.host_role_name(permissions.UPLOADER, HOST_A)
    async with connected(secured_nats.settings(uploader_a)) as host_a:
        await refused_read(host_a, executor_settings_key(HOST_A))  # an uploader gets no repository's password

    # B's sealed password, had A got it anyway, does not open with A's key, nor under A's name
    with pytest.raises(SealError):
        unseal(key_a, repository_password(HOST_B, plans[HOST_B]), b_repository.password)
    with pytest.raises(SealError):
        unseal(key_b, repository_password(HOST_A, plans[HOST_B]), b_repository.password)
    # and the gateway keeps it encrypted at rest
    async with gateway.app.state.sessions() as db:
        stored = (await db.scalars(select(Repository).where(Repository.host_id == HOST_B))).one()
    assert password_b.encode() not in stored.password
    assert len(password_b) >= 43  # 32 random bytes
