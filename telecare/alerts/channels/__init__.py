"""Notification channels: email over SMTP, SMS through an HTTP gateway, or local files.

Every send carries the message's idempotency key where the channel can hold
one: the email Message-ID, the SMS gateway's reference or idempotency header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DeliveryError(Exception):
    """A send failed."""


class RetryableError(DeliveryError):
    """The channel may take the message later (connection refused, 4xx SMTP, 429, 5xx)."""


class PermanentError(DeliveryError):
    """The channel will never take this message (bad address, refused credentials)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready to go: the address is decrypted only for this send."""

    key: str
    to: str
    subject: str
    body: str


class Channel(Protocol):
    """Something that delivers a message and returns the provider's reference."""

    name: str

    async def send(self, message: Outgoing) -> str:
        """Deliver one message; raise RetryableError or PermanentError."""
        ...
