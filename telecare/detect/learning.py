"""How long this home normally goes without activity at each hour of the day.

Each gap between two signs of life, while the resident is at home and awake,
is counted in a histogram by the local hour it started in and its length
(log-spaced bins). The threshold for an hour is an extreme-value estimate:
take the k longest gaps of that hour and its neighbours (peaks over a
threshold `u`), fit an exponential tail to how far they run past `u` (mean
excess `beta`, taken at its upper 90% confidence bound), and go out until
the expected number of normal gaps that long is the false-alert budget. With `r` such gaps per day:

    T = u + beta * ln(r / budget_per_hour)

An exponential tail (the generalised Pareto with shape 0) is the usual
compromise for a few dozen exceedances: a heavier-tailed fit is too unstable
on a fortnight of one home's data. A lighter one is taken only where the home
has shown it (`tail_shape`): its daytime hours' longest gap, among all their
peaks, is too short for an exponential tail; then the daytime hours' quantile is
that of a generalised Pareto tail with the same mean excess.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np
from scipy import special

MINUTE_MS: Final = 60_000
# gap bins in minutes: bin b holds gaps in [EDGES[b], EDGES[b+1]); bin 0 also holds shorter ones
BINS: Final = 56
EDGES_MIN: Final = 5.0 * 1.15 ** np.arange(BINS + 1)  # 5 min ... ~13 days
_LOG_RATIO: Final = math.log(1.15)
# a gap is taken as its bin's geometric middle: within 7% of its length, and no sums to keep
MIDS_MIN: Final = np.sqrt(EDGES_MIN[:-1] * EDGES_MIN[1:])

# k longest gaps define the tail; fewer than this and the hour keeps its fallback
TAIL_GAPS: Final = 10
# the tail's scale is taken at this upper confidence bound, not its estimate: with twenty
# exceedances from a few weeks of one home, beta is uncertain by a third either way
BETA_CONFIDENCE: Final = 0.90
MIN_GAPS: Final = 30
MIN_DAYS: Final = 7.0
# an hour is learned only once gaps starting near it were seen on this many (weighted) days:
# a rare normal gap (back to bed after a night-time toilet visit) must have had its chance
# to be seen before a threshold is set, or it is flagged and never learned
MIN_GAP_DAYS: Final = 8.0
# weights of the neighbouring hours pooled with each hour (h-2 .. h+2)
POOL: Final = np.array([0.25, 0.5, 1.0, 0.5, 0.25])
# false inactivity alerts per home-day the learned thresholds aim for (about 0.3 a month)
FALSE_PER_DAY: Final = 0.01
# the same for each context's own thresholds (a home has a handful of busy contexts)
CONTEXT_FALSE_PER_DAY: Final = 0.002
MIN_CONTEXT_GAPS: Final = 100
CONTEXT_CONFIDENCE: Final = 0.7
MIN_CONTEXT_DAYS: Final = 2.5
# contexts per home: 20 devices, each with two ways (active/open/occupied, closed/vacant);
# devices beyond the twentieth share the last
CONTEXT_DEVICES: Final = 20
CONTEXTS: Final = 2 * CONTEXT_DEVICES
MIN_THRESHOLD_MIN: Final = 45.0
MAX_THRESHOLD_MIN: Final = 16 * 60.0
# the single timer most services run: a learned threshold longer than this is held to
# SEEN_MARGIN times the longest gap the home has shown near that hour (the tail fit
# extrapolates far past what a sparse home has shown; nowhere need the engine wait longer
# than that timer for stillness the home has never had)
TIMER_MIN: Final = 12 * 60.0
SEEN_MARGIN: Final = 1.1
# histograms decay by this factor each day, so a changed routine is learned in weeks
DAILY_DECAY: Final = 0.98


def _pooling_matrix() -> np.ndarray:
    pool = np.zeros((24, 24))
    for hour in range(24):
        for shift, weight in zip(range(-2, 3), POOL, strict=True):
            pool[hour, (hour + shift) % 24] = weight
    return pool


# row h pools hours h-2 .. h+2 with the POOL weights (the day wraps round)
_POOLING: Final = _pooling_matrix()


def gap_bin(gap_ms: int) -> int:
    """Return the histogram bin of a gap length."""
    minutes = gap_ms / MINUTE_MS
    if minutes < EDGES_MIN[1]:
        return 0
    return min(BINS - 1, int(math.log(minutes / 5.0) / _LOG_RATIO))


def thresholds_min(
    counts: np.ndarray, gap_days: np.ndarray, days: float, shape: np.ndarray | float = 0.0,
    peaks: Peaks | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return per-hour thresholds (minutes) and whether each is learned, for one home.

    counts: [24, BINS] (decayed) gap counts per local start hour and length bin;
    gap_days: [24] (decayed) days with at least one gap starting in each hour;
    days: the (decayed) number of days they cover; shape: the tail shape of each hour
    ([24], or one for all; `tail_shape`, 0 for the exponential tail); peaks: the pooled
    hours' peaks where the caller has them already (`pooled_peaks`).
    """
    pooled_n = _POOLING @ counts.astype(np.float64)
    pooled_days = _POOLING @ gap_days.astype(np.float64)
    threshold, n_all, enough = tail_thresholds(
        pooled_n, days * float(POOL.sum()), FALSE_PER_DAY / 24.0, shape=shape, peaks=peaks
    )
    learned = enough & (n_all >= MIN_GAPS) & (pooled_days >= MIN_GAP_DAYS) & (days >= MIN_DAYS)
    cap = np.maximum(TIMER_MIN, SEEN_MARGIN * longest_min(pooled_n))
    return np.minimum(threshold, cap), learned


