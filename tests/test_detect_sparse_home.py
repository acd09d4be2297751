"""A home whose only sensors are a front door and a fridge: its ordinary gaps outlast the
fixed timer of a home still learning, and must still be learned."""

from __future__ import annotations

import numpy as np
from engine_events import DAY0, HOUR, MIN, ev, home_engine, inactivity

from telecare.detect import learning

DAY = 24 * HOUR
FRIDGE = ("fridge", "usage", "kitchen")
# breakfast, lunch, dinner and a drink before bed: 4.5 h and 5 h between the first three
MEALS = (8 * HOUR, 12 * HOUR + 30 * MIN, 17 * HOUR + 30 * MIN, 20 * HOUR + 30 * MIN)


def fridge(at: int):
    return ev(at, "fridge", "usage", "active")


def test_gaps_between_meals_longer_than_the_fixed_timer_are_learned_not_raised_for_ever() -> None:
    """The 4 h timer of a home still learning raises the morning's and the afternoon's
    ordinary gaps (4.5 h, 5 h). Each is learned as far as the timer, so the hours learn
    that such gaps happen and stop raising them; a morning whose resident never comes
    back to the fridge is still raised, sooner than the 12 h timer would."""
    engine = home_engine((FRIDGE, ("door-front", "door", "front")))
    days = 35
    events = [fridge(DAY0 + d * DAY + m + (d * 7 % 11) * MIN) for d in range(days) for m in MEALS]
    alerts = inactivity(engine, events, DAY0 + days * DAY)
    by_day = [sum(1 for a in alerts if d * DAY <= a.at - DAY0 < (d + 1) * DAY)
              for d in range(days)]
    assert sum(by_day[:7]) >= 7  # the first week: the timer raises the gaps between meals
    assert sum(by_day[-7:]) == 0, by_day
    collapse = DAY0 + days * DAY + 8 * HOUR
    (alert,) = inactivity(engine, [fridge(collapse)], collapse + 12 * HOUR)
    assert alert.at - collapse < 12 * HOUR


def test_a_home_whose_last_sign_of_the_day_is_dinner_learns_that_its_evenings_are_nights() -> None:
    """With the fridge at dinner (17:30) the day's last sign of life, the evening's
    stillness runs to breakfast every day. Once a week of such nights is seen, the fixed
    timer of the evening hours runs to the morning, as it does from the night hours:
    no evening is raised; a morning with no breakfast still is."""
    engine = home_engine((FRIDGE, ("door-front", "door", "front")))
    days = 35
    events = [fridge(DAY0 + d * DAY + m + (d * 7 % 11) * MIN)
              for d in range(days) for m in MEALS[:3]]
    alerts = inactivity(engine, events, DAY0 + days * DAY)
    evenings = [a for a in alerts if (a.at - DAY0) % DAY >= 20 * HOUR]
    assert evenings and all(a.at - DAY0 < 10 * DAY for a in evenings), evenings
    assert [a for a in alerts if a.at - DAY0 >= (days - 7) * DAY] == []
    last_day = [fridge(DAY0 + days * DAY + m) for m in MEALS[:3]]
    (alert,) = inactivity(engine, last_day, DAY0 + (days + 1) * DAY + 20 * HOUR)
    assert alert.at == last_day[-1].event_time + 18 * HOUR  # 11:30, no breakfast by then


def test_an_hour_with_too_few_gaps_is_judged_by_the_homes_daytime_as_a_whole() -> None:
    """From the home's third day, a daytime hour that has seen too few gaps to learn takes
    the threshold of all the home's daytime gaps pooled; before, or with too few gaps,
    there is none (the fixed timer stays)."""
    daytime = np.array([9 <= h < 20 for h in range(24)])
    counts = np.zeros((24, learning.BINS))
    for hour in range(9, 13):  # mornings of ordinary gaps and a few of 5-6 h
        counts[hour, learning.gap_bin(40 * MIN)] = 20.0
        counts[hour, learning.gap_bin(5 * HOUR)] = 3.0
        counts[hour, learning.gap_bin(6 * HOUR)] = 1.0
    wide = learning.daytime_threshold_min(counts, daytime, 14.0)
    assert wide is not None and 6 * 60 < wide <= 16 * 60
    _, learned = learning.thresholds_min(counts, np.where(counts.sum(axis=1) > 0, 14.0, 0.0),
                                         14.0)
    assert not learned[16]  # nothing starts in the afternoon: that hour is not learned
    assert learning.daytime_threshold_min(counts, daytime, 2.0) is None
    assert learning.daytime_threshold_min(counts / 10.0, daytime, 14.0) is None


def test_when_a_homes_days_end_survives_a_restart() -> None:
    """Checkpointed and restored, a home whose evenings were learned as nights still lets
    its evening run to the morning, raised at the same time as before the restart."""
    engine = home_engine((FRIDGE, ("door-front", "door", "front")))
    days = 14
    inactivity(engine, [fridge(DAY0 + d * DAY + m) for d in range(days) for m in MEALS[:3]],
               DAY0 + days * DAY)
    again = home_engine((FRIDGE, ("door-front", "door", "front")))
    again.restore(engine.checkpoint(everything=True))
    last_day = [fridge(DAY0 + days * DAY + m) for m in MEALS[:3]]
    times = [a.at for e in (engine, again)
             for a in inactivity(e, last_day, DAY0 + (days + 1) * DAY + 20 * HOUR)
             if a.at > last_day[-1].event_time]  # (the day's gaps may still be raised)
    assert times == [last_day[-1].event_time + 18 * HOUR] * 2
