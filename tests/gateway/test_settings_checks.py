"""The settings' check endpoints on the real gateway and a real nats-server: the gateway asks
one host's uploader (S3 targets, the target's keys sealed to it in the request) or a notifier
(SMTP, webhooks) over core-NATS request/reply and passes its answer on. The answering services
are stand-ins subscribed in the test, on their own NATS connection, in the queue groups the
real ones use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import nats
import pytest
from nats.aio.msg import Msg

from dockback_contracts import subjects
from dockback_contracts.control import CheckChannel, CheckResult, CheckTarget
from dockback_contracts.sealed import SealError, derive_private_key, public_key_text, unseal
from dockback_contracts.snapshots import SMTP_PASSWORD, target_secret, webhook_signing_secret, webhook_url
from dockback_gateway.users.models import Role
from dockback_runtime.connection import server_has_subscriptions
from dockback_runtime.sealing import register_sealing_key
from gateway.audited_callers import audit_rows, logged_in_as
from gateway.conftest import HOST_ID, HOST_KEY, NOTIFIER_KEY, Gateway, logged_in_admin
from gateway.job_facts import add_plan
from gateway.settings_bodies import SMTP, TARGET, WEBHOOK

CHECK_ON_HOST_A = subjects.check_target(HOST_ID)
HOST_B = "host-b"
HOST_B_KEY = derive_private_key(b"gateway tests: host-b's credentials seed", "uploader-host-b")

Answer = Callable[[bytes], CheckResult]


@asynccontextmanager
async def responder(gateway: Gateway, subject: str, queue: str, answer: Answer) -> AsyncIterator[list[bytes]]:
    """A service on its own connection answering `subject` in `queue`; yields the requests it got."""
    received: list[bytes] = []
    nc = await nats.connect(gateway.settings.nats_url)

    async def on_request(msg: Msg) -> None:
        received.append(msg.data)
        await msg.respond(answer(msg.data).model_dump_json().encode())

    try:
        await nc.subscribe(subject, queue=queue, cb=on_request)
        await server_has_subscriptions(nc)  # before the gateway asks
        yield received
    finally:
        await nc.close()


def result(ok: bool, detail: str, by: str = "uploader on host-a") -> Answer:
    return lambda _: CheckResult(ok=ok, detail=detail, answered_by=by, checked_at=datetime.now(UTC))


async def test_a_target_check_returns_the_uploaders_answer_and_is_audited(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        assert (await client.post("/settings/targets", json=TARGET)).status_code == 201
        async with responder(
            gateway, CHECK_ON_HOST_A, "uploaders", result(True, "bucket dockback-archives reachable")
        ) as received:
            checked = await client.post("/settings/targets/offsite/test")
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["ok"] is True
    assert body["detail"] == "bucket dockback-archives reachable"
    assert body["answered_by"] == "uploader on host-a"
    (asked,) = [CheckTarget.model_validate_json(r) for r in received]
    # the target as saved, its keys sealed to the only host's uploader and to no other key
    assert (asked.target.target_id, asked.target.bucket) == ("offsite", TARGET["bucket"])
    assert asked.recipient == public_key_text(HOST_KEY)
    assert unseal(HOST_KEY, target_secret("offsite", "secret_key"), asked.target.secret_key) == TARGET["secret_key"]
    assert TARGET["secret_key"].encode() not in received[0]
    audits = await audit_rows(gateway, "settings.target.test")
    assert [(a.actor, a.outcome, a.target, a.details["ok"]) for a in audits] == [("admin", "success", "offsite", True)]


async def test_a_failing_target_check_is_a_200_with_the_reason_audited_as_a_failure(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        assert (await client.post("/settings/targets", json=TARGET)).status_code == 201
        reason = "the bucket dockback-archives does not exist: create it or fix the target's bucket"
        async with responder(gateway, CHECK_ON_HOST_A, "uploaders", result(False, reason)):
            checked = await client.post("/settings/targets/offsite/test")
    assert checked.status_code == 200, checked.text
    assert checked.json()["ok"] is False
    assert checked.json()["detail"] == reason
    audits = await audit_rows(gateway, "settings.target.test")
    assert [(a.outcome, a.details["detail"]) for a in audits] == [("failure", reason)]


async def test_no_uploader_answering_is_a_503_that_says_so(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        assert (await client.post("/settings/targets", json=TARGET)).status_code == 201
        checked = await client.post("/settings/targets/offsite/test")
    assert checked.status_code == 503
    assert checked.json() == {
        "error": "no_responder",
        "detail": "no uploader of host host-a answered: is one running?",
    }
    audits = await audit_rows(gateway, "settings.target.test")
    assert [(a.outcome, a.details["reason"]) for a in audits] == [("failure", "no_responder")]


async def test_an_unknown_target_is_a_404_and_nobody_is_asked(gateway: Gateway) -> None:
    async with (
        logged_in_admin(gateway) as client,
        responder(gateway, CHECK_ON_HOST_A, "uploaders", result(True, "fine")) as received,
    ):
        checked = await client.post("/settings/targets/nowhere/test")
    assert checked.status_code == 404
    assert "nowhere" in checked.json()["detail"]
    assert received == []


async def test_with_several_hosts_a_target_is_checked_from_a_host_that_uses_it_or_the_one_named(
    gateway: Gateway,
) -> None:
    await register_sealing_key(gateway.app.state.broker.connection.jetstream(), f"uploader-{HOST_B}", HOST_B_KEY)
    async with logged_in_admin(gateway) as client:
        assert (await client.post("/settings/targets", json=TARGET)).status_code == 201
        async with (
            responder(gateway, CHECK_ON_HOST_A, "uploaders", result(True, "from a")) as on_a,
            responder(gateway, subjects.check_target(HOST_B), "uploaders", result(True, "from b", by="b")) as on_b,
        ):
            # no plan uses it yet: which host gets its keys for the check is the admin's to say
            unsaid = await client.post("/settings/targets/offsite/test")
            unknown = await client.post("/settings/targets/offsite/test", params={"host_id": "host-z"})
            named = await client.post("/settings/targets/offsite/test", params={"host_id": HOST_B})
            await add_plan(gateway, host_id=HOST_B, upload_targets=["offsite"])
            used = await client.post("/settings/targets/offsite/test")
    assert unsaid.status_code == 422, unsaid.text
    assert unsaid.json()["detail"] == (
        "host_id: no plan uses S3 target 'offsite' yet, so say which host to check it from "
        "(its keys are sent to that host): one of host-a, host-b"
    )
    assert unknown.status_code == 503
    assert "no uploader of host 'host-z' has registered its sealing key" in unknown.json()["detail"]
    assert [named.json()["detail"], used.json()["detail"]] == ["from b", "from b"]
    assert on_a == []  # host A never got the target's keys
    for raw in on_b:
        asked = CheckTarget.model_validate_json(raw)
        assert asked.recipient == public_key_text(HOST_B_KEY)
        with pytest.raises(SealError):
            unseal(HOST_KEY, target_secret("offsite", "secret_key"), asked.target.secret_key)
    assert len(on_b) == 2


async def test_smtp_and_webhook_checks_ask_a_notifier_for_that_channel(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        assert (await client.put("/settings/smtp", json=SMTP)).status_code == 200
        assert (await client.post("/settings/webhooks", json=WEBHOOK)).status_code == 201
        async with responder(
            gateway, subjects.CHECK_CHANNEL, "notifiers", result(True, "sent", by="notifier")
        ) as received:
            smtp = await client.post("/settings/smtp/test")
            webhook = await client.post("/settings/webhooks/chat/test")
        revision = (await client.get("/settings")).json()["revision"]
    assert smtp.status_code == 200, smtp.text
    assert webhook.status_code == 200, webhook.text
    assert webhook.json()["answered_by"] == "notifier"
    asked = [CheckChannel.model_validate_json(r) for r in received]
    assert [(c.channel, c.webhook_id, c.requested_by, c.settings_revision) for c in asked] == [
        ("smtp", None, "admin", revision),
        ("webhook", "chat", "admin", revision),
    ]
    assert [a.outcome for a in await audit_rows(gateway, "settings.smtp.test")] == ["success"]
    assert [a.target for a in await audit_rows(gateway, "settings.webhook.test")] == ["chat"]


async def test_channel_checks_without_a_notifier_or_a_channel(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        no_smtp = await client.post("/settings/smtp/test")
        no_webhook = await client.post("/settings/webhooks/chat/test")
        assert (await client.put("/settings/smtp", json=SMTP)).status_code == 200
        no_notifier = await client.post("/settings/smtp/test")
    assert no_smtp.status_code == 404
    assert no_webhook.status_code == 404
    assert no_notifier.status_code == 503
    assert no_notifier.json()["detail"] == "no notifier answered: is one running?"


async def test_viewers_and_operators_may_not_run_checks(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        assert (await admin.post("/settings/targets", json=TARGET)).status_code == 201
    for name, role in (("vera", Role.VIEWER), ("olga", Role.OPERATOR)):
        async with (
            responder(gateway, CHECK_ON_HOST_A, "uploaders", result(True, "fine")) as received,
            logged_in_as(gateway, name, role) as client,
        ):
            answers = [
                await client.post("/settings/targets/offsite/test"),
                await client.post("/settings/smtp/test"),
                await client.post("/settings/webhooks/chat/test"),
            ]
        assert [a.status_code for a in answers] == [403, 403, 403]
        assert received == []


async def test_a_new_target_is_tested_as_typed_before_it_is_saved(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        async with responder(gateway, CHECK_ON_HOST_A, "uploaders", result(True, "reachable")) as received:
            checked = await client.post("/settings/targets/test", json=TARGET)
        settings = (await client.get("/settings")).json()
    assert checked.status_code == 200, checked.text
    assert checked.json()["detail"] == "reachable"
    (asked,) = [CheckTarget.model_validate_json(r) for r in received]
    assert (asked.target.target_id, asked.target.endpoint) == ("offsite", TARGET["endpoint"])
    assert unseal(HOST_KEY, target_secret("offsite", "secret_key"), asked.target.secret_key) == TARGET["secret_key"]
    assert settings["targets"] == []  # nothing was saved
    audits = await audit_rows(gateway, "settings.target.test")
    assert [(a.target, a.outcome) for a in audits] == [("offsite", "success")]


async def test_an_edited_target_is_tested_with_the_form_values_and_the_stored_keys(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        assert (await client.post("/settings/targets", json=TARGET)).status_code == 201
        edited = {"endpoint": TARGET["endpoint"], "bucket": "another-bucket", "prefix": "new/"}
        async with responder(gateway, CHECK_ON_HOST_A, "uploaders", result(True, "reachable")) as received:
            checked = await client.post("/settings/targets/offsite/test", json=edited)
        stored = (await client.get("/settings")).json()["targets"][0]
    assert checked.status_code == 200, checked.text
    (asked,) = [CheckTarget.model_validate_json(r) for r in received]
    assert (asked.target.bucket, asked.target.prefix) == ("another-bucket", "new/")  # as typed
    assert unseal(HOST_KEY, target_secret("offsite", "secret_key"), asked.target.secret_key) == TARGET["secret_key"]
    assert stored["bucket"] == TARGET["bucket"]  # and the saved target is as it was


async def test_smtp_is_tested_as_typed_with_the_stored_password_only_for_its_server(gateway: Gateway) -> None:
    typed = {key: value for key, value in SMTP.items() if key != "password"}
    async with logged_in_admin(gateway) as client:
        assert (await client.put("/settings/smtp", json=SMTP)).status_code == 200
        async with responder(gateway, subjects.CHECK_CHANNEL, "notifiers", result(True, "sent")) as received:
            same_server = await client.post("/settings/smtp/test", json={**typed, "recipients": ["new@example.net"]})
            other_server = await client.post("/settings/smtp/test", json={**typed, "host": "typed.example.net"})
            new_password = await client.post(
                "/settings/smtp/test", json={**typed, "host": "typed.example.net", "password": "typed-password-1"}
            )
        stored = (await client.get("/settings")).json()["smtp"]
    assert [a.status_code for a in (same_server, other_server, new_password)] == [200, 200, 200]
    asked = [CheckChannel.model_validate_json(r) for r in received]
    assert all(c.recipient == public_key_text(NOTIFIER_KEY) and c.settings_revision is None for c in asked)
    first, other, typed_password = (c.smtp for c in asked)
    assert first is not None
    assert other is not None
    assert typed_password is not None
    assert first.recipients == ("new@example.net",)  # as typed
    # a password left blank is the stored one, sealed to the notifier, for the server it was saved for only
    assert first.password is not None
    assert unseal(NOTIFIER_KEY, SMTP_PASSWORD, first.password) == SMTP["password"]
    assert (other.host, other.password) == ("typed.example.net", None)
    assert typed_password.password is not None
    assert unseal(NOTIFIER_KEY, SMTP_PASSWORD, typed_password.password) == "typed-password-1"
    assert SMTP["password"].encode() not in received[0]
    assert (stored["host"], stored["recipients"]) == (SMTP["host"], SMTP["recipients"])  # nothing saved


async def test_a_webhook_is_tested_as_typed_new_or_edited(gateway: Gateway) -> None:
    async with (
        logged_in_admin(gateway) as client,
        responder(gateway, subjects.CHECK_CHANNEL, "notifiers", result(True, "posted")) as received,
    ):
        new = await client.post("/settings/webhooks/test", json=WEBHOOK)
        assert (await client.get("/settings")).json()["webhooks"] == []  # nothing saved
        assert (await client.post("/settings/webhooks", json=WEBHOOK)).status_code == 201
        kept_url = await client.post("/settings/webhooks/chat/test", json={"slack_format": True})
        new_url = await client.post("/settings/webhooks/chat/test", json={"url": "https://other.example.net/x"})
    assert [a.status_code for a in (new, kept_url, new_url)] == [200, 200, 200]
    hooks = [CheckChannel.model_validate_json(r).webhook for r in received]
    assert all(h is not None for h in hooks)
    opened = [
        (
            unseal(NOTIFIER_KEY, webhook_url("chat"), h.url),
            None
            if h.signing_secret is None
            else unseal(NOTIFIER_KEY, webhook_signing_secret("chat"), h.signing_secret),
            h.slack_format,
        )
        for h in hooks
        if h is not None
    ]
    assert opened == [
        (WEBHOOK["url"], WEBHOOK["signing_secret"], False),
        (WEBHOOK["url"], WEBHOOK["signing_secret"], True),  # the stored URL and secret, the typed format
        ("https://other.example.net/x", None, False),  # the stored secret goes only where it was set for
    ]
