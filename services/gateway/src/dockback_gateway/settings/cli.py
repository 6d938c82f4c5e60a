"""`dockback-gateway settings-rotate-key`: a new encryption key for everything stored encrypted.

Every ciphertext (settings secrets and users' TOTP secrets) is re-encrypted in one
transaction. The key file is replaced around the commit so that a crash at any point leaves
a key that opens the data: the new key is written and fsynced beside the file, the old one
is kept as `<file>.old` until the transaction has committed, and a failed commit puts the old
key back. Stop every gateway first: a running one still holds the old key in memory.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from dockback_gateway.config import Settings
from dockback_gateway.db import make_engine, make_sessions
from dockback_gateway.keys import Cipher, KeyProblem, parse_aes_key
from dockback_gateway.settings.ciphertexts import reencrypt_all


async def rotate_encryption_key(settings: Settings) -> int:
    """Re-encrypt every stored ciphertext under a new key and install it; the exit status."""
    path = settings.encryption_key_file
    if not path.exists():
        print(f"there is no encryption key file at {path}: nothing to rotate", file=sys.stderr)
        return 1
    old = Cipher(parse_aes_key(path.read_text(), str(path)))
    new_key = secrets.token_hex(32)
    new = Cipher(bytes.fromhex(new_key))
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        async with make_sessions(engine)() as db:
            try:
                count = await reencrypt_all(db, old, new)
            except KeyProblem as exc:
                print(f"the key was not rotated and nothing changed: {exc}", file=sys.stderr)
                return 1
            swap = KeyFileSwap(path)
            swap.install(new_key)
            try:
                await db.commit()
            except BaseException:
                swap.undo()
                raise
            swap.finish()
    finally:
        await engine.dispose()
    print(f"encryption key rotated: {count} values re-encrypted, {path} holds the new key.")
    print("Restart every gateway now, with this key file (a running one still holds the old key).")
    return 0


@dataclass(frozen=True)
class KeyFileSwap:
    """Replaces a key file atomically, keeping the old key as `<file>.old` until `finish`."""

    path: Path

    @property
    def old(self) -> Path:
        return self.path.with_name(self.path.name + ".old")

    @property
    def new(self) -> Path:
        return self.path.with_name(self.path.name + ".new")

    def install(self, content: str) -> None:
        """Keep the old key as `.old`, then rename the new one over the file."""
        _write_synced(self.old, self.path.read_bytes())
        _write_synced(self.new, (content + "\n").encode())
        os.replace(self.new, self.path)
        _sync_directory(self.path.parent)

    def undo(self) -> None:
        """Put the old key back (the database still holds data encrypted with it)."""
        os.replace(self.old, self.path)
        _sync_directory(self.path.parent)

    def finish(self) -> None:
        """The new key is committed to: the old one goes."""
        self.old.unlink()
        _sync_directory(self.path.parent)


def _write_synced(path: Path, content: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
