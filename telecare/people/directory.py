"""Managing residents and contacts: validation, sealing, and reading them back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import msgspec

from telecare.people.crypto import FieldCipher
from telecare.people.model import (
    CONTACT_SEALED,
    RESIDENT_SEALED,
    ChannelName,
    Contact,
    Resident,
    Role,
)
from telecare.store import Store, StoreError
from telecare.store.base import ContactRow

_HOURS: Final = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_PHONE: Final = re.compile(r"^\+?[0-9 ()-]{6,20}$")


class ContactSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A contact as the import file and the CLI give it."""

    role: str
    name: str
    phone: str = ""
    email: str = ""
    channels: list[str] = msgspec.field(default_factory=lambda: ["sms", "email"])
    hours: str = ""
    consent: bool = False


class ResidentSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A resident with contacts, as the import file gives it."""

    hub_id: str
    name: str
    address: str = ""
    access: str = ""
    key_safe: str = ""
    health_notes: str = ""
    response_protocol: str = ""
    contacts: list[ContactSpec] = msgspec.field(default_factory=list)


class PeopleFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The import file: residents with their contacts, and the centre's supervisors."""

    residents: list[ResidentSpec] = msgspec.field(default_factory=list)
    centre: list[ContactSpec] = msgspec.field(default_factory=list)


class Directory:
    """Residents and contacts for one store, sealed with one key."""

    def __init__(self, store: Store, cipher: FieldCipher) -> None:
        self.store = store
        self.cipher = cipher

    def put_resident(self, spec: ResidentSpec, *, now: int) -> str:
        """Register (or replace) the resident of a hub; return the resident id."""
        if self.store.hub(spec.hub_id) is None:
            raise StoreError(f"hub {spec.hub_id} is not registered")
        if not spec.name.strip():
            raise StoreError("a resident needs a name")
        people = self.store.people
        existing = people.resident(spec.hub_id)
        resident_id: str = existing[0] if existing else people.next_id("R")
        record = {key: getattr(spec, key) for key in RESIDENT_SEALED}
        sealed = self.cipher.seal(record, bound_to=f"resident:{resident_id}")
        people.put_resident(resident_id, spec.hub_id, sealed, now)
        return resident_id

    def add_contact(self, hub_id: str | None, spec: ContactSpec, *, now: int,
                    position: int | None = None) -> str:
        """Add a contact to a hub's list (or to the centre's, for None); return its id."""
        _check_contact(hub_id, spec)
        if hub_id is not None and self.store.hub(hub_id) is None:
            raise StoreError(f"hub {hub_id} is not registered")
        people = self.store.people
        contact_id = people.next_id("C")
        if position is None:
            position = len(people.contacts(hub_id)) + 1
        record = {key: getattr(spec, key) for key in CONTACT_SEALED}
        sealed = self.cipher.seal(record, bound_to=f"contact:{contact_id}")
        row: ContactRow = (contact_id, hub_id, spec.role, position, ",".join(spec.channels),
                           spec.hours, int(spec.consent), sealed)
        people.put_contact(row, now)
        return contact_id

    def resident(self, hub_id: str) -> Resident | None:
        """Return a hub's resident, decrypted."""
        found = self.store.people.resident(hub_id)
        if found is None:
            return None
        resident_id, sealed = found
        record = self.cipher.open(sealed, bound_to=f"resident:{resident_id}")
        return Resident(resident_id=resident_id, hub_id=hub_id, **record)

    def contacts(self, hub_id: str | None) -> list[Contact]:
        """Return a hub's contacts (None: the centre's staff) in escalation order, decrypted."""
        return [self._contact(row) for row in self.store.people.contacts(hub_id)]

    def contact(self, contact_id: str) -> Contact | None:
        """Return one contact, decrypted."""
        row = self.store.people.contact(contact_id)
        return self._contact(row) if row else None

    def _contact(self, row: ContactRow) -> Contact:
        contact_id, hub_id, role, position, channels, hours, consent, sealed = row
        record = self.cipher.open(sealed, bound_to=f"contact:{contact_id}")
        return Contact(contact_id=contact_id, hub_id=hub_id, role=role, position=position,
                       channels=tuple(c for c in channels.split(",") if c), hours=hours,
                       consent=bool(consent), **record)

    def import_file(self, path: Path, *, now: int) -> tuple[int, int]:
        """Import residents, contacts and centre staff from JSON; all or nothing."""
        try:
            data = msgspec.json.decode(path.read_bytes(), type=PeopleFile)
        except (OSError, msgspec.DecodeError) as exc:
            raise StoreError(f"cannot import {path}: {exc}") from exc
        residents = contacts = 0
        with self.store.transaction():
            for spec in data.residents:
                self.put_resident(spec, now=now)
                residents += 1
                for contact in spec.contacts:
                    self.add_contact(spec.hub_id, contact, now=now)
                    contacts += 1
            for staff in data.centre:
                self.add_contact(None, staff, now=now)
                contacts += 1
        return residents, contacts


def _check_contact(hub_id: str | None, spec: ContactSpec) -> None:
    roles = {r.value for r in Role}
    if spec.role not in roles:
        raise StoreError(f"role {spec.role!r} is not one of {', '.join(sorted(roles))}")
    if (spec.role == Role.SUPERVISOR) != (hub_id is None):
        raise StoreError("supervisors belong to the centre (no hub); other roles to a hub")
    if not spec.name.strip():
        raise StoreError("a contact needs a name")
    unknown = set(spec.channels) - {c.value for c in ChannelName}
    if unknown or not spec.channels:
        raise StoreError(f"channels must be sms and/or email, not {sorted(unknown)}")
    if ChannelName.SMS in spec.channels and not _PHONE.match(spec.phone):
        raise StoreError("an SMS contact needs a phone number such as +447700900123")
    if ChannelName.EMAIL in spec.channels and "@" not in spec.email:
        raise StoreError("an email contact needs an email address")
    if spec.hours and not _HOURS.match(spec.hours):
        raise StoreError(f"hours must look like 08:00-22:00, not {spec.hours!r}")
