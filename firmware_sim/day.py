"""One day of a resident's life, written as sensor marks and presence segments.

Offsets are seconds from local midnight. The resident does the same whatever is
fitted; only fitted devices see it. Presence segments say where the resident
was (asleep, out, in the garden, with a visitor, lying helpless), which is what
tests and the incident planner need and what no sensor reports.
"""

from __future__ import annotations

import random
from typing import Final

from firmware_sim.habits import DayShape, Habits
from firmware_sim.kits import (
    BACK_DOOR,
    BATHROOM_DOOR,
    BED_PAD,
    BEDROOM_DOOR,
    CHAIR_PAD,
    CUPBOARD,
    FRIDGE,
    FRONT_DOOR,
    KETTLE,
    MICROWAVE,
    MOTION,
    TOILET_FLUSH,
    code,
)

MIN: Final = 60.0
HOUR: Final = 3600.0
DAY: Final = 86400.0
EARLIEST_NIGHT_VISIT: Final = 0.3 * HOUR
LATEST_NIGHT_VISIT: Final = 23.6 * HOUR

ASLEEP: Final = "asleep"
OUT: Final = "out"
GARDEN: Final = "garden"
VISIT: Final = "visit"
LYING: Final = "lying"
"""Collapsed or fallen, not moving, until someone comes."""

_FRONT_OPEN, _FRONT_CLOSED = code(FRONT_DOOR, "open"), code(FRONT_DOOR, "closed")
_BACK_OPEN, _BACK_CLOSED = code(BACK_DOOR, "open"), code(BACK_DOOR, "closed")
_BEDROOM_OPEN, _BEDROOM_CLOSED = code(BEDROOM_DOOR, "open"), code(BEDROOM_DOOR, "closed")
_BATHROOM_OPEN, _BATHROOM_CLOSED = code(BATHROOM_DOOR, "open"), code(BATHROOM_DOOR, "closed")
_BED_IN, _BED_OUT = code(BED_PAD, "occupied"), code(BED_PAD, "vacant")
_CHAIR_IN, _CHAIR_OUT = code(CHAIR_PAD, "occupied"), code(CHAIR_PAD, "vacant")
_FLUSH, _FRIDGE = code(TOILET_FLUSH, "active"), code(FRIDGE, "active")
_KETTLE, _MICROWAVE, _CUPBOARD = code(KETTLE, "active"), code(MICROWAVE, "active"), code(
    CUPBOARD, "active"
)


