"""An admin session (which may change settings but never read a stored secret) points the SMTP
server at a host the attacker runs and presses Test, hoping the notifier logs in there with the
stored password. The real gateway drops the stored password when the host or port changes (it
is kept only when sent again), so the real notifier that runs the Test has no password to give:
the attacker's aiosmtpd, which records every login, never sees it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from gateway.conftest import Gateway, logged_in_admin
from notifier.conftest import NotifierRunner

from harness.processes import free_port
from harness.smtp_server import Certificate, self_signed_certificate

PASSWORD = "canary-smtp-password-5c1d94"
SMTP_SETTINGS = {
    "host": "mail.example.net",
    "port": 587,
    "security": "starttls",
    "username": "alerts",
    "password": PASSWORD,
    "from_address": "dockback@example.net",
    "recipients": ["ops@example.net"],
}

WITHOUT_PASSWORD = {k: v for k, v in SMTP_SETTINGS.items() if k != "password"}


class Attacker:
    """An SMTP server (STARTTLS, with a certificate the notifier trusts) that accepts any login
    and records the passwords it was given."""

    def __init__(self, certificate: Certificate) -> None:
        self.certificate = certificate
        self.port = free_port()
        self.passwords: list[bytes] = []
        self.messages = 0

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.passwords.append(data.password)
        return AuthResult(success=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        self.messages += 1
        return "250 accepted"


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[Attacker]:
    attacker = Attacker(self_signed_certificate(tmp_path / "attacker"))
    controller = Controller(
        attacker,
        hostname="127.0.0.1",
        port=attacker.port,
        server_hostname="localhost",
        tls_context=attacker.certificate.server_context(),
        require_starttls=True,
        authenticator=attacker.authenticate,
        auth_require_tls=True,
    )
    controller.start()  # type: ignore[no-untyped-call]
    try:
        yield attacker
    finally:
        controller.stop()  # type: ignore[no-untyped-call]


async def test_the_smtp_password_is_sent_to_a_new_host(gateway: Gateway, attacker: Attacker) -> None:
    notifiers = NotifierRunner(gateway.settings.nats_url, gateway.settings.settings_key_file)
    # the strongest attacker: a server whose certificate the notifier accepts, on an address it may reach
    await notifiers(smtp_ca_file=attacker.certificate.cert_file, allow_private_targets=True)
    try:
        async with logged_in_admin(gateway) as admin:
            assert (await admin.put("/settings/smtp", json=SMTP_SETTINGS)).status_code == 200
            moved = await admin.put(
                "/settings/smtp",
                json={**WITHOUT_PASSWORD, "host": "127.0.0.1", "port": attacker.port},
            )
            checked = await admin.post("/settings/smtp/test")
    finally:
        await notifiers.stop_all()

    assert checked.status_code == 200, checked.text
    assert attacker.messages == 1, "the Test did reach the attacker's server"
    assert PASSWORD.encode() not in attacker.passwords
    assert PASSWORD not in checked.text
    assert moved.status_code == 200
    assert moved.json()["password"] == {"set": False}


async def test_the_smtp_password_is_sent_to_a_new_host_typed_in_the_form_and_tested_unsaved(
    gateway: Gateway, attacker: Attacker
) -> None:
    """The same, without saving: the attacker's host typed in the form and tested as typed (the
    password field left blank, which means 'the stored one' for the saved server only)."""
    notifiers = NotifierRunner(gateway.settings.nats_url, gateway.settings.settings_key_file)
    await notifiers(smtp_ca_file=attacker.certificate.cert_file, allow_private_targets=True)
    try:
        async with logged_in_admin(gateway) as admin:
            assert (await admin.put("/settings/smtp", json=SMTP_SETTINGS)).status_code == 200
            checked = await admin.post(
                "/settings/smtp/test", json={**WITHOUT_PASSWORD, "host": "127.0.0.1", "port": attacker.port}
            )
    finally:
        await notifiers.stop_all()

    assert checked.status_code == 200, checked.text
    assert attacker.messages == 1, "the Test did reach the attacker's server"
    assert PASSWORD.encode() not in attacker.passwords
    assert PASSWORD not in checked.text
