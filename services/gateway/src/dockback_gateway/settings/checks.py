"""Checks of the stored settings from the settings page: an uploader tries an S3 target
with its credentials, a notifier sends a test alert through SMTP or a webhook. The gateway
asks one of them over core-NATS request/reply and passes the answer on; it holds no S3 or
SMTP client itself. A target check carries the target as saved, its keys sealed to the
uploader of the host it is checked from (a host gets a target's keys otherwise only once its
plans use it); a channel check names the settings revision to test, so the notifier waits for
the settings the user has just saved instead of checking an older snapshot.
Never commits: the request's session does (it keeps the audit rows).
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts import permissions, snapshots, subjects
from dockback_contracts.control import CheckChannel, CheckResult, CheckTarget
from dockback_contracts.sealed import parse_public_key, seal_to
from dockback_contracts.snapshots import SMTP_PASSWORD, S3Target, target_secret, webhook_signing_secret, webhook_url
from dockback_gateway.audit.service import Origin, record
from dockback_gateway.errors import DomainError, Invalid, NotFound
from dockback_gateway.keys import Cipher, KeyProblem
from dockback_gateway.settings.repository import SettingsRepository
from dockback_gateway.settings.schemas import (
    CheckOut,
    S3TargetCreate,
    S3TargetUpdate,
    SmtpUpdate,
    WebhookCreate,
    WebhookFields,
    WebhookUpdate,
)
from dockback_gateway.settings.service import SecretUnreadable
from dockback_gateway.settings.snapshot import (
    TARGET_FIELDS,
    Recipient,
    registered_recipients,
    sealed_target,
    sealed_target_values,
)

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 20.0
"""How long a check may take: an S3 endpoint or mail server that does not answer takes the
checking service's own connect timeout (a few seconds) to say so, which still fits."""


class NoResponder(DomainError):
    """No uploader or notifier answered a check: none runs, or none is connected to NATS."""

    status_code = 503
    error = "no_responder"


class UnreadableReply(DomainError):
    """The service that answered a check sent something that is not a CheckResult."""

    status_code = 502
    error = "unreadable_reply"


