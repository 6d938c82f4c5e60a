"""Password hashing (Argon2id, at least OWASP's parameters) and the password policy.

Hashing takes tens of milliseconds of CPU and 64 MiB: the gateway's requests do it in a small
pool of worker threads (`hashed`, `matches`), so a login never stalls the event loop (every
other request, event stream, the recorder and the outbox), and a flood of logins queues for
the pool instead of taking memory without bound. argon2-cffi releases the GIL while it hashes.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dockback_gateway.errors import Invalid

# OWASP: m >= 19 MiB, t >= 2, p = 1. We use 64 MiB, t=3.
HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
MIN_LENGTH = 12
MAX_LENGTH = 1024
COMMON = frozenset(
    {
        "password1234",
        "passwordpassword",
        "123456789012",
        "qwertyuiopas",
        "letmeinletmein",
        "administrator",
        "adminadminadmin",
        "iloveyou1234",
        "welcome12345",
        "changemechangeme",
        "dockbackdockback",
        "password123!",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "abc123abc123",
        "trustno1trustno1",
        "monkeymonkey",
        "dragondragon",
        "sunshine1234",
        "football1234",
        "baseball1234",
        "superman1234",
        "princess1234",
        "passw0rdpassw0rd",
    }
)
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = HASHER.hash("dockback-timing-equaliser")


# At most this many hashes at once (64 MiB each); more logins wait their turn. One core is left
# to the event loop: on 2 cores, two hashing threads doubled GET /plans' p99 under 10 logins.
POOL_SIZE = max(1, min(4, (os.cpu_count() or 1) - 1))
_POOL = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="argon2")


async def hashed(password: str) -> str:
    """`hash_password` in the worker pool."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, hash_password, password)


async def matches(stored_hash: str | None, password: str) -> bool:
    """`verify_password` in the worker pool."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, verify_password, stored_hash, password)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; always does the full work, even without a stored hash."""
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)


def check_policy(password: str, username: str | None = None) -> None:
    """Refuse passwords that are too short, too long, common, or the username."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"the password must be at most {MAX_LENGTH} characters long")
    if password.lower() in COMMON or (username and password.lower() == username.lower()):
        raise Invalid("this password is too common: choose another one")
