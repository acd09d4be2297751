"""What makes one resident's days alike (habits), and what one day looks like (its shape)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Final

from firmware_sim.homes import HomeSpec, Lifestyle
from firmware_sim.seeds import home_random

_HABITS_STREAM: Final = 1
# Latest bedtime, so that one day's activity always ends before the next day's begins.
LATEST_BED_H: Final = 23.4
_SATURDAY: Final = 5


@dataclass(frozen=True, slots=True)
class Habits:
    """A resident's usual times and tendencies (hours are local wall-clock hours)."""

    lifestyle: str
    wake_h: float
    bed_h: float
    weekend_lie_in_h: float
    lunch_h: float
    dinner_h: float
    night_toilet_per_h: float
    outing_chance: float
    """Chance of going out in a half-day at home (shops, a walk, the day centre)."""
    visitor_chance: float
    weekend_visitor_chance: float
    nap_chance: float
    garden_chance: float
    sitting_motion_gap_s: float
    """Mean time between PIR triggers while the resident sits: long, quiet spells."""
    work_leave_h: float
    work_return_h: float
    carer_h: float
    """When the morning carer calls (frail residents), else 0."""


def habits_of(home: HomeSpec | str, *, seed: int, lifestyle: str | None = None) -> Habits:
    """Draw the habits of the resident of a home, the same for the same seed."""
    hub_id = home if isinstance(home, str) else home.hub_id
    if lifestyle is None:
        lifestyle = Lifestyle.RETIRED if isinstance(home, str) else home.lifestyle
    r = home_random(seed, hub_id, _HABITS_STREAM)
    u = r.uniform
    if lifestyle == Lifestyle.WORKER:
        return Habits(
            lifestyle, u(6.0, 7.25), u(22.5, 23.3), u(0.75, 2.25), u(12.5, 13.5), u(18.5, 19.5),
            u(0.02, 0.1), u(0.3, 0.6), u(0.05, 0.15), u(0.2, 0.5), u(0.0, 0.15), u(0.05, 0.2),
            u(5.0, 12.0) * 60.0, u(7.5, 8.75), u(16.5, 18.5), 0.0,
        )
    if lifestyle == Lifestyle.FRAIL:
        return Habits(
            lifestyle, u(7.25, 9.0), u(20.75, 22.5), u(0.0, 0.5), u(12.0, 13.0), u(17.0, 18.0),
            u(0.1, 0.25), u(0.02, 0.1), u(0.1, 0.25), u(0.3, 0.6), u(0.5, 0.9), u(0.0, 0.05),
            u(10.0, 25.0) * 60.0, 0.0, 0.0, u(8.5, 10.0),
        )
    return Habits(
        lifestyle, u(6.25, 8.5), u(21.5, 23.0), u(0.0, 1.25), u(12.0, 13.25), u(17.25, 18.75),
        u(0.05, 0.2), u(0.25, 0.55), u(0.1, 0.3), u(0.3, 0.6), u(0.15, 0.5), u(0.05, 0.3),
        u(6.0, 15.0) * 60.0, 0.0, 0.0, 0.0,
    )


@dataclass(frozen=True, slots=True)
class Illness:
    """How an illness changes a day: less activity by day, more toilet visits at night."""

    activity_factor: float
    night_toilet_factor: float


@dataclass(frozen=True, slots=True)
class DayShape:
    """The times of one day (seconds from local midnight) and what kind of day it is."""

    wake: float
    bed: float
    lunch: float
    dinner: float
    weekend: bool
    works: bool
    visitor: bool
    illness: Illness | None


def day_shape(habits: Habits, day: date, r: random.Random, illness: Illness | None) -> DayShape:
    """Draw one day's times from the habits: weekends differ, an illness slows the day."""
    weekend = day.weekday() >= _SATURDAY
    wake_h = habits.wake_h + r.gauss(0.0, 0.3) + (habits.weekend_lie_in_h if weekend else 0.0)
    bed_h = habits.bed_h + r.gauss(0.0, 0.4) + (0.4 if weekend else 0.0)
    visitor = r.random() < (habits.weekend_visitor_chance if weekend else habits.visitor_chance)
    works = habits.lifestyle == Lifestyle.WORKER and not weekend
    if illness is not None:
        wake_h += r.uniform(0.5, 1.5)
        bed_h -= r.uniform(0.5, 1.0)
        works = False
    wake_h = min(max(wake_h, 5.0), 10.5)
    return DayShape(
        wake=wake_h * 3600.0,
        bed=min(LATEST_BED_H, max(bed_h, 19.5)) * 3600.0,
        lunch=(habits.lunch_h + r.gauss(0.0, 0.3)) * 3600.0,
        dinner=(habits.dinner_h + r.gauss(0.0, 0.3)) * 3600.0,
        weekend=weekend,
        works=works,
        visitor=visitor,
        illness=illness,
    )
