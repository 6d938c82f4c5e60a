"""Alerts by email: one multipart/alternative message (plain text + HTML) per alert or digest."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import aiosmtplib

from dockback_contracts.snapshots import SmtpSettings
from dockback_notifier import alerts as al
from dockback_notifier.errors import DeliveryError

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
    ) -> None:
        self.config = config
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
        try:
            await aiosmtplib.send(
                message,
                hostname=self.config.host,
                port=self.config.port,
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
