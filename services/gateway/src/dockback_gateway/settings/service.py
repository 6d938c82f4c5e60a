"""Changing the stored settings: secrets encrypted at rest, every change audited and then
published as a snapshot. Never commits: the request's session does.

A stored secret that no longer decrypts (tampered with, or moved from another field) is
never used: reading it, or keeping it on an update, is refused with `secret_unreadable`
(409) naming the setting, and sending a new value repairs it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from dockback_contracts.snapshots import SMTP_PASSWORD, target_secret, webhook_signing_secret, webhook_url
from dockback_gateway.audit.service import Origin, record
from dockback_gateway.errors import Conflict, DomainError, Invalid, NotFound
from dockback_gateway.keys import Cipher, KeyProblem
from dockback_gateway.settings.models import S3Target, SettingsDefaults, SettingsRevision, SmtpServer, Webhook
from dockback_gateway.settings.repository import SettingsRepository
from dockback_gateway.settings.schemas import (
    DefaultsOut,
    DefaultsUpdate,
    S3TargetCreate,
    S3TargetOut,
    S3TargetUpdate,
    SecretState,
    SettingsOut,
    SmtpOut,
    SmtpUpdate,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
)
from dockback_gateway.settings.snapshot import SnapshotPublisher

log = logging.getLogger(__name__)

DEFAULT_COMPRESSION = "zstd"
_TARGET_SECRETS = ("access_key", "secret_key")


class SecretUnreadable(DomainError):
    """A stored secret does not decrypt: it was tampered with, or encrypted under another key."""

    status_code = 409
    error = "secret_unreadable"


async def reseal_for_hosts(db: AsyncSession, publisher: SnapshotPublisher) -> None:
    """Which S3 targets a host may use changed (a plan's upload targets): raise the settings
    revision in `db`'s transaction and publish every share again once it has committed, so the
    host gets a new target's keys and loses those of one no longer used. The plan's own change
    is what is audited."""
    revision = await SettingsRepository(db).lock_revision()
    revision.revision += 1
    revision.updated_at = _now()
    await db.flush()
    publisher.publish_after_commit(db)


class SettingsService:
    def __init__(
        self, db: AsyncSession, cipher: Cipher, publisher: SnapshotPublisher, actor: str, origin: Origin
    ) -> None:
        self.db = db
        self.repo = SettingsRepository(db)
        self.cipher = cipher
        self.publisher = publisher
        self.actor = actor
        self.origin = origin
        self._action = ""
        self._target: str | None = None
        self._revision: SettingsRevision | None = None

    # -- reading -------------------------------------------------------------------------

    async def view(self) -> SettingsOut:
        """Every setting, each stored secret checked to decrypt (shown only as set or not)."""
        stored = await self.repo.read_all()
        return SettingsOut(
            revision=stored.revision.revision,
            targets=[self._target_out(t) for t in stored.targets],
            smtp=None if stored.smtp is None else self._smtp_out(stored.smtp),
            webhooks=[self._webhook_out(w) for w in stored.webhooks],
            defaults=_defaults_out(stored.defaults),
        )

    # -- S3 targets ----------------------------------------------------------------------

    async def create_target(self, body: S3TargetCreate) -> S3TargetOut:
        await self._begin("settings.targets.create", body.target_id)
        if await self.repo.target(body.target_id) is not None:
            await self._refuse(Conflict(f"the S3 target {body.target_id!r} exists already: PUT changes it"))
        target = S3Target(
            target_id=body.target_id,
            **body.model_dump(exclude={"target_id", *_TARGET_SECRETS}),
            access_key=self._encrypt(body.access_key, target_secret(body.target_id, "access_key")),
            secret_key=self._encrypt(body.secret_key, target_secret(body.target_id, "secret_key")),
            updated_at=_now(),
        )
        self.repo.add(target)
        await self._changed({"secrets": {"access_key": "set", "secret_key": "set"}})
        return self._target_out(target)

    async def update_target(self, target_id: str, body: S3TargetUpdate) -> S3TargetOut:
        await self._begin("settings.targets.update", target_id)
        target = await self.repo.target(target_id)
        if target is None:
            await self._refuse(NotFound(f"there is no S3 target {target_id!r}"))
        if (body.endpoint, body.secure) != (target.endpoint, target.secure):
            # the stored keys go only where they were set for: a new endpoint needs them again
            for field in _TARGET_SECRETS:
                if field not in body.model_fields_set:
                    await self._refuse(
                        Invalid(
                            f"{field}: the endpoint changed (host, port or https), so send the access key "
                            "and the secret key again: the stored ones are only used with the endpoint they "
                            "were set for"
                        )
                    )
        access_key, access_outcome = await self._next_secret(
            target.access_key, body, "access_key", target_secret(target_id, "access_key")
        )
        secret_key, secret_outcome = await self._next_secret(
            target.secret_key, body, "secret_key", target_secret(target_id, "secret_key")
        )
        assert access_key is not None, "the schema refuses null"
        assert secret_key is not None, "the schema refuses null"
        changed = _assign(target, body.model_dump(exclude=set(_TARGET_SECRETS)))
        target.access_key, target.secret_key, target.updated_at = access_key, secret_key, _now()
        await self._changed(_details(changed, access_key=access_outcome, secret_key=secret_outcome))
        return self._target_out(target)

    async def delete_target(self, target_id: str) -> None:
        await self._begin("settings.targets.delete", target_id)
        target = await self.repo.target(target_id)
        if target is None:
            await self._refuse(NotFound(f"there is no S3 target {target_id!r}"))
        await self.repo.delete(target)
        await self._changed({})

    # -- SMTP ----------------------------------------------------------------------------

    async def put_smtp(self, body: SmtpUpdate) -> SmtpOut:
        await self._begin("settings.smtp.update", "smtp")
        smtp = await self.repo.smtp()
        password, outcome = await self._next_secret(smtp.password if smtp else None, body, "password", SMTP_PASSWORD)
        if (
            smtp is not None
            and (body.host, body.port) != (smtp.host, smtp.port)
            and "password" not in body.model_fields_set
        ):
            # the stored password goes only to the server it was set for (else a Test would send
            # it to whichever host was just typed in)
            password, outcome = None, "cleared" if smtp.password is not None else None
        if password is not None and body.security == "none":
            await self._refuse(
                Invalid("security: 'none' would send the SMTP password in clear text; use starttls or tls")
            )
        if password is not None and body.username is None:
            await self._refuse(Invalid("username: needed when a password is set (send password: null to clear it)"))
        values = body.model_dump(exclude={"password"})
        if smtp is None:
            smtp = SmtpServer(id=1, **values, password=password, updated_at=_now())
            self.repo.add(smtp)
            changed = sorted(values)
        else:
            changed = _assign(smtp, values)
            smtp.password, smtp.updated_at = password, _now()
        await self._changed(_details(changed, password=outcome))
        return self._smtp_out(smtp)

    async def delete_smtp(self) -> None:
        await self._begin("settings.smtp.delete", "smtp")
        smtp = await self.repo.smtp()
        if smtp is None:
            await self._refuse(NotFound("no SMTP server is configured"))
        await self.repo.delete(smtp)
        await self._changed({})

    # -- webhooks ------------------------------------------------------------------------

    async def create_webhook(self, body: WebhookCreate) -> WebhookOut:
        await self._begin("settings.webhooks.create", body.webhook_id)
        if await self.repo.webhook(body.webhook_id) is not None:
            await self._refuse(Conflict(f"the webhook {body.webhook_id!r} exists already: PUT changes it"))
        name = webhook_signing_secret(body.webhook_id)
        webhook = Webhook(
            webhook_id=body.webhook_id,
            url=self._encrypt(body.url, webhook_url(body.webhook_id)),
            url_host=_url_host(body.url),
            slack_format=body.slack_format,
            succeeded_digest=body.succeeded_digest,
            signing_secret=None if body.signing_secret is None else self._encrypt(body.signing_secret, name),
            updated_at=_now(),
        )
        self.repo.add(webhook)
        secrets = {"url": "set", **({"signing_secret": "set"} if webhook.signing_secret else {})}
        await self._changed({"secrets": secrets})
        return self._webhook_out(webhook)

    async def update_webhook(self, webhook_id: str, body: WebhookUpdate) -> WebhookOut:
        await self._begin("settings.webhooks.update", webhook_id)
        webhook = await self.repo.webhook(webhook_id)
        if webhook is None:
            await self._refuse(NotFound(f"there is no webhook {webhook_id!r}"))
        url, url_outcome = await self._next_secret(webhook.url, body, "url", webhook_url(webhook_id))
        assert url is not None, "the schema refuses null"
        signing_secret, outcome = await self._next_secret(
            webhook.signing_secret, body, "signing_secret", webhook_signing_secret(webhook_id)
        )
        if url_outcome == "set" and "signing_secret" not in body.model_fields_set and webhook.signing_secret:
            assert body.url is not None
            if not self._same_secret(webhook.url, webhook_url(webhook_id), body.url):
                # signatures made with the stored secret go only where it was set for
                signing_secret, outcome = None, "cleared"
        changed = _assign(webhook, body.model_dump(exclude={"url", "signing_secret"}))
        if body.url is not None:
            webhook.url_host = _url_host(body.url)
        webhook.url, webhook.signing_secret, webhook.updated_at = url, signing_secret, _now()
        await self._changed(_details(changed, url=url_outcome, signing_secret=outcome))
        return self._webhook_out(webhook)

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._begin("settings.webhooks.delete", webhook_id)
        webhook = await self.repo.webhook(webhook_id)
        if webhook is None:
            await self._refuse(NotFound(f"there is no webhook {webhook_id!r}"))
        await self.repo.delete(webhook)
        await self._changed({})

    # -- defaults ------------------------------------------------------------------------

    async def put_defaults(self, body: DefaultsUpdate) -> DefaultsOut:
        await self._begin("settings.defaults.update", "defaults")
        defaults = await self.repo.defaults()
        values = body.model_dump()
        if defaults is None:
            defaults = SettingsDefaults(id=1, **values, updated_at=_now())
            self.repo.add(defaults)
            changed = sorted(values)
        else:
            changed = _assign(defaults, values)
            defaults.updated_at = _now()
        await self._changed(_details(changed))
        return _defaults_out(defaults)

    # -- one change ----------------------------------------------------------------------

    async def _begin(self, action: str, target: str) -> None:
        """Take the settings' write lock; what follows is audited as `action` on `target`."""
        self._action, self._target = action, target
        self._revision = await self.repo.lock_revision()

    async def _changed(self, details: dict[str, Any]) -> None:
        """Raise the revision, audit the change, publish the snapshot once it has committed."""
        assert self._revision is not None, "call _begin first"
        self._revision.revision += 1
        self._revision.updated_at = _now()
        await self.db.flush()
        await self._audit("success", details)
        self.publisher.publish_after_commit(self.db)

    async def _refuse(self, error: DomainError) -> NoReturn:
        """Audit the refusal and raise it; nothing but the audit row is kept."""
        await self._audit("failure", {"reason": error.error})
        error.keep_changes = True
        raise error

    async def _audit(self, outcome: str, details: dict[str, Any]) -> None:
        await record(
            self.db,
            action=self._action,
            outcome=outcome,
            actor=self.actor,
            origin=self.origin,
            target=self._target,
            details=details,
        )

    # -- secrets -------------------------------------------------------------------------

    def _encrypt(self, value: SecretStr, name: str) -> bytes:
        return self.cipher.encrypt(value.get_secret_value().encode(), name)

    async def _next_secret(
        self, stored: bytes | None, body: BaseModel, field: str, name: str
    ) -> tuple[bytes | None, str | None]:
        """The ciphertext to store for `field`, and what happened to it (None: kept as it was).

        Left out of the request: keep the stored value, which must still decrypt (keeping a
        value nobody can use would only hide the problem). null: clear. A value: replace.
        """
        if field not in body.model_fields_set:
            if stored is not None and not self._decrypts(stored, name):
                await self._refuse(_unreadable(name))
            return stored, None
        sent: SecretStr | None = getattr(body, field)
        if sent is None:
            return None, "cleared" if stored is not None else None
        return self._encrypt(sent, name), "set"

    def _decrypts(self, stored: bytes, name: str) -> bool:
        try:
            self.cipher.decrypt(stored, name).decode()
        except (KeyProblem, UnicodeDecodeError):
            log.warning("the stored secret %s does not decrypt: tampered with, or encrypted under another key", name)
            return False
        return True

    def _same_secret(self, stored: bytes | None, name: str, sent: SecretStr) -> bool:
        """Whether the stored value is `sent` (False when it does not decrypt)."""
        if stored is None or not self._decrypts(stored, name):
            return False
        return self.cipher.decrypt(stored, name) == sent.get_secret_value().encode()

    def _state(self, stored: bytes | None, name: str) -> SecretState:
        if stored is not None and not self._decrypts(stored, name):
            raise _unreadable(name)
        return SecretState(set=stored is not None)

    # -- responses -----------------------------------------------------------------------

    def _target_out(self, t: S3Target) -> S3TargetOut:
        return S3TargetOut(
            target_id=t.target_id,
            endpoint=t.endpoint,
            secure=t.secure,
            region=t.region,
            bucket=t.bucket,
            prefix=t.prefix,
            part_size_bytes=t.part_size_bytes,
            verify_full_read=t.verify_full_read,
            access_key=self._state(t.access_key, target_secret(t.target_id, "access_key")),
            secret_key=self._state(t.secret_key, target_secret(t.target_id, "secret_key")),
            updated_at=t.updated_at,
        )

    def _smtp_out(self, smtp: SmtpServer) -> SmtpOut:
        return SmtpOut(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=self._state(smtp.password, SMTP_PASSWORD),
            from_address=smtp.from_address,
            recipients=list(smtp.recipients),
            succeeded_digest=smtp.succeeded_digest,
            updated_at=smtp.updated_at,
        )

    def _webhook_out(self, w: Webhook) -> WebhookOut:
        return WebhookOut(
            webhook_id=w.webhook_id,
            url=self._state(w.url, webhook_url(w.webhook_id)),
            url_host=w.url_host,
            signing_secret=self._state(w.signing_secret, webhook_signing_secret(w.webhook_id)),
            slack_format=w.slack_format,
            succeeded_digest=w.succeeded_digest,
            updated_at=w.updated_at,
        )


def _defaults_out(defaults: SettingsDefaults | None) -> DefaultsOut:
    if defaults is None:
        return DefaultsOut(default_compression=DEFAULT_COMPRESSION, ui_base_url=None, updated_at=None)
    return DefaultsOut(
        default_compression=defaults.default_compression,
        ui_base_url=defaults.ui_base_url,
        updated_at=defaults.updated_at,
    )


def _unreadable(name: str) -> SecretUnreadable:
    return SecretUnreadable(
        f"the stored {name} cannot be decrypted (it was altered, or encrypted under another key); "
        "it is not used: send a new value to replace it"
    )


def _assign(row: object, values: dict[str, Any]) -> list[str]:
    """Set the row's attributes; the names of those whose value changed (for the audit row)."""
    changed = []
    for field, value in values.items():
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed.append(field)
    return sorted(changed)


def _details(changed: list[str], **secrets: str | None) -> dict[str, Any]:
    """What an update changed, by name only: never a value (a URL can carry a token too)."""
    details: dict[str, Any] = {"changed": changed}
    touched = {field: outcome for field, outcome in secrets.items() if outcome is not None}
    if touched:
        details["secrets"] = touched
    return details


def _url_host(url: SecretStr) -> str:
    """The host name of a URL, the one part of it that is shown."""
    return (urlsplit(url.get_secret_value()).hostname or "")[:255]


def _now() -> datetime:
    return datetime.now(UTC)
