"""Secret fields as they cross the bus: AES-256-GCM with the field's name as associated data.

The gateway seals; only services given the settings key file (uploader, notifier) can open.
Binding the field name means a sealed SMTP password cannot be replayed as, say, an S3 key.
"""

from __future__ import annotations

import base64
import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field

from dockback_contracts.base import Model

KEY_BYTES = 32
_NONCE_BYTES = 12


class SealedSecret(Model):
    """A secret value, encrypted. Its repr shows nothing of the plaintext."""

    alg: Literal["A256GCM"] = "A256GCM"
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


def unseal(key: bytes, field: str, sealed: SealedSecret) -> str:
    """Decrypt a secret sealed for `field`; raises SealError when it cannot be opened."""
    try:
        nonce = base64.b64decode(sealed.nonce, validate=True)
        ciphertext = base64.b64decode(sealed.ciphertext, validate=True)
        return _check_key(key).decrypt(nonce, ciphertext, field.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise SealError(f"cannot open the sealed value of {field!r}: wrong key or tampered data") from exc


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
