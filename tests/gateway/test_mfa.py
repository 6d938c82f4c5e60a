"""Enrolling, using and turning off one's own second factor, on the real gateway."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pyotp
import pytest
from sqlalchemy import select

from dockback_gateway.audit.models import AuditEntry
from dockback_gateway.auth.passwords import hash_password
from dockback_gateway.auth.totp import totp_secret_aad
from dockback_gateway.keys import KeyProblem
from dockback_gateway.users.models import RecoveryCode, Role, User
from gateway.conftest import Gateway, login

PASSWORD = "alice-own-passphrase-31"


@pytest.fixture
async def alice(gateway: Gateway) -> str:
    """An operator whose password needs no change, so every MFA route is open to her."""
    async with gateway.app.state.sessions.begin() as db:
        db.add(User(username="alice", password_hash=hash_password(PASSWORD), role=Role.OPERATOR))
    return "alice"


@asynccontextmanager
async def logged_in(gateway: Gateway, totp: pyotp.TOTP | None = None) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway.client() as client:
        response = await login(client, "alice", PASSWORD)
        assert response.status_code == 200
        if totp is not None:
            mfa = await client.post(
                "/auth/login/mfa", json={"mfa_token": response.json()["mfa_token"], "code": fresh_code(totp)}
            )
            assert mfa.status_code == 200
            client.headers["X-CSRF-Token"] = mfa.json()["csrf_token"]
        yield client


_last_used: dict[str, int] = {}


def fresh_code(totp: pyotp.TOTP) -> str:
    """A code for a step not used yet: the server refuses a step it has seen (no replay)."""
    step = max(int(time.time()) // 30, _last_used.get(totp.secret, -1) + 1)
    _last_used[totp.secret] = step
    assert step <= int(time.time()) // 30 + 1, "more codes than the ±1 step window allows"
    return totp.at(step * 30)


async def start_enrolment(client: httpx.AsyncClient) -> pyotp.TOTP:
    started = await client.post("/users/me/mfa/enrolment", json={"current_password": PASSWORD})
    assert started.status_code == 200, started.text
    totp = pyotp.parse_uri(started.json()["otpauth_uri"])
    assert isinstance(totp, pyotp.TOTP)
    return totp


async def enable_mfa(client: httpx.AsyncClient) -> tuple[pyotp.TOTP, list[str]]:
    totp = await start_enrolment(client)
    confirmed = await client.post("/users/me/mfa/confirm", json={"code": fresh_code(totp)})
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def wrong_code(totp: pyotp.TOTP) -> str:
    now = time.time()
    valid = {totp.at(now + drift) for drift in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in valid)


async def password_step(gateway: Gateway) -> dict[str, object]:
    async with gateway.client() as client:
        response = await login(client, "alice", PASSWORD)
        assert response.status_code == 200
        return dict(response.json())


async def test_enrolment_shows_an_otpauth_uri_and_a_qr_code_but_leaves_mfa_off(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        started = await client.post("/users/me/mfa/enrolment", json={"current_password": PASSWORD})
        status = (await client.get("/users/me/mfa")).json()
    body = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/DockBack:alice?")
    assert "issuer=DockBack" in body["otpauth_uri"]
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    assert started.headers["Cache-Control"] == "no-store"
    assert status == {"enabled": False, "pending": True, "recovery_codes_left": 0}
    assert (await password_step(gateway))["logged_in"] is True


async def test_enrolment_needs_the_current_password(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        refused = await client.post("/users/me/mfa/enrolment", json={"current_password": "not-her-password"})
        status = (await client.get("/users/me/mfa")).json()
    assert refused.status_code == 401
    assert status["pending"] is False


async def test_the_pending_secret_is_stored_encrypted_and_bound_to_its_user(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        totp = await start_enrolment(client)
    async with gateway.app.state.sessions() as db:
        user = await db.scalar(select(User).where(User.username == "alice"))
    assert user is not None
    assert user.totp_secret is not None
    assert totp.secret.encode() not in user.totp_secret
    cipher = gateway.app.state.auth_config.cipher
    assert cipher.decrypt(user.totp_secret, totp_secret_aad(user.id)).decode() == totp.secret
    with pytest.raises(KeyProblem):
        cipher.decrypt(user.totp_secret, "users.totp_secret:someone-else")


async def test_a_confirmed_enrolment_makes_login_ask_for_a_totp_code(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        totp, _ = await enable_mfa(client)
        assert (await client.get("/users/me/mfa")).json()["enabled"] is True
    first = await password_step(gateway)
    assert first["logged_in"] is False
    assert first["mfa_required"] is True
    async with gateway.client() as client:
        token = (await login(client, "alice", PASSWORD)).json()["mfa_token"]
        second = await client.post("/auth/login/mfa", json={"mfa_token": token, "code": fresh_code(totp)})
    assert second.status_code == 200
    assert second.json()["logged_in"] is True


async def test_a_wrong_confirmation_code_does_not_enable_mfa(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        totp = await start_enrolment(client)
        refused = await client.post("/users/me/mfa/confirm", json={"code": wrong_code(totp)})
        status = (await client.get("/users/me/mfa")).json()
    assert refused.status_code == 401
    assert status == {"enabled": False, "pending": True, "recovery_codes_left": 0}
    assert (await password_step(gateway))["logged_in"] is True


async def test_five_wrong_confirmation_codes_cancel_the_enrolment(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        totp = await start_enrolment(client)
        wrong = [(await client.post("/users/me/mfa/confirm", json={"code": wrong_code(totp)})) for _ in range(5)]
        right = await client.post("/users/me/mfa/confirm", json={"code": fresh_code(totp)})
        status = (await client.get("/users/me/mfa")).json()
        restarted = await start_enrolment(client)
        confirmed = await client.post("/users/me/mfa/confirm", json={"code": fresh_code(restarted)})
    assert [r.status_code for r in wrong] == [401] * 5
    assert "start it again" in wrong[-1].json()["detail"]
    assert right.status_code == 409
    assert status["pending"] is False
    assert confirmed.status_code == 200


async def test_confirming_without_a_started_enrolment_is_refused(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        refused = await client.post("/users/me/mfa/confirm", json={"code": "123456"})
    assert refused.status_code == 409
    assert "POST /users/me/mfa/enrolment" in refused.json()["detail"]


async def test_confirmation_gives_ten_distinct_recovery_codes_stored_only_as_digests(
    gateway: Gateway, alice: str
) -> None:
    async with logged_in(gateway) as client:
        _, codes = await enable_mfa(client)
    async with gateway.app.state.sessions() as db:
        stored = (await db.scalars(select(RecoveryCode.code_hash))).all()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert len(stored) == 10
    assert all(len(digest) == 64 for digest in stored)
    assert not any(code.replace("-", "") in digest for code in codes for digest in stored)


async def test_a_recovery_code_logs_in_once_and_only_once(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        _, codes = await enable_mfa(client)
    outcomes = []
    for _ in range(2):
        async with gateway.client() as client:
            token = (await login(client, "alice", PASSWORD)).json()["mfa_token"]
            response = await client.post("/auth/login/mfa", json={"mfa_token": token, "recovery_code": codes[0]})
            outcomes.append(response.status_code)
    assert outcomes == [200, 401]
    async with gateway.client() as client:
        token = (await login(client, "alice", PASSWORD)).json()["mfa_token"]
        other = await client.post("/auth/login/mfa", json={"mfa_token": token, "recovery_code": codes[1].upper()})
        assert other.status_code == 200
        assert (await client.get("/users/me/mfa")).json()["recovery_codes_left"] == 8


async def test_enabling_mfa_ends_the_other_sessions(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as other, logged_in(gateway) as client:
        await enable_mfa(client)
        assert (await other.get("/users/me")).status_code == 401
        assert (await client.get("/users/me")).status_code == 200


async def test_enrolment_is_refused_while_mfa_is_on(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        await enable_mfa(client)
        again = await client.post("/users/me/mfa/enrolment", json={"current_password": PASSWORD})
    assert again.status_code == 409
    assert "disable" in again.json()["detail"]


async def test_disabling_mfa_needs_the_current_password(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        await enable_mfa(client)
        refused = await client.post("/users/me/mfa/disable", json={"current_password": "not-her-password"})
        missing = await client.post("/users/me/mfa/disable", json={})
        status = (await client.get("/users/me/mfa")).json()
    assert refused.status_code == 401
    assert missing.status_code == 422
    assert status["enabled"] is True
    assert (await password_step(gateway))["mfa_required"] is True


async def test_disabling_mfa_ends_the_other_sessions_and_deletes_the_recovery_codes(
    gateway: Gateway, alice: str
) -> None:
    async with logged_in(gateway) as client:
        totp, _ = await enable_mfa(client)
        async with logged_in(gateway, totp) as other:
            disabled = await client.post("/users/me/mfa/disable", json={"current_password": PASSWORD})
            assert disabled.status_code == 204
            assert (await other.get("/users/me")).status_code == 401
        assert (await client.get("/users/me")).status_code == 200
        assert (await client.get("/users/me/mfa")).json() == {
            "enabled": False,
            "pending": False,
            "recovery_codes_left": 0,
        }
    assert (await password_step(gateway))["logged_in"] is True


async def test_regenerated_recovery_codes_replace_the_old_ones(gateway: Gateway, alice: str) -> None:
    async with logged_in(gateway) as client:
        _, old = await enable_mfa(client)
        refused = await client.post("/users/me/mfa/recovery-codes", json={"current_password": "not-her-password"})
        regenerated = await client.post("/users/me/mfa/recovery-codes", json={"current_password": PASSWORD})
    assert refused.status_code == 401
    assert regenerated.status_code == 200
    new = regenerated.json()["recovery_codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    async with gateway.client() as client:
        token = (await login(client, "alice", PASSWORD)).json()["mfa_token"]
        stale = await client.post("/auth/login/mfa", json={"mfa_token": token, "recovery_code": old[0]})
        fresh = await client.post("/auth/login/mfa", json={"mfa_token": token, "recovery_code": new[0]})
    assert stale.status_code == 401
    assert fresh.status_code == 200


async def test_a_user_who_must_change_the_password_cannot_enrol_yet(gateway: Gateway) -> None:
    async with gateway.client() as client:
        await login(client, "admin", gateway.admin_password)
        refused = await client.post("/users/me/mfa/enrolment", json={"current_password": gateway.admin_password})
    assert refused.status_code == 403
    assert "change your password" in refused.json()["detail"]


async def test_mfa_steps_are_audited_without_password_secret_or_recovery_codes(gateway: Gateway, alice: str) -> None:
    canary = "canary-wrong-password-mfa-5"
    async with logged_in(gateway) as client:
        await client.post("/users/me/mfa/enrolment", json={"current_password": canary})
        totp = await start_enrolment(client)
        await client.post("/users/me/mfa/confirm", json={"code": wrong_code(totp)})
        confirmed = await client.post("/users/me/mfa/confirm", json={"code": fresh_code(totp)})
        codes = confirmed.json()["recovery_codes"]
        regenerated = await client.post("/users/me/mfa/recovery-codes", json={"current_password": PASSWORD})
        codes += regenerated.json()["recovery_codes"]
        await client.post("/users/me/mfa/disable", json={"current_password": canary})
        assert (await client.post("/users/me/mfa/disable", json={"current_password": PASSWORD})).status_code == 204

    async with gateway.app.state.sessions() as db:
        query = select(AuditEntry).where(AuditEntry.action.startswith("mfa.")).order_by(AuditEntry.id)
        entries = (await db.scalars(query)).all()
    steps = [(e.action, e.outcome) for e in entries]
    assert steps == [
        ("mfa.enrolment_start", "failure"),
        ("mfa.enrolment_start", "success"),
        ("mfa.enable", "failure"),
        ("mfa.enable", "success"),
        ("mfa.recovery_codes_regenerate", "success"),
        ("mfa.disable", "failure"),
        ("mfa.disable", "success"),
    ]
    assert all(e.actor == e.target == "alice" for e in entries)
    async with gateway.app.state.sessions() as db:
        every_row = " ".join(
            f"{e.actor} {e.action} {e.target} {e.details} {e.user_agent}"
            for e in (await db.scalars(select(AuditEntry))).all()
        )
    secrets = [canary, PASSWORD, totp.secret, *codes, *(c.replace("-", "") for c in codes)]
    assert [s for s in secrets if s.lower() in every_row.lower()] == []
