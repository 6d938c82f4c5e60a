"""Encrypted settings on the real gateway: write-only secrets, tamper evidence, key handling,
key rotation, and the sealed snapshot in the settings KV bucket."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select, text

from dockback_contracts.sealed import SealError, derive_private_key, public_key_text, unseal
from dockback_contracts.snapshots import SettingsSnapshot, host_settings_key
from dockback_contracts.streams import SETTINGS_BUCKET
from dockback_gateway.app import create_app
from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.passwords import hash_password
from dockback_gateway.auth.totp import totp_secret_aad
from dockback_gateway.keys import Cipher, KeyProblem, parse_aes_key
from dockback_gateway.settings.cli import rotate_encryption_key
from dockback_gateway.settings.models import S3Target, SmtpServer
from dockback_gateway.users.models import Role, User
from dockback_runtime.sealing import register_sealing_key
from gateway.conftest import ADMIN_PASSWORD, HOST_ID, HOST_KEY, NOTIFIER_KEY, Gateway, logged_in_admin, login
from gateway.job_facts import add_plan
from gateway.plan_requests import HOST as PLAN_HOST
from gateway.plan_requests import create, known_host, plan_body
from gateway.settings_bodies import CANARY, SMTP, TARGET, WEBHOOK, published_snapshot, published_snapshots

NEW_PASSWORD = ADMIN_PASSWORD
OTHER_PASSWORD = "another-users-passphrase-42"


@asynccontextmanager
async def logged_in_as(gateway: Gateway, role: Role) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway.app.state.sessions.begin() as db:
        db.add(User(username=role.value, password_hash=hash_password(OTHER_PASSWORD), role=role))
    async with gateway.client() as client:
        assert (await login(client, role.value, OTHER_PASSWORD)).status_code == 200
        yield client


@pytest.fixture(autouse=True)
async def host_a_uses_offsite(gateway: Gateway) -> None:
    """A plan of host A uploads to the target `offsite` (TARGET): a host's share of the settings
    holds the targets its plans use, so host A's snapshot holds it once it is saved."""
    await add_plan(gateway, host_id=HOST_ID, upload_targets=[TARGET["target_id"]])


async def store_everything(client: httpx.AsyncClient) -> list[httpx.Response]:
    responses = [
        await client.post("/settings/targets", json=TARGET),
        await client.put("/settings/smtp", json=SMTP),
        await client.post("/settings/webhooks", json=WEBHOOK),
    ]
    assert [r.status_code for r in responses] == [201, 200, 201], [r.text for r in responses]
    return responses


def cipher_of(gateway: Gateway) -> Cipher:
    cipher: Cipher = gateway.app.state.auth_config.cipher
    return cipher


async def stored_target(gateway: Gateway) -> S3Target:
    async with gateway.app.state.sessions() as db:
        target = await db.get(S3Target, "offsite")
    assert target is not None
    return target


async def start_again(gateway: Gateway) -> None:
    """Run a second gateway's start-up on the same database and key files."""
    app = create_app(gateway.settings)
    async with app.router.lifespan_context(app):
        pass


# -- write-only secrets ----------------------------------------------------------------------


