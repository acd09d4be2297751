"""What a hub and its devices do on their own: batteries, and the faults of hubs and sensors.

Pure and seeded, like the routine. A fault is acted out as extra events (in a
heap the hub drains day by day, since faults span midnight) and as windows
during which the hub is dead, offline or mute.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from firmware_sim.homes import HomeSpec
from firmware_sim.incidents import IncidentKind, Planned, Truth, noisy_candidates, truth
from firmware_sim.kits import (
    BED_PAD,
    CATALOGUE,
    CHAIR_PAD,
    HUB_BATTERY,
    MAINS_LOST,
    MAINS_RESTORED,
    code,
)
from firmware_sim.seeds import home_random
from firmware_sim.timefmt import format_ts

DAY_S: Final = 86400.0
HOUR_S: Final = 3600.0
# Installers change batteries on their rounds before devices call them low,
# so in an ordinary home a level only falls to this and is then back to full.
BATTERY_CHANGED_AT: Final = 0.3
# The level devices (and the service) call low; a low_battery incident starts
# with the first report under it.
LOW_BATTERY_LEVEL: Final = 0.2
_BATTERY_EPOCH: Final = 1577836800.0  # 2020-01-01
_BATTERY_STREAM: Final = 3
_HEARTBEAT_STREAM: Final = 4
_LOW_REPORT_EVERY_S: Final = 6 * HOUR_S

DEAD: Final = "dead"
"""The hub is off (power lost, backup battery flat): nothing is sent or kept."""
OFFLINE: Final = "offline"
"""The hub's link is down: no heartbeats; what sensors report waits for the link."""
MUTE: Final = "mute"
"""The hub is connected and sends nothing (hung firmware)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time in which a hub is dead, offline or mute."""

    start: float
    end: float
    kind: str


def heartbeat_phase(home: HomeSpec, *, seed: int) -> float:
    """Seconds after the run starts of a hub's first heartbeat: hubs boot at different times."""
    return home_random(seed, home.hub_id, _HEARTBEAT_STREAM).uniform(0.0, home.heartbeat_s)


class Batteries:
    """The battery levels of one home's devices, a pure function of time, and their reports."""

    __slots__ = ("_device_ids", "_drain", "_flat", "_phase", "_used0")

    def __init__(self, home: HomeSpec, *, seed: int) -> None:
        r = home_random(seed, home.hub_id, _BATTERY_STREAM)
        span = 1.0 - BATTERY_CHANGED_AT
        self._device_ids = [d.device_id for d in home.devices]
        # Per device: used at the epoch, drain per day, time of day of its daily report
        # (arrays: 100k homes' worth of floats as objects would cost a gigabyte).
        self._used0 = array("d", (r.uniform(0.0, span) for _ in self._device_ids))
        self._drain = array("d", (r.uniform(0.0006, 0.002) for _ in self._device_ids))
        self._phase = array("d", (r.uniform(0.0, DAY_S) for _ in self._device_ids))
        self._flat: dict[str, tuple[float, float]] | None = None

    def level(self, device_id: str, at: float) -> float:
        """Return a device's battery level (0..1) at a time (Unix seconds)."""
        k = self._device_ids.index(device_id)
        used = self._used0[k] + self._drain[k] * (at - _BATTERY_EPOCH) / DAY_S
        flat = self._flat.get(device_id) if self._flat else None
        if flat is not None:
            start, end = flat
            if start <= at < end:
                # A failing cell: under 20% from start, a little lower each day.
                return round(max(0.01, LOW_BATTERY_LEVEL - 0.01 - 0.01 * (at - start) / DAY_S), 3)
            if at >= end:
                used = self._drain[k] * (at - end) / DAY_S  # a new battery at end
        return round(1.0 - used % (1.0 - BATTERY_CHANGED_AT), 3)

    def run_down(self, device_id: str, start: float, end: float) -> None:
        """Let a device's battery report under 20% from start until it is changed at end."""
        if self._flat is None:
            self._flat = {}
        self._flat[device_id] = (start, end)

    def daily_reports(
        self, midnight: float, next_midnight: float
    ) -> list[tuple[float, int, float]]:
        """Each device's daily battery report in a local day: (time, code, level)."""
        out = []
        scale = (next_midnight - midnight) / DAY_S
        for k, device_id in enumerate(self._device_ids):
            at = round(midnight + self._phase[k] * scale, 3)
            out.append((at, code(device_id, "battery"), self.level(device_id, at)))
        return out


