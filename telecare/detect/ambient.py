"""Presence, inactivity, night exit, door left open and routine change, per home.

State is one row per home in numpy arrays (`ints`, `floats`, the learned
thresholds and the histograms behind them). A home's events are applied in
event-time order by `run`, which loads the home's row into a `_Home` cursor,
walks the events, fires the home's timers that fall due before each event and
up to the event-time clock, and writes the row back. Homes with no events but
a timer due are found in one heap (at most one live entry per home: its
earliest deadline), so a quiet estate costs nothing per tick.

Presence is inferred from the front door, the activity after it and the bed pad:

- HOME: signs of life inside; inactivity is judged against the learned threshold.
- DOOR: an exit door was passed after signs of life inside, and nothing inside
  has moved since it closed. The resident has probably gone out (or let a
  visitor out): no inactivity alarm. The next passage of an exit door, with
  nothing inside in between, is taken as the resident coming back: HOME again,
  and the inactivity timer runs from the door (a collapse just inside the door
  is still found, even in a home whose only sensors are door contacts).
- ASLEEP: the bed pad says occupied and nothing has moved since.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from telecare.detect import learning, routine
from telecare.detect.decisions import Clear, Decision, Raise
from telecare.detect.hubindex import grown
from telecare.detect.kinds import (
    CONTEXT_SHIFT,
    K_ACTIVITY,
    K_BED_IN,
    K_BED_OUT,
    K_EXIT_CLOSED,
    K_EXIT_OPEN,
    K_NONE,
    K_TOILET,
    KIND_MASK,
)
from telecare.detect.localtime import DAY_MS, HOUR_MS, MINUTE_MS, LocalClock, in_window, parse_hhmm
from telecare.model import DEFAULT_TZ, AlertType, HubSettings, Priority

NONE: Final = 2**62  # "no deadline"
UNKNOWN, HOME, DOOR, ASLEEP = 0, 1, 2, 3
# activity this soon after an exit door opened (and before it closed) may be the resident leaving
DOOR_SETTLE_MS: Final = 60_000
# exit-door events this close together are one passage (open, close, a second try of the latch)
PASSAGE_MS: Final = 120_000
# in bed and still for this long raises inactivity whatever the hour ("not up")
BED_MAX_MS: Final = 14 * HOUR_MS
# toilet activity closer together than this is one visit
VISIT_GAP_MS: Final = 10 * MINUTE_MS

# columns of `ints` (one row per home)
(
    I_PRESENCE, I_LAST_ACT, I_DOOR_T, I_DOOR_CLOSED, I_BED_T, I_SINCE, I_INACT_DL,
    I_INACT_ALERTED, I_EXIT_DL, I_EXIT_ALERTED, I_OPEN_DL, I_OPEN_ALERTED, I_DAY_DL,
    I_NIGHT_DL, I_FIRST_SEEN, I_VISITS, I_LAST_TOILET, I_HELD_STREAK, I_NIGHTS_SEEN,
    I_DAYS_SEEN, I_RING0, I_RING1, I_ACTIVE, I_LAST_CTX, I_BED_DAYS,
) = range(25)
N_INTS: Final = 25
# columns of `floats`
# F_DAY_P, F_DAY_RATIO: the last judged day's p (low activity) and count over expected
# F_BED_TODAY: ms in bed today outside the night floor; F_BED_MEAN, F_BED_SQ: the usual
# minutes of a day and their square (moving averages, for the mean and spread)
(
    F_EFF_DAYS, F_DISPERSION, F_NIGHT_MEAN, F_DAY_P, F_DAY_RATIO, F_BED_TODAY, F_BED_MEAN,
    F_BED_SQ,
) = range(8)
N_FLOATS: Final = 8
# columns of `rules` (per-home settings, resolved)
(
    R_CLOCK, R_NIGHT_START, R_NIGHT_END, R_NIGHT_EXIT, R_RETURN_MS, R_OPEN_MS, R_INACTIVITY,
    R_ROUTINE, R_FALLBACK_MS,
) = range(9)
N_RULES: Final = 9


def night_floor_hours(settings: HubSettings) -> list[bool]:
    """Hours whose last sign of life may be the resident going to (or back to) sleep:
    from an hour before night start to two hours after night end."""
    start = parse_hhmm(settings.night_start)
    end = parse_hhmm(settings.night_end)
    return [in_window(hour * 60, (start - 60) % 1440, (end + 120) % 1440) for hour in range(24)]


def fallback_thresholds(settings: HubSettings) -> list[int]:
    """The fixed timer of a home still learning: `fallback_h`; for a last sign of life in
    or just before the night, until `fallback_h` after night end. In those hours it is
    also the floor under a learned threshold: without a bed pad, sleep looks like stillness."""
    fallback = int(settings.fallback_h * HOUR_MS)
    start = parse_hhmm(settings.night_start)
    end = parse_hhmm(settings.night_end)
    out = []
    for hour in range(24):
        minute = hour * 60
        if in_window(minute, (start - 60) % 1440, end):
            out.append(((end - minute) % 1440) * MINUTE_MS + fallback)
        else:
            out.append(fallback)
    return out


@dataclass
class AmbientDetectors:
    """Every ambient detector's state for all homes, and the heap of their timers."""

    hub_ids: list[str]
    clocks: list[LocalClock] = field(default_factory=list)
    ints: np.ndarray = field(default_factory=lambda: np.zeros((0, N_INTS), np.int64))
    floats: np.ndarray = field(default_factory=lambda: np.zeros((0, N_FLOATS), np.float64))
    rules: np.ndarray = field(default_factory=lambda: np.zeros((0, N_RULES), np.int64))
    thresholds: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.int64))
    fallback: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.int64))
    gap_hist: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 24, learning.BINS), np.float32)
    )
    gap_days: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.float32))
    # daytime gaps by the sign of life that began them, and the thresholds learned from them
    ctx_hist: np.ndarray = field(
        default_factory=lambda: np.zeros((0, learning.CONTEXTS, learning.BINS), np.float32)
    )
    ctx_thr: np.ndarray = field(
        default_factory=lambda: np.zeros((0, learning.CONTEXTS), np.int64)
    )
    # the devices behind each home's contexts, in the order they were first seen
    ctx_devices: dict[int, list[str]] = field(default_factory=dict)
    night_floor: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), bool))
    learned: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), bool))
    today_count: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.float64))
    today_home_ms: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.float64))
    week_count: np.ndarray = field(default_factory=lambda: np.zeros((0, 168), np.float32))
    week_home_h: np.ndarray = field(default_factory=lambda: np.zeros((0, 168), np.float32))
    pending_gaps: dict[int, list[int]] = field(default_factory=dict)
    pending_ctx_gaps: dict[int, list[int]] = field(default_factory=dict)
    scheduled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    heap: list[tuple[int, int]] = field(default_factory=list)
    # is the hub in this row silent at time t (inhibition); set by the engine
    silent_at: Callable[[int, int], bool] | None = None
    # rows whose fast state (ints, today) or learned state changed since the last checkpoint
    dirty: set[int] = field(default_factory=set)
    dirty_learned: set[int] = field(default_factory=set)
    default_settings: HubSettings = field(default_factory=HubSettings)

    # rows and settings ---------------------------------------------------------

    def fit(self, rows: int) -> None:
        """Make room for `rows` homes; new homes get default settings."""
        old = self.ints.shape[0]
        if old >= rows:
            return
        self.ints = grown(self.ints, rows)
        self.floats = grown(self.floats, rows)
        self.rules = grown(self.rules, rows)
        self.thresholds = grown(self.thresholds, rows)
        self.fallback = grown(self.fallback, rows)
        self.gap_hist = grown(self.gap_hist, rows)
        self.gap_days = grown(self.gap_days, rows)
        self.ctx_hist = grown(self.ctx_hist, rows)
        self.ctx_thr = grown(self.ctx_thr, rows, NONE)
        self.night_floor = grown(self.night_floor, rows, False)
        self.learned = grown(self.learned, rows, False)
        self.today_count = grown(self.today_count, rows)
        self.today_home_ms = grown(self.today_home_ms, rows)
        self.week_count = grown(self.week_count, rows)
        self.week_home_h = grown(self.week_home_h, rows)
        self.scheduled = grown(self.scheduled, rows, NONE)
        new = self.ints.shape[0]
        self.ints[old:new] = 0
        self.ints[old:new, [I_INACT_DL, I_EXIT_DL, I_OPEN_DL, I_DAY_DL, I_NIGHT_DL]] = NONE
        self.floats[old:new, F_DISPERSION] = 2.0
        self.floats[old:new, [F_DAY_P, F_DAY_RATIO]] = 1.0
        if not self.clocks:
            self.clocks.append(LocalClock(DEFAULT_TZ))
        for row in range(old, new):
            self._set_rules(row, 0, self.default_settings)

    def context_slot(self, row: int, device_id: str) -> int:
        """The home's slot for a device's contexts, given on first sight (the last is shared)."""
        devices = self.ctx_devices.setdefault(row, [])
        if device_id in devices:
            return min(devices.index(device_id), learning.CONTEXT_DEVICES - 1)
        devices.append(device_id)
        self.dirty_learned.add(row)
        return min(len(devices) - 1, learning.CONTEXT_DEVICES - 1)

    def clock_index(self, tz: str) -> int:
        """Return the index of the clock for a zone, making it on first use."""
        for i, clock in enumerate(self.clocks):
            if clock.zone_name == tz:
                return i
        self.clocks.append(LocalClock(tz))
        return len(self.clocks) - 1

    def configure(self, row: int, tz: str, settings: HubSettings) -> None:
        """Set a home's zone and rules (thresholds already learned are kept)."""
        self.fit(row + 1)
        self._set_rules(row, self.clock_index(tz), settings)
        if self.ints[row, I_ACTIVE]:
            # the night's timer follows the new night hours
            home = self._load(row)
            home.night_dl = home.clock.next_local(home.since, home.night_end)
            home.recompute_thresholds()
            self._store(home)

    def _set_rules(self, row: int, clock: int, s: HubSettings) -> None:
        self.rules[row] = (
            clock, parse_hhmm(s.night_start), parse_hhmm(s.night_end), int(s.night_exit),
            s.return_min * MINUTE_MS, s.door_open_min * MINUTE_MS, int(s.inactivity),
            int(s.routine), int(s.fallback_h * HOUR_MS),
        )
        self.fallback[row] = fallback_thresholds(s)
        self.night_floor[row] = night_floor_hours(s)
        if not self.ints[row, I_ACTIVE]:
            self.thresholds[row] = self.fallback[row]

    # running --------------------------------------------------------------------

    def run(self, row: int, times: list[int], kinds: list[int], clock: int, late_before: int,
            out: list[Decision]) -> None:
        """Apply one home's events (in time order) and fire its timers up to `clock`."""
        home = self._load(row)
        home.out = out
        for t, code in zip(times, kinds, strict=True):
            kind = code & KIND_MASK
            if kind == K_NONE:
                continue
            home.ctx = code >> CONTEXT_SHIFT
            if not home.active:
                home.activate(t)
            if (t > home.inact_dl or t > home.day_dl or t > home.night_dl or t > home.exit_dl
                    or t > home.open_dl):
                home.fire_until(t - 1)
            late = t <= late_before
            if kind in (K_ACTIVITY, K_TOILET):
                home.activity(t, kind == K_TOILET, late)
            elif kind in (K_EXIT_OPEN, K_EXIT_CLOSED):
                home.exit_door(t, kind == K_EXIT_OPEN, late)
            elif kind == K_BED_IN:
                home.bed_in(t, late)
            elif kind == K_BED_OUT:
                home.bed_out(t)
        if home.active:
            home.fire_until(clock)
        self._store(home)

    def due(self, clock: int) -> list[int]:
        """Pop the homes whose earliest deadline is at or before `clock`."""
        rows = []
        heap = self.heap
        while heap and heap[0][0] <= clock:
            deadline, row = heapq.heappop(heap)
            if self.scheduled[row] == deadline:
                self.scheduled[row] = NONE
                rows.append(row)
        return rows

    def _load(self, row: int) -> _Home:
        return _Home(self, row)

    def _store(self, home: _Home) -> None:
        home.save()
        self.dirty.add(home.row)
        nxt = home.next_deadline()
        if nxt < self.scheduled[home.row]:
            self.scheduled[home.row] = nxt
            heapq.heappush(self.heap, (nxt, home.row))

    def rebuild_heap(self) -> None:
        """Put every home's earliest deadline back in the heap (after a restore)."""
        n = self.ints.shape[0]
        self.scheduled[:n] = NONE
        self.heap = []
        for row in np.flatnonzero(self.ints[:n, I_ACTIVE]).tolist():
            self._store(self._load(row))