def longest_min(counts: np.ndarray) -> np.ndarray:
    """The upper edge (minutes) of the longest gap's bin in each row of a [K, BINS]
    histogram (0 for an empty row)."""
    seen = counts > 0
    top = BINS - 1 - np.argmax(seen[:, ::-1], axis=1)
    longest: np.ndarray = np.where(seen.any(axis=1), EDGES_MIN[top + 1], 0.0)
    return longest


# a home still learning, once it has shown this many daytime gaps (a day of a home with
# motion sensors; several days of one with contacts only), is still for at most this many
# times its longest daytime gap so far, and never less than EARLY_MIN_MIN, before its
# fixed timer runs out
EARLY_MIN_GAPS: Final = 100
EARLY_FACTOR: Final = 2.0
EARLY_MIN_MIN: Final = 150.0


def early_limit_min(counts: np.ndarray, floor: np.ndarray) -> float | None:
    """The learning home's limit (minutes) from its longest daytime gap so far, or None
    while it has shown too few gaps. counts: [24, BINS]; floor: [24] the night floor."""
    daytime = counts[~np.asarray(floor, bool)].sum(axis=0)
    if float(daytime.sum()) < EARLY_MIN_GAPS:
        return None
    longest = float(longest_min(daytime[np.newaxis])[0])
    return max(EARLY_MIN_MIN, EARLY_FACTOR * longest)


# an hour still not learned (few gaps start near it: a home whose only sensors are a door
# and a fridge sees one or two an afternoon) is judged, from the home's third day, by its
# daytime as a whole, when that is longer than the fixed timer
WIDE_MIN_DAYS: Final = 3.0
WIDE_MIN_GAPS: Final = MIN_GAPS
WIDE_MARGIN: Final = 1.25


