"""Email through any SMTP relay with aiosmtplib (STARTTLS or TLS, optional auth)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from telecare.alerts.channels import Outgoing, PermanentError, RetryableError

# RFC 5322 msg-id: dot-atom text only, so the key's colons become dots
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class SmtpEmail:
    """Sends one message per SMTP transaction; Message-ID carries the idempotency key."""

    name = "email"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = str(config.get("host", "127.0.0.1"))
        self.port = int(config.get("port", 25))
        self.username = config.get("username")
        self.password = config.get("password")
        self.starttls = bool(config.get("starttls", False))
        self.tls = bool(config.get("tls", False))
        self.sender = str(config.get("from", "telecare@localhost"))
        self.timeout = float(config.get("timeout_s", 15))
        self.domain = self.sender.rpartition("@")[2] or "telecare.local"

    async def send(self, message: Outgoing) -> str:
        """Deliver by SMTP; 5xx answers are permanent, everything else is retried."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        message_id = f"<{_UNSAFE.sub('.', message.key)}@{self.domain}>"
        mail["Message-ID"] = message_id
        mail.set_content(message.body)
        try:
            await aiosmtplib.send(
                mail, hostname=self.host, port=self.port, username=self.username,
                password=self.password, start_tls=self.starttls, use_tls=self.tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"authentication refused: {exc.code}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            cls = PermanentError if 500 <= exc.code < 600 else RetryableError
            raise cls(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryableError(f"SMTP unavailable: {type(exc).__name__}") from exc
        return message_id
