"""Alerts by email: one multipart/alternative message (plain text + HTML) per alert or digest."""

from __future__ import annotations

import asyncio
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib

from dockback_contracts.snapshots import SmtpSettings
from dockback_notifier import alerts as al
from dockback_notifier.errors import DeliveryError
from dockback_runtime.outbound import OutboundPolicy, TargetRefused

SUBJECT_PREFIX = "[DockBack]"


def compose(config: SmtpSettings, alerts: list[al.Alert], window_seconds: float) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{SUBJECT_PREFIX} {al.headline(alerts, window_seconds)}"
    message["From"] = config.from_address
    message["To"] = ", ".join(config.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="dockback")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(al.plain_text(alerts, window_seconds))
    message.add_alternative(al.html_text(alerts, window_seconds), subtype="html")
    return message


class SmtpChannel:
    """The SMTP server of the settings: STARTTLS, implicit TLS or none; login when a username is set."""

    name = "smtp"

    def __init__(
        self,
        config: SmtpSettings,
        password: str | None,
        *,
        window_seconds: float,
        timeout: float,
        ca_file: Path | None,
        policy: OutboundPolicy,
    ) -> None:
        self.config = config
        self.policy = policy
        self._password = password
        self.window_seconds = window_seconds
        self.timeout = timeout
        self.ca_file = ca_file

    def describe(self) -> str:
        return f"SMTP {self.config.host}:{self.config.port} ({self.config.security})"

    async def send(self, alerts: list[al.Alert]) -> None:
        if not self.config.recipients:
            raise DeliveryError("the SMTP channel has no recipients", permanent=True)
        message = compose(self.config, alerts, self.window_seconds)
        tls_context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        # to a checked address only (a socket connected here); the host name still checks the certificate
        where: dict[str, Any] = {"hostname": self.config.host, "port": self.config.port}
        if not self.policy.allow_private:
            try:
                address = await self.policy.address(self.config.host, self.config.port, what="the SMTP server")
            except TargetRefused as exc:
                raise DeliveryError(str(exc), permanent=True) from None
            where = {"hostname": self.config.host, "port": None, "sock": await self._connect(address)}
        try:
            await aiosmtplib.send(
                message,
                **where,
                username=self.config.username or None,
                password=self._password if self.config.username else None,
                use_tls=self.config.security == "tls",
                start_tls=self.config.security == "starttls",
                tls_context=tls_context if self.config.security != "none" else None,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{self.describe()} refused the login of {self.config.username!r}: {exc.code} {exc.message}",
                permanent=True,
            ) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(r.recipient for r in exc.recipients)
            raise DeliveryError(f"{self.describe()} refused the recipients {refused}", permanent=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"{self.describe()} answered {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"cannot deliver through {self.describe()}: {exc or type(exc).__name__}") from None

    async def _connect(self, address: str) -> socket.socket:
        """A TCP connection to the checked `address` (aiosmtplib speaks SMTP and TLS over it)."""
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.get_running_loop().sock_connect(sock, (address, self.config.port))
        except (OSError, TimeoutError) as exc:
            sock.close()
            raise DeliveryError(f"cannot deliver through {self.describe()}: {exc or type(exc).__name__}") from None
        return sock
