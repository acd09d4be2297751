"""What a notification says: the alert's reference and what is asked, never health details."""

from __future__ import annotations

from telecare.model import Alert, rfc3339

_WHAT = {
    "pendant_press": "pendant button pressed",
    "fall": "fall reported by the fall detector",
    "fall_detected": "possible fall detected",
    "smoke": "smoke alarm",
    "hub_silent": "home hub not responding",
    "low_battery": "a sensor battery is low",
    "clock_fault": "home hub clock is wrong",
    "mains_lost": "home hub on its backup battery (mains power lost)",
    "sensor_fault": "a sensor is faulty (chattering or stuck)",
    "routine_change": "a change in the usual daily routine",
    "inactivity": "no activity seen at home for longer than usual",
    "night_exit": "front door opened at night and no return",
    "door_left_open": "front door left open",
}


def describe(alert_type: str) -> str:
    """A plain description of an alert type for a message."""
    return _WHAT.get(alert_type, alert_type.replace("_", " "))


def compose(alert: Alert, *, kind: str, role: str, accept_url: str | None,
            reescalation_minutes: int = 0) -> tuple[str, str]:
    """Return (subject, body) for one notification."""
    ref = f"A{alert.id}/{alert.hub_id}"
    what = describe(alert.type)
    when = rfc3339(alert.raised_at)
    subject = f"Telecare P{alert.priority} {what} (ref {ref})"
    if kind == "reescalation":
        body = (f"Telecare: alert {ref} ({what}, priority {alert.priority}) was acknowledged "
                f"but is still unresolved after {reescalation_minutes} min. Please check it.")
    elif role == "supervisor":
        body = (f"Telecare: alert {ref} ({what}, priority {alert.priority}, raised {when}) "
                "has not been acknowledged. Please take it in the queue.")
    else:
        body = (f"Telecare: alert for the home you are a contact for (ref {ref}): {what} "
                f"at {when}.")
        if accept_url:
            body += f" If you can go, accept here: {accept_url} - or call the centre."
        else:
            body += " The monitoring centre is dealing with it."
    return subject, body
