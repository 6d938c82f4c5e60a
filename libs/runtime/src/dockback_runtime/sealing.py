"""The key pair a service opens its sealed settings with, and how it registers the public half.

Each host's uploader and the notifier has its own X25519 key pair, derived from the seed of its
NATS credentials (`DOCKBACK_NATS_CREDENTIALS_FILE`, written by `dockback-nats-auth`): provisioned
with those credentials, so a host added later (`dockback-nats-auth --host h3`) has its key the
same way, and rotating a role's credentials rotates its key. Nothing else has to be kept: the
credentials file is the one secret of a host's uploader.

At start the service puts the public half into the sealing keys bucket under its role name; the
NATS permissions let a role write only its own key there, so the key's provenance is the subject.
The gateway seals that role's share of the settings to it (`dockback_contracts.sealed.seal_to`).

Without NATS credentials (the development opt-out, where anyone on the bus is anyone) the key
is derived from the shared settings key file instead: every holder of that file can derive every
role's key, so this separates nothing and exists for development and migration only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext

from dockback_contracts import sealed, streams
from dockback_contracts.snapshots import SealingKey
from dockback_runtime.connection import JWT_MARKER, read_credentials
from dockback_runtime.delivery import wait_until_set

log = logging.getLogger(__name__)
_RETRY_SECONDS = 2.0

_JWT_SEED = re.compile(r"^\s*(SU[A-Z2-7]{50,})\s*$", re.MULTILINE)


class SealingKeyProblem(ValueError):
    """The service has no key material to derive its sealing key from, or it is not readable."""


def _seed_bytes(credentials_file: Path, role: str) -> bytes:
    import nkeys

    text = credentials_file.read_text()
    if JWT_MARKER in text:
        found = _JWT_SEED.search(text)
        if found is None:
            raise SealingKeyProblem(f"{credentials_file}: no user nkey seed in this .creds file")
        seed = found.group(1)
    else:
        credentials = read_credentials(credentials_file)
        if credentials.role != role:
            raise SealingKeyProblem(
                f"{credentials_file} holds the credentials of {credentials.role!r}, not {role!r}: "
                "give this service its own credentials file"
            )
        seed = credentials.seed
    try:
        _prefix, raw = nkeys.decode_seed(bytearray(seed.encode()))
    except Exception as exc:
        raise SealingKeyProblem(f"{credentials_file}: the seed is not a valid nkey seed") from exc
    return bytes(raw)


def service_sealing_key(role: str, credentials_file: Path | None, settings_key_file: Path | None) -> X25519PrivateKey:
    """The private key of `role` (`uploader-<host>`, `notifier`): from its NATS credentials' seed,
    or (development, no credentials) from the shared settings key file."""
    try:
        if credentials_file is not None:
            return sealed.derive_private_key(_seed_bytes(credentials_file, role), role)
        if settings_key_file is not None:
            return sealed.derive_private_key(sealed.load_key(settings_key_file.read_text()), role)
    except OSError as exc:
        raise SealingKeyProblem(f"cannot read {exc.filename} ({exc.strerror})") from exc
    except sealed.SealError as exc:
        raise SealingKeyProblem(str(exc)) from exc
    raise SealingKeyProblem(
        "no key to open the settings with: set DOCKBACK_NATS_CREDENTIALS_FILE (this service's NATS "
        "credentials; its key derives from them) or, for development without NATS credentials, "
        "DOCKBACK_SETTINGS_KEY_FILE"
    )


async def register_sealing_key(js: JetStreamContext, role: str, key: X25519PrivateKey) -> None:
    """Put the public half under `role` in the sealing keys bucket (unchanged: left alone, so a
    restart does not make the gateway seal everything again)."""
    from nats.js.errors import KeyDeletedError, KeyNotFoundError

    public = sealed.public_key_text(key)
    bucket = await js.key_value(streams.SEALING_KEYS_BUCKET)
    try:
        entry = await bucket.get(role)
    except (KeyNotFoundError, KeyDeletedError):
        entry = None
    if entry is not None and entry.value:
        try:
            if SealingKey.model_validate_json(entry.value).public_key == public:
                return
        except ValueError:
            pass  # not a registration: replace it
    registration = SealingKey(role=role, public_key=public, registered_at=datetime.now(UTC))
    await bucket.put(role, registration.model_dump_json().encode())


async def register_until_done(js: JetStreamContext, role: str, key: X25519PrivateKey, stopped: asyncio.Event) -> bool:
    """Register the key, retrying (the gateway declares the bucket) until it is done; False if
    `stopped` was set first."""
    while not stopped.is_set():
        try:
            await register_sealing_key(js, role, key)
        except Exception as exc:
            log.warning("cannot register the sealing key of %s yet (%s); retrying", role, exc)
            await wait_until_set(stopped, _RETRY_SECONDS)
            continue
        log.info("sealing key of %s registered: %s", role, sealed.public_key_text(key))
        return True
    return False
