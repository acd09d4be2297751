"""What a hub sends, as pure data: its resident's activity, its heartbeats, battery levels.

Shared by the live publisher and the event-log writer, so that a recorded log
and a live run of the same homes and seed tell the same story.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from firmware_sim.homes import HomeSpec
from firmware_sim.routine import HOME_TZ, Activity, resident_activity
from firmware_sim.seeds import home_rng
from telecare.protocol import HUB_DEVICE

# A device reports its battery with an event at most this often.
BATTERY_REPORT_EVERY_S: Final = 6 * 3600.0
# Installers change a battery before it is flat, so the level is a sawtooth.
_BATTERY_REPLACED_AT: Final = 0.05
_BATTERY_EPOCH: Final = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
_DAY_S: Final = 86400.0
_BATTERY_STREAM: Final = 3
_HEARTBEAT_STREAM: Final = 4


@dataclass(frozen=True, slots=True)
class HubEvent:
    """One event as a hub reports it: an event-log row plus the battery level sent with it."""

    at: float
    hub_id: str
    device_id: str
    type: str
    event: str
    location: str
    value: float | dict[str, Any] | None = None
    battery: float | None = None


class Batteries:
    """The battery levels of one home's devices: a slow drain, as a pure function of time."""

    def __init__(self, home: HomeSpec, *, seed: int) -> None:
        rng = home_rng(seed, home.hub_id, _BATTERY_STREAM)
        self._used_at_epoch: dict[str, float] = {}
        self._drain_per_day: dict[str, float] = {}
        for device in home.devices:
            self._used_at_epoch[device.device_id] = float(rng.uniform(0.0, 0.9))
            # Roughly one to three years from new to replaced.
            self._drain_per_day[device.device_id] = float(rng.uniform(0.0009, 0.0027))

    def level(self, device_id: str, at: float) -> float:
        """Return a device's battery level (0..1) at a time (Unix seconds)."""
        used = self._used_at_epoch[device_id]
        used += self._drain_per_day[device_id] * (at - _BATTERY_EPOCH) / _DAY_S
        return round(1.0 - used % (1.0 - _BATTERY_REPLACED_AT), 3)


def heartbeat_times(home: HomeSpec, *, seed: int, start: float) -> Iterator[float]:
    """Yield the times of a hub's heartbeats from start, every heartbeat_s, for ever."""
    # Hubs boot at different times, so their heartbeats are not in step.
    phase = float(home_rng(seed, home.hub_id, _HEARTBEAT_STREAM).uniform(0.0, home.heartbeat_s))
    return (round(start + phase + k * home.heartbeat_s, 3) for k in itertools.count())


def hub_events(
    home: HomeSpec, *, seed: int, start: float, until: float | None = None, tz: tzinfo = HOME_TZ
) -> Iterator[HubEvent]:
    """Yield what a hub sends from start to until (Unix seconds), or for ever, in time order."""
    locations = {d.device_id: d.location for d in home.devices}
    batteries = Batteries(home, seed=seed)
    reported_at: dict[str, float] = {}
    beats = (
        Activity(at, HUB_DEVICE, "hub", "heartbeat")
        for at in heartbeat_times(home, seed=seed, start=start)
    )
    activity = resident_activity(home, seed=seed, start=start, until=until, tz=tz)
    for item in heapq.merge(activity, beats, key=lambda a: a.at):
        if until is not None and item.at >= until:
            return
        battery = None
        if item.device_id != HUB_DEVICE:
            last = reported_at.get(item.device_id)
            if last is None or item.at - last >= BATTERY_REPORT_EVERY_S:
                reported_at[item.device_id] = item.at
                battery = batteries.level(item.device_id, item.at)
        yield HubEvent(
            at=item.at,
            hub_id=home.hub_id,
            device_id=item.device_id,
            type=item.type,
            event=item.event,
            location=locations.get(item.device_id, ""),
            value=item.value,
            battery=battery,
        )
