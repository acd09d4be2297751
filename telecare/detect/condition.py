"""Device conditions that raise a technical alert and clear it when they end:
low battery and a wrong device clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from telecare.detect.decisions import Clear, Decision, Raise
from telecare.model import AlertType, Event, Priority

LOW_BATTERY: Final = 0.20
# A level must climb this far before the alert clears, so a battery hovering
# at the threshold does not flap open and cleared with every report.
BATTERY_RESTORED: Final = 0.25


@dataclass
class DeviceConditions:
    """Which devices are low on battery and which hubs have a wrong clock."""

    _low: set[tuple[str, str]] = field(default_factory=set)
    _clock_faulty: set[str] = field(default_factory=set)

    def observe(self, event: Event) -> list[Decision]:
        """Return the raises and clears this event calls for."""
        out: list[Decision] = []
        level = _battery_level(event)
        if level is not None:
            key = (event.hub_id, event.device_id)
            if level < LOW_BATTERY and key not in self._low:
                self._low.add(key)
                out.append(
                    Raise(
                        hub_id=event.hub_id,
                        type=AlertType.LOW_BATTERY,
                        priority=Priority.TECHNICAL,
                        at=event.event_time,
                        received_at=event.received_at,
                        reason=f"battery of device {event.device_id} at {level:.0%}",
                        device_id=event.device_id,
                    )
                )
            elif level >= BATTERY_RESTORED and key in self._low:
                self._low.discard(key)
                out.append(Clear(event.hub_id, AlertType.LOW_BATTERY, event.event_time))
        if event.type == "hub" and event.event == "mains_lost":
            out.append(Raise(hub_id=event.hub_id, type=AlertType.MAINS_LOST,
                             priority=Priority.TECHNICAL, at=event.event_time,
                             received_at=event.received_at,
                             reason="hub lost mains power; running on its backup battery"))
        elif event.type == "hub" and event.event == "mains_restored":
            out.append(Clear(event.hub_id, AlertType.MAINS_LOST, event.event_time))
        if event.clock_fault and event.hub_id not in self._clock_faulty:
            self._clock_faulty.add(event.hub_id)
            skew_s = (event.ts - event.received_at) // 1000
            out.append(
                Raise(
                    hub_id=event.hub_id,
                    type=AlertType.CLOCK_FAULT,
                    priority=Priority.TECHNICAL,
                    at=event.received_at,
                    received_at=event.received_at,
                    reason=f"device clock off by {skew_s:+d} s; receipt time used",
                    device_id=event.device_id,
                )
            )
        elif not event.clock_fault and event.hub_id in self._clock_faulty:
            self._clock_faulty.discard(event.hub_id)
            out.append(Clear(event.hub_id, AlertType.CLOCK_FAULT, event.event_time))
        return out


def _battery_level(event: Event) -> float | None:
    if event.event == "battery" and isinstance(event.value, float | int):
        return float(event.value)
    return event.battery