class SettingsChecks:
    """Checks of the stored settings, run by the services that use them: an uploader tries an
    S3 target with its credentials, a notifier sends a test alert through a channel. The
    gateway asks one of them over core-NATS request/reply (a queue group: exactly one
    answers) and passes the answer on; it holds no S3 or SMTP client itself.

    Every check is audited with its outcome (a failed check is `failure`, with the answer's
    detail, which the contract keeps free of secrets). Changes nothing else.
    """

    def __init__(
        self,
        db: AsyncSession,
        connection: NatsClient,
        cipher: Cipher,
        actor: str,
        origin: Origin,
        timeout: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self.db = db
        self.repo = SettingsRepository(db)
        self.connection = connection
        self.cipher = cipher
        self.actor = actor
        self.origin = origin
        self.timeout = timeout

    async def check_target(
        self, target_id: str, host_id: str | None = None, values: S3TargetUpdate | None = None
    ) -> CheckOut:
        """Can `host_id`'s uploader reach the S3 target with its credentials, and does its bucket
        exist? Without `host_id`: a host whose plans use the target, or the only host there is.
        With `values` (the edit form, not saved): those values are checked, a key left out being
        the stored one, but only with the endpoint it was set for. The target's keys travel in the
        request, sealed to that uploader: checking from a host hands it the keys, which is the
        admin's choice, not something a host can ask for."""
        action = "settings.target.test"
        target = await self.repo.target(target_id)
        if target is None:
            await self._refuse(action, target_id, NotFound(f"there is no S3 target {target_id!r}"))
        if values is not None and (values.endpoint, values.secure) != (target.endpoint, target.secure):
            for field in ("access_key", "secret_key"):
                if getattr(values, field) is None:
                    await self._refuse(
                        action,
                        target_id,
                        Invalid(
                            f"{field}: the endpoint differs from the saved one (host, port or https), so enter "
                            "the access key and the secret key to test it: the stored ones are only used with the "
                            "endpoint they were set for"
                        ),
                    )
        recipient = await self._uploader_to_ask(action, target_id, host_id)
        try:
            if values is None:
                sealed = sealed_target(target, self.cipher, recipient.public_key)
            else:
                access_key, secret_key = (
                    self._given_or_stored(values.access_key, target.access_key, target_secret(target_id, "access_key")),
                    self._given_or_stored(values.secret_key, target.secret_key, target_secret(target_id, "secret_key")),
                )
                fields = values.model_dump(include=set(TARGET_FIELDS))
                sealed = sealed_target_values(target_id, fields, access_key, secret_key, recipient.public_key)
        except KeyProblem:
            await self._refuse(
                action,
                target_id,
                SecretUnreadable(f"the keys of S3 target {target_id!r} do not decrypt: set them again"),
            )
        return await self._ask_uploader(action, target_id, recipient, sealed)

    async def check_new_target(self, values: S3TargetCreate, host_id: str | None = None) -> CheckOut:
        """Check an S3 target as typed in the form for a new one, before it is saved (nothing is)."""
        action = "settings.target.test"
        recipient = await self._uploader_to_ask(action, values.target_id, host_id)
        sealed = sealed_target_values(
            values.target_id,
            values.model_dump(include=set(TARGET_FIELDS)),
            values.access_key.get_secret_value(),
            values.secret_key.get_secret_value(),
            recipient.public_key,
        )
        return await self._ask_uploader(action, values.target_id, recipient, sealed)

    def _given_or_stored(self, given: SecretStr | None, stored: bytes, name: str) -> str:
        return given.get_secret_value() if given is not None else self.cipher.decrypt(stored, name).decode()

    async def _ask_uploader(self, action: str, target_id: str, recipient: Recipient, sealed: S3Target) -> CheckOut:
        check = CheckTarget(target=sealed, recipient=recipient.public_key)
        assert recipient.host_id is not None
        return await self._ask(
            action, target_id, subjects.check_target(recipient.host_id), check, f"uploader of host {recipient.host_id}"
        )

    async def _uploader_to_ask(self, action: str, target_id: str, host_id: str | None) -> Recipient:
        """The uploader a target is checked from: `host_id`'s; else one whose plans use the target;
        else the only one. Only uploaders that registered their sealing key can be asked."""
        uploaders = {
            r.host_id: r for r in await registered_recipients(self.connection.jetstream()) if r.host_id is not None
        }
        if host_id is not None:
            if host_id not in uploaders:
                await self._refuse(
                    action,
                    target_id,
                    NoResponder(
                        f"host_id: no uploader of host {host_id!r} has registered its sealing key: "
                        "is one running there and connected to NATS?"
                    ),
                )
            return uploaders[host_id]
        using = [h for h in await self.repo.hosts_granted(target_id) if h in uploaders]
        if using:
            return uploaders[using[0]]
        if len(uploaders) == 1:
            return next(iter(uploaders.values()))
        if not uploaders:
            await self._refuse(
                action, target_id, NoResponder("no uploader has registered its sealing key: is one running?")
            )
        await self._refuse(
            action,
            target_id,
            Invalid(
                f"host_id: no plan uses S3 target {target_id!r} yet, so say which host to check it from "
                f"(its keys are sent to that host): one of {', '.join(sorted(uploaders))}"
            ),
        )

    async def check_smtp(self, values: SmtpUpdate | None = None) -> CheckOut:
        """Send a test mail to the SMTP channel's recipients. With `values` (the form, not saved):
        through those, the password left out being the stored one, but only for the server it was
        set for (host and port), as saving them would keep it."""
        action = "settings.smtp.test"
        stored = await self.repo.smtp()
        if values is None:
            if stored is None:
                await self._refuse(action, "smtp", NotFound("no SMTP server is configured: PUT /settings/smtp first"))
            check = CheckChannel(channel="smtp", requested_by=self.actor, settings_revision=await self.repo.revision())
            return await self._ask(action, "smtp", subjects.CHECK_CHANNEL, check, "notifier")
        if "password" in values.model_fields_set:
            password = None if values.password is None else values.password.get_secret_value()
        elif (
            stored is not None
            and stored.password is not None
            and (values.host, values.port) == (stored.host, stored.port)
        ):
            password = await self._stored_secret(action, "smtp", stored.password, SMTP_PASSWORD)
        else:
            password = None
        if password is not None and values.security == "none":
            await self._refuse(
                action,
                "smtp",
                Invalid("security: 'none' would send the SMTP password in clear text; use starttls or tls"),
            )
        if password is not None and values.username is None:
            await self._refuse(action, "smtp", Invalid("username: needed when a password is set"))
        notifier = await self._notifier_to_ask(action, "smtp")
        key = parse_public_key(notifier.public_key)
        smtp = snapshots.SmtpSettings(
            host=values.host,
            port=values.port,
            security=values.security,
            username=values.username,
            password=None if password is None else seal_to(key, SMTP_PASSWORD, password),
            from_address=values.from_address,
            recipients=tuple(values.recipients),
            succeeded_digest=values.succeeded_digest,
        )
        check = CheckChannel(channel="smtp", requested_by=self.actor, smtp=smtp, recipient=notifier.public_key)
        return await self._ask(action, "smtp", subjects.CHECK_CHANNEL, check, "notifier")

    async def check_webhook(self, webhook_id: str, values: WebhookUpdate | None = None) -> CheckOut:
        """POST a test alert to the webhook. With `values` (the edit form, not saved): as those
        would be saved, a URL left out being the stored one, a signing secret left out the stored
        one unless the URL changed (signatures go only where the secret was set for)."""
        action = "settings.webhook.test"
        stored = await self.repo.webhook(webhook_id)
        if stored is None:
            await self._refuse(action, webhook_id, NotFound(f"there is no webhook {webhook_id!r}"))
        if values is None:
            check = CheckChannel(
                channel="webhook",
                webhook_id=webhook_id,
                requested_by=self.actor,
                settings_revision=await self.repo.revision(),
            )
            return await self._ask(action, webhook_id, subjects.CHECK_CHANNEL, check, "notifier")
        stored_url = await self._stored_secret(action, webhook_id, stored.url, webhook_url(webhook_id))
        url = stored_url if values.url is None else values.url.get_secret_value()
        if "signing_secret" in values.model_fields_set:
            secret = None if values.signing_secret is None else values.signing_secret.get_secret_value()
        elif stored.signing_secret is not None and url == stored_url:
            secret = await self._stored_secret(
                action, webhook_id, stored.signing_secret, webhook_signing_secret(webhook_id)
            )
        else:
            secret = None
        return await self._check_webhook_values(action, webhook_id, url, secret, values)

    async def check_new_webhook(self, values: WebhookCreate) -> CheckOut:
        """POST a test alert to a webhook as typed in the form for a new one (nothing is saved)."""
        secret = None if values.signing_secret is None else values.signing_secret.get_secret_value()
        return await self._check_webhook_values(
            "settings.webhook.test", values.webhook_id, values.url.get_secret_value(), secret, values
        )

    async def _check_webhook_values(
        self, action: str, webhook_id: str, url: str, secret: str | None, fields: WebhookFields
    ) -> CheckOut:
        notifier = await self._notifier_to_ask(action, webhook_id)
        key = parse_public_key(notifier.public_key)
        webhook = snapshots.Webhook(
            webhook_id=webhook_id,
            url=seal_to(key, webhook_url(webhook_id), url),
            signing_secret=None if secret is None else seal_to(key, webhook_signing_secret(webhook_id), secret),
            slack_format=fields.slack_format,
            succeeded_digest=fields.succeeded_digest,
        )
        check = CheckChannel(
            channel="webhook",
            webhook_id=webhook_id,
            requested_by=self.actor,
            webhook=webhook,
            recipient=notifier.public_key,
        )
        return await self._ask(action, webhook_id, subjects.CHECK_CHANNEL, check, "notifier")

    async def _notifier_to_ask(self, action: str, target: str) -> Recipient:
        """The notifier that registered its sealing key: the values' secrets are sealed to it."""
        for recipient in await registered_recipients(self.connection.jetstream()):
            if recipient.role == permissions.NOTIFIER:
                return recipient
        await self._refuse(action, target, NoResponder("no notifier has registered its sealing key: is one running?"))

    async def _stored_secret(self, action: str, target: str, blob: bytes | None, name: str) -> str:
        try:
            if blob is None:
                raise KeyProblem(f"{name} is not stored")
            return self.cipher.decrypt(blob, name).decode()
        except (KeyProblem, UnicodeDecodeError):
            await self._refuse(action, target, SecretUnreadable(f"the stored {name} does not decrypt: enter it again"))

    async def _ask(
        self, action: str, target: str, subject: str, check: CheckTarget | CheckChannel, service: str
    ) -> CheckOut:
        try:
            reply = await self.connection.request(subject, check.model_dump_json().encode(), timeout=self.timeout)
        except NoRespondersError:
            await self._refuse(action, target, NoResponder(f"no {service} answered: is one running?"))
        except (NatsTimeoutError, TimeoutError):
            await self._refuse(
                action,
                target,
                NoResponder(f"no {service} answered within {self.timeout:g} s: is one running and connected to NATS?"),
            )
        try:
            result = CheckResult.model_validate_json(reply.data)
        except ValidationError:
            log.warning("the answer to %s on %s is not a CheckResult: %r", action, target, reply.data[:200])
            await self._refuse(action, target, UnreadableReply(f"the {service} that answered sent an unreadable reply"))
        await self._audit(
            action,
            target,
            "success" if result.ok else "failure",
            {"ok": result.ok, "detail": result.detail, "answered_by": result.answered_by},
        )
        return CheckOut(
            ok=result.ok, detail=result.detail, answered_by=result.answered_by, checked_at=result.checked_at
        )

    async def _refuse(self, action: str, target: str, error: DomainError) -> NoReturn:
        """Audit the check that could not run and raise; only the audit row is kept."""
        await self._audit(action, target, "failure", {"reason": error.error, "detail": error.detail})
        error.keep_changes = True
        raise error

    async def _audit(self, action: str, target: str, outcome: str, details: dict[str, Any]) -> None:
        await record(
            self.db,
            action=action,
            outcome=outcome,
            actor=self.actor,
            origin=self.origin,
            target=target,
            details=details,
        )
