"""Every value the gateway keeps encrypted at rest, and the name each one is bound to.

The name is the AES-GCM associated data, so a ciphertext copied into another field (or into
another target's field) does not decrypt. The same names label the sealed copies in the
settings snapshot: the uploader opens `settings.targets.<target_id>.secret_key` by that name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

# The names are the contracts' (the uploader and notifier open the sealed copies by them).
from dockback_contracts.snapshots import (
    SMTP_PASSWORD,
    repository_password,
    target_secret,
    webhook_signing_secret,
    webhook_url,
)
from dockback_gateway.auth.totp import totp_secret_aad
from dockback_gateway.db import Base
from dockback_gateway.keys import Cipher, KeyProblem
from dockback_gateway.repositories.models import Repository
from dockback_gateway.settings.models import S3Target, SmtpServer, Webhook
from dockback_gateway.users.models import User


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding ciphertext, and how to name (the associated data of) a row's value."""

    model: type[Base]
    column: str
    name_of: Callable[[Any], str]


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(SmtpServer, "password", lambda _: SMTP_PASSWORD),
    EncryptedColumn(S3Target, "access_key", lambda t: target_secret(t.target_id, "access_key")),
    EncryptedColumn(S3Target, "secret_key", lambda t: target_secret(t.target_id, "secret_key")),
    EncryptedColumn(Webhook, "signing_secret", lambda w: webhook_signing_secret(w.webhook_id)),
    EncryptedColumn(Webhook, "url", lambda w: webhook_url(w.webhook_id)),
    EncryptedColumn(User, "totp_secret", lambda u: totp_secret_aad(u.id)),
    EncryptedColumn(Repository, "password", lambda r: repository_password(r.host_id, r.name)),
)


@dataclass(frozen=True)
class StoredCiphertext:
    name: str
    blob: bytes


async def sample(db: AsyncSession, per_column: int = 5) -> list[StoredCiphertext]:
    """A few stored ciphertexts of each kind; empty when nothing is encrypted yet."""
    found: list[StoredCiphertext] = []
    for encrypted in ENCRYPTED_COLUMNS:
        column = getattr(encrypted.model, encrypted.column)
        rows = await db.scalars(select(encrypted.model).where(column.is_not(None)).limit(per_column))
        found += [StoredCiphertext(encrypted.name_of(row), getattr(row, encrypted.column)) for row in rows]
    return found


def opens_any(cipher: Cipher, stored: list[StoredCiphertext]) -> bool:
    """Whether the key decrypts at least one of them (a tampered row alone does not make a key wrong)."""
    for ciphertext in stored:
        try:
            cipher.decrypt(ciphertext.blob, ciphertext.name)
        except KeyProblem:
            continue
        return True
    return False


async def reencrypt_all(db: AsyncSession, old: Cipher, new: Cipher) -> int:
    """Re-encrypt every stored ciphertext from `old` to `new` in the caller's transaction.

    The tables are locked against writers first, so nothing is added under the old key
    meanwhile. Raises KeyProblem, naming the value, when one does not open with `old`;
    the caller then rolls back and nothing has changed. Returns how many were re-encrypted.
    """
    tables = sorted({encrypted.model.__tablename__ for encrypted in ENCRYPTED_COLUMNS})
    await db.execute(text(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE"))
    count = 0
    for encrypted in ENCRYPTED_COLUMNS:
        column = getattr(encrypted.model, encrypted.column)
        for row in await db.scalars(select(encrypted.model).where(column.is_not(None))):
            name = encrypted.name_of(row)
            plaintext = old.decrypt(getattr(row, encrypted.column), name)
            setattr(row, encrypted.column, new.encrypt(plaintext, name))
            count += 1
    await db.flush()
    return count


async def encrypt_clear_webhook_urls(db: AsyncSession, cipher: Cipher) -> int:
    """Encrypt the webhook URLs stored in clear before migration 0011, in the caller's
    transaction (at start, before anything reads them); how many there were."""
    rows = list(await db.scalars(select(Webhook).where(Webhook.url_plaintext.is_not(None)).with_for_update()))
    for webhook in rows:
        assert webhook.url_plaintext is not None
        webhook.url = cipher.encrypt(webhook.url_plaintext.encode(), webhook_url(webhook.webhook_id))
        webhook.url_plaintext = None
    await db.flush()
    return len(rows)
