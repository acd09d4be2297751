"""Routine change: a day far below this home's usual activity, more night-time
toilet visits than usual over several nights, or the two together over one day and
the night after it (how an illness starts). Welfare notices for carers.

Counts are compared with the home's own baseline through a negative binomial
(a Poisson whose rate varies from day to day, which is what real days do):
mean `mu`, variance `phi * mu`. Only days and nights that were not flagged
feed the baseline, so an illness does not teach the detector that it is normal;
after a week of flagged days running, the change is taken as the new routine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from scipy import special

# a day: flagged when this unlikely (and at most LOW_RATIO_DAY of what is expected), or
# far more unlikely still (LOW_P_STRONG, at most LOW_RATIO_STRONG), or when two days running
# are each below LOW_P_STREAK
LOW_P_DAY: Final = 1e-4
LOW_P_STRONG: Final = 1e-5
LOW_RATIO_STRONG: Final = 0.7
LOW_P_STREAK: Final = 0.002
# a day this unlikely the other way, and at least this many times the usual, is not learned
# either (a chattering or stuck sensor, a house full of visitors): learned, it raises the
# baseline so that every ordinary day after it looks low
HIGH_P_DAY: Final = 1e-4
HIGH_RATIO_DAY: Final = 2.0
HIGH_MIN_DAYS: Final = 1
# a flagged day is not learned from, unless this many days running were flagged: then
# it is the new routine (a baseline inflated once must not flag every day for weeks)
MAX_FLAGGED_DAYS: Final = 7
# a day and the night after it, each unusual the way an illness makes them (less activity,
# more toilet visits), are flagged together when their combined p (Fisher) is this small
UNWELL_P: Final = 1e-4
UNWELL_DAY_RATIO: Final = 0.8  # the day at most this share of what is usual
UNWELL_EXTRA_VISITS: Final = 2.0  # the night at least this many visits above the usual rate
MIN_DAYS: Final = 7
MIN_EXPECTED_DAY: Final = 30.0  # too few expected events to say anything about a day
MIN_HOME_HOURS: Final = 8.0  # a day mostly out is not judged
# nights: this many nights summed, flagged when this unlikely and clearly above the mean
NIGHTS_SUMMED: Final = 3
HIGH_P_NIGHTS: Final = 1e-3
# nights already this unusual are not learned from either: a rise over several nights must
# not become the baseline before it is flagged
HOLD_P_NIGHTS: Final = 0.05
MIN_NIGHTS: Final = 10
NIGHT_RATE_FLOOR: Final = 0.25  # visits per night assumed at least, so a dry spell is no baseline
NIGHT_DISPERSION: Final = 1.5
# rates are shrunk: an hour-of-day towards the home's overall rate, an hour-of-week towards its
# hour-of-day, as if this many hours at home had been seen at the broader rate
SHRINK_DAY_HOURS: Final = 3.0
SHRINK_WEEK_HOURS: Final = 6.0
# and a day must also be this far below what is expected (a rate halved, not a quiet Sunday)
LOW_RATIO_DAY: Final = 0.5
LOW_RATIO_STREAK: Final = 0.65
WEEKLY_DECAY: Final = 0.9
# daytime in bed (homes with a bed pad): flagged this far above the usual minutes
BED_EXTRA_MIN: Final = 60.0
BED_SPREADS: Final = 3.0
# a home with fewer than MIN_DAYS days of its pad learned is judged from BED_EARLY_DAYS on,
# with twice the margin: an illness in a home's first week is no less an illness, and few
# days make the usual minutes uncertain
BED_EARLY_DAYS: Final = 3
BED_EARLY_EXTRA_MIN: Final = 120.0
# before BED_EARLY_DAYS, lying down in the daytime this far above the days learned so far
# (none: 0) is told, counting only stays begun that day after the night hours (a late
# riser's morning does not count), on at most BED_NEW_TOLD_DAYS days running; the next is
# learned (a habit of napping in bed, not an illness)
BED_NEW_TOLD_DAYS: Final = 3
DISPERSION_MIN: Final = 1.2
DISPERSION_MAX: Final = 20.0


def nb_cdf(x: float, mu: float, phi: float) -> float:
    """P(X <= x) for a negative binomial with mean mu and variance phi * mu (phi > 1)."""
    if x < 0:
        return 0.0
    if phi <= 1.0 + 1e-6:
        return float(special.gammaincc(x + 1.0, mu))  # the Poisson limit
    n = mu / (phi - 1.0)
    return float(special.betainc(n, x + 1.0, 1.0 / phi))


def nb_sf(x: float, mu: float, phi: float) -> float:
    """P(X >= x) for the same negative binomial."""
    return 1.0 - nb_cdf(x - 1.0, mu, phi)


@dataclass(frozen=True, slots=True)
class DayVerdict:
    """What one finished day says about the home's activity."""

    p_low: float
    expected: float
    ratio: float  # the day's count over what was expected
    flagged: bool
    low: bool  # low enough that a second such day in a row is flagged
    high: bool = False  # far above what is usual: not learned


