"""The shared domain model: hubs, devices, events and alerts.

Every package may import this module; it imports none of them. Times are
integer milliseconds since the Unix epoch, UTC, throughout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, Final

import msgspec

DEFAULT_HEARTBEAT_S: Final = 60
DEFAULT_TZ: Final = "Europe/London"


class Priority(IntEnum):
    """Queue priority, as alarm receiving centres order their work (DOMAIN.md)."""

    LIFE_SAFETY = 1
    CONFIRMED = 2
    WELFARE = 3
    TECHNICAL = 4
    INFORMATION = 5


class AlertType(StrEnum):
    """What an alert is about."""

    PENDANT_PRESS = "pendant_press"
    FALL = "fall"
    SMOKE = "smoke"
    HUB_SILENT = "hub_silent"
    LOW_BATTERY = "low_battery"
    CLOCK_FAULT = "clock_fault"
    FALL_DETECTED = "fall_detected"
    INACTIVITY = "inactivity"
    NIGHT_EXIT = "night_exit"
    DOOR_LEFT_OPEN = "door_left_open"
    SENSOR_FAULT = "sensor_fault"
    ROUTINE_CHANGE = "routine_change"
    MAINS_LOST = "mains_lost"


class AlertState(StrEnum):
    """Where an alert is in its life: open, acknowledged by a person, resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """How a person closed an alert (the documented outcome codes)."""

    FALSE_ALARM = "false_alarm"
    RESIDENT_OK = "resident_ok"
    CARER_ATTENDED = "carer_attended"
    RESPONDER_ATTENDED = "responder_attended"
    AMBULANCE_CALLED = "ambulance_called"
    TECHNICAL_FIXED = "technical_fixed"
    TEST_CALL = "test_call"
    NO_ACTION_NEEDED = "no_action_needed"


class Hub(msgspec.Struct, frozen=True):
    """A home hub: the one IP-connected device of a home."""

    hub_id: str
    heartbeat_s: int
    tz: str
    registered_at: int
    seq_epoch: int = 0


class HubSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Per-home detection rules, set by an installer and kept with the hub.

    Rules that suit only some residents (night exit, for people living with
    dementia) are off by default. Times of day are the home's local clock.
    """

    night_exit: bool = False
    night_start: str = "22:00"
    night_end: str = "07:00"
    return_min: int = 15
    door_open_min: int = 15
    inactivity: bool = True
    # fixed inactivity timer (hours) while the home's own pattern is being learned
    fallback_h: float = 4.0
    routine: bool = True
    # with a bed pad: out of bed in the night hours and no sign of life for this long
    # (a fall on the way to the toilet); 0 switches it off
    out_of_bed_min: int = 45
    # with a bed pad: still in bed two hours (or three spreads) past this home's usual rising
    not_up: bool = True
    # with a bed pad: still in bed at this local time (HH:MM) raises whatever the usual
    # rising (a carer's morning visit, a resident's own "call me if I am not up by");
    # empty: none set
    up_by: str = ""
    # out by an exit door and no sign of life since for this many hours raises "not back"
    # (the field's "not returned"; also a resident who let a visitor out and then fell,
    # whom nothing tells from one gone out); 0: off, the default
    not_back_h: float = 0.0


class Device(msgspec.Struct, frozen=True):
    """A sensor registered on a hub, with the room or door it watches."""

    hub_id: str
    device_id: str
    type: str
    location: str = ""


class Event(msgspec.Struct, frozen=True):
    """One accepted device event, as stored and as detection sees it.

    `event_time` is the device time, or the receipt time where the device
    clock is known to be wrong (`clock_fault`).
    """

    hub_id: str
    seq: int
    device_id: str
    type: str
    event: str
    ts: int
    event_time: int
    received_at: int
    channel: str
    value: float | dict[str, Any] | None = None
    battery: float | None = None
    misrouted: bool = False
    unregistered_device: bool = False
    clock_fault: bool = False

    def flags(self) -> tuple[str, ...]:
        """Name what is unusual about how this event arrived."""
        marks = (
            ("unregistered_device", self.unregistered_device),
            ("misrouted", self.misrouted),
            ("clock_fault", self.clock_fault),
        )
        return tuple(name for name, on in marks if on)


class Alert(msgspec.Struct, frozen=True):
    """An alert as the operator queue and the CLI show it."""

    id: int
    hub_id: str
    type: str
    priority: int
    state: str
    raised_at: int
    received_at: int
    reason: str
    occurrences: int = 1
    device_id: str | None = None
    last_raised_at: int | None = None
    acknowledged_at: int | None = None
    acknowledged_by: str | None = None
    resolved_at: int | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    cleared_at: int | None = None
    cancelled_at: int | None = None
    flags: tuple[str, ...] = ()
    audience: str = "operator"
    suppressed_by: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Return the alert as JSON-ready fields, times in RFC 3339."""
        out: dict[str, Any] = msgspec.structs.asdict(self)
        for key, value in out.items():
            if key.endswith("_at"):
                out[key] = rfc3339(value) if value is not None else None
        out["flags"] = list(self.flags)
        return out


def rfc3339(ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC with millisecond precision."""
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 timestamp into epoch milliseconds."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
