"""The gateway's keys: the secret key that signs tokens, the key that encrypts settings at rest.

Key files are created once (mode 0600) and never regenerated over existing data; a key that
is a known placeholder is refused.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "dockback", "please-change-me", "xxx"}


class KeyProblem(RuntimeError):
    """A key is missing, malformed or a placeholder: the gateway must not start."""


def read_or_create(path: Path, *, create: bool = True) -> str:
    """The content of a key file; a new random 32-byte key (hex) when it does not exist yet."""
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise KeyProblem(f"key file {path} is missing")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def check_secret_key(value: str) -> str:
    if value.strip().lower() in PLACEHOLDERS or len(value.strip()) < 32:
        raise KeyProblem("DOCKBACK_SECRET_KEY is a placeholder or shorter than 32 characters: set a random value")
    return value.strip()


def parse_aes_key(text: str, source: str) -> bytes:
    value = text.strip()
    try:
        key = bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise KeyProblem(f"{source} must hold 32 bytes as hex or base64") from exc
    if len(key) != 32:
        raise KeyProblem(f"{source} must hold 32 bytes, not {len(key)}")
    return key


class Cipher:
    """AES-256-GCM for values at rest; `aad` binds a ciphertext to where it belongs."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def decrypt(self, blob: bytes, aad: str) -> bytes:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], aad.encode())
        except (InvalidTag, ValueError) as exc:
            raise KeyProblem(f"cannot decrypt {aad}: wrong encryption key or tampered data") from exc
