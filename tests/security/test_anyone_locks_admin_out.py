"""Attack: keep `admin` locked out by sending wrong passwords for it (five, then one per delay).

A browser that logged in successfully before holds a signed device cookie; its logins are
counted against that device alone, so the owner logs in while the account is braked for every
other client. A stolen device cookie does not help a guesser: the device is braked on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.conftest import ADMIN_PASSWORD, Gateway, logged_in_admin, login
from sqlalchemy import update

from dockback_gateway.auth.models import LoginBrake


async def attack(gateway: Gateway, attempts: int = 8) -> list[int]:
    """Wrong logins for admin, then the state of an attack that goes on: the account's delay
    at its longest (so a slow test machine cannot wait it out between two requests)."""
    async with gateway.client() as attacker:
        answers = [(await login(attacker, "admin", f"wrong-guess-{i}")).status_code for i in range(attempts)]
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(
            update(LoginBrake)
            .where(LoginBrake.key == "account:admin")
            .values(attempts=20, last_attempt_at=datetime.now(UTC))
        )
    return answers


async def test_the_attacker_brakes_admin_everywhere_but_in_admins_own_browser(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        assert admin.cookies.get("dockback_device"), "a successful login leaves a device cookie"
        assert (await admin.post("/auth/logout")).status_code == 204
        assert admin.cookies.get("dockback_device"), "logging out keeps it"

        assert 429 in await attack(gateway)
        async with gateway.client() as new_browser:
            assert (await login(new_browser, "admin", ADMIN_PASSWORD)).status_code == 429

        again = await login(admin, "admin", ADMIN_PASSWORD)
        assert again.status_code == 200, again.text
        assert (await admin.get("/users/me")).status_code == 200


async def test_a_device_cookie_of_another_account_or_a_forged_one_is_not_trusted(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        device = admin.cookies["dockback_device"]
    assert 429 in await attack(gateway)
    async with gateway.client() as forger:
        forger.cookies.set("dockback_device", device[:-4] + ("AAAA" if not device.endswith("AAAA") else "BBBB"))
        assert (await login(forger, "admin", ADMIN_PASSWORD)).status_code == 429


async def test_guessing_with_a_stolen_device_cookie_is_braked_on_that_device(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        device = admin.cookies["dockback_device"]
    async with gateway.client() as thief:
        thief.cookies.set("dockback_device", device)
        answers = [(await login(thief, "admin", f"wrong-guess-{i}")).status_code for i in range(10)]
        assert answers[:5] == [401] * 5
        assert 429 in answers[5:]
        assert (await login(thief, "admin", ADMIN_PASSWORD)).status_code == 429
    async with gateway.client() as elsewhere:  # the account itself is not braked by the device's failures
        assert (await login(elsewhere, "admin", ADMIN_PASSWORD)).status_code == 200