def judge_day(count: float, expected: float, phi: float, *, low_yesterday: bool) -> DayVerdict:
    """Judge a day's activity count against what this home usually does in those hours."""
    ratio = count / expected if expected > 0 else 1.0
    high = ratio >= HIGH_RATIO_DAY and nb_sf(count, expected, phi) < HIGH_P_DAY
    if expected < MIN_EXPECTED_DAY:
        # too few events expected to call a day low; a day far too busy is still held back
        return DayVerdict(1.0, expected, 1.0, False, False, high)
    p = nb_cdf(count, expected, phi)
    low = p < LOW_P_STREAK and ratio <= LOW_RATIO_STREAK
    flagged = ((p < LOW_P_DAY and ratio <= LOW_RATIO_DAY)
               or (p < LOW_P_STRONG and ratio <= LOW_RATIO_STRONG)
               or (low and low_yesterday))
    return DayVerdict(p, expected, ratio, flagged, low, high)


def updated_dispersion(phi: float, count: float, expected: float) -> float:
    """The home's day-to-day dispersion after one more judged day: a moving average of
    the squared deviation over the mean. Not capped per day: a cap (at three times the
    present value) let the first day of an illness widen it less and found one more
    illness in the simulator, but a real home's dispersion then grew too slowly and
    its ordinary days were flagged (every one of real-home-a's 100 shifted copies)."""
    deviation = (count - expected) ** 2 / expected
    return min(DISPERSION_MAX, max(DISPERSION_MIN, 0.9 * phi + 0.1 * deviation))


def judge_bed(minutes: float, usual: float, spread: float, days: int) -> bool:
    """Judge a day's minutes in bed outside the night against the home's usual over
    `days` learned days: flagged when at least BED_EXTRA_MIN above the usual (twice
    that before MIN_DAYS days) and BED_SPREADS times its spread; never before
    BED_EARLY_DAYS days."""
    if days < BED_EARLY_DAYS:
        return False
    extra = BED_EXTRA_MIN if days >= MIN_DAYS else BED_EARLY_EXTRA_MIN
    return minutes >= usual + max(extra, BED_SPREADS * spread)


def judge_nights(visits: float, usual_per_night: float) -> tuple[float, bool]:
    """Judge the toilet visits of the last few nights against the usual rate."""
    mu = NIGHTS_SUMMED * max(usual_per_night, NIGHT_RATE_FLOOR)
    p = nb_sf(visits, mu, NIGHT_DISPERSION)
    return p, p < HIGH_P_NIGHTS and visits >= mu + 3.0


def night_p(visits: float, usual_per_night: float) -> float:
    """P(at least this many toilet visits in one night) at the usual rate."""
    return nb_sf(visits, max(usual_per_night, NIGHT_RATE_FLOOR), NIGHT_DISPERSION)


def combined_p(p1: float, p2: float) -> float:
    """Fisher's combination of two independent p-values (chi-square, 4 degrees of freedom)."""
    q = max(p1 * p2, 1e-300)
    return q * (1.0 - math.log(q))


def judge_unwell(p_day: float, day_ratio: float, visits: float,
                 usual_per_night: float) -> tuple[float, bool]:
    """Judge a low day and the night after it together: (combined p, flagged)."""
    usual = max(usual_per_night, NIGHT_RATE_FLOOR)
    if day_ratio > UNWELL_DAY_RATIO or visits < usual + UNWELL_EXTRA_VISITS:
        return 1.0, False
    p = combined_p(p_day, night_p(visits, usual_per_night))
    return p, p < UNWELL_P