async def test_secrets_never_come_back_in_responses_logs_or_audit_rows(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    async with logged_in_admin(gateway) as client:
        responses = await store_everything(client)
        responses.append(
            await client.put(
                "/settings/targets/offsite",
                json={k: v for k, v in TARGET.items() if k != "target_id"},
            )
        )
        responses.append(await client.get("/settings"))
    assert responses[-1].status_code == 200
    settings = responses[-1].json()
    assert settings["targets"][0]["access_key"] == {"set": True}
    assert settings["targets"][0]["secret_key"] == {"set": True}
    assert settings["smtp"]["password"] == {"set": True}
    assert settings["webhooks"][0]["signing_secret"] == {"set": True}
    await gateway.app.state.settings_publisher.drain()

    async with gateway.app.state.sessions() as db:
        entries = (await db.scalars(select(AuditEntry).where(AuditEntry.action.like("settings.%")))).all()
    audited = {(e.action, e.outcome) for e in entries}
    assert {("settings.targets.create", "success"), ("settings.smtp.update", "success")} <= audited
    assert ("settings.webhooks.create", "success") in audited
    assert ("settings.targets.update", "success") in audited
    everything = [r.text for r in responses] + [repr(vars(e)) for e in entries] + [caplog.text]
    for canary in CANARY.values():
        assert not any(canary in seen for seen in everything), f"{canary} leaked"


async def test_an_update_that_leaves_a_secret_out_keeps_the_stored_one(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        updated = await client.put(
            "/settings/targets/offsite", json={"endpoint": TARGET["endpoint"], "bucket": "other-bucket"}
        )
        smtp = await client.put("/settings/smtp", json={k: v for k, v in SMTP.items() if k != "password"})
    assert updated.status_code == 200
    assert updated.json()["bucket"] == "other-bucket"
    assert updated.json()["secret_key"] == {"set": True}
    assert smtp.json()["password"] == {"set": True}
    target = await stored_target(gateway)
    async with gateway.app.state.sessions() as db:
        server = await db.get(SmtpServer, 1)
    assert server is not None
    assert server.password is not None
    cipher = cipher_of(gateway)
    assert cipher.decrypt(target.secret_key, "settings.targets.offsite.secret_key").decode() == CANARY["secret_key"]
    assert cipher.decrypt(server.password, "settings.smtp.password").decode() == CANARY["password"]


async def test_sending_null_clears_a_secret(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        cleared = await client.put("/settings/smtp", json={**SMTP, "username": None, "password": None})
        settings = (await client.get("/settings")).json()
    assert cleared.status_code == 200
    assert settings["smtp"]["password"] == {"set": False}
    async with gateway.app.state.sessions() as db:
        server = await db.get(SmtpServer, 1)
    assert server is not None
    assert server.password is None


async def test_s3_keys_cannot_be_cleared_and_bad_values_are_refused_naming_the_field(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        cleared = await client.put(
            "/settings/targets/offsite", json={"endpoint": "s3.example.net", "bucket": "b-1", "access_key": None}
        )
        bad_bucket = await client.post("/settings/targets", json={**TARGET, "target_id": "x", "bucket": "No_Such"})
        missing_key = await client.post("/settings/targets", json={**TARGET, "target_id": "y", "secret_key": None})
        clear_text = await client.put("/settings/smtp", json={**SMTP, "security": "none"})
    assert cleared.status_code == bad_bucket.status_code == missing_key.status_code == clear_text.status_code == 422
    assert [e["field"] for e in cleared.json()["detail"]] == ["access_key"]
    assert [e["field"] for e in bad_bucket.json()["detail"]] == ["bucket"]
    assert [e["field"] for e in missing_key.json()["detail"]] == ["secret_key"]
    assert clear_text.json()["detail"].startswith("security:")


async def test_a_refused_change_is_audited_as_a_failure(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        missing = await client.put("/settings/webhooks/nope", json={"url": "https://example.net/hook"})
    assert missing.status_code == 404
    async with gateway.app.state.sessions() as db:
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "settings.webhooks.update"))
    assert entry is not None
    assert (entry.outcome, entry.target, entry.actor) == ("failure", "nope", "admin")


# -- tamper evidence -------------------------------------------------------------------------


async def flip_a_byte_of_the_smtp_password(gateway: Gateway) -> None:
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(text("UPDATE settings_smtp SET password = set_byte(password, 20, get_byte(password, 20) # 1)"))


async def test_a_flipped_ciphertext_byte_is_refused_with_a_clear_error(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        await flip_a_byte_of_the_smtp_password(gateway)
        read = await client.get("/settings")
        keep = await client.put("/settings/smtp", json={k: v for k, v in SMTP.items() if k != "password"})
    for response in (read, keep):
        assert response.status_code == 409
        assert response.json()["error"] == "secret_unreadable"
        assert "settings.smtp.password" in response.json()["detail"]
    async with gateway.app.state.sessions() as db:
        server = await db.get(SmtpServer, 1)
    assert server is not None
    assert server.password is not None
    with pytest.raises(KeyProblem, match=r"settings\.smtp\.password"):
        cipher_of(gateway).decrypt(server.password, "settings.smtp.password")


async def test_a_tampered_secret_is_never_published(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        _, before = await published_snapshot(gateway)
        await flip_a_byte_of_the_smtp_password(gateway)
        assert (await client.put("/settings/defaults", json={"default_compression": "gzip"})).status_code == 200
    _, after = await published_snapshot(gateway)
    assert after == before  # the previous snapshot stays; nothing decrypted to a wrong value went out
    assert "settings snapshot not published" in caplog.text
    assert "settings.smtp.password" in caplog.text


async def test_sending_a_new_value_repairs_a_tampered_secret(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        await flip_a_byte_of_the_smtp_password(gateway)
        repaired = await client.put("/settings/smtp", json={**SMTP, "password": "a-new-smtp-password"})
        read = await client.get("/settings")
    assert repaired.status_code == 200
    assert read.status_code == 200
    _, snapshot = await published_snapshot(gateway)
    assert snapshot.smtp is not None
    assert snapshot.smtp.password is not None
    assert unseal(NOTIFIER_KEY, "settings.smtp.password", snapshot.smtp.password) == "a-new-smtp-password"


async def test_a_ciphertext_moved_to_another_field_does_not_decrypt(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        async with gateway.app.state.sessions.begin() as db:
            await db.execute(text("UPDATE settings_s3_targets SET secret_key = access_key"))
        read = await client.get("/settings")
    assert read.status_code == 409
    assert "settings.targets.offsite.secret_key" in read.json()["detail"]
    target = await stored_target(gateway)
    with pytest.raises(KeyProblem):
        cipher_of(gateway).decrypt(target.secret_key, "settings.targets.offsite.secret_key")


# -- the key file ----------------------------------------------------------------------------


async def test_the_encryption_key_file_is_created_readable_only_by_its_owner(gateway: Gateway) -> None:
    mode = stat.S_IMODE(os.stat(gateway.settings.encryption_key_file).st_mode)
    assert mode == 0o600


async def test_the_gateway_refuses_to_start_when_the_key_file_is_gone(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    gateway.settings.encryption_key_file.unlink()
    with pytest.raises(KeyProblem, match="is missing but encrypted data exists"):
        await start_again(gateway)
    assert not gateway.settings.encryption_key_file.exists(), "no new key is made over existing ciphertext"


async def test_the_gateway_refuses_to_start_with_a_different_key(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    gateway.settings.encryption_key_file.write_text(os.urandom(32).hex() + "\n")
    with pytest.raises(KeyProblem, match="does not decrypt the stored data"):
        await start_again(gateway)


# -- key rotation ----------------------------------------------------------------------------


async def test_rotating_the_key_keeps_every_secret_readable_with_the_new_key(gateway: Gateway) -> None:
    totp = pyotp.random_base32()
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    async with gateway.app.state.sessions.begin() as db:
        admin = await db.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        admin.totp_secret = cipher_of(gateway).encrypt(totp.encode(), totp_secret_aad(admin.id))
        admin_id = admin.id
    key_file = gateway.settings.encryption_key_file
    old_key = key_file.read_text()

    assert await rotate_encryption_key(gateway.settings) == 0

    assert key_file.read_text() != old_key
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert sorted(p.name for p in key_file.parent.glob(key_file.name + "*")) == [key_file.name]
    new = Cipher(parse_aes_key(key_file.read_text(), "new key"))
    async with gateway.app.state.sessions() as db:
        admin = await db.get(User, admin_id)
    assert admin is not None
    assert admin.totp_secret is not None
    target = await stored_target(gateway)
    assert new.decrypt(admin.totp_secret, totp_secret_aad(admin_id)).decode() == totp
    assert new.decrypt(target.secret_key, "settings.targets.offsite.secret_key").decode() == CANARY["secret_key"]
    with pytest.raises(KeyProblem):
        cipher_of(gateway).decrypt(target.secret_key, "settings.targets.offsite.secret_key")

    await start_again(gateway)  # the key check passes, and the start-up snapshot is sealed from the new key
    _, snapshot = await published_snapshot(gateway)
    assert snapshot.smtp is not None
    assert snapshot.smtp.password is not None
    assert snapshot.webhooks[0].signing_secret is not None
    assert (
        unseal(HOST_KEY, "settings.targets.offsite.access_key", snapshot.targets[0].access_key) == CANARY["access_key"]
    )
    assert unseal(NOTIFIER_KEY, "settings.smtp.password", snapshot.smtp.password) == CANARY["password"]
    assert (
        unseal(NOTIFIER_KEY, "settings.webhooks.chat.signing_secret", snapshot.webhooks[0].signing_secret)
        == (CANARY["signing_secret"])
    )


async def test_rotation_changes_nothing_when_a_stored_value_does_not_decrypt(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    await flip_a_byte_of_the_smtp_password(gateway)
    key_file = gateway.settings.encryption_key_file
    old_key = key_file.read_text()
    before = (await stored_target(gateway)).secret_key

    assert await rotate_encryption_key(gateway.settings) == 1

    assert key_file.read_text() == old_key
    assert sorted(p.name for p in key_file.parent.glob(key_file.name + "*")) == [key_file.name]
    assert (await stored_target(gateway)).secret_key == before


async def test_the_rotate_key_command_runs_from_the_command_line(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    env = {
        **os.environ,
        "DOCKBACK_DATABASE_URL": gateway.settings.database_url.get_secret_value(),
        "DOCKBACK_ENCRYPTION_KEY_FILE": str(gateway.settings.encryption_key_file),
    }
    command = [sys.executable, "-m", "dockback_gateway", "settings", "rotate-key"]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "5 values re-encrypted" in done.stdout  # two S3 keys, the SMTP password, a webhook URL and signing secret
    new = Cipher(parse_aes_key(gateway.settings.encryption_key_file.read_text(), "new key"))
    target = await stored_target(gateway)
    assert new.decrypt(target.access_key, "settings.targets.offsite.access_key").decode() == CANARY["access_key"]


# -- the snapshot for the other services -----------------------------------------------------


async def test_the_snapshot_after_a_change_holds_only_sealed_secrets(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        revision = (await client.get("/settings")).json()["revision"]
    raw, snapshot = await published_snapshot(gateway)
    for canary in CANARY.values():
        assert canary.encode() not in raw
    assert snapshot.revision == revision
    target = snapshot.targets[0]
    assert (target.target_id, target.bucket, target.prefix) == ("offsite", "dockback-archives", "host-a/")
    assert unseal(HOST_KEY, "settings.targets.offsite.access_key", target.access_key) == CANARY["access_key"]
    assert unseal(HOST_KEY, "settings.targets.offsite.secret_key", target.secret_key) == CANARY["secret_key"]
    assert snapshot.smtp is not None
    assert snapshot.smtp.password is not None
    assert unseal(NOTIFIER_KEY, "settings.smtp.password", snapshot.smtp.password) == CANARY["password"]
    assert snapshot.ui_base_url == gateway.settings.base_url


async def test_each_recipient_gets_only_its_share_sealed_to_its_own_key(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    host, notifier = await published_snapshots(gateway)
    assert (host.recipient, notifier.recipient) == (public_key_text(HOST_KEY), public_key_text(NOTIFIER_KEY))
    assert (host.smtp, host.webhooks) == (None, ())  # no host gets the notifier's secrets
    assert notifier.targets == ()  # nor the notifier the S3 keys
    with pytest.raises(SealError):
        unseal(NOTIFIER_KEY, "settings.targets.offsite.secret_key", host.targets[0].secret_key)
    assert notifier.smtp is not None
    assert notifier.smtp.password is not None
    with pytest.raises(SealError):
        unseal(HOST_KEY, "settings.smtp.password", notifier.smtp.password)


async def test_a_host_that_registers_its_key_later_gets_its_snapshot(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
    new_host_key = derive_private_key(b"a host added later: its credentials seed", "uploader-host-c")
    await gateway.app.state.settings_publisher.drain()  # what was saved is published, before host C has a plan
    await add_plan(gateway, host_id="host-c", upload_targets=[TARGET["target_id"]])
    js = gateway.app.state.broker.connection.jetstream()
    kv = await js.key_value(SETTINGS_BUCKET)
    watcher = await kv.watch(host_settings_key("host-c"))
    try:
        await register_sealing_key(js, "uploader-host-c", new_host_key)  # as its uploader does at first start
        async with asyncio.timeout(20):
            async for entry in watcher:
                if entry is not None and entry.value:
                    break
    finally:
        await watcher.stop()
    snapshot = SettingsSnapshot.model_validate_json(entry.value)
    assert snapshot.recipient == public_key_text(new_host_key)
    assert (
        unseal(new_host_key, "settings.targets.offsite.secret_key", snapshot.targets[0].secret_key)
        == (CANARY["secret_key"])
    )


async def host_snapshot(gateway: Gateway, host_id: str) -> SettingsSnapshot:
    await gateway.app.state.settings_publisher.drain()
    kv = await gateway.app.state.broker.connection.jetstream().key_value(SETTINGS_BUCKET)
    return SettingsSnapshot.model_validate_json((await kv.get(host_settings_key(host_id))).value or b"")


async def test_a_host_gets_the_keys_of_the_targets_its_plans_use_and_of_no_other(gateway: Gateway) -> None:
    key = derive_private_key(b"gateway tests: plan-host's credentials seed", f"uploader-{PLAN_HOST}")
    await register_sealing_key(gateway.app.state.broker.connection.jetstream(), f"uploader-{PLAN_HOST}", key)
    async with logged_in_admin(gateway) as client:
        await known_host(gateway, client)
        await store_everything(client)
        nearby = {**TARGET, "target_id": "nearby", "secret_key": "canary-secret-of-nearby"}
        assert (await client.post("/settings/targets", json=nearby)).status_code == 201
        unused = await host_snapshot(gateway, PLAN_HOST)
        plan = await create(client, upload_targets=["nearby"])
        using_nearby = await host_snapshot(gateway, PLAN_HOST)
        moved = await client.put(f"/plans/{plan['id']}", json=plan_body(upload_targets=["offsite"]))
        assert moved.status_code == 200, moved.text
        using_offsite = await host_snapshot(gateway, PLAN_HOST)
        assert (await client.delete(f"/plans/{plan['id']}")).status_code == 204
        deleted = await host_snapshot(gateway, PLAN_HOST)
    host_a = await host_snapshot(gateway, HOST_ID)

    assert unused.targets == ()  # saved, but no plan of this host uses it: not even sealed to it
    assert [t.target_id for t in using_nearby.targets] == ["nearby"]
    assert unseal(key, "settings.targets.nearby.secret_key", using_nearby.targets[0].secret_key) == (
        "canary-secret-of-nearby"
    )
    assert [t.target_id for t in using_offsite.targets] == ["offsite"]  # nearby's keys are gone
    assert deleted.targets == ()
    assert unused.revision < using_nearby.revision < using_offsite.revision < deleted.revision
    assert [t.target_id for t in host_a.targets] == ["offsite"]  # host A never gets nearby


async def test_the_gateway_publishes_the_snapshot_when_it_starts(gateway: Gateway) -> None:
    _, snapshot = await published_snapshot(gateway)
    assert snapshot.revision == 1
    assert snapshot.targets == ()
    assert snapshot.smtp is None


async def test_an_older_snapshot_never_replaces_a_newer_one(gateway: Gateway) -> None:
    kv = await gateway.app.state.broker.connection.jetstream().key_value(SETTINGS_BUCKET)
    newer: dict[str, Any] = json.loads((await kv.get(host_settings_key(HOST_ID))).value)
    newer["revision"] = 1000  # as if another gateway had published many changes already
    await kv.put(host_settings_key(HOST_ID), json.dumps(newer).encode())
    await gateway.app.state.settings_publisher.publish()
    _, snapshot = await published_snapshot(gateway)
    assert snapshot.revision == 1000


# -- who may ---------------------------------------------------------------------------------


async def test_a_viewer_can_neither_write_nor_read_settings(gateway: Gateway) -> None:
    async with logged_in_as(gateway, Role.VIEWER) as client:
        writes = [
            await client.put("/settings/smtp", json=SMTP),
            await client.post("/settings/targets", json=TARGET),
            await client.put("/settings/defaults", json={}),
        ]
        read = await client.get("/settings")
    assert [r.status_code for r in writes] == [403, 403, 403]
    assert read.status_code == 403


async def test_an_operator_can_read_settings_but_not_write_them(gateway: Gateway) -> None:
    async with logged_in_as(gateway, Role.OPERATOR) as client:
        write = await client.put("/settings/smtp", json=SMTP)
        read = await client.get("/settings")
    assert write.status_code == 403
    assert read.status_code == 200


async def test_a_webhook_url_stored_in_clear_before_is_encrypted_at_start(gateway: Gateway) -> None:
    url = "https://hooks.example.net/services/T00/B00/clear-canary"
    async with gateway.app.state.sessions.begin() as db:  # as migration 0011 leaves an older row
        await db.execute(
            text(
                "INSERT INTO settings_webhooks (webhook_id, url_plaintext, url_host, slack_format) "
                "VALUES ('old', :url, 'hooks.example.net', false)"
            ),
            {"url": url},
        )
    await start_again(gateway)
    async with gateway.app.state.sessions() as db:
        row = (await db.execute(text("SELECT url, url_plaintext FROM settings_webhooks"))).one()
    assert row.url_plaintext is None
    assert cipher_of(gateway).decrypt(row.url, "settings.webhooks.old.url").decode() == url


# -- a new address needs its secret again -----------------------------------------------------


async def test_a_new_smtp_host_or_port_drops_the_stored_password(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        same = await client.put("/settings/smtp", json={k: v for k, v in SMTP.items() if k != "password"})
        new_port = await client.put("/settings/smtp", json={**SMTP, "port": 2525})
        new_host = await client.put(
            "/settings/smtp", json={**{k: v for k, v in SMTP.items() if k != "password"}, "host": "mail.other.example"}
        )
    assert same.json()["password"] == {"set": True}
    assert new_port.json()["password"] == {"set": True}, "sent again with the change: kept"
    assert new_host.status_code == 200
    assert new_host.json()["password"] == {"set": False}
    async with gateway.app.state.sessions() as db:
        server = await db.get(SmtpServer, 1)
    assert server is not None
    assert server.password is None


async def test_a_new_s3_endpoint_needs_both_keys_again(gateway: Gateway) -> None:
    kept = {k: v for k, v in TARGET.items() if k not in ("target_id", "access_key", "secret_key")}
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        moved = await client.put("/settings/targets/offsite", json={**kept, "endpoint": "s3.other.example"})
        half = await client.put(
            "/settings/targets/offsite",
            json={**kept, "endpoint": "s3.other.example", "access_key": CANARY["access_key"]},
        )
        insecure = await client.put("/settings/targets/offsite", json={**kept, "secure": False})
        with_keys = await client.put(
            "/settings/targets/offsite",
            json={**kept, "endpoint": "s3.other.example", "access_key": "new-a", "secret_key": "new-s"},
        )
    assert [moved.status_code, half.status_code, insecure.status_code] == [422, 422, 422]
    assert moved.json()["detail"].startswith("access_key:")
    assert half.json()["detail"].startswith("secret_key:")
    assert with_keys.status_code == 200
    assert with_keys.json()["endpoint"] == "s3.other.example"


async def test_a_new_webhook_url_drops_the_stored_signing_secret(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        await store_everything(client)
        same_url = await client.put("/settings/webhooks/chat", json={"url": WEBHOOK["url"]})
        new_url = await client.put("/settings/webhooks/chat", json={"url": "https://other.example/hook"})
    assert same_url.json()["signing_secret"] == {"set": True}
    assert new_url.json()["signing_secret"] == {"set": False}
    assert new_url.json()["url_host"] == "other.example"
