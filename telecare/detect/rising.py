"""Not up by the usual time: a resident still in bed long after this home's rising.

Alarm receiving centres run "not up by a set time" on a bed pad for the resident
who cannot get out of bed (a stroke in the night, a fall against the bed, too
weak or too cold to get up). Without it the only rule for a resident in bed is
`BED_MAX_MS` (14 h still in bed): someone in bed at 22:30 would be raised at
12:30, later than the 12 h timer most services run. So each home with a bed pad
learns when its resident gets up: the last time the pad says vacant between
`RISE_FROM_MIN` and `RISE_UNTIL_MIN` local (after a night-time trip to the
toilet the resident goes back to bed, so the last one is the rising), as a
moving mean and spread of the minute of day (each morning weighing at least
1/21). Once `MIN_RISE_DAYS` mornings are learned, a resident in bed (and still)
is raised at the usual rising plus
`max(RISE_MARGIN_MIN, RISE_SPREADS * spread)`: a lie-in of an hour or two after
a late night is not an alarm, three hours is worth a call.

The rule covers a night's sleep only: it applies to a stay in bed that began at
least `SLEEP_BEFORE_MS` before the deadline (back to bed at 09:00 after getting
up is a rest, left to the 14 h rule). A morning whose resident was raised by it
is not learned (a detector does not learn from what it flags), nor a day the
routine tests held back.

A time set for the home (`up_by`) raises at that minute whatever the usual, from
the first morning; with both, the earlier applies.

A home without a pad learns its rising the same way from the first sign of life
after the night's stillness (a still spell of NIGHT_STILL_MS begun in the night
floor's hours; the last such each morning). Its resident is still since the
night when the last sign of life was the day's end (DAY_UP_MS after getting up)
or a trip in the night (at most UP_TRIP_MS after getting up, TRIP_LEAD_MIN or
more before the usual rising), and is then raised at the same minute, "not up by
the usual time"; one up for the day is left to the hour's threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from telecare.detect.columns import (
    ASLEEP,
    F_RISE_MEAN,
    F_RISE_SQ,
    NO_UP_BY,
    NONE,
    clock_text,
    hours_text,
    learn_level,
    level,
)
from telecare.detect.localtime import HOUR_MS

if TYPE_CHECKING:
    from telecare.detect.home import Home

RISE_FROM_MIN: Final = 4 * 60
RISE_UNTIL_MIN: Final = 12 * 60
MIN_RISE_DAYS: Final = 7
RISE_MARGIN_MIN: Final = 120.0
RISE_SPREADS: Final = 3.0
SLEEP_BEFORE_MS: Final = 3 * HOUR_MS
# a home without a pad: a still spell this long, begun in the night floor's hours, is sleep
NIGHT_STILL_MS: Final = 2 * HOUR_MS
# ... and a last sign of life this long after getting up is the end of the day
DAY_UP_MS: Final = 10 * HOUR_MS
# ... and getting up this long before the usual rising, a trip in the night
TRIP_LEAD_MIN: Final = 120


def got_up(home: Home, t: int) -> None:
    """The resident got up at `t` (the pad's vacant; in a home without a pad, the first
    sign of life after the night's stillness; called before the home takes it): note
    today's rising when it is in the morning window; a morning whose resident was
    already raised (still in bed, or still since the night) is marked not to be learned."""
    if home.rose < 0 or not RISE_FROM_MIN <= home.clock.minute_of_day(t) < RISE_UNTIL_MIN:
        return
    raised = home.inact_alerted and (home.presence == ASLEEP or not home.bed_t)
    home.rose = -1 if raised else t


def latest_minute(home: Home) -> int | None:
    """The local minute of day by which this home's resident is usually up, or None
    while too few mornings are learned."""
    if home.rise_days < MIN_RISE_DAYS:
        return None
    mean, spread = level(home.det.floats[home.row], F_RISE_MEAN, F_RISE_SQ)
    return min(24 * 60 - 1, round(mean + max(RISE_MARGIN_MIN, RISE_SPREADS * spread)))


def due_minute(home: Home) -> int | None:
    """The local minute by which this home's resident is due up: the earlier of the
    learned one (when the rule is on and enough mornings are learned) and the time set
    for the home (`up_by`), or None when neither applies."""
    learned = latest_minute(home) if home.not_up else None
    fixed = None if home.up_by == NO_UP_BY else home.up_by
    choices = [m for m in (learned, fixed) if m is not None]
    return min(choices) if choices else None


def in_the_night(home: Home, t: int) -> bool:
    """Whether getting up at `t` is a trip in the night rather than the day's rising:
    in the evening, or TRIP_LEAD_MIN or more before the usual rising (before a week of
    mornings is learned, before the time set for the home; with neither, never)."""
    if home.rise_days >= MIN_RISE_DAYS:
        usual = round(float(home.det.floats[home.row, F_RISE_MEAN]))
    elif home.up_by != NO_UP_BY:
        usual = int(home.up_by)
    else:
        return False
    minute = home.clock.minute_of_day(t)
    return bool(minute >= RISE_UNTIL_MIN or minute < usual - TRIP_LEAD_MIN)


def deadline(home: Home, in_bed_since: int) -> int:
    """When a resident in bed since `in_bed_since` is due up, or NONE (no rule applies:
    the learned one off or too few mornings learned, and no time set)."""
    minute = due_minute(home)
    if minute is None:
        return NONE
    return int(home.clock.next_local(in_bed_since + SLEEP_BEFORE_MS, minute))


def learn(home: Home, *, keep: bool) -> None:
    """Local midnight: learn the day's rising when `keep` (and there was one, not
    flagged), then forget it."""
    rose, home.rose = home.rose, 0
    if not keep or rose <= 0:
        return
    home.rise_days += 1
    learn_level(home.det.floats[home.row], F_RISE_MEAN, F_RISE_SQ,
                float(home.clock.minute_of_day(rose)), home.rise_days)


def usual_text(home: Home, at: int) -> str:
    """A home without a pad: why its stillness since the night was raised now."""
    local = home.clock.minute_of_day(at)
    if local == home.up_by:
        return "not up by the time set for this home"
    usual = round(float(home.det.floats[home.row, F_RISE_MEAN]))
    return f"not up by the usual time: about {clock_text(usual)}"


def reason(home: Home, at: int) -> str:
    """The alert's words: the time, when the resident is usually up, how long in bed."""
    local = home.clock.minute_of_day(at)
    in_bed = hours_text(at - home.bed_t)
    if local == home.up_by:
        return (f"still in bed at {clock_text(local)} local, the time set for "
                f"this home (in bed for {in_bed})")
    usual = round(float(home.det.floats[home.row, F_RISE_MEAN]))
    return (f"still in bed at {clock_text(local)} local where up by about "
            f"{clock_text(usual)} is usual (in bed for {in_bed})")
