"""What a home's day and night say when they end: routine change and learning.

At local midnight (`end_day`) the day's gaps are learned and the thresholds
re-derived, and the day is judged: its count of signs of life against the home's
usual (`judge_activity`), and its daytime minutes in bed (`judge_bed`). At night
end (`end_night`) the night's toilet visits are judged, alone over the last few
nights and together with the day before (`judge_unwell`). What is flagged is
raised for carers and not learned; see docs/detection.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from telecare.detect import learning, rising, routine, stillness
from telecare.detect.columns import (
    DOOR,
    F_BED_MEAN,
    F_BED_REST_TODAY,
    F_BED_SQ,
    F_BED_TODAY,
    F_DAY_P,
    F_DAY_RATIO,
    F_DISPERSION,
    F_EFF_DAYS,
    F_NIGHT_MEAN,
    hours_text,
    learn_level,
    level,
)
from telecare.detect.localtime import DAY_MS, HOUR_MS, MINUTE_MS
from telecare.model import AlertType, Priority

if TYPE_CHECKING:
    from telecare.detect.home import Home


def carer_notice(home: Home, at: int, reason: str) -> None:
    """Raise a routine change for the home's carers (priority 3, not the operator queue)."""
    home.raise_(AlertType.ROUTINE_CHANGE, Priority.WELFARE, at, reason, audience="carer")