class _Home:
    """One home's row, loaded into attributes while its events are applied."""

    def __init__(self, det: AmbientDetectors, row: int) -> None:
        self.det = det
        self.row = row
        self.out: list[Decision] = []
        (
            self.presence, self.last_act, self.door_t, self.door_closed, self.bed_t, self.since,
            self.inact_dl, self.inact_alerted, self.exit_dl, self.exit_alerted, self.open_dl,
            self.open_alerted, self.day_dl, self.night_dl, self.first_seen, self.visits,
            self.last_toilet, self.held_streak, self.nights_seen, self.days_seen, self.ring0,
            self.ring1, self.active, self.last_ctx, self.bed_days,
        ) = det.ints[row].tolist()
        self.ctx = 0  # the context of the event being applied
        (
            clock, self.night_start, self.night_end, self.night_exit, self.return_ms,
            self.open_ms, self.inactivity, self.routine, _fallback,
        ) = det.rules[row].tolist()
        self.clock = det.clocks[clock]
        self.thr: list[int] = det.thresholds[row].tolist()
        self.ctx_thr: list[int] = det.ctx_thr[row].tolist()
        self.floor: list[bool] = det.night_floor[row].tolist()
        self.floor_start = (self.night_start - 60) % 1440
        self.today: list[float] = det.today_count[row].tolist()
        self.home_ms: list[float] = det.today_home_ms[row].tolist()

    def save(self) -> None:
        """Write the row back to the arrays."""
        det, row = self.det, self.row
        det.ints[row] = (
            self.presence, self.last_act, self.door_t, self.door_closed, self.bed_t, self.since,
            self.inact_dl, self.inact_alerted, self.exit_dl, self.exit_alerted, self.open_dl,
            self.open_alerted, self.day_dl, self.night_dl, self.first_seen, self.visits,
            self.last_toilet, self.held_streak, self.nights_seen, self.days_seen, self.ring0,
            self.ring1, self.active, self.last_ctx, self.bed_days,
        )
        det.today_count[row] = self.today
        det.today_home_ms[row] = self.home_ms

    def next_deadline(self) -> int:
        """The earliest of the home's timers."""
        if not self.active:
            return NONE
        return int(min(self.inact_dl, self.day_dl, self.night_dl, self.exit_dl, self.open_dl))

    def activate(self, t: int) -> None:
        """First event of a home: start its day and night timers."""
        self.active = 1
        self.first_seen = t
        self.since = t
        self.day_dl = self.clock.next_local(t, 0)
        self.night_dl = self.clock.next_local(t, self.night_end)

    # events ---------------------------------------------------------------------

    def activity(self, t: int, toilet: bool, late: bool) -> None:
        """Someone moved inside."""
        local = self.clock.local(t)
        if toilet and in_window((local // MINUTE_MS) % 1440, self.night_start, self.night_end):
            if t - self.last_toilet > VISIT_GAP_MS:
                self.visits += 1
            self.last_toilet = t
        presence = self.presence
        if presence == HOME:
            self.gap_end(t, late)
        elif presence == DOOR:
            if not ((self.door_closed and t > self.door_t) or t - self.door_t > DOOR_SETTLE_MS):
                self.touch(t)
                return  # maybe the resident on the way out
            self.become(HOME, t)
            self.returned(t)
        else:  # ASLEEP or UNKNOWN: up now; the silent stretch before is not a daytime gap
            self.become(HOME, t)
            self.clear_inactivity(t)
        if t >= self.last_act:
            hour = (local // HOUR_MS) % 24
            self.last_act = t
            self.last_ctx = self.ctx
            self.today[hour] += 1
            if self.inactivity:
                self.inact_dl = t + self.limit(t)
            return
        self.today[(local // HOUR_MS) % 24] += 1
        self.set_inactivity()

    def exit_door(self, t: int, opened: bool, late: bool) -> None:
        """The front (or back) door opened or closed."""
        same_passage = self.door_t > 0 and t - self.door_t <= PASSAGE_MS
        self.door_t = t
        self.door_closed = 0 if opened else 1
        if opened:
            if self.open_ms and self.open_dl == NONE and not self.open_alerted:
                self.open_dl = t + self.open_ms
        else:
            self.open_dl = NONE
            if self.open_alerted:
                self.open_alerted = 0
                self.out.append(Clear(self.hub_id, AlertType.DOOR_LEFT_OPEN, t))
        if same_passage:
            if self.presence == HOME:
                self.touch(t)
                self.set_inactivity()
            return
        if self.presence == DOOR:
            # out, and now the door again with nothing inside in between: back home
            self.become(HOME, t)
            self.returned(t)
            self.touch(t)
            self.set_inactivity()
            return
        if self.presence == HOME:
            self.gap_end(t, late)
        else:
            self.clear_inactivity(t)
        self.become(DOOR, t)
        self.touch(t)
        self.inact_dl = NONE
        if (self.night_exit and self.exit_dl == NONE and not self.exit_alerted
                and in_window(self.clock.minute_of_day(t), self.night_start, self.night_end)):
            self.exit_dl = t + self.return_ms

    def bed_in(self, t: int, late: bool) -> None:
        """The bed pad says occupied."""
        self.today[self.clock.hour(t)] += 1
        if self.presence == HOME:
            self.gap_end(t, late)
        elif self.presence == DOOR:
            self.returned(t)
        self.become(ASLEEP, t)
        self.bed_t = t
        self.touch(t)
        self.set_inactivity()

    def bed_out(self, t: int) -> None:
        """The bed pad says vacant: up."""
        self.today[self.clock.hour(t)] += 1
        if self.presence == DOOR:
            self.returned(t)
        self.clear_inactivity(t)
        self.become(HOME, t)
        self.touch(t)
        self.set_inactivity()

    # state changes --------------------------------------------------------------

    def become(self, presence: int, t: int) -> None:
        """Change presence, first booking the time at home so far to today's hours."""
        if presence != self.presence:
            self.account(t)
            self.presence = presence

    def account(self, t: int) -> None:
        """Book [since, t) to today's at-home hours if the resident was at home."""
        since = self.since
        if self.presence in (HOME, ASLEEP) and t > since:
            clock = self.clock
            in_bed = self.presence == ASLEEP
            while since < t:
                local = clock.local(since)
                end = min(t, since + HOUR_MS - local % HOUR_MS)
                hour = (local // HOUR_MS) % 24
                self.home_ms[hour] += end - since
                if in_bed and not self.floor[hour]:
                    self.det.floats[self.row, F_BED_TODAY] += end - since
                since = end
        self.since = max(self.since, t)

    def touch(self, t: int) -> None:
        """A sign of life at `t` (which may be older than the last one)."""
        if t >= self.last_act:
            self.last_act = t
            self.last_ctx = self.ctx

    def limit(self, t: int) -> int:
        """How long the home may be still after its last sign of life at `t`: the hour's
        threshold, or the last sign's context's when that is learned, shorter, and runs out
        before the night floor (where sleep without a bed pad looks like stillness)."""
        minute = self.clock.minute_of_day(t)
        threshold = int(self.thr[minute // 60])
        context = int(self.ctx_thr[self.last_ctx])
        if (context < threshold and not self.floor[minute // 60]
                and context <= ((self.floor_start - minute) % 1440) * MINUTE_MS):
            return context
        return threshold

    def gap_end(self, t: int, late: bool) -> None:
        """A sign of life at home ends a gap: learn it, unless it was flagged or arrived late."""
        if self.inact_alerted:
            self.clear_inactivity(t)
            return
        gap = t - self.last_act
        if gap > 0 and not late and self.last_act > 0:
            minute = self.clock.minute_of_day(self.last_act)
            hour = minute // 60
            gap_bin = learning.gap_bin(gap)
            self.det.pending_gaps.setdefault(self.row, []).append(hour * learning.BINS + gap_bin)
            # contexts learn the daytime only: gaps that end before the night floor begins
            if not self.floor[hour] and gap <= ((self.floor_start - minute) % 1440) * MINUTE_MS:
                self.det.pending_ctx_gaps.setdefault(self.row, []).append(
                    self.last_ctx * learning.BINS + gap_bin
                )

    def clear_inactivity(self, t: int) -> None:
        """A sign of life ends an inactivity alert that was raised."""
        if self.inact_alerted:
            self.inact_alerted = 0
            self.out.append(Clear(self.hub_id, AlertType.INACTIVITY, t))

    def returned(self, t: int) -> None:
        """Activity inside after an exit door: the resident is in (came back, or never left)."""
        self.exit_dl = NONE
        if self.exit_alerted:
            self.exit_alerted = 0
            self.out.append(Clear(self.hub_id, AlertType.NIGHT_EXIT, t))

    def set_inactivity(self) -> None:
        """Set the inactivity deadline for the present state."""
        if not self.inactivity:
            self.inact_dl = NONE
        elif self.presence == HOME:
            self.inact_dl = self.last_act + self.limit(self.last_act)
        elif self.presence == ASLEEP:
            self.inact_dl = self.bed_t + BED_MAX_MS
        else:
            self.inact_dl = NONE

    # timers -----------------------------------------------------------------------

    def fire_until(self, limit: int) -> None:
        """Fire, in time order, every timer due at or before `limit`."""
        while True:
            due = min(self.inact_dl, self.day_dl, self.night_dl, self.exit_dl, self.open_dl)
            if due > limit:
                return
            if self.inact_dl == due:
                self.inact_dl = NONE
                self.fire_inactivity(due)
            elif self.exit_dl == due:
                self.exit_dl = NONE
                self.exit_alerted = 1
                minutes = self.return_ms // MINUTE_MS
                self.raise_(AlertType.NIGHT_EXIT, Priority.WELFARE, due,
                            f"exit door opened at night; no activity inside for {minutes} min")
            elif self.open_dl == due:
                self.open_dl = NONE
                self.open_alerted = 1
                minutes = self.open_ms // MINUTE_MS
                self.raise_(AlertType.DOOR_LEFT_OPEN, Priority.TECHNICAL, due,
                            f"exit door open for {minutes} min")
            elif self.night_dl == due:
                self.end_night(due)
            else:
                self.end_day(due)

    def fire_inactivity(self, at: int) -> None:
        """The inactivity timer expired."""
        if self.inact_alerted:
            return
        self.inact_alerted = 1
        if self.presence == ASLEEP:
            reason = f"in bed and still for {_hours(at - self.bed_t)}"
        else:
            hour = self.clock.hour(self.last_act)
            learned = bool(self.det.learned[self.row, hour])
            if self.limit(self.last_act) < self.thr[hour]:
                basis = "longer than this home usually goes after that sensor"
            elif learned:
                basis = "longer than this home usually goes at this hour"
            else:
                basis = "fixed timer while this home's pattern is learned"
            reason = (f"no activity at home for {_hours(at - self.last_act)}, "
                      f"last at {hour:02d}:xx local ({basis})")
        self.raise_(AlertType.INACTIVITY, Priority.WELFARE, at, reason)

    def end_night(self, at: int) -> None:
        """Night over: judge the last few nights' toilet visits, then learn from this one."""
        visits = self.visits
        summed = visits + self.ring0 + self.ring1
        usual = float(self.det.floats[self.row, F_NIGHT_MEAN])
        flagged = False
        held = False
        if self.routine and self.nights_seen >= routine.MIN_NIGHTS:
            p, flagged = routine.judge_nights(summed, usual)
            held = p < routine.HOLD_P_NIGHTS
            flagged = flagged and visits > usual
            if flagged:
                self.raise_(
                    AlertType.ROUTINE_CHANGE, Priority.WELFARE, at,
                    f"more night-time toilet visits than usual: {summed} in the last "
                    f"{routine.NIGHTS_SUMMED} nights where about "
                    f"{routine.NIGHTS_SUMMED * usual:.1f} are usual (p={p:.1g})",
                    audience="carer",
                )
        if self.routine and self.nights_seen >= routine.MIN_NIGHTS and not flagged:
            flagged = self.judge_unwell(at, visits, usual)
        away = self.presence == DOOR and visits == 0
        if not flagged and not held and not away:
            seen = self.nights_seen + 1
            weight = max(1.0 / seen, 1.0 / 21.0)
            self.det.floats[self.row, F_NIGHT_MEAN] = usual + weight * (visits - usual)
            self.nights_seen = seen
        self.ring1, self.ring0 = self.ring0, visits
        self.visits = 0
        self.night_dl = self.clock.next_local(at, self.night_end)

    def judge_unwell(self, at: int, visits: int, usual: float) -> bool:
        """A low day and many toilet visits the night after it: raise; return whether flagged."""
        floats = self.det.floats[self.row]
        p, flagged = routine.judge_unwell(float(floats[F_DAY_P]), float(floats[F_DAY_RATIO]),
                                          visits, usual)
        if flagged:
            self.raise_(
                AlertType.ROUTINE_CHANGE, Priority.WELFARE, at,
                f"low activity yesterday ({100 * floats[F_DAY_RATIO]:.0f}% of usual) and "
                f"{visits} night-time toilet visits where about {usual:.1f} are usual "
                f"(combined p={p:.1g})",
                audience="carer",
            )
        return flagged

    def end_day(self, at: int) -> None:
        """Local midnight: learn the day's gaps, re-derive thresholds, judge the day's activity."""
        self.account(at)
        det, row = self.det, self.row
        covered = min(1.0, (at - max(self.first_seen, at - DAY_MS)) / DAY_MS)
        det.gap_hist[row] *= learning.DAILY_DECAY
        det.gap_days[row] *= learning.DAILY_DECAY
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
        self.recompute_thresholds()
        weekday = (self.clock.day(at - 1) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        slots = slice(weekday * 24, weekday * 24 + 24)
        count = float(sum(self.today))
        home_h = np.asarray(self.home_ms) / HOUR_MS
        flagged, held = self.judge_activity(at, weekday, count, home_h)
        flagged = self.judge_bed(at, flagged)
        # a flagged or far too busy day is not learned, unless a week of them running says
        # the routine has changed
        self.held_streak = self.held_streak + 1 if flagged or held else 0
        learn = not (flagged or held) or self.held_streak > routine.MAX_FLAGGED_DAYS
        if learn and home_h.sum() > 0:
            decay = routine.WEEKLY_DECAY
            det.week_count[row, slots] = det.week_count[row, slots] * decay + self.today
            det.week_home_h[row, slots] = det.week_home_h[row, slots] * decay + home_h
            self.days_seen += 1
            self.learn_bed()
        det.floats[row, F_BED_TODAY] = 0.0
        self.today = [0.0] * 24
        self.home_ms = [0.0] * 24
        self.day_dl = self.clock.next_local(at, 0)

    def judge_activity(self, at: int, weekday: int, count: float,
                       home_h: np.ndarray) -> tuple[bool, bool]:
        """Judge the day's count of signs of life: raise a low day; return (flagged, held).

        A low day is judged once the home has MIN_DAYS learned days; a day far above the
        usual is held back from learning from HIGH_MIN_DAYS on (a chattering sensor in
        the first week would otherwise make every later day look low)."""
        floats = self.det.floats[self.row]
        low_yesterday = bool(floats[F_DAY_P] < routine.LOW_P_STREAK
                             and floats[F_DAY_RATIO] <= routine.LOW_RATIO_STREAK)
        floats[F_DAY_P] = floats[F_DAY_RATIO] = 1.0
        if (not self.routine or self.days_seen < routine.HIGH_MIN_DAYS
                or home_h.sum() < routine.MIN_HOME_HOURS):
            return False, False
        expected = self.expected(weekday, home_h)
        phi = float(floats[F_DISPERSION])
        verdict = routine.judge_day(count, expected, phi, low_yesterday=low_yesterday)
        if self.days_seen < routine.MIN_DAYS:
            return False, verdict.high
        floats[F_DAY_P], floats[F_DAY_RATIO] = verdict.p_low, verdict.ratio
        if verdict.flagged:
            self.raise_(
                AlertType.ROUTINE_CHANGE, Priority.WELFARE, at,
                f"low activity all day: {count:.0f} events where about {expected:.0f} are "
                f"usual for the hours at home (p={verdict.p_low:.1g})",
                audience="carer",
            )
            return True, False
        if verdict.high:
            return False, True  # a chattering sensor, or visitors: not what the resident does
        if expected > 0:
            floats[F_DISPERSION] = routine.updated_dispersion(phi, count, expected)
        return False, False

    def judge_bed(self, at: int, flagged: bool) -> bool:
        """A day spent in bed far beyond the usual (homes with a bed pad): raise; return
        whether the day is flagged (by this or the tests before it)."""
        floats = self.det.floats[self.row]
        if flagged or not self.routine or not self.bed_t or self.bed_days < routine.MIN_DAYS:
            return flagged
        minutes = float(floats[F_BED_TODAY]) / MINUTE_MS
        mean = float(floats[F_BED_MEAN])
        spread = math.sqrt(max(float(floats[F_BED_SQ]) - mean * mean, 0.0))
        if not routine.judge_bed(minutes, mean, spread):
            return False
        self.raise_(
            AlertType.ROUTINE_CHANGE, Priority.WELFARE, at,
            f"in bed for {_hours(int(minutes * MINUTE_MS))} in the daytime where about "
            f"{mean:.0f} min is usual",
            audience="carer",
        )
        return True

    def learn_bed(self) -> None:
        """Learn the day's daytime minutes in bed (homes with a bed pad)."""
        if not self.bed_t:
            return
        floats = self.det.floats[self.row]
        minutes = float(floats[F_BED_TODAY]) / MINUTE_MS
        self.bed_days += 1
        weight = max(1.0 / self.bed_days, 1.0 / 21.0)
        floats[F_BED_MEAN] += weight * (minutes - floats[F_BED_MEAN])
        floats[F_BED_SQ] += weight * (minutes * minutes - floats[F_BED_SQ])

    def expected(self, weekday: int, home_h: np.ndarray) -> float:
        """Events expected today: this home's hour-of-week rates times today's hours at home."""
        det, row = self.det, self.row
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

    def recompute_thresholds(self) -> None:
        """Derive this home's per-hour inactivity thresholds from what it has learned."""
        det, row = self.det, self.row
        minutes, learned = learning.thresholds_min(
            det.gap_hist[row], det.gap_days[row], float(det.floats[row, F_EFF_DAYS])
        )
        fallback = det.fallback[row]
        learned_ms = np.round(minutes).astype(np.int64) * MINUTE_MS
        floor = np.where(det.night_floor[row], fallback, 0)
        thr = np.where(learned, np.maximum(learned_ms, floor), fallback)
        det.thresholds[row] = thr
        det.learned[row] = learned
        ctx_minutes, ctx_learned = learning.context_thresholds_min(
            det.ctx_hist[row], float(det.floats[row, F_EFF_DAYS])
        )
        ctx_thr = np.where(ctx_learned, np.round(ctx_minutes).astype(np.int64) * MINUTE_MS, NONE)
        det.ctx_thr[row] = ctx_thr
        det.dirty_learned.add(row)
        self.thr = thr.tolist()
        self.ctx_thr = ctx_thr.tolist()
        if self.presence == HOME and not self.inact_alerted and self.inact_dl != NONE:
            self.set_inactivity()

    def raise_(self, type_: AlertType, priority: Priority, at: int, reason: str,
               audience: str = "operator") -> None:
        """Append a raise, marked suppressed if the hub was silent at that time."""
        silent_at = self.det.silent_at
        suppressed = "hub_silent" if silent_at is not None and silent_at(self.row, at) else None
        self.out.append(Raise(hub_id=self.hub_id, type=type_, priority=priority, at=at,
                              received_at=at, reason=reason, audience=audience,
                              suppressed_by=suppressed))

    @property
    def hub_id(self) -> str:
        """The home's hub id."""
        return self.det.hub_ids[self.row]


def _hours(ms: int) -> str:
    minutes = ms // MINUTE_MS
    return f"{minutes // 60} h {minutes % 60:02d} min"
