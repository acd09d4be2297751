"""Residents and contacts, decrypted. Their repr shows ids only, so a stray log line
or traceback never carries personal data."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Role(StrEnum):
    """Who a contact is to the resident (or to the centre)."""

    CARER = "carer"
    KEYHOLDER = "keyholder"
    RESPONDER = "responder"
    SUPERVISOR = "supervisor"  # centre staff; no hub


class ChannelName(StrEnum):
    """How a contact can be reached."""

    SMS = "sms"
    EMAIL = "email"


class Resident(msgspec.Struct, frozen=True, repr_omit_defaults=True):
    """The person living with a hub, with what a responder needs to know."""

    resident_id: str
    hub_id: str
    name: str
    address: str = ""
    access: str = ""
    key_safe: str = ""
    health_notes: str = ""
    response_protocol: str = ""

    def __repr__(self) -> str:
        return f"Resident({self.resident_id}, hub={self.hub_id})"


class Contact(msgspec.Struct, frozen=True):
    """A carer, key holder, responder or supervisor, in escalation order."""

    contact_id: str
    hub_id: str | None
    role: str
    position: int
    channels: tuple[str, ...]
    hours: str
    consent: bool
    name: str
    phone: str = ""
    email: str = ""

    def __repr__(self) -> str:
        return f"Contact({self.contact_id}, {self.role}, hub={self.hub_id})"

    def address_for(self, channel: str) -> str:
        """The phone number or email address for a channel ('' if none)."""
        return self.phone if channel == ChannelName.SMS else self.email


RESIDENT_SEALED = ("name", "address", "access", "key_safe", "health_notes", "response_protocol")
CONTACT_SEALED = ("name", "phone", "email")