class DayWriter:
    """Writes one day, midnight to midnight, block by block."""

    def __init__(self, habits: Habits, shape: DayShape, r: random.Random, fitted: bytes) -> None:
        self.habits = habits
        self.shape = shape
        self.r = r
        self.fitted = fitted
        self.times: list[float] = []
        self.codes: list[int] = []
        self.segments: list[tuple[float, float, str]] = []
        ill = shape.illness
        self.activity = ill.activity_factor if ill is not None else 1.0
        self.night_factor = ill.night_toilet_factor if ill is not None else 1.0

    # -- marks ---------------------------------------------------------------------------

    def emit(self, t: float, c: int) -> None:
        """Record that device event c happened at t, if its device is fitted."""
        if self.fitted[c]:
            self.times.append(t)
            self.codes.append(c)

    def motion(self, t: float, room: str) -> None:
        """The PIR of a room sees the resident at t."""
        self.emit(t, MOTION[room])

    def stay(self, room: str, start: float, end: float, mean_gap_s: float) -> float:
        """Move about in a room from start to end; return end."""
        c = MOTION[room]
        if not self.fitted[c]:
            return end  # nothing sees it: spare the draws
        times, codes, expo, rate = self.times, self.codes, self.r.expovariate, 1.0 / mean_gap_s
        t = start
        while t < end:
            times.append(t)
            codes.append(c)
            t += expo(rate)
        return end

    def walk(self, t: float) -> float:
        """Cross the hall."""
        self.motion(t, "hall")
        return t + self.r.uniform(5.0, 20.0)

    # -- blocks --------------------------------------------------------------------------

    def toilet(self, t: float, minutes: tuple[float, float] = (2.0, 6.0)) -> float:
        """Go to the bathroom (the door shut behind), flush, come out."""
        t = self.walk(t)
        self.emit(t + self.r.uniform(2.0, 6.0), _BATHROOM_CLOSED)
        end = t + self.r.uniform(*minutes) * MIN
        self.stay("bathroom", t, end, 1.5 * MIN)
        self.emit(end - self.r.uniform(10.0, 40.0), _FLUSH)
        self.emit(end, _BATHROOM_OPEN)
        return self.walk(end + 2.0)

    def night_toilet(self, t: float) -> float:
        """Get out of bed, use the toilet, go back to bed; return when back in bed."""
        self.emit(t, _BED_OUT)
        self.motion(t + self.r.uniform(3.0, 15.0), "bedroom")
        self.emit(t + self.r.uniform(16.0, 19.0), _BEDROOM_OPEN)
        t = self.toilet(t + self.r.uniform(20.0, 40.0))
        self.motion(t, "bedroom")
        self.emit(t + 3.0, _BEDROOM_CLOSED)
        t += self.r.uniform(20.0, 60.0)
        self.emit(t, _BED_IN)
        return t

    def kitchen(self, t: float, minutes: tuple[float, float], uses: int, *, hot: bool) -> float:
        """Prepare something in the kitchen: the fridge, a cupboard, the kettle or microwave."""
        t = self.walk(t)
        end = t + self.r.uniform(*minutes) * MIN * self.activity
        self.stay("kitchen", t, end, 2.0 * MIN / self.activity)
        r = self.r
        for _ in range(uses):
            self.emit(r.uniform(t, end), _FRIDGE if r.random() < 0.6 else _CUPBOARD)
        if hot:
            self.emit(r.uniform(t, end), _KETTLE if r.random() < 0.6 else _MICROWAVE)
        return self.walk(end)

    def front_door(self, t: float) -> float:
        """Open and close the front door; return when it is closed."""
        self.emit(t, _FRONT_OPEN)
        t += self.r.uniform(3.0, 15.0)
        self.emit(t, _FRONT_CLOSED)
        return t

    def go_out(self, t: float, duration_s: float) -> float:
        """Leave by the front door and come back after duration_s; nothing inside meanwhile."""
        self.motion(t, "hall")
        leave = t + self.r.uniform(20.0, 90.0)
        self.front_door(leave)
        back = leave + duration_s
        t = self.front_door(back)
        self.segments.append((leave, t, OUT))
        self.motion(t + self.r.uniform(2.0, 10.0), "hall")
        return t + 30.0

    def visit(self, t: float, duration_s: float, *, busy_gap_s: float = 3.0 * MIN) -> float:
        """Someone calls: the door, the lounge and the kettle busier than usual, then they go."""
        self.motion(t, "hall")
        start = t + self.r.uniform(10.0, 40.0)
        self.front_door(start)
        t = self.stay("hall", start + 20.0, start + 60.0, MIN)
        t = self.kitchen(t, (3.0, 8.0), 1, hot=True)
        end = start + duration_s
        t = self.stay("lounge", t, max(t + MIN, end - 2.0 * MIN), busy_gap_s)
        t = self.walk(t)
        t = self.front_door(t + 10.0)
        self.segments.append((start, t, VISIT))
        return t + 30.0

    def garden(self, t: float) -> float:
        """Out through the back door into the garden for a while."""
        t = self.walk(t)
        self.motion(t, "kitchen")
        out = t + self.r.uniform(10.0, 30.0)
        self.emit(out, _BACK_OPEN)
        self.emit(out + self.r.uniform(3.0, 10.0), _BACK_CLOSED)
        back = out + self.r.uniform(10.0, 45.0) * MIN
        self.emit(back, _BACK_OPEN)
        self.emit(back + self.r.uniform(3.0, 10.0), _BACK_CLOSED)
        self.segments.append((out, back + 10.0, GARDEN))
        self.motion(back + 15.0, "kitchen")
        return back + 30.0

    def sit(self, t: float, end: float, *, still: bool = False) -> float:
        """Sit in the lounge chair until end: PIR now and then, or nothing at all in a nap."""
        self.emit(t, _CHAIR_IN)
        if still:
            self.motion(t, "lounge")
        else:
            self.stay("lounge", t, end, self.habits.sitting_motion_gap_s / self.activity)
        self.emit(end, _CHAIR_OUT)
        return end + 5.0

    def at_home(self, t: float, end: float) -> float:
        """Sit in the lounge until end, with short trips (each under ten minutes)."""
        r = self.r
        while t < end - 10.0 * MIN:
            spell = r.uniform(25.0, 100.0) * MIN / self.activity
            t = self.sit(t, min(end, t + spell))
            if t >= end - 10.0 * MIN:
                break
            trip = r.random()
            if trip < 0.45:
                t = self.toilet(t)
            elif trip < 0.8 * self.activity + 0.45 * (1 - self.activity):
                t = self.kitchen(t, (1.5, 5.0), int(r.random() < 0.6), hot=r.random() < 0.3)
            else:
                t = self.walk(t)
                t = self.stay("bedroom", t, t + r.uniform(2.0, 7.0) * MIN, MIN)
        return max(t, end)

    def half_day(self, t: float, end: float, *, afternoon: bool) -> float:
        """Pass time until end: maybe out, in the garden, a nap or a visitor."""
        r, habits, shape = self.r, self.habits, self.shape
        spare = end - t - 30.0 * MIN
        unwell = shape.illness is not None
        if afternoon and shape.visitor and spare > 100.0 * MIN:
            duration = r.uniform(30.0, min(120.0, spare / MIN - 40.0)) * MIN
            arrive = t + r.uniform(0.0, spare - duration)
            t = self.visit(self.at_home(t, arrive), duration)
        elif not unwell and r.random() < habits.outing_chance and spare > 50.0 * MIN:
            duration = r.uniform(40.0 * MIN, min(spare - 10.0 * MIN, 4.0 * HOUR))
            leave = t + r.uniform(0.0, spare - duration)
            t = self.go_out(self.at_home(t, leave), duration)
        elif not unwell and r.random() < habits.garden_chance and spare > 60.0 * MIN:
            t = self.garden(self.at_home(t, t + r.uniform(0.0, spare - 60.0 * MIN)))
        if unwell and end - t > 90.0 * MIN:
            t = self.rest_in_bed(self.at_home(t, t + r.uniform(10.0, 30.0) * MIN),
                                 r.uniform(40.0, max(40.0, min(180.0, (end - t) / MIN - 45.0)))
                                 * MIN)
        nap = habits.nap_chance if not unwell else min(1.0, habits.nap_chance + 0.4)
        if afternoon and r.random() < nap and end - t > 100.0 * MIN:
            t = self.toilet(self.at_home(t, t + r.uniform(10.0, 30.0) * MIN))
            t = self.sit(t, t + r.uniform(40.0, 90.0) * MIN, still=True)
        return self.at_home(t, end)

    def rest_in_bed(self, t: float, duration_s: float) -> float:
        """Lie down in bed for a while, as the unwell do: nothing moves."""
        t = self.walk(t)
        self.motion(t, "bedroom")
        self.emit(t + self.r.uniform(20.0, 60.0), _BED_IN)
        end = t + duration_s
        self.emit(end, _BED_OUT)
        self.motion(end + 10.0, "bedroom")
        return self.walk(end + 20.0)

    def night(self, start: float, end: float) -> None:
        """Asleep in bed from start to end, getting up for the toilet now and then."""
        rate = self.habits.night_toilet_per_h * self.night_factor / HOUR
        t = start + self.r.expovariate(rate) if rate > 0 else end
        while t < end:
            t = self.night_toilet(t) + 10.0 * MIN
            t += self.r.expovariate(rate)

    def wake_up(self, wake: float) -> float:
        """Out of bed, to the bathroom, then breakfast; return when breakfast is done."""
        r = self.r
        self.emit(wake, _BED_OUT)
        up = wake + r.uniform(5.0, 60.0)
        t = self.stay("bedroom", up, wake + r.uniform(3.0, 10.0) * MIN, MIN)
        self.emit(t, _BEDROOM_OPEN)
        t = self.toilet(t + 2.0, (8.0, 25.0))
        return self.kitchen(t, (15.0, 35.0), r.randint(1, 2), hot=True)

    def go_to_bed(self, t: float, bed: float) -> float:
        """Last toilet visit, into the bedroom, door shut, into bed; return the time in bed."""
        t = self.toilet(t, (4.0, 12.0))
        self.motion(t, "bedroom")
        self.emit(t + 4.0, _BEDROOM_CLOSED)
        in_bed = max(t + 60.0, bed)
        self.stay("bedroom", t, in_bed, 2.0 * MIN)
        self.emit(in_bed, _BED_IN)
        return in_bed

    def evening(self, t: float) -> None:
        """Dinner, the evening at home (a worker may go out), bed and the first hours asleep."""
        shape, r = self.shape, self.r
        t = self.kitchen(max(t, shape.dinner), (30.0, 60.0), r.randint(1, 3), hot=True)
        room = shape.bed - 20.0 * MIN - t
        if shape.works and r.random() < self.habits.outing_chance / 3 and room > 3.0 * HOUR:
            t = self.go_out(self.at_home(t, t + r.uniform(0.0, 30.0) * MIN),
                            r.uniform(1.0, room / HOUR - 1.5) * HOUR)
        t = self.at_home(t, shape.bed - 20.0 * MIN)
        in_bed = self.go_to_bed(t, shape.bed)
        self.segments.append((in_bed, DAY, ASLEEP))
        self.night(in_bed + 0.75 * HOUR, LATEST_NIGHT_VISIT)

    def daytime(self, t: float) -> float:
        """From after breakfast to dinner."""
        shape, habits, r = self.shape, self.habits, self.r
        if shape.works:
            leave_h = habits.work_leave_h + r.gauss(0.0, 0.15)
            t = self.at_home(t, max(t + 5.0 * MIN, leave_h * HOUR))
            back = (habits.work_return_h + r.gauss(0.0, 0.4)) * HOUR
            t = self.go_out(t, max(back - t, 6.0 * HOUR))
            return self.at_home(t, t + r.uniform(10.0, 40.0) * MIN)
        if habits.carer_h:
            t = self.at_home(t, max(t, habits.carer_h * HOUR + r.gauss(0.0, 900.0)))
            t = self.visit(t, r.uniform(25.0, 45.0) * MIN, busy_gap_s=1.5 * MIN)
        t = self.half_day(t, shape.lunch, afternoon=False)
        t = self.kitchen(max(t, shape.lunch), (20.0, 45.0), r.randint(1, 3), hot=True)
        return self.half_day(t, shape.dinner, afternoon=True)

    def write(self) -> None:
        """Write the whole ordinary day, midnight to midnight."""
        wake = self.shape.wake
        self.segments.append((0.0, wake, ASLEEP))
        self.night(EARLIEST_NIGHT_VISIT, wake - 0.4 * HOUR)
        t = self.wake_up(wake)
        self.evening(self.daytime(t))

    def write_night_exit(
        self, ri: random.Random, door_at: float | None, *, returned: bool
    ) -> tuple[float, float]:
        """Write a day whose night has the resident leave by the front door.

        Returns when the door opened and when it opened again on the way back
        in (alone, or brought back by someone hours later).
        """
        shape = self.shape
        if door_at is None:
            latest = max(min(4.5 * HOUR, shape.wake - 1.5 * HOUR), 1.0 * HOUR)
            door_at = ri.uniform(0.75 * HOUR, latest)
        self.night(EARLIEST_NIGHT_VISIT, door_at - 20.0 * MIN)
        up = door_at - ri.uniform(60.0, 180.0)
        self.emit(up, _BED_OUT)
        self.motion(up + 5.0, "bedroom")
        self.emit(up + 15.0, _BEDROOM_OPEN)
        self.motion(door_at - ri.uniform(10.0, 30.0), "hall")
        self.front_door(door_at)
        away = ri.uniform(3.0, 45.0) * MIN if returned else ri.uniform(1.0, 5.0) * HOUR
        back = door_at + away
        t = self.front_door(back)
        self.segments.append((0.0, door_at, ASLEEP))
        self.segments.append((door_at, t, OUT))
        self.motion(t + 5.0, "hall")
        self.motion(t + 30.0, "bedroom")
        self.emit(t + 35.0, _BEDROOM_CLOSED)
        in_bed = t + ri.uniform(60.0, 300.0)
        self.emit(in_bed, _BED_IN)
        wake = max(shape.wake, in_bed + ri.uniform(30.0, 90.0) * MIN)
        self.segments.append((in_bed, wake, ASLEEP))
        self.night(in_bed + 20.0 * MIN, wake - 0.4 * HOUR)
        self.evening(self.daytime(self.wake_up(wake)))
        return door_at, back

    def interrupt(self, at: float, found: float) -> None:
        """The resident goes down at `at` and moves no more; someone lets themselves in at found.

        Everything written after `at` is dropped; the rest of the day is written
        again from the moment the carer (or responder) arrives.
        """
        keep = [i for i, t in enumerate(self.times) if t <= at]
        self.times = [self.times[i] for i in keep]
        self.codes = [self.codes[i] for i in keep]
        self.segments = [(a, min(b, at), s) for a, b, s in self.segments if a < at]
        self.segments.append((at, found, LYING))
        shape, r = self.shape, self.r
        t = self.front_door(found)
        self.motion(t + 5.0, "hall")
        t = self.stay("lounge", t + 30.0, t + r.uniform(30.0, 60.0) * MIN, 1.5 * MIN)
        self.emit(t - r.uniform(60.0, 600.0), _KETTLE)
        t = self.front_door(self.walk(t) + 10.0)
        self.segments.append((found, t, VISIT))
        if t < shape.dinner + 2.0 * HOUR and t < shape.bed - 1.5 * HOUR:
            self.evening(t)
        else:
            in_bed = self.go_to_bed(t + 30.0, max(t + 10.0 * MIN, shape.bed))
            self.segments.append((in_bed, DAY, ASLEEP))
