"""A resident's day as sensor activity: a pure, seeded generator in simulated time.

No I/O and no clock: the caller says from when, and the same seed always gives
the same activity. Times of day are the home's local wall clock; activity
times are Unix seconds (UTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from firmware_sim.homes import BED_PAD, FRIDGE, FRONT_DOOR, TOILET_FLUSH, HomeSpec, pir_id
from firmware_sim.seeds import home_rng

# The service's default time zone for time-of-day rules (TELECARE_DEFAULT_TZ).
HOME_TZ: Final = ZoneInfo("Europe/London")
# Battery PIRs sleep after a trigger to save power, so a busy room is not a
# stream of triggers. Configurable on real devices; one minute here.
PIR_REARM_S: Final = 60.0

_MIN: Final = 60.0
_HOUR: Final = 3600.0
_HABITS_STREAM: Final = 1
_DAY_STREAM: Final = 2
# Latest bedtime, and latest start of a night visit before midnight, so that one
# day's activity always ends before the next day's begins.
_LATEST_BED_H: Final = 23.4
_LATEST_NIGHT_VISIT_H: Final = 23.6
_EARLIEST_NIGHT_VISIT_H: Final = 0.3


class Activity(NamedTuple):
    """One thing a sensor saw: when (Unix seconds), which device, what happened."""

    at: float
    device_id: str
    type: str
    event: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Habits:
    """What makes one resident's days alike: usual times, night visits, going out."""

    wake_h: float
    bed_h: float
    lunch_h: float
    dinner_h: float
    night_toilet_per_h: float
    outing_chance: float
    sitting_motion_gap_s: float


def habits_of(hub_id: str, *, seed: int) -> Habits:
    """Draw the habits of the resident of a home, the same for the same seed."""
    rng = home_rng(seed, hub_id, _HABITS_STREAM)
    return Habits(
        wake_h=rng.uniform(6.25, 8.5),
        bed_h=rng.uniform(21.5, 23.0),
        lunch_h=rng.uniform(12.0, 13.25),
        dinner_h=rng.uniform(17.25, 18.75),
        night_toilet_per_h=rng.uniform(0.05, 0.2),
        outing_chance=rng.uniform(0.15, 0.5),
        sitting_motion_gap_s=rng.uniform(6.0, 15.0) * _MIN,
    )