def daytime_threshold_min(counts: np.ndarray, daytime: np.ndarray, days: float) -> float | None:
    """The home's threshold (minutes) for a gap starting at any daytime hour, from the gaps
    of the `daytime` hours pooled ([24] bool: the hours whose fixed timer is the plain one,
    not the one running to the morning), or None before WIDE_MIN_DAYS days and
    WIDE_MIN_GAPS such gaps. counts: [24, BINS]; days: the (decayed) days they cover. Its
    budget is those hours' share of FALSE_PER_DAY, and it is held to WIDE_MARGIN times the
    longest such gap seen: a gap it flags is learned at the threshold
    (`stillness.learn_timed_out`), so it climbs a step at a time until the home's ordinary gaps
    fit."""
    mask = np.asarray(daytime, bool)
    pooled = np.asarray(counts, np.float64)[mask].sum(axis=0)[np.newaxis]
    if days < WIDE_MIN_DAYS or float(pooled.sum()) < WIDE_MIN_GAPS:
        return None
    threshold, _, found = tail_thresholds(pooled, days, FALSE_PER_DAY * int(mask.sum()) / 24.0)
    if not found[0]:
        return None
    return float(min(threshold[0], WIDE_MARGIN * float(longest_min(pooled)[0])))


# when a home's days end: each night that the home was still through (a gap at home of at
# least NIGHT_GAP_MS begun from noon to 04:00 and ended in the morning) is counted by the
# local hour of its last sign of life. In a home whose sensors do not see the evening (a
# door and a fridge: the last sign is at dinner) the fixed timer must run to the morning
# from the hour where DAY_END_SHARE of those nights began, not from its night hours' lead;
# never before EVENING_EARLIEST_H, and only from DAY_END_MIN such nights over DAY_END_DAYS
NIGHT_GAP_MS: Final = 6 * 60 * MINUTE_MS
DAY_END_SHARE: Final = 0.1
DAY_END_MIN: Final = 3.0
DAY_END_DAYS: Final = 3.0
EVENING_EARLIEST_H: Final = 16
# the hours from noon to 04:00, in the order a day ends
_EVENING_ORDER: Final = [(12 + k) % 24 for k in range(16)]


def is_night(start_minute: int, end_minute: int) -> bool:
    """Whether a gap of NIGHT_GAP_MS or more from this local minute to that one was a night
    at home: begun from noon to 04:00, ended in the morning."""
    return (start_minute >= 12 * 60 or start_minute < 4 * 60) and 4 * 60 <= end_minute < 12 * 60


def evening_minute(day_ends: np.ndarray, days: float) -> int | None:
    """The local minute (on the hour, never before EVENING_EARLIEST_H) by which
    DAY_END_SHARE of this home's nights had begun, from its nights counted by the hour of
    their last sign of life ([24]); None before enough nights, or when that hour is after
    midnight. The caller uses it only when it is earlier than the night hours' lead."""
    counts = np.asarray(day_ends, np.float64)[_EVENING_ORDER]
    total = float(counts.sum())
    if days < DAY_END_DAYS or total < DAY_END_MIN:
        return None
    first = int(np.argmax(np.cumsum(counts) >= DAY_END_SHARE * total))
    hour = _EVENING_ORDER[first]
    return max(hour, EVENING_EARLIEST_H) * 60 if hour >= 12 else None


# a resident who sat down (a chair pad's occupied, nothing since), in an hour not yet learned,
# is still for at most SEATED_FACTOR times the longest they have stayed so after that seat's
# occupied (at least EARLY_MIN_MIN), once this many such gaps were seen; before that, a fixed
# limit. Tighter than the early limit's twice: the gaps are the sits themselves (with twice,
# a simulated resident who collapsed 35 s after sitting down, where naps of 40-90 min were
# the longest sits, waited 3.5 h, longer than the 2 h 50 min before a carer came)
SEATED_MIN_SITS: Final = 5.0
SEATED_FACTOR: Final = 1.25


def seated_limit_min(sits: np.ndarray) -> float | None:
    """The limit (minutes) of a resident who sat down, from the daytime gaps after that
    seat's occupied so far ([BINS]), or None while too few were seen."""
    if float(sits.sum()) < SEATED_MIN_SITS:
        return None
    longest = float(longest_min(sits[np.newaxis])[0])
    return max(EARLY_MIN_MIN, SEATED_FACTOR * longest)