def end_day(home: Home, at: int) -> None:
    """Local midnight: learn the day's gaps, re-derive thresholds, judge the day's activity."""
    home.account(at)
    det, row = home.det, home.row
    covered = min(1.0, (at - max(home.first_seen, at - DAY_MS)) / DAY_MS)
    det.gap_hist[row] *= learning.DAILY_DECAY
    det.gap_days[row] *= learning.DAILY_DECAY
    det.day_ends[row] *= learning.DAILY_DECAY
    gaps = det.pending_gaps.pop(row, None)
    if gaps:
        cells = np.asarray(gaps)
        np.add.at(det.gap_hist[row].reshape(-1), cells, 1.0)
        det.gap_days[row, np.unique(cells // learning.BINS)] += 1.0
    det.ctx_hist[row] *= learning.DAILY_DECAY
    ctx_gaps = det.pending_ctx_gaps.pop(row, None)
    if ctx_gaps:
        np.add.at(det.ctx_hist[row].reshape(-1), np.asarray(ctx_gaps), 1.0)
    det.floats[row, F_EFF_DAYS] = det.floats[row, F_EFF_DAYS] * learning.DAILY_DECAY + covered
    stillness.recompute_thresholds(home)
    weekday = (home.clock.day(at - 1) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    slots = slice(weekday * 24, weekday * 24 + 24)
    count = float(sum(home.today))
    home_h = np.asarray(home.home_ms) / HOUR_MS
    flagged, held = judge_activity(home, at, weekday, count, home_h)
    if home.bed_t:
        flagged = judge_bed(home, at, flagged)
    # a flagged or far too busy day is not learned, unless a week of them running says
    # the routine has changed
    home.held_streak = home.held_streak + 1 if flagged or held else 0
    learn = not (flagged or held) or home.held_streak > routine.MAX_FLAGGED_DAYS
    if learn and home_h.sum() > 0:
        decay = routine.WEEKLY_DECAY
        det.week_count[row, slots] = det.week_count[row, slots] * decay + home.today
        det.week_home_h[row, slots] = det.week_home_h[row, slots] * decay + home_h
        home.days_seen += 1
        if home.bed_t:
            learn_bed(home)
    rising.learn(home, keep=learn)
    det.floats[row, F_BED_TODAY] = det.floats[row, F_BED_REST_TODAY] = 0.0
    home.today = [0.0] * 24
    home.home_ms = [0.0] * 24
    home.day_dl = home.clock.next_local(at, 0)


def judge_activity(home: Home, at: int, weekday: int, count: float,
                   home_h: np.ndarray) -> tuple[bool, bool]:
    """Judge the day's count of signs of life: raise a low day; return (flagged, held).

    A low day is judged once the home has MIN_DAYS learned days; a day far above the
    usual is held back from learning from HIGH_MIN_DAYS on (a chattering sensor in
    the first week would otherwise make every later day look low)."""
    floats = home.det.floats[home.row]
    low_yesterday = bool(floats[F_DAY_P] < routine.LOW_P_STREAK
                         and floats[F_DAY_RATIO] <= routine.LOW_RATIO_STREAK)
    floats[F_DAY_P] = floats[F_DAY_RATIO] = 1.0
    if (not home.routine or home.days_seen < routine.HIGH_MIN_DAYS
            or home_h.sum() < routine.MIN_HOME_HOURS):
        return False, False
    expected = expected_count(home, weekday, home_h)
    phi = float(floats[F_DISPERSION])
    verdict = routine.judge_day(count, expected, phi, low_yesterday=low_yesterday)
    if home.days_seen < routine.MIN_DAYS:
        return False, verdict.high
    floats[F_DAY_P], floats[F_DAY_RATIO] = verdict.p_low, verdict.ratio
    if verdict.flagged:
        carer_notice(
            home, at,
            f"low activity all day: {count:.0f} events where about {expected:.0f} are "
            f"usual for the hours at home (p={verdict.p_low:.1g})",
        )
        return True, False
    if verdict.high:
        return False, True  # a chattering sensor, or visitors: not what the resident does
    if expected > 0:
        floats[F_DISPERSION] = routine.updated_dispersion(phi, count, expected)
    return False, False


def judge_bed(home: Home, at: int, flagged: bool) -> bool:
    """A day spent in bed far beyond the usual (homes with a bed pad): raise; return
    whether the day is flagged (by this or the tests before it)."""
    floats = home.det.floats[home.row]
    if flagged or not home.routine:
        return flagged
    minutes = float(floats[F_BED_TODAY]) / MINUTE_MS
    mean, spread = level(floats, F_BED_MEAN, F_BED_SQ)
    if home.bed_days < routine.BED_EARLY_DAYS:
        # no usual yet: lying down this long after getting up is not taken for one, until
        # it has been told on a few days running (then it is learned: a habit of napping
        # in bed, which the days learned raise the bar for)
        resting_ms = int(floats[F_BED_REST_TODAY])
        usual = mean if home.bed_days else 0.0
        if (resting_ms < (usual + routine.BED_EARLY_EXTRA_MIN) * MINUTE_MS
                or home.held_streak >= routine.BED_NEW_TOLD_DAYS):
            return False
        carer_notice(
            home, at,
            f"lay down in bed for {hours_text(resting_ms)} in the daytime "
            "(this home's usual is not learned yet)",
        )
        return True
    if not routine.judge_bed(minutes, mean, spread, home.bed_days):
        return False
    carer_notice(
        home, at,
        f"in bed for {hours_text(int(minutes * MINUTE_MS))} in the daytime where about "
        f"{mean:.0f} min is usual",
    )
    return True


def learn_bed(home: Home) -> None:
    """Learn the day's daytime minutes in bed (homes with a bed pad)."""
    floats = home.det.floats[home.row]
    home.bed_days += 1
    learn_level(floats, F_BED_MEAN, F_BED_SQ, float(floats[F_BED_TODAY]) / MINUTE_MS,
                home.bed_days)


def expected_count(home: Home, weekday: int, home_h: np.ndarray) -> float:
    """Events expected today: this home's hour-of-week rates times today's hours at home."""
    det, row = home.det, home.row
    counts = det.week_count[row].reshape(7, 24).astype(np.float64)
    hours = det.week_home_h[row].reshape(7, 24).astype(np.float64)
    overall = counts.sum() / max(float(hours.sum()), 1e-9)
    by_hour = (counts.sum(axis=0) + routine.SHRINK_DAY_HOURS * overall) / (
        hours.sum(axis=0) + routine.SHRINK_DAY_HOURS
    )
    rate = (counts[weekday] + routine.SHRINK_WEEK_HOURS * by_hour) / (
        hours[weekday] + routine.SHRINK_WEEK_HOURS
    )
    return float((rate * home_h).sum())


def end_night(home: Home, at: int) -> None:
    """Night over: judge the last few nights' toilet visits, then learn from this one."""
    visits = home.visits
    summed = visits + home.ring0 + home.ring1
    usual = float(home.det.floats[home.row, F_NIGHT_MEAN])
    flagged = False
    held = False
    if home.routine and home.nights_seen >= routine.MIN_NIGHTS:
        p, flagged = routine.judge_nights(summed, usual)
        held = p < routine.HOLD_P_NIGHTS
        flagged = flagged and visits > usual
        if flagged:
            carer_notice(
                home, at,
                f"more night-time toilet visits than usual: {summed} in the last "
                f"{routine.NIGHTS_SUMMED} nights where about "
                f"{routine.NIGHTS_SUMMED * usual:.1f} are usual (p={p:.1g})",
            )
    if home.routine and home.nights_seen >= routine.MIN_NIGHTS and not flagged:
        flagged = judge_unwell(home, at, visits, usual)
    away = home.presence == DOOR and visits == 0
    if not flagged and not held and not away:
        seen = home.nights_seen + 1
        weight = max(1.0 / seen, 1.0 / 21.0)
        home.det.floats[home.row, F_NIGHT_MEAN] = usual + weight * (visits - usual)
        home.nights_seen = seen
    home.ring1, home.ring0 = home.ring0, visits
    home.visits = 0
    home.night_dl = home.clock.next_local(at, home.night_end)


def judge_unwell(home: Home, at: int, visits: int, usual: float) -> bool:
    """A low day and many toilet visits the night after it: raise; return whether flagged."""
    floats = home.det.floats[home.row]
    p, flagged = routine.judge_unwell(float(floats[F_DAY_P]), float(floats[F_DAY_RATIO]),
                                      visits, usual)
    if flagged:
        carer_notice(
            home, at,
            f"low activity yesterday ({100 * floats[F_DAY_RATIO]:.0f}% of usual) and "
            f"{visits} night-time toilet visits where about {usual:.1f} are usual "
            f"(combined p={p:.1g})",
        )
    return flagged
