"""A real SMTP server (aiosmtpd) on loopback that captures every message it accepts.

Variants: plain; STARTTLS or implicit TLS with a self-signed certificate made here; and
AUTH LOGIN/PLAIN required (over TLS only) with a test user. The server runs in its own
thread (aiosmtpd's Controller); it can be stopped and started again on the same port to
play an outage.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.processes import free_port

Security = Literal["none", "starttls", "tls"]
SMTP_USER = "alerts@example.test"


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed_certificate(directory: Path) -> Certificate:
    """A certificate for 127.0.0.1 and localhost, signed by its own key (it is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockback-test-smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_file, key_file)


@dataclass
class Captured:
    """One accepted message: the envelope and the parsed mail."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated_as: str | None

    @property
    def text(self) -> str:
        """The plain-text body."""
        return self._body("plain")

    @property
    def html(self) -> str:
        """The HTML body."""
        return self._body("html")

    def _body(self, subtype: str) -> str:
        part = self.message.get_body((subtype,))
        assert part is not None, f"the mail has no {subtype} body"
        return str(part.get_content())


@dataclass
class SmtpServer:
    """A running aiosmtpd server. `messages` fill from the server's thread; `wait_for` awaits them."""

    host: str
    port: int
    security: Security
    password: str | None
    certificate: Certificate | None
    messages: list[Captured] = field(default_factory=list)
    _controller: Controller | None = None
    _factory: Callable[[], Controller] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        assert self._factory is not None
        self._controller = self._factory()
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _captured(self, captured: Captured) -> None:  # on the server's thread
        self.messages.append(captured)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._arrived.set)

    async def wait_for(self, count: int, within: float = 20.0) -> list[Captured]:
        """The first `count` messages, once that many arrived."""
        async with asyncio.timeout(within):
            while len(self.messages) < count:
                self._arrived.clear()
                if len(self.messages) >= count:
                    break
                await self._arrived.wait()
        return self.messages[:count]


class _Controller(Controller):
    def factory(self) -> SMTP:
        # implicit TLS: aiosmtpd cannot see the TLS it did not start and warns that AUTH is
        # allowed without it; the connection is encrypted from its first byte
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            smtp: SMTP = super().factory()  # type: ignore[no-untyped-call]
            return smtp


class _Capture:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data
        self.server._captured(
            Captured(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                authenticated_as=login.decode() if isinstance(login, bytes) else None,
            )
        )
        return "250 Message accepted for delivery"


def _authenticator(password: str) -> Callable[..., AuthResult]:
    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    return authenticate


StartSmtp = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server_factory(tmp_path: Path) -> Iterator[StartSmtp]:
    """Start SMTP servers: `start(security="starttls", password="...")`; stopped after the test."""
    started: list[SmtpServer] = []

    def start(security: Security = "none", password: str | None = None) -> SmtpServer:
        certificate = self_signed_certificate(tmp_path / f"smtp-{len(started)}") if security != "none" else None
        server = SmtpServer("127.0.0.1", free_port(), security, password, certificate)
        try:
            server._loop = asyncio.get_running_loop()
        except RuntimeError:
            server._loop = None
        kwargs: dict[str, Any] = {}
        if certificate is not None and security == "starttls":
            kwargs.update(tls_context=certificate.server_context(), require_starttls=True)
        if certificate is not None and security == "tls":
            kwargs.update(ssl_context=certificate.server_context())
        if password is not None:
            # aiosmtpd only knows of TLS it started itself (STARTTLS): under implicit TLS it must
            # be told not to insist, the connection is encrypted from the first byte anyway
            kwargs.update(
                authenticator=_authenticator(password), auth_required=True, auth_require_tls=security == "starttls"
            )
        handler = _Capture(server)

        def make() -> Controller:
            return _Controller(handler, hostname=server.host, port=server.port, server_hostname="localhost", **kwargs)

        server._factory = make
        server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
