"""Attack: send a made-up refresh token naming someone's session (session ids appear in the audit
log), so that the "reused refresh token" rule revokes that session and logs its user out.

Only a token this gateway issued for that session (its MAC checks out) counts as reuse; anything
else is refused without touching the session. And two tabs of the real user refreshing at once
with the same token are not taken for theft: the token rotated out last still renews the
access token for a few seconds.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from gateway.conftest import Gateway, logged_in_admin


def session_of(client: httpx.AsyncClient) -> uuid.UUID:
    return uuid.UUID(client.cookies["dockback_refresh"].split(".")[0])


async def test_a_made_up_refresh_token_does_not_end_the_session(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as victim:
        session_id = session_of(victim)
        async with gateway.client() as attacker:
            attacker.cookies.set("dockback_csrf", "attackers-own")  # its own client: the CSRF check passes
            attacker.headers["X-CSRF-Token"] = "attackers-own"
            for generation in (0, 1, 2):
                for made_up in (
                    f"{session_id}.{generation}.{'A' * 43}",
                    f"{session_id}.{generation}.{'A' * 43}.{'0' * 64}",
                ):
                    attacker.cookies.set("dockback_refresh", made_up)
                    assert (await attacker.post("/auth/refresh")).status_code == 401
        assert (await victim.get("/users/me")).status_code == 200
        renewed = await victim.post("/auth/refresh")
        assert renewed.status_code == 200, renewed.text


async def test_two_tabs_refreshing_at_once_stay_logged_in(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as browser:
        first_tab, second_tab = await asyncio.gather(browser.post("/auth/refresh"), browser.post("/auth/refresh"))
        assert (first_tab.status_code, second_tab.status_code) == (200, 200), (first_tab.text, second_tab.text)
        browser.headers["X-CSRF-Token"] = browser.cookies["dockback_csrf"]
        assert (await browser.get("/users/me")).status_code == 200
        later = await browser.post("/auth/refresh")  # the refresh cookie the browser kept is the current one
        assert later.status_code == 200, later.text
        browser.headers["X-CSRF-Token"] = later.json()["csrf_token"]
        assert (await browser.get("/users/me")).status_code == 200
