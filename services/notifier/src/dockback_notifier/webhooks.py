"""Alerts by webhook: a JSON POST per alert or digest, optionally signed.

Signature scheme (when the webhook has a signing secret):
- `X-DockBack-Timestamp`: the send time, integer Unix seconds;
- `X-DockBack-Signature`: `sha256=<hex>`, the HMAC-SHA256 with the secret as key over
  `<timestamp>.` followed by the exact body bytes.
A receiver recomputes the HMAC over the raw body it received, compares in constant time,
and rejects timestamps older than a few minutes so a captured request cannot be replayed.
With `slack_format` the body is a Slack incoming-webhook message (`text` and `blocks`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

import httpx

from dockback_contracts.snapshots import Webhook
from dockback_notifier import alerts as al
from dockback_notifier.errors import DeliveryError
from dockback_runtime.outbound import OutboundPolicy, TargetRefused

SIGNATURE_HEADER = "X-DockBack-Signature"
TIMESTAMP_HEADER = "X-DockBack-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for this body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """One webhook of the settings."""

    def __init__(
        self,
        config: Webhook,
        url: str,
        signing_secret: str | None,
        *,
        window_seconds: float,
        timeout: float,
        policy: OutboundPolicy,
    ) -> None:
        self.config = config
        self.policy = policy
        self._url = url  # opened from the snapshot: a secret, never logged or put in an error
        self._secret = signing_secret
        self.window_seconds = window_seconds
        self.timeout = timeout
        self.name = f"webhook:{config.webhook_id}"

    def describe(self) -> str:
        return f"webhook {self.config.webhook_id}"

    def _where(self) -> str:
        """The URL's host (and port): what a person needs to find the receiver; its path and
        query may hold a token and are never shown."""
        parts = urlsplit(self._url)
        return parts.netloc.rpartition("@")[2] or "(no host)"

    def _reason(self, exc: Exception) -> str:
        """Why the request failed, in the library's words, with the URL (and its path) cut out."""
        text = str(exc) or type(exc).__name__
        parts = urlsplit(self._url)
        for hidden in (self._url, parts.path, parts.query):
            if hidden and hidden != "/":
                text = text.replace(hidden, "…")
        return text

    def body(self, alerts: list[al.Alert]) -> bytes:
        payload = (
            al.slack_body(alerts, self.window_seconds)
            if self.config.slack_format
            else al.webhook_body(alerts, self.window_seconds)
        )
        return json.dumps(payload, separators=(",", ":")).encode()

    async def send(self, alerts: list[al.Alert]) -> None:
        body = self.body(alerts)
        headers = {"Content-Type": "application/json", "User-Agent": "DockBack-Notifier"}
        if self._secret:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(self._secret, timestamp, body)
        try:
            # to a checked address only; the URL's host still goes as Host header and TLS name
            pinned = await self.policy.pin_url(self._url, what=self.describe())
        except TargetRefused as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        if pinned.host_header is not None:
            headers["Host"] = pinned.host_header
        extensions = {"sni_hostname": pinned.sni_hostname} if pinned.sni_hostname else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(pinned.url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            # the URL may carry a token (Slack's do): name the webhook and its host, never the URL
            raise DeliveryError(f"cannot reach {self.describe()} at {self._where()}: {self._reason(exc)}") from None
        if response.status_code >= 300:
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429)
            raise DeliveryError(
                f"{self.describe()} at {self._where()} answered HTTP {response.status_code}"
                f"{f' {response.reason_phrase}' if response.reason_phrase else ''}",
                permanent=permanent,
            )
