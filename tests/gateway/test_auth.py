"""Logging in and staying logged in, on the real gateway: first admin, sessions, CSRF, tokens."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pyotp
import pytest
from sqlalchemy import func, select, update
from starlette.types import Message, Receive, Scope, Send

from dockback_gateway.app import create_app
from dockback_gateway.auth import passwords
from dockback_gateway.auth.models import Session
from dockback_gateway.auth.totp import totp_secret_aad
from dockback_gateway.config import Settings
from dockback_gateway.migrate import upgrade
from dockback_gateway.users.models import User
from dockback_gateway.users.service import ensure_first_admin
from gateway.conftest import ADMIN_PASSWORD, BASE_URL, PRODUCTION_HASHER, Gateway, logged_in_admin, login

NEW_PASSWORD = ADMIN_PASSWORD


async def test_first_start_creates_admin_who_must_change_the_password_first(gateway: Gateway) -> None:
    async with gateway.client() as client:
        response = await login(client, "admin", gateway.admin_password)
        assert response.status_code == 200
        assert response.json()["must_change_password"] is True
        me = (await client.get("/users/me")).json()
        assert me["username"] == "admin"
        assert me["role"] == "admin"
        assert len(gateway.admin_password) >= 20

        weak = await client.post(
            "/users/me/password", json={"current_password": gateway.admin_password, "new_password": "password1234"}
        )
        assert weak.status_code == 422
        assert "common" in weak.json()["detail"]
        changed = await client.post(
            "/users/me/password", json={"current_password": gateway.admin_password, "new_password": NEW_PASSWORD}
        )
        assert changed.status_code == 204
        assert (await client.get("/users/me")).json()["must_change_password"] is False


async def test_unknown_user_and_wrong_password_get_the_same_answer(gateway: Gateway) -> None:
    async with gateway.client() as client:
        unknown = await login(client, "nobody", "whatever-password")
        wrong = await login(client, "admin", "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_twenty_concurrent_first_starts_create_one_admin(gateway_settings: Settings) -> None:
    await asyncio.to_thread(upgrade, gateway_settings.database_url.get_secret_value())
    from dockback_gateway.db import make_engine, make_sessions

    engine = make_engine(gateway_settings.database_url.get_secret_value())
    sessions = make_sessions(engine)

    async def first_start() -> str | None:
        async with sessions.begin() as db:
            return await ensure_first_admin(db)

    passwords = await asyncio.gather(*(first_start() for _ in range(20)))
    async with sessions() as db:
        admins = await db.scalar(select(func.count()).select_from(User))
    await engine.dispose()
    assert admins == 1
    assert len([p for p in passwords if p]) == 1


async def test_a_state_changing_request_without_the_csrf_header_is_refused(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await login(client, "admin", gateway.admin_password)
        token = client.headers.pop("X-CSRF-Token")
        body = {"current_password": gateway.admin_password, "new_password": NEW_PASSWORD}
        missing = await client.post("/users/me/password", json=body)
        wrong = await client.post("/users/me/password", json=body, headers={"X-CSRF-Token": "forged"})
        foreign = await client.post(
            "/users/me/password", json=body, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}
        )
        allowed = await client.post("/users/me/password", json=body, headers={"X-CSRF-Token": token})
    assert [missing.status_code, wrong.status_code, foreign.status_code] == [403, 403, 403]
    assert allowed.status_code == 204


async def test_logout_ends_the_session_even_for_an_unexpired_access_token(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        access = client.cookies["dockback_access"]
        assert (await client.post("/auth/logout")).status_code == 204
        client.cookies.set("dockback_access", access)
        assert (await client.get("/users/me")).status_code == 401


async def test_a_reused_refresh_token_revokes_the_session(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        old_refresh = client.cookies["dockback_refresh"]
        rotated = await client.post("/auth/refresh")
        assert rotated.status_code == 200
        client.headers["X-CSRF-Token"] = rotated.json()["csrf_token"]
        assert client.cookies["dockback_refresh"] != old_refresh
        assert (await client.get("/users/me")).status_code == 200

        async with gateway.app.state.sessions.begin() as db:  # past the grace of two tabs refreshing at once
            await db.execute(update(Session).values(rotated_at=datetime.now(UTC) - timedelta(minutes=1)))
        client.cookies.set("dockback_refresh", old_refresh)  # a thief replays the rotated-out token
        assert (await client.post("/auth/refresh")).status_code == 401
        assert (await client.get("/users/me")).status_code == 401  # the whole session is gone


@pytest.mark.parametrize("forge", ["alg-none", "wrong-key", "expired", "wrong-audience", "edited-subject"])
async def test_a_tampered_access_token_is_refused(gateway: Gateway, forge: str) -> None:
    async with logged_in_admin(gateway) as client:
        real = jwt.decode(client.cookies["dockback_access"], options={"verify_signature": False})
        key = gateway.app.state.secret_key
        claims = dict(real)
        algorithm, signing_key = "HS256", key
        if forge == "alg-none":
            algorithm, signing_key = "none", None
        elif forge == "wrong-key":
            signing_key = "x" * 64
        elif forge == "expired":
            claims["exp"] = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
        elif forge == "wrong-audience":
            claims["aud"] = "someone-else"
        elif forge == "edited-subject":
            claims["sub"] = str(uuid.uuid4())
            signing_key = "y" * 64
        client.cookies.set("dockback_access", jwt.encode(claims, signing_key, algorithm=algorithm))
        assert (await client.get("/users/me")).status_code == 401


async def test_a_disabled_user_is_out_at_the_next_request(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        async with gateway.app.state.sessions.begin() as db:
            await db.execute(update(User).values(disabled=True))
        assert (await client.get("/users/me")).status_code == 401


async def test_after_five_failures_the_account_is_braked_even_for_the_right_password(gateway: Gateway) -> None:
    async with gateway.client() as client:
        for _ in range(5):
            assert (await login(client, "admin", "wrong-password-x")).status_code == 401
        braked = await login(client, "admin", gateway.admin_password)
    assert braked.status_code == 429
    assert int(braked.headers["Retry-After"]) >= 1


async def test_totp_login_accepts_a_code_once_and_refuses_its_replay(gateway: Gateway) -> None:
    secret = pyotp.random_base32()
    async with gateway.app.state.sessions.begin() as db:
        admin = await db.scalar(select(User))
        assert admin is not None
        admin.totp_secret = gateway.app.state.auth_config.cipher.encrypt(secret.encode(), totp_secret_aad(admin.id))
        admin.totp_enabled = True
    code = pyotp.TOTP(secret).now()
    async with gateway.client() as client:
        first = await login(client, "admin", gateway.admin_password)
        assert first.json()["mfa_required"] is True
        ok = await client.post("/auth/login/mfa", json={"mfa_token": first.json()["mfa_token"], "code": code})
        assert ok.status_code == 200
    async with gateway.client() as client:
        again = await login(client, "admin", gateway.admin_password)
        replay = await client.post("/auth/login/mfa", json={"mfa_token": again.json()["mfa_token"], "code": code})
        assert replay.status_code == 401
        # said in words a person can act on (the code was right, and is used up)
        assert replay.json()["detail"] == "this code was already used; wait for the next one"
        wrong = "000000" if code != "000000" else "111111"
        other = await client.post("/auth/login/mfa", json={"mfa_token": again.json()["mfa_token"], "code": wrong})
        assert other.json()["detail"] == "wrong code: enter the code your authenticator shows now"


async def test_the_cookies_of_a_second_factor_work_for_the_very_next_request(gateway: Gateway) -> None:
    """A browser sends its next request the moment the response with the session cookies
    arrives: the response must leave only after the transaction that made the session
    committed (else that request is refused and the UI, unable to renew a session that is not
    there yet, drops back to the login)."""
    secret = pyotp.random_base32()
    async with gateway.app.state.sessions.begin() as db:
        admin = await db.scalar(select(User))
        assert admin is not None
        admin.totp_secret = gateway.app.state.auth_config.cipher.encrypt(secret.encode(), totp_secret_aad(admin.id))
        admin.totp_enabled = True
    next_request: list[int] = []

    async def browser_like(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_then_follow(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["path"] == "/auth/login/mfa":
                cookies = [v.decode().split(";", 1)[0] for k, v in message["headers"] if k == b"set-cookie"]
                async with gateway.client() as follower:
                    follow = await follower.get("/auth/permissions", headers={"Cookie": "; ".join(cookies)})
                next_request.append(follow.status_code)
            await send(message)

        await gateway.app(scope, receive, send_then_follow)

    transport = httpx.ASGITransport(app=browser_like)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers={"Origin": BASE_URL}) as client:
        first = await login(client, "admin", gateway.admin_password)
        code = pyotp.TOTP(secret).now()
        done = await client.post("/auth/login/mfa", json={"mfa_token": first.json()["mfa_token"], "code": code})
        assert done.status_code == 200, done.text
    assert next_request == [200]


async def test_five_wrong_codes_end_the_login_attempt(gateway: Gateway) -> None:
    secret = pyotp.random_base32()
    async with gateway.app.state.sessions.begin() as db:
        admin = await db.scalar(select(User))
        assert admin is not None
        admin.totp_secret = gateway.app.state.auth_config.cipher.encrypt(secret.encode(), totp_secret_aad(admin.id))
        admin.totp_enabled = True
    async with gateway.client() as client:
        token = (await login(client, "admin", gateway.admin_password)).json()["mfa_token"]
        for _ in range(5):
            wrong = await client.post("/auth/login/mfa", json={"mfa_token": token, "code": "000000"})
            assert wrong.status_code == 401
        right = await client.post("/auth/login/mfa", json={"mfa_token": token, "code": pyotp.TOTP(secret).now()})
    assert right.status_code == 401
    assert "password again" in right.json()["detail"]


async def test_every_route_has_an_access_policy(gateway: Gateway) -> None:
    from dockback_gateway import api_docs
    from dockback_gateway.auth.policy import policy_of

    schema = gateway.app.openapi()
    routes = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    # and the routes kept out of the document: the docs themselves
    routes |= {(method, route.path) for route in api_docs.router.routes for method in route.methods}  # type: ignore[attr-defined]
    assert routes - set(policy_of(gateway.app)) == set(), "add these routes to their domain's policy.py"
    assert set(policy_of(gateway.app)) - routes == set(), "rows of routes that do not exist"


async def test_a_placeholder_secret_key_refuses_to_start(gateway_settings: Settings) -> None:
    from pydantic import SecretStr

    from dockback_gateway.keys import KeyProblem

    app = create_app(gateway_settings.model_copy(update={"secret_key": SecretStr("changeme")}))
    with pytest.raises(KeyProblem, match="placeholder"):
        async with app.router.lifespan_context(app):
            pass


def test_cookies_are_secure_and_host_prefixed_on_https() -> None:
    from fastapi import Response

    from dockback_gateway.auth.cookies import CookiePolicy

    response = Response()
    CookiePolicy.for_base_url("https://backup.example").set_session(response, "a", "r", "c", 60)
    cookies = response.headers.getlist("set-cookie")
    assert all(c.startswith("__Host-") and "Secure" in c and "SameSite=strict" in c and "Path=/" in c for c in cookies)
    assert sum("HttpOnly" in c for c in cookies) == 2  # access and refresh; the CSRF cookie is for the UI to read
    assert BASE_URL.startswith("http://")


async def test_a_password_hashed_with_weaker_parameters_is_rehashed_at_login(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(passwords, "HASHER", PRODUCTION_HASHER)  # what the gateway ships with
    weak = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(gateway.admin_password)
    async with gateway.app.state.sessions.begin() as db:
        await db.execute(update(User).values(password_hash=weak))
    async with gateway.client() as client:
        assert (await login(client, "admin", gateway.admin_password)).status_code == 200
    async with gateway.app.state.sessions() as db:
        stored = await db.scalar(select(User.password_hash))
    assert stored != weak
    assert stored is not None
    assert "m=65536,t=3,p=1" in stored


async def test_no_password_reaches_a_log_line(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    canary = "canary-in-the-log-mine-9"
    caplog.clear()
    async with gateway.client() as client:
        await login(client, "admin", canary)
        await login(client, "admin", gateway.admin_password)
        await client.post("/users/me/password", json={"current_password": canary, "new_password": canary + "x"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert canary not in logged
    assert gateway.admin_password not in logged


async def test_a_hundred_failures_in_an_hour_stop_password_checks_until_the_attack_is_an_hour_old(
    gateway: Gateway,
) -> None:
    from dockback_gateway.auth.models import LoginBrake

    half_an_hour_ago = datetime.now(UTC) - timedelta(minutes=30)
    async with gateway.app.state.sessions.begin() as db:
        # An attack from many addresses: 100 failures for the account in the last hour.
        db.add(
            LoginBrake(
                key="account:admin", attempts=100, window_started_at=half_an_hour_ago, last_attempt_at=half_an_hour_ago
            )
        )
    async with gateway.client() as client:
        during = await login(client, "admin", gateway.admin_password)
    async with gateway.app.state.sessions.begin() as db:
        an_hour_ago = datetime.now(UTC) - timedelta(minutes=61)
        await db.execute(update(LoginBrake).values(window_started_at=an_hour_ago, last_attempt_at=an_hour_ago))
    async with gateway.client() as client:
        after = await login(client, "admin", gateway.admin_password)
    assert during.status_code == 429
    assert after.status_code == 200


async def test_guessing_the_current_password_is_braked_like_a_login(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as client:
        answers = [
            (
                await client.post(
                    "/users/me/password",
                    json={"current_password": f"guess-number-{i}", "new_password": "another-long-passphrase"},
                )
            ).status_code
            for i in range(7)
        ]
    assert answers[:5] == [401] * 5
    assert 429 in answers[5:]
