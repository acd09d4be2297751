"""What detection decides: raise an alert, clear one, or note something on one."""

from __future__ import annotations

from dataclasses import dataclass

from telecare.model import AlertType, Priority


@dataclass(frozen=True, slots=True)
class Raise:
    """Open an alert, or join the open one of the same type for the hub."""

    hub_id: str
    type: AlertType
    priority: Priority
    at: int
    received_at: int
    reason: str
    device_id: str | None = None
    flags: tuple[str, ...] = ()
    # who it is for: the operator queue, or carers (welfare notices such as routine change)
    audience: str = "operator"
    # set when another condition explains this one away (e.g. "hub_silent" for inactivity
    # in a home whose hub is silent); the alert is still stored and shown, never hidden
    suppressed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Clear:
    """The device condition behind an open alert has ended (e.g. the hub speaks again)."""

    hub_id: str
    type: AlertType
    at: int


@dataclass(frozen=True, slots=True)
class Cancel:
    """The resident pressed "I'm OK": recorded on the open alarm, never closing it."""

    hub_id: str
    type: AlertType
    at: int


Decision = Raise | Clear | Cancel