class _Day:
    """One day being written, as offsets in seconds from local midnight."""

    def __init__(self, present: frozenset[str], habits: Habits, rng: np.random.Generator) -> None:
        self.present = present
        self.habits = habits
        self.rng = rng
        self.marks: list[tuple[float, str, str, str]] = []

    def emit(self, t: float, device_id: str, type_: str, event: str) -> None:
        # The resident does the same whatever is fitted; only fitted devices see it.
        if device_id in self.present:
            self.marks.append((t, device_id, type_, event))

    def motion(self, t: float, room: str) -> None:
        self.emit(t, pir_id(room), "motion", "active")

    def stay(self, room: str, start: float, end: float, mean_gap_s: float) -> float:
        self.motion(start, room)
        t = start + self.rng.exponential(mean_gap_s)
        while t < end:
            self.motion(t, room)
            t += self.rng.exponential(mean_gap_s)
        return end

    def walk(self, t: float) -> float:
        self.motion(t, "hall")
        return t + self.rng.uniform(5.0, 20.0)

    def toilet(self, t: float, *, minutes: tuple[float, float] = (2.0, 6.0)) -> float:
        t = self.walk(t)
        end = t + self.rng.uniform(*minutes) * _MIN
        self.stay("bathroom", t, end, 1.5 * _MIN)
        self.emit(end - self.rng.uniform(10.0, 40.0), TOILET_FLUSH, "usage", "active")
        return self.walk(end)

    def night_toilet(self, t: float) -> float:
        self.emit(t, BED_PAD, "bed", "vacant")
        self.motion(t + self.rng.uniform(3.0, 15.0), "bedroom")
        t = self.toilet(t + self.rng.uniform(20.0, 40.0))
        self.motion(t, "bedroom")
        t += self.rng.uniform(20.0, 60.0)
        self.emit(t, BED_PAD, "bed", "occupied")
        return t

    def kitchen(self, t: float, *, minutes: tuple[float, float], fridge_uses: int) -> float:
        t = self.walk(t)
        end = t + self.rng.uniform(*minutes) * _MIN
        self.stay("kitchen", t, end, 2.0 * _MIN)
        for at in np.sort(self.rng.uniform(t, end, fridge_uses)):
            self.emit(float(at), FRIDGE, "usage", "active")
        return self.walk(end)

    def go_out(self, t: float, duration_s: float) -> float:
        self.motion(t, "hall")
        t += self.rng.uniform(20.0, 90.0)
        self.emit(t, FRONT_DOOR, "door", "open")
        self.emit(t + self.rng.uniform(3.0, 15.0), FRONT_DOOR, "door", "closed")
        t += duration_s
        self.emit(t, FRONT_DOOR, "door", "open")
        t += self.rng.uniform(3.0, 15.0)
        self.emit(t, FRONT_DOOR, "door", "closed")
        self.motion(t + self.rng.uniform(2.0, 10.0), "hall")
        return t + 30.0

    def at_home(self, t: float, end: float) -> float:
        """Sit in the lounge until end, with short trips (each under ten minutes)."""
        while t < end - 10.0 * _MIN:
            sit_end = min(end, t + self.rng.uniform(25.0, 100.0) * _MIN)
            t = self.stay("lounge", t, sit_end, self.habits.sitting_motion_gap_s)
            if t >= end - 10.0 * _MIN:
                break
            trip = self.rng.random()
            if trip < 0.45:
                t = self.toilet(t)
            elif trip < 0.8:
                uses = int(self.rng.random() < 0.6)
                t = self.kitchen(t, minutes=(1.5, 5.0), fridge_uses=uses)
            else:
                t = self.walk(t)
                t = self.stay("bedroom", t, t + self.rng.uniform(2.0, 7.0) * _MIN, _MIN)
        return max(t, end)

    def half_day(self, t: float, end: float) -> float:
        """Pass time until end, going out now and then."""
        spare = end - t - 30.0 * _MIN
        if self.rng.random() < self.habits.outing_chance and spare > 50.0 * _MIN:
            duration = self.rng.uniform(40.0 * _MIN, min(spare - 10.0 * _MIN, 4.0 * _HOUR))
            leave = t + self.rng.uniform(0.0, spare - duration)
            t = self.go_out(self.at_home(t, leave), duration)
        return self.at_home(t, end)

    def night(self, start: float, end: float) -> None:
        """Asleep in bed from start to end, getting up for the toilet now and then."""
        if end <= start:
            return
        visits = self.rng.poisson(self.habits.night_toilet_per_h * (end - start) / _HOUR)
        free_from = start
        for at in np.sort(self.rng.uniform(start, end, visits)):
            if at >= free_from:
                free_from = self.night_toilet(float(at)) + 10.0 * _MIN

    def write(self) -> None:
        """Write the whole day, midnight to midnight."""
        habits, rng = self.habits, self.rng
        wake = (habits.wake_h + rng.normal(0.0, 0.3)) * _HOUR
        bed = min(_LATEST_BED_H, habits.bed_h + rng.normal(0.0, 0.4)) * _HOUR
        lunch = (habits.lunch_h + rng.normal(0.0, 0.3)) * _HOUR
        dinner = (habits.dinner_h + rng.normal(0.0, 0.3)) * _HOUR

        self.night(_EARLIEST_NIGHT_VISIT_H * _HOUR, wake - 0.4 * _HOUR)
        self.emit(wake, BED_PAD, "bed", "vacant")
        up = wake + rng.uniform(5.0, 60.0)
        t = self.stay("bedroom", up, wake + rng.uniform(3.0, 10.0) * _MIN, _MIN)
        t = self.toilet(t, minutes=(8.0, 25.0))
        t = self.kitchen(t, minutes=(15.0, 35.0), fridge_uses=int(rng.integers(1, 3)))
        t = self.half_day(t, lunch)
        t = self.kitchen(t, minutes=(20.0, 45.0), fridge_uses=int(rng.integers(1, 4)))
        t = self.half_day(t, dinner)
        t = self.kitchen(t, minutes=(30.0, 60.0), fridge_uses=int(rng.integers(1, 4)))
        t = self.at_home(t, bed - 20.0 * _MIN)
        t = self.toilet(t, minutes=(4.0, 12.0))
        self.stay("bedroom", t, max(t + 60.0, bed), 2.0 * _MIN)
        self.emit(max(t + 60.0, bed), BED_PAD, "bed", "occupied")
        self.night(max(t, bed) + 0.75 * _HOUR, _LATEST_NIGHT_VISIT_H * _HOUR)


def resident_day(home: HomeSpec, day: date, *, seed: int, tz: tzinfo = HOME_TZ) -> list[Activity]:
    """Return one local day (midnight to midnight) of a home's activity, in time order."""
    present = frozenset(d.device_id for d in home.devices)
    rng = home_rng(seed, home.hub_id, _DAY_STREAM, day.toordinal())
    writer = _Day(present, habits_of(home.hub_id, seed=seed), rng)
    writer.write()
    midnight = datetime.combine(day, time(), tzinfo=tz)
    # Wall-clock arithmetic, so that 07:00 stays 07:00 on the days the clocks change.
    day_activity = sorted(
        Activity(round((midnight + timedelta(seconds=t)).timestamp(), 3), device, type_, event)
        for t, device, type_, event in writer.marks
    )
    last_trigger: dict[str, float] = {}
    kept = []
    for activity in day_activity:
        if activity.type == "motion":
            if activity.at - last_trigger.get(activity.device_id, -PIR_REARM_S) < PIR_REARM_S:
                continue
            last_trigger[activity.device_id] = activity.at
        kept.append(activity)
    return kept


def resident_activity(
    home: HomeSpec, *, seed: int, start: float, until: float | None = None, tz: tzinfo = HOME_TZ
) -> Iterator[Activity]:
    """Yield a home's activity from start to until (Unix seconds), or for ever, in time order."""
    day = datetime.fromtimestamp(start, tz).date()
    while until is None or datetime.combine(day, time(), tzinfo=tz).timestamp() < until:
        for activity in resident_day(home, day, seed=seed, tz=tz):
            if until is not None and activity.at >= until:
                return
            if activity.at >= start:
                yield activity
        day += timedelta(days=1)
