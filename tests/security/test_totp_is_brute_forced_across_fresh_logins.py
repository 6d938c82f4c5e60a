"""Attack: knowing the password, guess TOTP codes over many fresh logins (each pending login allows
five wrong codes, and a right password was never counted by the brake).

Wrong codes count against the account's brake like wrong passwords: after the free attempts
the brake refuses the next codes (and the account's logins) whatever the number of fresh
logins, and the right code is then refused too until the delay has passed.
"""

from __future__ import annotations

import time

import pyotp
from gateway.conftest import Gateway
from sqlalchemy import select

from dockback_gateway.auth.totp import totp_secret_aad
from dockback_gateway.users.models import User
from security.brake_bounds import most_attempts_within

FRESH_LOGINS = 10
CODES_PER_LOGIN = 4  # under the five a pending login allows


async def test_wrong_codes_over_fresh_logins_are_braked_per_account(gateway: Gateway) -> None:
    secret = pyotp.random_base32()
    async with gateway.app.state.sessions.begin() as db:
        admin = await db.scalar(select(User))
        assert admin is not None
        admin.totp_secret = gateway.app.state.auth_config.cipher.encrypt(secret.encode(), totp_secret_aad(admin.id))
        admin.totp_enabled = True
    right = pyotp.TOTP(secret).now()
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"

    checked = refused = 0
    started = time.monotonic()
    for _ in range(FRESH_LOGINS):
        async with gateway.client() as client:
            step = await client.post("/auth/login", json={"username": "admin", "password": gateway.admin_password})
            if step.status_code == 429:
                refused += 1
                continue
            assert step.status_code == 200, step.text
            assert step.json()["mfa_required"]
            for _ in range(CODES_PER_LOGIN):
                answer = await client.post(
                    "/auth/login/mfa", json={"mfa_token": step.json()["mfa_token"], "code": wrong}
                )
                assert answer.status_code in (401, 429), answer.text
                checked += answer.status_code == 401
                refused += answer.status_code == 429
    elapsed = time.monotonic() - started

    assert checked <= most_attempts_within(elapsed), f"{checked} codes checked in {elapsed:.1f} s"
    assert refused > 0
    async with gateway.client() as client:
        step = await client.post("/auth/login", json={"username": "admin", "password": gateway.admin_password})
        if step.status_code == 200:  # the password step was let through: the code is braked
            answer = await client.post("/auth/login/mfa", json={"mfa_token": step.json()["mfa_token"], "code": right})
            assert answer.status_code == 429
        else:
            assert step.status_code == 429
