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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from telecare.detect.columns import (
    ASLEEP,
    F_RISE_MEAN,
    F_RISE_SQ,
    NO_UP_BY,
    NONE,
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


def got_up(home: Home, t: int) -> None:
    """The pad says vacant at `t` (called before the home takes it): note today's rising
    when it is in the morning window; a morning whose resident was already raised as
    still in bed is marked not to be learned."""
    if home.rose < 0 or not RISE_FROM_MIN <= home.clock.minute_of_day(t) < RISE_UNTIL_MIN:
        return
    home.rose = -1 if home.inact_alerted and home.presence == ASLEEP else t


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


def reason(home: Home, at: int) -> str:
    """The alert's words: the time, when the resident is usually up, how long in bed."""
    local = home.clock.minute_of_day(at)
    in_bed = hours_text(at - home.bed_t)
    if local == home.up_by:
        return (f"still in bed at {local // 60:02d}:{local % 60:02d} local, the time set for "
                f"this home (in bed for {in_bed})")
    usual = round(float(home.det.floats[home.row, F_RISE_MEAN]))
    return (f"still in bed at {local // 60:02d}:{local % 60:02d} local where up by about "
            f"{usual // 60:02d}:{usual % 60:02d} is usual (in bed for {in_bed})")
