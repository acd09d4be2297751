"""A resident's days as sensor activity, with the incidents that befall the resident.

Pure and seeded: no I/O and no clock; the caller says from when, and the same
seed always gives the same activity. Times of day are the home's local wall
clock; activity times are Unix seconds (UTC).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from firmware_sim.day import DAY, HOUR, LYING, MIN, OUT, VISIT, DayWriter
from firmware_sim.habits import Habits, Illness, day_shape, habits_of
from firmware_sim.homes import HomeSpec
from firmware_sim.incidents import IncidentKind, IncidentPlanner, Planned, Truth, truth
from firmware_sim.kits import CODES, FALL_DETECTOR, MOTION, PENDANT, code, fitted_codes
from firmware_sim.seeds import home_random
from firmware_sim.timefmt import DayClock, format_ts, local_day

# Battery PIRs sleep after a trigger to save power, so a busy room is not a
# stream of triggers. Configurable on real devices; one minute here.
PIR_REARM_S: Final = 60.0
RESIDENT_KINDS: Final = frozenset({
    IncidentKind.PENDANT_PRESS, IncidentKind.DEVICE_FALL, IncidentKind.SILENT_COLLAPSE,
    IncidentKind.NIGHT_EXIT_RETURN, IncidentKind.NIGHT_EXIT_NO_RETURN, IncidentKind.ILLNESS,
})
_ACTED_OUT: Final = frozenset({
    IncidentKind.PENDANT_PRESS, IncidentKind.DEVICE_FALL, IncidentKind.SILENT_COLLAPSE,
})
_DAY_STREAM: Final = 2
_MOTION_CODES: Final = frozenset(MOTION.values())
_PRESS, _PENDANT_CANCEL = code(PENDANT, "press"), code(PENDANT, "cancel")
_FALL, _FALL_CANCEL = code(FALL_DETECTOR, "fall"), code(FALL_DETECTOR, "cancel")
# Latest moments for a collapse and for its discovery, so the day can end normally.
_LATEST_COLLAPSE: Final = 20.0 * HOUR
_LATEST_FOUND: Final = 22.0 * HOUR


class Activity(NamedTuple):
    """One thing a sensor saw: when (Unix seconds), which device, what happened."""

    at: float
    device_id: str
    type: str
    event: str
    value: float | None = None


@dataclass(slots=True)
class ResidentDay:
    """One local day of a home: activity (sorted), where the resident was, what befell them."""

    times: list[float]
    codes: list[int]
    segments: list[tuple[float, float, str]]
    """(start, end, state) in Unix seconds: asleep, out, garden, visit, lying."""
    truths: list[tuple[float, Truth]] = field(default_factory=list)
    hub_incidents: list[Planned] = field(default_factory=list)
    """Incidents of the day for the hub to act out (faults, batteries, noisy sensors)."""

    def activities(self) -> list[Activity]:
        """The day's activity as named tuples."""
        out = []
        for at, c in zip(self.times, self.codes, strict=True):
            spec = CODES[c]
            out.append(Activity(at, spec.device_id, spec.type, spec.event))
        return out


def free_spans(
    segments: list[tuple[float, float, str]], lo: float, hi: float, margin: float
) -> list[tuple[float, float]]:
    """The spans in [lo, hi] when the resident is awake, at home and alone."""
    spans = [(lo, hi)]
    for a, b, _ in segments:
        a, b = a - margin, b + margin
        cut = []
        for s, e in spans:
            if b <= s or a >= e:
                cut.append((s, e))
                continue
            if a > s:
                cut.append((s, a))
            if b < e:
                cut.append((b, e))
        spans = cut
    return [(s, e) for s, e in spans if e - s > 60.0]


def pick_time(spans: list[tuple[float, float]], r: random.Random) -> float | None:
    """Pick a moment uniformly over the spans, or None when there are none."""
    total = sum(e - s for s, e in spans)
    if total <= 0:
        return None
    u = r.uniform(0.0, total)
    for s, e in spans:
        if u <= e - s:
            return s + u
        u -= e - s
    return spans[-1][1]


