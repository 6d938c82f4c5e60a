"""The "send test" of the API: one test alert through the SMTP channel or one webhook."""

from __future__ import annotations

import logging
from uuid import uuid4

from dockback_contracts.base import utc_now
from dockback_contracts.control import CheckChannel, CheckResult
from dockback_notifier.alerts import Alert
from dockback_notifier.channels import Channel, ChannelSettings
from dockback_notifier.errors import DeliveryError

log = logging.getLogger(__name__)

SNAPSHOT_WAIT_SECONDS = 5.0
"""How long a check waits for the settings it names (the gateway publishes them just after
saving, well within this; the gateway itself waits longer for the answer)."""


class ChannelCheck:
    """Answers CheckChannel: sends at once (no duplicate check, no digest, no retry)."""

    def __init__(
        self, channels: ChannelSettings, answered_by: str, snapshot_wait: float = SNAPSHOT_WAIT_SECONDS
    ) -> None:
        self.channels = channels
        self.answered_by = answered_by
        self.snapshot_wait = snapshot_wait

    async def run(self, request: CheckChannel) -> CheckResult:
        ok, detail = await self._check(request)
        log.info("channel check by %s: %s", request.requested_by, detail)
        return CheckResult(ok=ok, detail=detail, answered_by=self.answered_by, checked_at=utc_now())

    async def _check(self, request: CheckChannel) -> tuple[bool, str]:
        if request.channel == "webhook" and not request.webhook_id:
            return False, "name the webhook to check (webhook_id)"
        name = "smtp" if request.channel == "smtp" else f"webhook:{request.webhook_id}"
        what = "the SMTP channel" if request.channel == "smtp" else f"webhook {request.webhook_id}"
        given = request.smtp if request.channel == "smtp" else request.webhook
        if given is not None and request.recipient != self.channels.public_key:
            return False, (
                f"the values to test were sealed to another notifier key than this notifier's "
                f"({self.channels.public_key}): try again once the gateway has seen its registration"
            )
        # The settings the user just saved, not whatever snapshot is here yet (unless the check
        # brings its own values: a form tested before saving).
        wanted = request.settings_revision
        if given is None and wanted is not None and not await self.channels.reach(wanted, self.snapshot_wait):
            has = self.channels.revision
            return False, (
                f"the settings saved as revision {wanted} did not reach this notifier within "
                f"{self.snapshot_wait:g} s (it has {'none' if has is None else f'revision {has}'}): "
                "the gateway publishes them after saving, see its log; try again"
            )
        try:
            channel: Channel | None
            if request.smtp is not None and request.channel == "smtp":
                channel = self.channels.smtp_channel(request.smtp)
            elif request.webhook is not None and request.channel == "webhook":
                channel = self.channels.webhook_channel(request.webhook)
            else:
                channel = self.channels.channel(name)
            if channel is None:
                return False, f"{what} is not configured (or the notifier has not seen the settings yet)"
            now = utc_now()
            alert = Alert(
                key=f"check:{uuid4()}",
                event="test",
                title="test alert from DockBack",
                summary=f"test alert from DockBack, requested by {request.requested_by}",
                occurred_at=now,
                details=(("Requested by", request.requested_by), ("When", now.isoformat())),
                link=self.channels.ui_base_url,
            )
            await channel.send([alert])
        except DeliveryError as exc:
            return False, str(exc)
        except Exception as exc:
            log.exception("channel check of %s raised unexpectedly", name)
            return False, f"checking {what} failed unexpectedly ({type(exc).__name__}); see the notifier's log"
        return True, f"sent a test alert through {channel.describe()}"
