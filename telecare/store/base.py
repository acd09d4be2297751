"""The seam every store backend fills (SQLite now, PostgreSQL next).

Callers type against `Store`; a backend is any class with these methods.
Every write happens inside `transaction()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from telecare.model import Alert, Device, Event, Hub

if TYPE_CHECKING:
    from telecare.store.alerting import Escalation, OutboxRow, Silence

DeadLetterRow = tuple[int, str, str, str, str | None, int | None, bytes]
# (contact_id, hub_id or None for centre staff, role, position, channels, hours, consent, sealed)
ContactRow = tuple[str, str | None, str, int, str, str, int, bytes]


class PeopleRows(Protocol):
    """Sealed resident and contact rows."""

    def put_resident(self, resident_id: str, hub_id: str, sealed: bytes, now: int) -> None:
        """Insert or replace the resident of a hub."""
        ...

    def resident(self, hub_id: str) -> tuple[str, bytes] | None:
        """Return (resident_id, sealed) for a hub's resident."""
        ...

    def put_contact(self, row: ContactRow, now: int) -> None:
        """Insert or replace a contact."""
        ...

    def contacts(self, hub_id: str | None) -> list[ContactRow]:
        """Return a hub's contacts (None: the centre's staff) in order."""
        ...

    def contact(self, contact_id: str) -> ContactRow | None:
        """Return one contact row."""
        ...

    def next_id(self, prefix: str) -> str:
        """A fresh opaque id."""
        ...


class AlertingRows(Protocol):
    """Escalations, outbox, acceptances and silences."""

    def put_escalation(self, e: Escalation, now: int) -> None:
        """Insert or replace an alert's escalation state."""
        ...

    def escalation(self, alert_id: int) -> Escalation | None:
        """Return an alert's escalation state."""
        ...

    def due_escalations(self, now: int, limit: int = 500) -> list[Escalation]:
        """Escalations whose next step is due."""
        ...

    def enqueue(self, values: dict[str, Any]) -> int | None:
        """Add a message; a key already present is ignored (returns None)."""
        ...

    def due_messages(self, now: int, limit: int) -> list[OutboxRow]:
        """Pending messages whose time has come, oldest first."""
        ...

    def message(self, message_id: int) -> OutboxRow | None:
        """Return one outbox row."""
        ...

    def messages(self, alert_id: int | None = None) -> list[OutboxRow]:
        """Every outbox row (of one alert), oldest first."""
        ...

    def message_by_token(self, token: str) -> OutboxRow | None:
        """Return the message an accept link was sent in."""
        ...

    def update_message(self, message_id: int, changes: dict[str, Any]) -> None:
        """Change some fields of an outbox row."""
        ...

    def cancel_pending(self, alert_id: int) -> int:
        """Cancel an alert's messages that have not gone out; return how many."""
        ...

    def accept(self, alert_id: int, contact_id: str, at: int, via: str) -> bool:
        """Record that a contact accepted; False if they already had."""
        ...

    def add_silence(self, hub_id: str | None, types: tuple[str, ...], starts_at: int,
                    ends_at: int, reason: str, by: str) -> int:
        """Create a silence; return its id."""
        ...

    def end_silence(self, silence_id: int, at: int) -> bool:
        """End a silence early; False if there is no such active silence."""
        ...

    def silences(self, *, active_at: int | None = None) -> list[Silence]:
        """All silences, or those in force at a time."""
        ...

    def newly_expired_silences(self, now: int) -> list[Silence]:
        """Silences that ran out and have not yet been written to the audit log."""
        ...


class Store(Protocol):
    """Registry, events, dead letters, alerts and audit."""

    @property
    def people(self) -> PeopleRows:
        """Sealed resident and contact rows."""
        ...

    @property
    def alerting(self) -> AlertingRows:
        """Escalations, outbox, acceptances and silences."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction: all of it commits, or none."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def registry_version(self) -> int:
        """A number that changes whenever a hub or device is added or changed."""
        ...

    def upsert_hub(self, hub_id: str, heartbeat_s: int, tz: str, now: int) -> Hub:
        """Register a hub, or change its heartbeat interval and time zone."""
        ...

    def upsert_device(self, device: Device, now: int) -> None:
        """Register a device on a hub, or change its type and location."""
        ...

    def reset_seq(self, hub_id: str) -> None:
        """Forget the hub's replay window."""
        ...

    def hub(self, hub_id: str) -> Hub | None:
        """Return one registered hub."""
        ...

    def hubs(self) -> list[Hub]:
        """Return every registered hub."""
        ...

    def device(self, hub_id: str, device_id: str) -> Device | None:
        """Return one registered device."""
        ...

    def devices(self, hub_id: str) -> list[Device]:
        """Return the devices registered on a hub."""
        ...

    def set_hub_status(self, hub_id: str, online: bool, at: int) -> None:
        """Record the hub's last `status` message."""
        ...

    def load_window(self, hub_id: str, seq_epoch: int) -> tuple[int, bytes] | None:
        """Return the stored (high, seen) of a hub's replay window."""
        ...

    def save_windows(self, rows: Iterable[tuple[str, int, int, bytes]]) -> None:
        """Store (hub_id, seq_epoch, high, seen) for every window a batch moved."""
        ...

    def insert_events(self, events: Sequence[Event]) -> None:
        """Store accepted events."""
        ...

    def insert_dead_letters(self, rows: Sequence[DeadLetterRow]) -> None:
        """Store rejected messages."""
        ...

    def unresolved_alert(self, hub_id: str, alert_type: str) -> Alert | None:
        """Return the hub's open or acknowledged alert of this type, if any."""
        ...

    def insert_alert(self, values: dict[str, Any]) -> int:
        """Insert a new alert; return its id."""
        ...

    def update_alert(self, alert_id: int, changes: dict[str, Any]) -> None:
        """Change some fields of an alert."""
        ...

    def alert(self, alert_id: int) -> Alert | None:
        """Return one alert."""
        ...

    def alerts(self, *, include_resolved: bool = False) -> list[Alert]:
        """Return alerts in queue order."""
        ...

    def open_alert_hubs(self, alert_type: str) -> list[str]:
        """Hubs with an unresolved, uncleared alert of this type."""
        ...

    def audit(self, at: int, actor: str, action: str, subject: str, detail: str = "") -> None:
        """Append one line to the audit log."""
        ...

    def all_devices(self) -> list[Device]:
        """Return every registered device of every hub."""
        ...

    def set_hub_settings(self, hub_id: str, settings_json: str) -> None:
        """Store a hub's detection rules (JSON of HubSettings)."""
        ...

    def hub_settings(self) -> dict[str, str]:
        """Return every hub's stored detection rules (JSON), by hub id."""
        ...

    def save_checkpoints(self, rows: Iterable[tuple[str, int, bytes]]) -> None:
        """Store (key, at, state) rows of detector state, replacing older ones."""
        ...

    def load_checkpoints(self) -> list[tuple[str, bytes]]:
        """Return every stored (key, state) row of detector state."""
        ...