class ResidentLife:
    """One resident's days, one after the other, with incidents planned as they come."""

    def __init__(self, home: HomeSpec, *, seed: int, planner: IncidentPlanner | None = None,
                 tz: tzinfo | None = None) -> None:
        self.home = home
        self.seed = seed
        self.tz = tz if tz is not None else ZoneInfo(home.tz)
        self.habits: Habits = habits_of(home, seed=seed)
        self.fitted = fitted_codes(home.devices)
        self.planner = planner
        self._illness: Illness | None = None
        self._ill_until = 0.0

    def day(self, day: date) -> ResidentDay:
        """Write one local day, midnight to midnight."""
        clock = DayClock(day, self.tz)
        planned = (
            self.planner.for_day(day.toordinal(), clock.midnight, clock.next_midnight)
            if self.planner is not None else []
        )
        ours = [p for p in planned if p.kind in RESIDENT_KINDS]
        truths: list[tuple[float, Truth]] = []
        for p in ours:
            if p.kind == IncidentKind.ILLNESS:
                truths.append(self._fall_ill(p, clock))
        illness = self._illness if clock.midnight < self._ill_until else None
        r = home_random(self.seed, self.home.hub_id, _DAY_STREAM, day.toordinal())
        shape = day_shape(self.habits, day, r, illness)
        w = DayWriter(self.habits, shape, r, self.fitted)
        exits = [p for p in ours if p.kind in (IncidentKind.NIGHT_EXIT_RETURN,
                                               IncidentKind.NIGHT_EXIT_NO_RETURN)]
        if exits:
            p = exits[0]
            returned = p.kind == IncidentKind.NIGHT_EXIT_RETURN
            pinned = None if p.at is None else p.at - clock.midnight
            door, back = w.write_night_exit(p.r, pinned, returned=returned)
            truths.append((clock.at(door), truth(
                self.home.hub_id, p.kind, clock.at(door), clock.at(back),
                device_id="door-front", returned=returned,
                brought_back=not returned,
            )))
        else:
            w.write()
        acted = [p for p in ours if p.kind in _ACTED_OUT]
        pending = self._act_out(w, acted, clock)
        times, codes = _finish(w, clock)
        for p, moment, end, extra in pending:
            start = moment
            if p.kind == IncidentKind.SILENT_COLLAPSE:
                # The last thing any sensor saw: a detector cannot know more.
                start = max((t for t in times if t <= moment), default=moment)
                extra["collapsed_at"] = format_ts(moment)
            truths.append((start, truth(self.home.hub_id, p.kind, start, end, **extra)))
        segments = sorted((clock.at(a), clock.at(b), s) for a, b, s in w.segments)
        return ResidentDay(times, codes, segments, truths,
                           [p for p in planned if p.kind not in RESIDENT_KINDS])

    def _fall_ill(self, p: Planned, clock: DayClock) -> tuple[float, Truth]:
        r = p.r
        self._illness = Illness(r.uniform(0.4, 0.7), r.uniform(2.5, 4.0))
        days = round((p.duration_s or 30 * DAY) / DAY)
        self._ill_until = clock.midnight + days * DAY
        end = DayClock(local_day(clock.midnight, self.tz) + timedelta(days=days), self.tz)
        return (clock.midnight, truth(
            self.home.hub_id, p.kind, clock.midnight, end.midnight, days=days,
            activity_factor=round(self._illness.activity_factor, 2),
            night_toilet_factor=round(self._illness.night_toilet_factor, 2),
        ))

    def _act_out(
        self, w: DayWriter, planned: list[Planned], clock: DayClock
    ) -> list[tuple[Planned, float, float | None, dict[str, object]]]:
        """Place presses, falls and collapses in the written day; return their truth so far."""
        shape = w.shape
        out: list[tuple[Planned, float, float | None, dict[str, object]]] = []
        for p in planned:
            r = p.r
            latest = min(shape.bed - 60.0 * MIN, _LATEST_FOUND)
            if p.kind == IncidentKind.SILENT_COLLAPSE:
                latest = min(latest, _LATEST_COLLAPSE)
            if p.at is not None:
                at: float | None = p.at - clock.midnight
            else:
                spans = free_spans(w.segments, shape.wake + 30.0 * MIN, latest, 10.0 * MIN)
                at = pick_time(spans, r)
            if at is None:
                continue  # no moment at home and awake today: the incident does not happen
            if p.kind == IncidentKind.PENDANT_PRESS:
                w.emit(at, _PRESS)
                cancelled = r.random() < 0.25
                end = at + r.uniform(10.0, 60.0) if cancelled else None
                if end is not None:
                    w.emit(end, _PENDANT_CANCEL)
                out.append((p, clock.at(at), None if end is None else clock.at(end),
                            {"device_id": PENDANT, "cancelled": cancelled}))
            elif p.kind == IncidentKind.DEVICE_FALL:
                w.emit(at, _FALL)
                cancelled = r.random() < 0.3
                if cancelled:
                    end = at + r.uniform(10.0, 60.0)
                    w.emit(end, _FALL_CANCEL)
                else:
                    end = min(max(at + r.uniform(20.0, 120.0) * MIN, at + 10 * MIN),
                              max(_LATEST_FOUND, at + 10 * MIN))
                    w.interrupt(at, end)
                out.append((p, clock.at(at), clock.at(end),
                            {"device_id": FALL_DETECTOR, "cancelled": cancelled}))
            else:
                hours = r.uniform(2.0, max(2.0, min(10.0, (_LATEST_FOUND - at) / HOUR)))
                found = at + hours * HOUR
                w.interrupt(at, found)
                out.append((p, clock.at(at), clock.at(found), {"found_by": "carer"}))
        return out


