"""The seam every store backend fills (SQLite now, PostgreSQL next).

Callers type against `Store`; a backend is any class with these methods.
Every write happens inside `transaction()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from telecare.model import Alert, Device, Event, Hub

DeadLetterRow = tuple[int, str, str, str, str | None, int | None, bytes]


class Store(Protocol):
    """Registry, events, dead letters, alerts and audit."""

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
