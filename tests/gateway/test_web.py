"""The web UI's port on the real gateway process: the built app, client-side routes, the API
under /api with the session cookies and the CSRF check, and GET /auth/permissions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.accounts import TEMPORARY, create_user, first_login
from gateway.conftest import Gateway, logged_in_admin, login
from harness.gateway_process import GatewayProcess, run_gateway

INDEX = b"<!doctype html><title>DockBack</title><div id=root></div>"
ASSET = b"console.log('app')"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A stand-in for `make web`'s output: index.html and one hashed asset."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-Ab12Cd34.js").write_bytes(ASSET)
    (tmp_path / "outside.txt").write_text("not for the web")
    return dist


@pytest.fixture
def served(database_url: str, nats_url: str, tmp_path: Path, build: Path) -> Iterator[GatewayProcess]:
    with run_gateway(database_url, nats_url, tmp_path, web_dir=build) as process:
        yield process


async def test_the_web_port_serves_the_app_for_every_page_path_and_its_assets(served: GatewayProcess) -> None:
    async with httpx.AsyncClient(base_url=str(served.web_url)) as web:
        home = await web.get("/")
        assert home.status_code == 200
        assert home.content == INDEX
        assert home.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in home.headers["content-security-policy"]
        assert home.headers["x-frame-options"] == "DENY"
        deep = await web.get("/jobs/0b9a3c1e-0000-4000-8000-000000000000")  # a client-side route
        assert deep.status_code == 200
        assert deep.content == INDEX
        asset = await web.get("/assets/index-Ab12Cd34.js")
        assert asset.content == ASSET
        assert "javascript" in asset.headers["content-type"]
        assert "immutable" in asset.headers["cache-control"]
        assert (await web.get("/assets/gone-123.js")).status_code == 404  # not the app in place of a script
        assert (await web.head("/")).status_code == 200
        assert (await web.post("/")).status_code == 405


async def test_a_path_outside_the_build_is_never_served(served: GatewayProcess) -> None:
    async with httpx.AsyncClient(base_url=str(served.web_url)) as web:
        for path in ("/../outside.txt", "/%2e%2e/outside.txt", "/assets/..%2f..%2foutside.txt"):
            response = await web.get(path)
            assert b"not for the web" not in response.content, path


async def test_the_api_answers_under_api_on_the_web_port_with_cookies_and_csrf(served: GatewayProcess) -> None:
    web_url = str(served.web_url)
    async with httpx.AsyncClient(base_url=web_url, headers={"Origin": web_url}) as web:
        assert (await web.get("/api/health")).json()["status"] == "ok"
        assert (await web.get("/api/users/me")).status_code == 401
        logged_in = await web.post("/api/auth/login", json={"username": "admin", "password": served.admin_password})
        assert logged_in.status_code == 200
        csrf = logged_in.json()["csrf_token"]
        body = {"current_password": served.admin_password, "new_password": "web-port-passphrase-1"}
        foreign = await web.post(
            "/api/users/me/password", json=body, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403
        assert foreign.json()["error"] == "csrf"
        changed = await web.post("/api/users/me/password", json=body, headers={"X-CSRF-Token": csrf})
        assert changed.status_code == 204
        assert (await web.get("/api/users/me")).json()["username"] == "admin"
    async with httpx.AsyncClient(base_url=served.url) as api:  # the API's own port still answers
        assert (await api.get("/health")).status_code == 200


@pytest.fixture
def unbuilt(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    with run_gateway(database_url, nats_url, tmp_path, web_dir=tmp_path / "not-built") as process:
        yield process


async def test_without_a_build_the_web_port_says_how_to_make_one(unbuilt: GatewayProcess) -> None:
    async with httpx.AsyncClient(base_url=str(unbuilt.web_url)) as web:
        response = await web.get("/")
        assert response.status_code == 503
        assert "make web" in response.text
        assert (await web.get("/api/health")).status_code == 200


async def test_permissions_list_what_the_role_may_do(gateway: Gateway) -> None:
    async with logged_in_admin(gateway) as admin:
        mine = (await admin.get("/auth/permissions")).json()
        assert mine["role"] == "admin"
        assert {"POST /jobs", "PUT /restores/lock", "GET /users"} <= set(mine["allowed"])
        await create_user(admin, "vera", role="viewer")
        await create_user(admin, "otto", role="operator")
    async with gateway.client() as fresh:
        assert (await login(fresh, "vera", TEMPORARY)).status_code == 200
        before_change = (await fresh.get("/auth/permissions")).json()
        assert before_change["must_change_password"] is True
        assert set(before_change["allowed"]) == {
            "GET /auth/permissions",
            "GET /users/me",
            "POST /auth/logout",
            "POST /users/me/password",
        }
    async with first_login(gateway, "vera") as viewer:
        allowed = set((await viewer.get("/auth/permissions")).json()["allowed"])
        assert {"GET /jobs", "GET /plans", "GET /artifacts"} <= allowed
        assert not {a for a in allowed if not a.startswith("GET ")} - {
            "POST /auth/logout",
            "POST /users/me/password",
            "POST /users/me/mfa/enrolment",
            "POST /users/me/mfa/confirm",
            "POST /users/me/mfa/disable",
            "POST /users/me/mfa/recovery-codes",
            "POST /artifacts/retention-preview",  # a question, asked with a body
        }, "a viewer may change nothing but their own account"
        assert "GET /users" not in allowed
    async with first_login(gateway, "otto") as operator:
        allowed = set((await operator.get("/auth/permissions")).json()["allowed"])
        assert {"POST /jobs", "POST /restores", "POST /plans"} <= allowed
        assert "PUT /restores/lock" not in allowed
        assert "POST /users" not in allowed


async def test_only_a_401_about_the_session_asks_for_a_new_one(gateway: Gateway) -> None:
    """The UI renews the session and repeats a request only for WWW-Authenticate 401s: a wrong
    password must never be sent twice (it would count twice against the login brake)."""
    async with gateway.client() as anonymous:
        no_session = await anonymous.get("/users/me")
        assert no_session.status_code == 401
        assert "www-authenticate" in no_session.headers
    async with logged_in_admin(gateway) as admin:
        wrong = await admin.post(
            "/users/me/password", json={"current_password": "not-it-at-all", "new_password": "whatever-else-12345"}
        )
        assert wrong.status_code == 401
        assert "www-authenticate" not in wrong.headers
        admin.cookies.delete("dockback_access")
        expired = await admin.get("/users/me")
        assert expired.status_code == 401
        assert "www-authenticate" in expired.headers
    async with gateway.client() as client:
        failed_login = await client.post("/auth/login", json={"username": "admin", "password": "nope"})
        assert failed_login.status_code == 401
        assert "www-authenticate" not in failed_login.headers
