"""What a hub sends, as pure data: its resident's activity, heartbeats, batteries and faults.

Shared by the live publisher and the event-log writer, so that a recorded log
and a live run of the same homes and seed tell the same story. A hub's events
are planned a local day at a time and kept as compact arrays, which is what
lets one process drive 100k hubs.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta, tzinfo
from operator import itemgetter
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from firmware_sim.faults import DEAD, MUTE, OFFLINE, Batteries, HubFaults, heartbeat_phase
from firmware_sim.homes import HomeSpec
from firmware_sim.incidents import DEFAULT_WEIGHTS, IncidentPlanner, Truth
from firmware_sim.kits import CODES, HEARTBEAT
from firmware_sim.routine import ResidentLife
from firmware_sim.timefmt import DayClock, local_day

# Not events: the hub's link goes down (its will fires) or comes back.
LINK_DOWN: Final = len(CODES)
LINK_UP: Final = len(CODES) + 1


class HubEvent(NamedTuple):
    """One event as a hub reports it: an event-log row, plus the battery level sent with it."""

    at: float
    hub_id: str
    device_id: str
    type: str
    event: str
    location: str
    value: float | dict[str, Any] | None = None
    battery: float | None = None


class HubStream:
    """Everything one hub sends from start (to until, or for ever), one item at a time.

    An item is (time, code, value, held_until): held_until is set for an event
    made while the hub's link was down, which reaches the broker only when the
    link is back. Codes LINK_DOWN and LINK_UP mark the link's changes.
    """

    __slots__ = (
        "_codes", "_day_end", "_held", "_i", "_times", "_values", "batteries", "day", "faults",
        "hb_base", "hb_k", "hb_next", "hb_step", "home", "life", "segments", "start", "truths",
        "until",
    )

    def __init__(
        self,
        home: HomeSpec,
        *,
        seed: int,
        start: float,
        until: float | None = None,
        incident_rate: float = 0.0,
        weights: Mapping[str, float] = DEFAULT_WEIGHTS,
        asked: Sequence[tuple[str, float, float | None]] = (),
        tz: tzinfo | None = None,
        keep_segments: bool = False,
    ) -> None:
        self.home = home
        self.start = start
        self.until = until if until is not None else float("inf")
        planner = IncidentPlanner(home, seed=seed, rate_per_week=incident_rate, weights=weights,
                                  asked=asked)
        self.life = ResidentLife(home, seed=seed, planner=planner, tz=tz)
        self.batteries = Batteries(home, seed=seed)
        self.faults = HubFaults(home, self.batteries)
        self.hb_step = float(home.heartbeat_s)
        # The k-th heartbeat is at base + k * step: no drift from summing floats.
        self.hb_base = round(start + heartbeat_phase(home, seed=seed), 3)
        self.hb_k = 0
        self.hb_next = self.hb_base
        self.truths: list[Truth] = []
        self.segments: list[tuple[float, float, str]] | None = [] if keep_segments else None
        """Where the resident was (asleep, out, ...), when asked to keep it."""
        self.day = local_day(start, self.life.tz)
        self._times = array("d")
        self._codes = array("H")
        self._values: dict[int, float] = {}
        self._held: dict[int, float] | None = None
        self._i = 0
        self._plan_day()
        while self._i < len(self._times) and self._times[self._i] < start:
            self._i += 1

    @property
    def tz(self) -> tzinfo:
        """The home's time zone."""
        return self.life.tz

    def _plan_day(self) -> None:
        """Plan the next local day: the resident's, the devices', the hub's faults."""
        day = self.day
        clock = DayClock(day, self.life.tz)
        self.day = day + timedelta(days=1)
        self._day_end = clock.next_midnight
        rday = self.life.day(day)
        faults = self.faults
        for at, truth in rday.truths:
            self._keep_truth(at, truth)
        if self.segments is not None:
            self.segments.extend(rday.segments)
        for p in rday.hub_incidents:
            acted = faults.act(p, clock.midnight)
            if acted is not None:
                self._keep_truth(*acted)
        items: list[tuple[float, int, float | None]] = list(
            zip(rday.times, rday.codes, [None] * len(rday.times), strict=True)
        )
        items.extend(self.batteries.daily_reports(clock.midnight, clock.next_midnight))
        items.extend(faults.take_until(clock.next_midnight))
        for w in faults.windows:
            if w.kind in (DEAD, OFFLINE) and clock.midnight <= w.start < clock.next_midnight:
                items.append((w.start, LINK_DOWN, None))
            if w.kind in (DEAD, OFFLINE) and clock.midnight <= w.end < clock.next_midnight:
                items.append((w.end, LINK_UP, None))
        # Link changes have the highest codes, so they follow any event at the same time.
        items.sort(key=itemgetter(0, 1))
        times, codes = array("d"), array("H")
        values: dict[int, float] = {}
        held: dict[int, float] | None = None
        windows = [w for w in faults.windows if w.end > clock.midnight]
        faults.windows = windows
        for at, c, value in items:
            if windows and c < LINK_DOWN:
                w = _window_at(windows, at)
                if w is not None:
                    if w.kind != OFFLINE:
                        continue
                    if held is None:
                        held = {}
                    held[len(times)] = w.end
            if value is not None:
                values[len(times)] = value
            times.append(at)
            codes.append(c)
        self._times, self._codes, self._values, self._held, self._i = times, codes, values, held, 0

    def _keep_truth(self, at: float, truth: Truth) -> None:
        if self.start <= at < self.until:
            self.truths.append(truth)

    def next_item(self) -> tuple[float, int, float | None, float | None] | None:
        """Return the hub's next item, or None once past until."""
        while True:
            while self._i >= len(self._times) and self.hb_next >= self._day_end:
                self._plan_day()
            i = self._i
            if i < len(self._times) and self._times[i] <= self.hb_next:
                at = self._times[i]
                self._i = i + 1
                if at >= self.until:
                    return None
                held = self._held.get(i) if self._held is not None else None
                return at, self._codes[i], self._values.get(i), held
            at = self.hb_next
            if at >= self.until:
                return None
            windows = self.faults.windows
            w = _window_at(windows, at) if windows else None
            if w is None:
                self.hb_k += 1
                self.hb_next = self.hb_base + self.hb_k * self.hb_step
                return at, HEARTBEAT, None, None
            if w.end == math.inf:
                if w.kind != OFFLINE:
                    return None  # dead or mute for good: nothing more will come
                self.hb_next = math.inf
                continue
            # No heartbeats while the window lasts: skip to the first one after it.
            self.hb_k = max(self.hb_k + 1, math.ceil((w.end - self.hb_base) / self.hb_step))
            self.hb_next = self.hb_base + self.hb_k * self.hb_step

    def events(self) -> Iterator[HubEvent]:
        """Yield the hub's events (link changes left out) as HubEvent, in time order."""
        hub_id = self.home.hub_id
        while (item := self.next_item()) is not None:
            at, c, value, _ = item
            if c >= LINK_DOWN:
                continue
            spec = CODES[c]
            yield HubEvent(at, hub_id, spec.device_id, spec.type, spec.event, spec.location, value)


def _window_at(windows: list[Any], at: float) -> Any:
    for w in windows:
        if w.start <= at < w.end:
            return w
    return None


def hub_events(
    home: HomeSpec,
    *,
    seed: int,
    start: float,
    until: float | None = None,
    tz: tzinfo | None = None,
    incident_rate: float = 0.0,
    truths: list[Truth] | None = None,
) -> Iterator[HubEvent]:
    """Yield what a hub sends from start to until (Unix seconds), or for ever, in time order.

    Injected incidents' ground truth is appended to `truths` (if given) as the
    days that hold them are planned.
    """
    stream = HubStream(home, seed=seed, start=start, until=until, incident_rate=incident_rate,
                       tz=tz if tz is not None else ZoneInfo(home.tz))
    if truths is not None:
        stream.truths = truths
    return stream.events()


__all__ = ["LINK_DOWN", "LINK_UP", "MUTE", "HubEvent", "HubStream", "hub_events"]