class HubFaults:
    """The faults planned for one hub: extra events still to come, and windows of silence."""

    def __init__(self, home: HomeSpec, batteries: Batteries) -> None:
        self.home = home
        self.batteries = batteries
        self.future: list[tuple[float, int, float | None]] = []
        self.windows: list[Window] = []
        # Each noisy device's events still to come, and the next of them.
        self._noisy: list[tuple[Iterator[tuple[float, int]], list[tuple[float, int]]]] = []

    def add(self, at: float, code_: int, value: float | None = None) -> None:
        """Queue an event for the day it falls on."""
        heapq.heappush(self.future, (round(at, 3), code_, value))

    def _pull_noise(self, until: float) -> None:
        for events, head in self._noisy:
            while head and head[0][0] < until:
                self.add(*head.pop())
                head.extend(itertools.islice(events, 1))
        self._noisy = [(events, head) for events, head in self._noisy if head]

    def take_until(self, until: float) -> list[tuple[float, int, float | None]]:
        """Remove and return the queued events before until, in time order."""
        if self._noisy:
            self._pull_noise(until)
        out = []
        while self.future and self.future[0][0] < until:
            out.append(heapq.heappop(self.future))
        return out

    def act(self, p: Planned, midnight: float) -> tuple[float, Truth] | None:
        """Act out one hub-level incident starting on the day from midnight; return its truth."""
        r = p.r
        # Whole seconds, so that the truth's times (written to the second) are exact.
        start = float(round(p.at if p.at is not None else midnight + r.uniform(0.0, DAY_S)))
        end = math.inf if p.duration_s is None else float(round(start + p.duration_s))
        hub = self.home.hub_id
        if p.kind == IncidentKind.HUB_OFFLINE:
            self.windows.append(Window(start, end, OFFLINE))
            return start, truth(hub, p.kind, start, _finite(end), cause="network")
        if p.kind == IncidentKind.HUB_SILENT:
            self.windows.append(Window(start, end, MUTE))
            return start, truth(hub, p.kind, start, _finite(end))
        if p.kind == IncidentKind.HUB_POWER_LOSS:
            return start, self._power_loss(p, start, end)
        if p.kind == IncidentKind.LOW_BATTERY:
            device_id = r.choice([d.device_id for d in self.home.devices])
            self.batteries.run_down(device_id, start, end)
            battery = code(device_id, "battery")
            at = start
            while at < min(end, start + 30 * DAY_S):
                self.add(at, battery, self.batteries.level(device_id, at))
                at += _LOW_REPORT_EVERY_S
            if end < math.inf:
                self.add(end, battery, 1.0)
            return start, truth(hub, p.kind, start, _finite(end), device_id=device_id,
                                level=self.batteries.level(device_id, start))
        if p.kind == IncidentKind.NOISY_SENSOR:
            device_id = r.choice(noisy_candidates(self.home))
            mode = "stuck" if CATALOGUE[device_id].type == "motion" else "chatter"
            self._noise(p, device_id, mode, start, min(end, start + 7 * DAY_S))
            return start, truth(hub, p.kind, start, _finite(end), device_id=device_id, mode=mode)
        raise ValueError(f"{p.kind} is not a hub-level incident")

    def _power_loss(self, p: Planned, start: float, end: float) -> Truth:
        r = p.r
        backup_h = round(r.uniform(2.0, 24.0), 2)
        dead_from = float(round(start + backup_h * HOUR_S))
        self.add(start, MAINS_LOST)
        at = start
        while at < min(end, dead_from):
            level = max(0.0, 1.0 - (at - start) / (dead_from - start))
            self.add(at + 1.0, HUB_BATTERY, round(level, 3))
            at += HOUR_S
        if dead_from < end:
            self.windows.append(Window(dead_from, end, DEAD))
        if end < math.inf:
            self.add(end + 1.0, MAINS_RESTORED)
        return truth(
            self.home.hub_id, p.kind, start, _finite(end + 1.0), backup_h=backup_h,
            dead_from=format_ts(dead_from) if dead_from < end else None,
        )

    def _noise(self, p: Planned, device_id: str, mode: str, start: float, end: float) -> None:
        # Drawn a day at a time (take_until), not all at once: days of a stuck
        # PIR are thousands of events, and 100k homes are held in memory.
        events = _noisy_events(p.r, device_id, mode, start, end)
        self._noisy.append((events, list(itertools.islice(events, 1))))


def _noisy_events(
    r: random.Random, device_id: str, mode: str, start: float, end: float
) -> Iterator[tuple[float, int]]:
    """The spurious events of a noisy device, in time order."""
    at = start
    if mode == "stuck":
        active = code(device_id, "active")
        while at < end:
            yield at, active
            at += r.uniform(60.0, 75.0)
        return
    pair = ("occupied", "vacant") if device_id in (BED_PAD, CHAIR_PAD) else ("open", "closed")
    codes = (code(device_id, pair[0]), code(device_id, pair[1]))
    while at < end:
        burst_end = min(end, at + r.uniform(1.0, 10.0) * 60.0)
        k = 0
        while at < burst_end:
            yield at, codes[k % 2]
            k += 1
            at += r.uniform(1.0, 10.0)
        at = burst_end + r.uniform(10.0, 60.0) * 60.0


def _finite(at: float) -> float | None:
    return at if at < math.inf else None
