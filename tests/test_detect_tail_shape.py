"""How a home's still spells end: a home whose longest spells stay near its usual long ones
is not given twice its longest; one with the odd long spell keeps the exponential tail."""

from __future__ import annotations

import random
from itertools import pairwise

import numpy as np
from engine_events import DAY0, HOUR, MIN, ev, home_engine, inactivity
from scipy import special, stats

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


def test_the_lighter_quantile_meets_the_exponential_at_shape_0_and_falls_below_it() -> None:
    """The generalised Pareto quantile is the exponential one at shape 0 (and within a
    second of it just below), lower as the shape falls, and only in the hours given a
    shape: the others keep the exponential threshold."""
    r = random.Random(5)
    counts = _histogram(lambda: r.uniform(20.0, 150.0))
    gap_days = np.where(counts.sum(axis=1) > 0, 21.0, 0.0)
    plain, learned = learning.thresholds_min(counts, gap_days, 21.0)
    hours = learned & DAYTIME
    near, _ = learning.thresholds_min(counts, gap_days, 21.0, shape=-1e-9)
    assert np.allclose(near[hours], plain[hours], atol=1 / 60)
    falling = [learning.thresholds_min(counts, gap_days, 21.0, shape=xi)[0][hours]
               for xi in (-0.1, -0.2, -0.4)]
    assert (plain[hours] > falling[0]).all()
    assert (falling[0] > falling[1]).all() and (falling[1] > falling[2]).all()
    some = np.where(np.arange(24) < 14, -0.3, 0.0)
    mixed, _ = learning.thresholds_min(counts, gap_days, 21.0, shape=some)
    assert (mixed[hours & (np.arange(24) >= 14)] == plain[hours & (np.arange(24) >= 14)]).all()
    assert (mixed[hours & (np.arange(24) < 14)] < plain[hours & (np.arange(24) < 14)]).all()


def test_peaks_all_in_one_bin_are_no_evidence_of_a_lighter_tail() -> None:
    """Gaps of 54-61 min fall in one histogram bin: their longest, at the bin's upper
    edge, is about twice their mean excess whatever their tail, and with hundreds of them
    no shape fits. The exponential stays rather than the lightest shape."""
    r = random.Random(9)
    counts = _histogram(lambda: r.uniform(54.5, 61.0))
    assert np.count_nonzero(counts.sum(axis=0)) == 1
    assert learning.tail_shape(counts, DAYTIME) == 0.0


def test_at_the_shaped_threshold_the_expected_gaps_that_long_are_the_budget() -> None:
    """The quantile is the generalised Pareto one (scipy's), with the scale that keeps the
    mean excess: gaps per day past `u` times the chance of running past the threshold is
    the false-alert budget, for a shape of 0 (the exponential) and below."""
    r = random.Random(11)
    row = _histogram(lambda: r.uniform(20.0, 150.0)).sum(axis=0)[np.newaxis]
    days, budget = 21.0, 0.01
    peaks = learning._peaks(row, top_k=False)
    dof = 2.0 * peaks.n
    beta = peaks.mean_excess * dof / special.chdtri(dof, learning.BETA_CONFIDENCE)
    for xi in (0.0, -0.1, -0.3):
        threshold, _, _ = learning.tail_thresholds(row, days, budget, shape=xi)
        beyond = stats.genpareto.sf(threshold - peaks.u, c=xi, scale=beta * (1.0 - xi))
        assert np.allclose(peaks.n / days * beyond, budget, rtol=1e-6)