def context_thresholds_min(counts: np.ndarray, days: float) -> tuple[np.ndarray, np.ndarray]:
    """Return per-context thresholds (minutes) and whether each is learned, for one home.

    counts: [CONTEXTS, BINS] (decayed) daytime gap counts by the sign of life that began
    the gap (which device, and which way a door or pad went); days: the days they cover.
    Only the contexts with MIN_CONTEXT_GAPS are fitted (a home uses a handful of its
    slots, and a contact-only home may never fill one); the others are not learned.
    """
    counts = np.asarray(counts, np.float64)
    threshold = np.full(counts.shape[0], MAX_THRESHOLD_MIN)
    learned = np.zeros(counts.shape[0], bool)
    # summed as `_peaks` sums them, so a count at the bound falls the same way
    busy = np.flatnonzero(np.cumsum(counts[:, ::-1], axis=1)[:, -1] >= MIN_CONTEXT_GAPS)
    if days < MIN_CONTEXT_DAYS or busy.size == 0:
        return threshold, learned
    fitted, _, enough = tail_thresholds(
        counts[busy], days, CONTEXT_FALSE_PER_DAY, top_k=True, confidence=CONTEXT_CONFIDENCE,
    )
    threshold[busy] = fitted
    learned[busy] = enough
    return threshold, learned


class Peaks(NamedTuple):
    """The peaks over a threshold of each row of a [K, BINS] gap histogram."""

    u: np.ndarray  # minutes
    mean_excess: np.ndarray  # minutes past u
    n: np.ndarray  # peaks counted
    top: np.ndarray  # the bin of u
    tail_n: np.ndarray  # [K, BINS]: gaps at least each bin edge long


def _peaks(counts: np.ndarray, *, top_k: bool) -> Peaks:
    """The peaks of each row of a [K, BINS] gap histogram (see `tail_thresholds`)."""
    sums = counts * MIDS_MIN
    # tail[k, b]: gaps at least EDGES[b] long
    tail_n = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]
    tail_s = np.cumsum(sums[:, ::-1], axis=1)[:, ::-1]
    enough = tail_n >= TAIL_GAPS
    top = BINS - 1 - np.argmax(enough[:, ::-1], axis=1)
    rows = np.arange(counts.shape[0])
    if top_k:
        above = np.minimum(top + 1, BINS - 1)
        has_above = top + 1 < BINS
        n_above = np.where(has_above, tail_n[rows, above], 0.0)
        s_above = np.where(has_above, tail_s[rows, above], 0.0)
        u = MIDS_MIN[top]
        n_u = np.full(counts.shape[0], float(TAIL_GAPS))
        beta = np.maximum((s_above - n_above * u) / TAIL_GAPS, 1.0)
    else:
        n_u = tail_n[rows, top]
        u = EDGES_MIN[top]
        beta = np.maximum(tail_s[rows, top] / np.maximum(n_u, 1e-9) - u, 1.0)
    return Peaks(u, beta, n_u, top, tail_n)


def pooled_peaks(counts: np.ndarray) -> Peaks:
    """The peaks of each hour's gaps pooled with its neighbours' ([24, BINS]), as
    `thresholds_min` and `tail_shape` take them: found once, used by both."""
    return _peaks(_POOLING @ np.asarray(counts, np.float64), top_k=False)