def _finish(w: DayWriter, clock: DayClock) -> tuple[list[float], list[int]]:
    """Sort the day's marks into Unix times and drop PIR triggers during the re-arm time."""
    last_trigger: dict[int, float] = {}
    times: list[float] = []
    codes: list[int] = []
    at_of = clock.at
    plain = clock.plain
    base = clock.midnight
    for offset, c in sorted(zip(w.times, w.codes, strict=True)):
        at = base + offset if plain else at_of(offset)
        if c in _MOTION_CODES:
            if at - last_trigger.get(c, -PIR_REARM_S) < PIR_REARM_S:
                continue
            last_trigger[c] = at
        times.append(at)
        codes.append(c)
    return times, codes


def resident_day(
    home: HomeSpec, day: date, *, seed: int, tz: tzinfo | None = None
) -> list[Activity]:
    """Return one local day (midnight to midnight) of a home's activity, in time order."""
    return ResidentLife(home, seed=seed, tz=tz).day(day).activities()


def resident_days(
    home: HomeSpec, first: date, days: int, *, seed: int, planner: IncidentPlanner | None = None
) -> Iterator[ResidentDay]:
    """Yield a home's local days from first, with the planner's incidents acted out."""
    life = ResidentLife(home, seed=seed, planner=planner)
    for k in range(days):
        yield life.day(first + timedelta(days=k))


def resident_activity(
    home: HomeSpec, *, seed: int, start: float, until: float | None = None,
    tz: tzinfo | None = None,
) -> Iterator[Activity]:
    """Yield a home's activity from start to until (Unix seconds), or for ever, in time order."""
    life = ResidentLife(home, seed=seed, tz=tz)
    day = local_day(start, life.tz)
    while until is None or DayClock(day, life.tz).midnight < until:
        for activity in life.day(day).activities():
            if until is not None and activity.at >= until:
                return
            if activity.at >= start:
                yield activity
        day += timedelta(days=1)


# Segment states, re-exported for callers that inspect presence.
__all__ = [
    "LYING", "OUT", "PIR_REARM_S", "VISIT", "Activity", "ResidentDay", "ResidentLife",
    "free_spans", "pick_time", "resident_activity", "resident_day", "resident_days",
]
