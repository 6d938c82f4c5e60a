"""Secret fields as they cross the bus: AES-256-GCM with the field's name as associated data.

Two ways to seal:
- `seal_to(public_key, ...)` (X25519-A256GCM): to one recipient's X25519 public key (an ephemeral
  key agreement, HKDF-SHA256, AES-256-GCM). Every uploader (one per host) and the notifier has its
  own key pair (`dockback_runtime.sealing`), so a host opens only what was sealed to it.
- `seal(key, ...)` (A256GCM): with a shared 32-byte key. Kept for what only one party both seals
  and opens; the gateway no longer seals snapshots this way.
Binding the field name means a sealed SMTP password cannot be replayed as, say, an S3 key.
"""

from __future__ import annotations

import base64
import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import Field

from dockback_contracts.base import Model

KEY_BYTES = 32
_NONCE_BYTES = 12


class SealedSecret(Model):
    """A secret value, encrypted. Its repr shows nothing of the plaintext."""

    alg: Literal["A256GCM", "X25519-A256GCM"] = "A256GCM"
    epk: str | None = Field(
        default=None, description="X25519-A256GCM: base64 of the sender's ephemeral X25519 public key"
    )
    nonce: str = Field(description="base64, 12 bytes")
    ciphertext: str = Field(description="base64, ciphertext followed by the 16-byte tag")


class SealError(ValueError):
    """A sealed secret could not be opened: wrong key, wrong field, or tampered with."""


def _check_key(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise SealError(f"the settings key must be {KEY_BYTES} bytes, got {len(key)}")
    return AESGCM(key)


def seal(key: bytes, field: str, plaintext: str) -> SealedSecret:
    """Encrypt `plaintext` for the field named `field`."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = _check_key(key).encrypt(nonce, plaintext.encode(), field.encode())
    return SealedSecret(
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(ciphertext).decode(),
    )


def unseal(key: bytes | X25519PrivateKey, field: str, sealed: SealedSecret) -> str:
    """Decrypt a secret sealed for `field`, with the shared key (A256GCM) or the recipient's private
    key (X25519-A256GCM); raises SealError when it cannot be opened (wrong key, field or kind)."""
    try:
        nonce = base64.b64decode(sealed.nonce, validate=True)
        ciphertext = base64.b64decode(sealed.ciphertext, validate=True)
        if isinstance(key, X25519PrivateKey):
            if sealed.alg != "X25519-A256GCM" or sealed.epk is None:
                raise ValueError("not sealed to a public key")
            ephemeral = X25519PublicKey.from_public_bytes(base64.b64decode(sealed.epk, validate=True))
            aead = AESGCM(_agreed_key(key.exchange(ephemeral), ephemeral, key.public_key()))
        else:
            if sealed.alg != "A256GCM":
                raise ValueError("not sealed with a shared key")
            aead = _check_key(key)
        return aead.decrypt(nonce, ciphertext, field.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise SealError(f"cannot open the sealed value of {field!r}: wrong key or tampered data") from exc


# -- sealing to one recipient's public key ----------------------------------------------------------

_SEALED_TO_INFO = b"dockback sealed secret v1"
_KEY_PAIR_INFO = b"dockback sealing key v1 "


def _raw(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _agreed_key(shared: bytes, ephemeral: X25519PublicKey, recipient: X25519PublicKey) -> bytes:
    # both public keys in the info bind the key to this exchange (as HPKE's key schedule does)
    info = _SEALED_TO_INFO + _raw(ephemeral) + _raw(recipient)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(shared)


def public_key_text(key: X25519PrivateKey | X25519PublicKey) -> str:
    """The public half as base64 (what a recipient registers with the gateway)."""
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return base64.b64encode(_raw(public)).decode()


def parse_public_key(text: str) -> X25519PublicKey:
    """A registered public key (base64 of 32 bytes); raises SealError when it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise SealError("a sealing public key must be 32 bytes as base64") from exc


def derive_private_key(secret: bytes, owner: str) -> X25519PrivateKey:
    """The X25519 key pair of `owner` (a NATS role name) derived from a secret only it holds:
    the seed of its NATS credentials. The same secret and owner always give the same key."""
    if len(secret) < 16:
        raise SealError("a sealing key needs at least 16 bytes of secret to derive from")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_PAIR_INFO + owner.encode()).derive(secret)
    return X25519PrivateKey.from_private_bytes(raw)


def seal_to(recipient: X25519PublicKey | str, field: str, plaintext: str) -> SealedSecret:
    """Encrypt `plaintext` for the field named `field`, so that only `recipient`'s private key opens it."""
    public = parse_public_key(recipient) if isinstance(recipient, str) else recipient
    ephemeral = X25519PrivateKey.generate()
    key = _agreed_key(ephemeral.exchange(public), ephemeral.public_key(), public)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), field.encode())
    return SealedSecret(
        alg="X25519-A256GCM",
        epk=public_key_text(ephemeral.public_key()),
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(ciphertext).decode(),
    )


def load_key(text: str) -> bytes:
    """Read a settings key file's content: 32 bytes as 64 hex digits or as base64."""
    value = text.strip()
    try:
        key = bytes.fromhex(value) if len(value) == 2 * KEY_BYTES else base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise SealError("the settings key file must hold 32 bytes as hex or base64") from exc
    if len(key) != KEY_BYTES:
        raise SealError(f"the settings key must be {KEY_BYTES} bytes, got {len(key)}")
    return key
