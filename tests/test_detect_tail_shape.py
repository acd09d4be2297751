"""How a home's still spells end: a home whose longest spells stay near its usual long ones
is not given twice its longest; one with the odd long spell keeps the exponential tail."""

from __future__ import annotations

import random
from itertools import pairwise

import numpy as np
from engine_events import DAY0, HOUR, MIN, ev, home_engine, inactivity

from telecare.detect import learning

DAY = 24 * HOUR
KIT = (("fridge", "usage", "kitchen"), ("toilet-flush", "usage", "bathroom"),
       ("door-front", "door", "front"))
DAYTIME = np.array([8 <= h < 21 for h in range(24)])


def _day(day: int, r: random.Random, until_h: float = 21.0) -> list:
    """08:00 to `until_h`: the fridge and the toilet in turn, 20 to 150 min apart."""
    t, end = DAY0 + day * DAY + 8 * HOUR, DAY0 + day * DAY + int(until_h * HOUR)
    out = []
    while t < end:
        out.append(ev(t, KIT[len(out) % 2][0], "usage", "active"))
        t += int(r.uniform(20.0, 150.0) * MIN)
    return out


def _histogram(draw, days: int = 21) -> np.ndarray:
    """A [24, BINS] gap histogram of `days` days, gaps from `draw()` (minutes) from 08:00."""
    counts = np.zeros((24, learning.BINS))
    for _ in range(days):
        t = 8 * 60.0
        while t < 21 * 60.0:
            gap = draw()
            counts[int(t // 60), learning.gap_bin(int(gap * MIN))] += 1.0
            t += gap
    return counts


def test_a_home_whose_spells_never_run_long_is_not_given_twice_its_longest() -> None:
    """Three weeks of a home with a fridge and a toilet, used every 20-150 min from 08:00:
    its longest still spell is 2.5 h, and nothing in those weeks says a longer one is
    ordinary. A resident still from 11:00 is raised within 1.75 times that longest spell
    (4.1 h; the exponential tail waited 5.6 h, 2.25 times), and the last week raised
    nothing."""
    r = random.Random(7)
    engine = home_engine(KIT)
    days = 21
    events = [e for d in range(days) for e in _day(d, r)]
    longest = max(b.event_time - a.event_time for a, b in pairwise(events)
                  if b.event_time - a.event_time < 8 * HOUR)
    alerts = inactivity(engine, events, DAY0 + days * DAY)
    assert [a for a in alerts if a.at > DAY0 + (days - 7) * DAY] == []
    last = _day(days, r, until_h=11.0)
    (alert,) = [a for a in inactivity(engine, last, DAY0 + (days + 1) * DAY)
                if a.at > last[-1].event_time]
    assert longest < alert.at - last[-1].event_time < 1.75 * longest


def test_the_shape_is_taken_from_the_homes_own_spells() -> None:
    """Spells of 20-150 min give a shape below 0 and a lower threshold that still clears
    the longest spell seen; exponential spells (the odd one runs long) keep the shape 0 and
    the exponential thresholds; a few days' spells are too few to judge (0)."""
    r = random.Random(3)
    bounded = _histogram(lambda: r.uniform(20.0, 150.0))
    shape = learning.tail_shape(bounded, DAYTIME)
    assert shape < 0.0
    gap_days = np.where(bounded.sum(axis=1) > 0, 21.0, 0.0)
    plain, learned = learning.thresholds_min(bounded, gap_days, 21.0)
    shaped, _ = learning.thresholds_min(bounded, gap_days, 21.0, shape)
    hours = learned & DAYTIME
    assert hours[9:20].all()
    longest = learning.longest_min(bounded)
    assert (shaped[hours] < plain[hours]).all()
    assert (shaped[hours] > longest[hours]).all()
    spread = _histogram(lambda: r.expovariate(1 / 60.0) + 5.0)
    assert learning.tail_shape(spread, DAYTIME) == 0.0
    assert learning.tail_shape(_histogram(lambda: r.uniform(20.0, 150.0), days=2), DAYTIME) == 0.0
