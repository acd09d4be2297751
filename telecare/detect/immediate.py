"""Immediate alarms: a pendant press, a device-reported fall, smoke. Priority 1."""

from __future__ import annotations

from typing import Final

from telecare.detect.decisions import Cancel, Clear, Decision, Raise
from telecare.model import AlertType, Event, Priority

_ALARMS: Final[dict[tuple[str, str], AlertType]] = {
    ("pendant", "press"): AlertType.PENDANT_PRESS,
    ("fall", "fall"): AlertType.FALL,
    ("smoke", "alarm"): AlertType.SMOKE,
}
_CANCELS: Final[dict[tuple[str, str], AlertType]] = {
    ("pendant", "cancel"): AlertType.PENDANT_PRESS,
    ("fall", "cancel"): AlertType.FALL,
}
_RESTORES: Final[dict[tuple[str, str], AlertType]] = {("smoke", "clear"): AlertType.SMOKE}
# what the operator reads ("fall fall on device ..." said the event's type and name twice)
_WORDS: Final[dict[AlertType, str]] = {
    AlertType.PENDANT_PRESS: "pendant pressed",
    AlertType.FALL: "fall reported",
    AlertType.SMOKE: "smoke alarm",
}


def immediate(event: Event) -> Decision | None:
    """Return the decision an alarm-type event calls for, however late it arrives."""
    key = (event.type, event.event)
    if (alert_type := _ALARMS.get(key)) is not None:
        return Raise(
            hub_id=event.hub_id,
            type=alert_type,
            priority=Priority.LIFE_SAFETY,
            at=event.event_time,
            received_at=event.received_at,
            reason=f"{_WORDS[alert_type]} on device {event.device_id}",
            device_id=event.device_id,
            flags=event.flags(),
        )
    if (alert_type := _CANCELS.get(key)) is not None:
        return Cancel(event.hub_id, alert_type, event.event_time)
    if (alert_type := _RESTORES.get(key)) is not None:
        return Clear(event.hub_id, alert_type, event.event_time)
    return None
