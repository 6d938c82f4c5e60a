"""Alerts by webhook: the JSON body, its HMAC signature, the Slack format, retries on 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from nats.aio.client import Client

from dockback_contracts import events as ev
from notifier.conftest import (
    HOST_ID,
    PLAN_NAME,
    SIGNING_SECRET,
    UI,
    StartNotifier,
    WebhookReceiver,
    job_failed,
    publish,
    put_settings,
    settled,
    webhook,
)


async def test_a_failed_job_is_posted_as_json_with_a_valid_signature(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),))
    await start_notifier()
    failed = job_failed()

    seq = await publish(nc, failed)
    [request] = await receiver.wait_for(1)
    await settled(nc, ev.JobFailed, seq)

    timestamp = request.headers["X-DockBack-Timestamp"]
    expected = hmac.new(SIGNING_SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    body = json.loads(request.body)
    [alert] = body["alerts"]
    assert request.headers["X-DockBack-Signature"] == f"sha256={expected}"
    assert abs(int(timestamp) - time.time()) < 60
    assert request.headers["Content-Type"] == "application/json"
    assert body["title"] == f"backup of volume pgdata on host {HOST_ID} failed"
    assert body["digest"] is False
    assert alert["job_id"] == str(failed.job_id)
    assert alert["host_id"] == HOST_ID
    assert alert["plan_name"] == PLAN_NAME
    assert alert["resource"] == {"kind": "volume", "name": "pgdata"}
    assert alert["phase"] == "upload"
    assert alert["reason"] == failed.reason
    assert alert["retryable"] is False
    assert alert["link"] == f"{UI}/jobs/{failed.job_id}"


async def test_an_unsigned_webhook_gets_no_signature_headers(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key, signed=False),))
    await start_notifier()

    await publish(nc, job_failed())
    [request] = await receiver.wait_for(1)

    assert "X-DockBack-Signature" not in request.headers


async def test_the_slack_format_posts_text_and_blocks(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("slack", receiver.url, settings_key, slack=True),))
    await start_notifier()
    failed = job_failed()

    await publish(nc, failed)
    [request] = await receiver.wait_for(1)

    body = json.loads(request.body)
    assert f"backup of volume pgdata on host {HOST_ID} failed" in body["text"]
    assert failed.reason in body["text"]
    assert f"<{UI}/jobs/{failed.job_id}|open>" in body["text"]
    assert body["blocks"][0]["type"] == "section"


async def test_a_webhook_answering_5xx_is_retried(
    nc: Client, settings_key: bytes, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    await put_settings(nc, webhooks=(webhook("ops", receiver.url, settings_key),))
    await start_notifier()
    receiver.status = 503

    seq = await publish(nc, job_failed())
    await receiver.wait_for(1)
    receiver.status = 200
    await receiver.wait_for(2)
    await settled(nc, ev.JobFailed, seq)

    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
