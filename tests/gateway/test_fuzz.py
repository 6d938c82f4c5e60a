"""Schemathesis fuzzes the real gateway process against its own OpenAPI document, logged in
and not: no 5xx and no response that violates the documented schema."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.gateway_process import GatewayProcess, run_gateway

CHECKS = "not_a_server_error,response_schema_conformance"
# The document itself is for admins only (GET /openapi.json): the fuzzer reads the copy the web
# client is generated from, which `make web-check` keeps equal to what the gateway serves.
DOCUMENT = Path(__file__).resolve().parents[2] / "services" / "web" / "openapi.json"


@pytest.fixture
def gateway_process(database_url: str, nats_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    with run_gateway(database_url, nats_url, tmp_path) as process:
        yield process


# Operations that would end or rotate the fuzzer's own session (or disable its own account),
# after which every other operation answers 401 and nothing behind the login gets fuzzed.
LOSES_THE_SESSION = (
    r"^/auth/(logout|refresh|login)|^/users/\{user_id\}$|/mfa/(disable|confirm|recovery-codes)|/me/password"
)
# The settings' checks are answered by an uploader or a notifier, which the fuzzed gateway
# does not have: their documented answer is then 503 (no_responder), a server error to the
# fuzzer. tests/gateway/test_settings_checks.py covers them with a responder.
NEEDS_A_RESPONDER = r"^/settings/(targets/\{target_id\}|targets|smtp|webhooks/\{webhook_id\}|webhooks)/test$"


def fuzz(
    gateway: GatewayProcess, *headers: str, excluded: str | None = None, phases: str | None = None
) -> subprocess.CompletedProcess[str]:
    extra_args = [arg for header in headers for arg in ("-H", header)]
    if phases:
        extra_args += ["--phases", phases]
    if excluded:
        extra_args += ["--exclude-path-regex", excluded]
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            str(DOCUMENT),
            "--url",
            gateway.url,
            "--checks",
            CHECKS,
            "--max-examples",
            "15",
            "--seed",  # fixed, so CI is repeatable; change it locally to explore further
            "20261126",
            "--request-timeout",
            "30",
            "-H",
            f"Origin: {gateway.url}",
            *extra_args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=gateway.log.parent,  # schemathesis keeps its state in the working directory
    )


async def test_fuzzing_the_api_anonymously_finds_no_server_error(gateway_process: GatewayProcess) -> None:
    # Without a session every protected route is refused before its body is read, so the
    # coverage and stateful phases (minutes of edge-case bodies) find nothing more here; the
    # logged-in run below runs every phase.
    result = await asyncio.to_thread(fuzz, gateway_process, phases="examples,fuzzing")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


async def test_fuzzing_the_api_logged_in_finds_no_server_error(gateway_process: GatewayProcess) -> None:
    async with httpx.AsyncClient(base_url=gateway_process.url, headers={"Origin": gateway_process.url}) as client:
        login = await client.post("/auth/login", json={"username": "admin", "password": gateway_process.admin_password})
        csrf = login.json()["csrf_token"]
        changed = await client.post(
            "/users/me/password",
            headers={"X-CSRF-Token": csrf},
            json={"current_password": gateway_process.admin_password, "new_password": "fuzzing-admin-passphrase-1"},
        )
        assert changed.status_code == 204
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    result = await asyncio.to_thread(
        fuzz,
        gateway_process,
        f"Cookie: {cookie}",
        f"X-CSRF-Token: {csrf}",
        excluded=f"{LOSES_THE_SESSION}|{NEEDS_A_RESPONDER}",
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
