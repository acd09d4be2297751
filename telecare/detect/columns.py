"""The columns of a home's row in the ambient detectors' arrays, and what they mean.

One row per home in `AmbientDetectors` (numpy): `ints` (presence, last sign of
life, deadlines, alert flags, counters), `floats` (learned levels), `rules`
(the home's settings, resolved). A `Home` cursor loads a row into attributes,
applies the home's events and timers, and writes it back.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from telecare.detect.localtime import HOUR_MS, MINUTE_MS, in_window, parse_hhmm
from telecare.model import HubSettings

NONE: Final = 2**62  # "no deadline"
UNKNOWN, HOME, DOOR, ASLEEP = 0, 1, 2, 3
# activity this soon after an exit door opened (and before it closed) may be the resident leaving
DOOR_SETTLE_MS: Final = 60_000
# exit-door events this close together are one passage (open, close, a second try of the latch)
PASSAGE_MS: Final = 120_000
# in bed and still for this long raises inactivity whatever the hour ("not up")
BED_MAX_MS: Final = 14 * HOUR_MS
# a resident out of bed at night is watched by the out-of-bed rule for this long after getting
# up: the trip to the toilet and back, where night-time falls happen (DOMAIN.md: "out of bed
# at night and not back within ~30 min"); one up longer has begun an early day
UP_TRIP_MS: Final = 30 * MINUTE_MS
# a bed pad that missed a going to bed (it said vacant while the resident was taken to be
# up, or the resident slept a night at home off it) is not trusted for the night rules for
# this long
PAD_DOUBT_MS: Final = 14 * 24 * HOUR_MS
# toilet activity closer together than this is one visit
VISIT_GAP_MS: Final = 10 * MINUTE_MS

# columns of `ints` (one row per home)
# I_UP_AT: when the resident last got up (the pad's vacant; without a pad, the first sign
# of life after the night's stillness); I_VACANT_AT: the pad's vacant not yet shown by
# another sign of life (0: none); I_PADS_IN: bit set of the home's pads saying occupied;
# I_PAD_MISSED: when the pad last missed a going to bed; I_SEATED_AT: when a chair pad said
# occupied, the last sign of life since (0: the resident is not known to be seated)
(
    I_PRESENCE, I_LAST_ACT, I_DOOR_T, I_DOOR_CLOSED, I_BED_T, I_SINCE, I_INACT_DL,
    I_INACT_ALERTED, I_EXIT_DL, I_EXIT_ALERTED, I_OPEN_DL, I_OPEN_ALERTED, I_DAY_DL,
    I_NIGHT_DL, I_FIRST_SEEN, I_VISITS, I_LAST_TOILET, I_HELD_STREAK, I_NIGHTS_SEEN,
    I_DAYS_SEEN, I_RING0, I_RING1, I_ACTIVE, I_LAST_CTX, I_BED_DAYS, I_UP_AT, I_ROSE,
    I_RISE_DAYS, I_VACANT_AT, I_PADS_IN, I_PAD_MISSED, I_SEATED_AT,
) = range(32)
N_INTS: Final = 32
# the timers' deadline columns (NONE: not set): those that raise an alert when they pass,
# and all of them with the day's and the night's end
ALARM_DEADLINES: Final = [I_INACT_DL, I_EXIT_DL, I_OPEN_DL]
DEADLINES: Final = [*ALARM_DEADLINES, I_DAY_DL, I_NIGHT_DL]
# columns of `floats`
# F_DAY_P, F_DAY_RATIO: the last judged day's p (low activity) and count over expected
# F_BED_TODAY: ms in bed today outside the night floor; F_BED_MEAN, F_BED_SQ: the usual
# minutes of a day and their square (moving averages, for the mean and spread);
# F_RISE_MEAN, F_RISE_SQ: the same for the local minute the resident gets up (rising.py);
# F_BED_REST_TODAY: the part of F_BED_TODAY in stays begun that day after the night hours
# (lying down in the daytime, not the night's sleep run late)
(
    F_EFF_DAYS, F_DISPERSION, F_NIGHT_MEAN, F_DAY_P, F_DAY_RATIO, F_BED_TODAY, F_BED_MEAN,
    F_BED_SQ, F_RISE_MEAN, F_RISE_SQ, F_BED_REST_TODAY,
) = range(11)
N_FLOATS: Final = 11
# columns of `rules` (per-home settings, resolved)
(
    R_CLOCK, R_NIGHT_START, R_NIGHT_END, R_NIGHT_EXIT, R_RETURN_MS, R_OPEN_MS, R_INACTIVITY,
    R_ROUTINE, R_FALLBACK_MS, R_OUT_OF_BED_MS, R_NOT_UP, R_UP_BY, R_NOT_BACK_MS,
) = range(13)
N_RULES: Final = 13
# R_UP_BY when no time is set
NO_UP_BY: Final = -1


def night_floor_hours(settings: HubSettings) -> list[bool]:
    """Hours whose last sign of life may be the resident going to (or back to) sleep:
    from an hour before night start to two hours after night end."""
    start = parse_hhmm(settings.night_start)
    end = parse_hhmm(settings.night_end)
    return [in_window(hour * 60, (start - 60) % 1440, (end + 120) % 1440) for hour in range(24)]


# a home still learning takes a last sign of life this long before night start as maybe
# going to bed (in its first week, bedtimes at 20:xx were a third of all false alerts)
BEDTIME_LEAD_MIN: Final = 120


def fallback_thresholds(settings: HubSettings) -> list[int]:
    """The fixed timer of a home still learning, from its settings (`fixed_timers`)."""
    return fixed_timers(parse_hhmm(settings.night_start), parse_hhmm(settings.night_end),
                        int(settings.fallback_h * HOUR_MS))


def fixed_timers(night_start: int, night_end: int, fallback_ms: int,
                 evening: int | None = None) -> list[int]:
    """The fixed timer of a home still learning, by the local hour of the last sign of
    life: `fallback_ms`; for one from BEDTIME_LEAD_MIN before night start (or from the
    local minute `evening`, when earlier: the hour this home's days often end, learned)
    to night end, until `fallback_ms` after night end. In the night floor's hours it is
    also the floor under a learned threshold in a home without a bed pad (or whose pad
    is faulty), where sleep looks like stillness."""
    lead = (night_start - BEDTIME_LEAD_MIN) % 1440
    if evening is not None and (lead - evening) % 1440 < 12 * 60:
        lead = evening
    out = []
    for hour in range(24):
        minute = hour * 60
        if in_window(minute, lead, night_end):
            out.append(((night_end - minute) % 1440) * MINUTE_MS + fallback_ms)
        else:
            out.append(fallback_ms)
    return out


# a usual level's newest value weighs at least this much: a changed routine is learned in weeks
LEVEL_WEIGHT_MIN: Final = 1.0 / 21.0


def learn_level(floats: np.ndarray, mean: int, square: int, value: float, seen: int) -> None:
    """Move a usual level (columns `mean` and `square` of a home's floats, for its mean
    and spread) towards the `seen`-th value."""
    weight = max(1.0 / seen, LEVEL_WEIGHT_MIN)
    floats[mean] += weight * (value - floats[mean])
    floats[square] += weight * (value * value - floats[square])


def level(floats: np.ndarray, mean: int, square: int) -> tuple[float, float]:
    """A usual level's (mean, spread)."""
    m = float(floats[mean])
    return m, math.sqrt(max(float(floats[square]) - m * m, 0.0))


def clock_text(minute: int) -> str:
    """A local minute of the day as "07:05"."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hours_text(ms: int) -> str:
    """A length of time as "3 h 05 min"."""
    minutes = ms // MINUTE_MS
    return f"{minutes // 60} h {minutes % 60:02d} min"