def tail_thresholds(
    counts: np.ndarray, days: float, budget_per_day: float, *, top_k: bool = False,
    confidence: float = BETA_CONFIDENCE, shape: np.ndarray | float = 0.0,
    peaks: Peaks | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extreme-value thresholds for each row of a [K, BINS] gap histogram.

    The peaks are the gaps beyond `u`, the highest bin edge with at least TAIL_GAPS gaps
    beyond it; with `top_k`, exactly the TAIL_GAPS longest gaps and `u` the
    middle of the bin where the k-th lies. The second suits a peaked histogram (after a
    hall PIR nearly every gap is a few minutes long): there the first takes a hundred
    short gaps as its peaks, sees a thin tail and misses the odd long one (a nap).
    A row whose `shape` is negative (a tail shown to end sooner than the exponential,
    `tail_shape`) takes the generalised Pareto quantile with the same mean excess.
    `peaks`: the rows' peaks where the caller has them already (found as `top_k` says).
    Returns (threshold minutes, gaps counted, whether TAIL_GAPS peaks were found).
    """
    u, beta, n_u, _, tail_n = peaks if peaks is not None else _peaks(counts, top_k=top_k)
    # exponential scale from n exceedances: 2 n beta_hat / beta ~ chi2(2n)
    dof = 2.0 * np.maximum(n_u, 1.0)
    beta = beta * dof / special.chdtri(dof, confidence)
    per_day = n_u / max(days, 1e-9)
    reach = np.log(np.maximum(per_day / budget_per_day, 1.0))
    xi = np.broadcast_to(np.asarray(shape, np.float64), reach.shape)
    if (xi < 0.0).any():
        # the quantile of a generalised Pareto tail of mean excess beta: its scale is
        # beta (1 - xi), and it reaches (1 - e^(xi reach)) / -xi scales out
        lighter = xi < 0.0
        safe = np.where(lighter, xi, -1.0)
        reach = np.where(lighter, (1.0 - safe) * -np.expm1(safe * reach) / -safe, reach)
    threshold = np.clip(u + beta * reach, MIN_THRESHOLD_MIN, MAX_THRESHOLD_MIN)
    found = np.asarray((tail_n >= TAIL_GAPS).any(axis=1))
    return threshold, tail_n[:, 0], found


# a home's gaps show how its tail ends: pooled over its daytime hours, each hour's own
# peaks (in units of that hour's mean excess) from SHAPE_MIN_PEAKS of them; the shape
# taken is the largest (nearest the exponential, 0) under which the longest of them had
# at least SHAPE_CONFIDENCE chance of being no longer than it was. A home whose still
# spells run long now and then keeps the exponential; one whose longest spell, in a month,
# stays near its usual long ones (a lounge chair and a kitchen: a meal, a nap, a meal) is
# no longer given twice that longest spell
SHAPE_MIN_PEAKS: Final = 30.0
SHAPE_CONFIDENCE: Final = 0.1
SHAPES: Final = np.arange(-50, 1) / 100.0


def tail_shape(counts: np.ndarray, daytime: np.ndarray, peaks: Peaks | None = None) -> float:
    """The home's tail shape (at most 0) from its gap histogram ([24, BINS]) and the hours
    to judge it by ([24] bool); `peaks`: its pooled hours' peaks where the caller has them
    already (`pooled_peaks`). Where no shape fits, the exponential stays: so it is
    with many peaks all in one bin, whose longest, taken at the bin's upper edge, is
    about twice their mean excess whatever their tail (no evidence either way)."""
    counts = np.asarray(counts, np.float64)
    u, beta, _, top, tail_n = peaks if peaks is not None else pooled_peaks(counts)
    hours = np.asarray(daytime, bool) & (tail_n >= TAIL_GAPS).any(axis=1)
    own = np.where(np.arange(BINS) >= top[:, np.newaxis], counts, 0.0)[hours]
    n = float(own.sum())
    if n < SHAPE_MIN_PEAKS:
        return 0.0
    # the longest peak's upper bin edge, in its hour's mean excess
    last = BINS - 1 - np.argmax(own[:, ::-1] > 0, axis=1)
    seen = own.sum(axis=1) > 0
    z = float(np.max(np.where(seen, (EDGES_MIN[last + 1] - u[hours]) / beta[hours], 0.0)))
    xi = SHAPES[:-1]
    base = np.maximum(1.0 + xi * z / (1.0 - xi), 0.0)
    beyond = np.append(base ** (-1.0 / xi), math.exp(-z))
    chance = np.exp(n * np.log1p(-np.minimum(beyond, 1.0 - 1e-12)))
    fits = chance >= SHAPE_CONFIDENCE
    return float(SHAPES[fits][-1]) if fits.any() else 0.0
