"""How long a home may be still, and what its still spells teach.

The limit after a sign of life at home (`limit`): the hour's learned threshold or its
fixed timer, a sensor's own threshold, the night floor, the out-of-bed and seated
rules. The thresholds are re-derived from the home's gap histograms at each local
midnight (`recompute_thresholds`); each gap is learned when a sign of life ends it
(`gap_end`), never when the detector flagged it, except as far as the limit that
flagged it in an hour still learning (`learn_timed_out`). See docs/detection.md,
"Inactivity, learned per home and hour of day".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from telecare.detect import learning, rising
from telecare.detect.columns import (
    F_EFF_DAYS,
    HOME,
    NONE,
    PAD_DOUBT_MS,
    R_FALLBACK_MS,
    R_NIGHT_END,
    R_NIGHT_START,
    UP_TRIP_MS,
    clock_text,
    fixed_timers,
    hours_text,
)
from telecare.detect.localtime import HOUR_MS, MINUTE_MS, in_window

if TYPE_CHECKING:
    from telecare.detect.home import Home


# gaps shorter than this stay in the lowest bins, where no threshold is set: a hub's
# silence inside one is not looked for
SILENCE_CHECK_MS: Final = 10 * MINUTE_MS
# still at home this long from a last sign from an hour before the night hours to their
# end: asleep, off the pad (a nap in the chair after breakfast is not)
SLEEP_OFF_PAD_MS: Final = 3 * HOUR_MS
# a resident who sat down (a chair pad's occupied, nothing since) in an hour not yet learned,
# before five sits are learned (`learning.seated_limit_min`), is given at least this long: in
# a recorded home whose living room only the seat pad sees, a sit from 16:10 to 20:19 on its
# first day raised the 4 h fixed timer; its afternoons in the chair ran to 5 h 49 min
SEATED_FALLBACK_MS: Final = 6 * HOUR_MS


def limit(home: Home, minute: int) -> int:
    """How long the home may be still after its last sign of life at this local minute
    of the day: the hour's threshold, or the last sign's context's when that is
    learned, shorter, and (in a home without a bed pad, where going to bed looks like
    stillness) runs out before the night floor. With a working bed pad, a resident out
    of bed in the night hours is held to `out_of_bed_ms` at most, unless seated. A
    resident seated (a chair pad's occupied the last sign of life) is judged in the
    night hours as in a home without a bed pad, and in a daytime hour not yet learned
    given at least `seated_limit`."""
    hour = minute // 60
    threshold = int(home.thr[hour])
    if home.floor[hour]:
        if not home.bed_t:
            due = home.not_up_due()
            if due != NONE:
                threshold = min(threshold, due - home.last_act)
        elif not pad_trusted(home) or (
                home.seated_at and in_window(minute, home.night_start, home.night_end)):
            # sleep may not show on the pad tonight, or the resident dozes in the chair
            # in the night: the floor, as in a home without a pad (and one who reached
            # the chair after getting up is not on the floor: no out-of-bed rule)
            floor = min(int(home.det.fallback[home.row, hour]),
                        int(learning.TIMER_MIN) * MINUTE_MS)
            threshold = max(threshold, floor)
        elif out_of_bed_now(home, minute):
            threshold = min(threshold, home.out_of_bed_ms)
        return threshold
    context = int(home.ctx_thr[home.last_ctx])
    if context < threshold and (
            context <= ((home.floor_start - minute) % 1440) * MINUTE_MS
            or pad_trusted(home)):
        return context
    if home.seated_at and not home.det.learned[home.row, hour]:
        # a chair pad sees the resident sit, not stop moving: an afternoon in the chair
        # is no alarm for a home still learning
        return max(threshold, seated_limit(home))
    return threshold


def seated_limit(home: Home) -> int:
    """A resident seated in an hour not yet learned: 1.25 times the longest stillness
    after sitting on this seat so far (at least 2.5 h), or SEATED_FALLBACK_MS before
    five sits are learned."""
    sits = learning.seated_limit_min(home.det.ctx_hist[home.row, home.last_ctx])
    return SEATED_FALLBACK_MS if sits is None else round(sits) * MINUTE_MS


def pad_trusted(home: Home) -> bool:
    """Whether the home has a bed pad to show sleep: none of its sensors is faulty (the
    pad may be the one) and the pad has not missed a going to bed lately."""
    return bool(home.bed_t and not home.faulty and (
        not home.pad_missed or home.last_act - home.pad_missed > PAD_DOUBT_MS))


def out_of_bed_now(home: Home, minute: int) -> bool:
    """Whether the rule for a resident up in the night applies to a last sign of life
    at this local minute: the home has a bed pad (none of its sensors faulty), it is
    night, and the resident got out of bed in these night hours at most UP_TRIP_MS
    before it (a fall on the way to the toilet; not a resident who has not gone to
    bed yet, dozes off on the sofa, or got up early and sits with a book)."""
    return bool(home.out_of_bed_ms and pad_trusted(home)
                and in_window(minute, home.night_start, home.night_end)
                and home.up_at > home.bed_t
                and home.last_act - home.up_at <= UP_TRIP_MS
                and in_window(home.clock.minute_of_day(home.up_at), home.night_start,
                              home.night_end))


def gap_end(home: Home, t: int, late: bool) -> None:
    """A sign of life at home ends a gap: learn it, unless it was flagged, arrived late
    or spans a silence of the hub (what it did not hear says nothing of stillness).
    A night's sleep off the pad (a long still spell at home begun from an hour before
    the night hours to their end) puts the pad in doubt, as a vacant it sends while the
    resident is up does."""
    gap = t - home.last_act
    if (home.bed_t and gap >= SLEEP_OFF_PAD_MS and home.last_act > 0 and in_window(
            home.clock.minute_of_day(home.last_act), home.floor_start, home.night_end)):
        home.pad_missed = t
    if gap >= learning.NIGHT_GAP_MS and not late and home.last_act > 0 and learning.is_night(
            home.clock.minute_of_day(home.last_act), home.clock.minute_of_day(t)):
        home.det.day_ends[home.row, home.clock.hour(home.last_act)] += 1.0
    if home.inact_alerted:
        learn_timed_out(home, t, late)
        home.clear_inactivity(t)
        return
    silent_during = home.det.silent_during
    if (gap > 0 and not late and home.last_act > 0
            and not (gap > SILENCE_CHECK_MS and silent_during is not None
                     and silent_during(home.row, home.last_act, t))):
        minute = home.clock.minute_of_day(home.last_act)
        hour = minute // 60
        gap_bin = learning.gap_bin(gap)
        home.det.pending_gaps.setdefault(home.row, []).append(hour * learning.BINS + gap_bin)
        # contexts learn the daytime only: gaps that start outside the night floor and,
        # in a home without a bed pad, end before it begins
        if not home.floor[hour] and (
                home.bed_t or gap <= ((home.floor_start - minute) % 1440) * MINUTE_MS):
            home.det.pending_ctx_gaps.setdefault(home.row, []).append(
                home.last_ctx * learning.BINS + gap_bin
            )


def learn_timed_out(home: Home, t: int, late: bool) -> None:
    """A gap flagged in a daytime hour not yet learned, ended by a sign of life at `t`,
    is learned as only as long as the limit that flagged it (the timer, or a sensor's
    threshold): that it lasted so long is all that was known before it was flagged.
    Not at all, and an hour whose ordinary gaps outlast the timer (lunch to dinner in a
    home whose only sensors are a door and a fridge) would flag each of them and never
    learn."""
    minute = home.clock.minute_of_day(home.last_act)
    hour = minute // 60
    if (late or home.last_act <= 0 or home.seated_at or home.det.learned[home.row, hour]
            or not plain_timer_hours(home)[hour]):
        return
    known = min(limit(home, minute), t - home.last_act)
    silent_during = home.det.silent_during
    if silent_during is not None and silent_during(home.row, home.last_act,
                                                   home.last_act + known):
        return
    cell = hour * learning.BINS + learning.gap_bin(known)
    home.det.pending_gaps.setdefault(home.row, []).append(cell)


def plain_timer_hours(home: Home) -> np.ndarray:
    """[24] bool: the hours whose fixed timer is the plain one, not the one running to the
    morning (the home's daytime)."""
    return np.asarray(home.det.fallback[home.row] <= home.det.rules[home.row, R_FALLBACK_MS])


def recompute_thresholds(home: Home) -> None:
    """Derive this home's per-hour inactivity thresholds from what it has learned."""
    det, row = home.det, home.row
    evening = learning.evening_minute(det.day_ends[row], float(det.floats[row, F_EFF_DAYS]))
    # a home whose days end early (its sensors do not see the evening): the fixed timer
    # of its evening hours runs to the morning, as it does from its bedtime
    rules = det.rules[row]
    det.fallback[row] = fixed_timers(int(rules[R_NIGHT_START]), int(rules[R_NIGHT_END]),
                                     int(rules[R_FALLBACK_MS]), evening)
    fallback = det.fallback[row]
    daytime = plain_timer_hours(home)
    peaks = learning.pooled_peaks(det.gap_hist[row])
    shape = learning.tail_shape(det.gap_hist[row], daytime, peaks)
    minutes, learned = learning.thresholds_min(
        det.gap_hist[row], det.gap_days[row], float(det.floats[row, F_EFF_DAYS]),
        shape=np.where(daytime, shape, 0.0), peaks=peaks,
    )
    # the limits of a learning home's daytime change only the daytime hours not learned
    learning_daytime = not learned[daytime].all()
    early = (learning.early_limit_min(det.gap_hist[row], det.night_floor[row])
             if learning_daytime else None)
    if early is not None:
        fallback = np.where(daytime, np.minimum(fallback, int(early) * MINUTE_MS), fallback)
    wide = (learning.daytime_threshold_min(det.gap_hist[row], daytime,
                                           float(det.floats[row, F_EFF_DAYS]))
            if learning_daytime else None)
    if wide is not None:
        # from the home's third day, a daytime hour that sees too few gaps to learn is
        # judged by the home's daytime as a whole when that is longer than its timer
        fallback = np.where(daytime, np.maximum(fallback, round(wide) * MINUTE_MS), fallback)
    learned_ms = np.round(minutes).astype(np.int64) * MINUTE_MS
    # without a bed pad, stillness in the night floor's hours may be sleep: at least the
    # fixed timer to the morning (no more than the 12 h timer, for an hour learned); with
    # one, sleep shows, and the learned threshold holds
    floor = (np.where(det.night_floor[row],
                      np.minimum(det.fallback[row], int(learning.TIMER_MIN) * MINUTE_MS), 0)
             if not home.bed_t else 0)
    thr = np.where(learned, np.maximum(learned_ms, floor), fallback)
    det.thresholds[row] = thr
    det.learned[row] = learned
    ctx_minutes, ctx_learned = learning.context_thresholds_min(
        det.ctx_hist[row], float(det.floats[row, F_EFF_DAYS])
    )
    ctx_thr = np.where(ctx_learned, np.round(ctx_minutes).astype(np.int64) * MINUTE_MS, NONE)
    det.ctx_thr[row] = ctx_thr
    det.dirty_learned.add(row)
    use_thresholds(home)


def use_thresholds(home: Home) -> None:
    """Take the home's thresholds, as derived, into its cursor: a pending inactivity
    deadline follows them."""
    det, row = home.det, home.row
    det.underived.discard(row)
    det.saved_thresholds.pop(row, None)  # (derived since: what was saved is old now)
    home.thr = det.thresholds[row].tolist()
    home.ctx_thr = det.ctx_thr[row].tolist()
    if home.presence == HOME and not home.inact_alerted and home.inact_dl != NONE:
        home.set_inactivity()


def inactivity_reason(home: Home, at: int) -> str:
    """Why a home still since its last sign of life at home was raised at `at`: how long,
    from which hour, and by which limit."""
    minute = home.clock.minute_of_day(home.last_act)
    hour = minute // 60
    learned = bool(home.det.learned[home.row, hour])
    allowed = limit(home, minute)
    if home.floor[hour] and at == home.not_up_due():
        basis = rising.usual_text(home, at)
    elif out_of_bed_now(home, minute) and allowed == home.out_of_bed_ms:
        basis = "out of bed at night"
    elif allowed < home.thr[hour]:
        basis = "longer than this home usually goes after that sensor"
    elif learned:
        basis = "longer than this home usually goes at this hour"
    elif home.seated_at and allowed > home.thr[hour]:
        basis = "seated, judged by its sits so far while its pattern is learned"
    elif home.thr[hour] > home.det.fallback[home.row, hour]:
        basis = "longer than this home usually goes in the daytime"
    elif home.thr[hour] < home.det.fallback[home.row, hour]:
        basis = "twice its longest still spell so far, while its pattern is learned"
    else:
        basis = "fixed timer while this home's pattern is learned"
    text = (f"no activity at home for {hours_text(at - home.last_act)}, "
            f"last at {hour:02d}:xx local ({basis})")
    if home.seated_at:
        # where to look first: the chair pad has held the resident since then
        seated = clock_text(home.clock.minute_of_day(home.seated_at))
        text += f"; on the chair pad since {seated}"
    return text
