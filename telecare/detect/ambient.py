"""Presence, inactivity, night exit, door left open and routine change, for all homes.

State is one row per home in numpy arrays (`ints`, `floats`, the learned
thresholds and the histograms behind them; columns in `columns`). A home's
events are applied in event-time order by `run`, which loads the home's row into
a `Home` cursor (`home`), walks the events, fires the home's timers that fall due
before each event and up to the event-time clock, and writes the row back. Homes
with no events but a timer due are found in one heap (at most one live entry per
home: its earliest deadline), so a quiet estate costs nothing per tick.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from telecare.detect import faults, learning, stillness
from telecare.detect.columns import (
    ALARM_DEADLINES,
    ASLEEP,
    DEADLINES,
    F_DAY_P,
    F_DAY_RATIO,
    F_DISPERSION,
    I_ACTIVE,
    N_FLOATS,
    N_INTS,
    N_RULES,
    NO_UP_BY,
    NONE,
    fallback_thresholds,
    night_floor_hours,
)
from telecare.detect.decisions import Decision
from telecare.detect.derived import SavedThresholds
from telecare.detect.home import Home
from telecare.detect.hubindex import grown
from telecare.detect.kinds import (
    CONTEXT_SHIFT,
    K_ACTIVITY,
    K_BED_IN,
    K_BED_OUT,
    K_BEDROOM,
    K_EXIT_CLOSED,
    K_EXIT_OPEN,
    K_NONE,
    K_SEATED,
    K_TOILET,
    KIND_MASK,
)
from telecare.detect.localtime import HOUR_MS, MINUTE_MS, LocalClock, parse_hhmm
from telecare.model import DEFAULT_TZ, HubSettings


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
    # nights the home was still through, by the local hour of their last sign of life
    day_ends: np.ndarray = field(default_factory=lambda: np.zeros((0, 24), np.float32))
    # daytime gaps by the sign of life that began them, and the thresholds learned from them
    ctx_hist: np.ndarray = field(
        default_factory=lambda: np.zeros((0, learning.CONTEXTS, learning.BINS), np.float32)
    )
    ctx_thr: np.ndarray = field(
        default_factory=lambda: np.zeros((0, learning.CONTEXTS), np.int64)
    )
    # each device slot's last event, run and fault (`faults`)
    devices: np.ndarray = field(default_factory=lambda: np.zeros(
        (0, learning.CONTEXT_DEVICES, faults.N_DEVICE_COLUMNS), np.int64))
    # the devices behind each home's contexts, in the order they were first seen,
    # and the slot of each (row, device)
    ctx_devices: dict[int, list[str]] = field(default_factory=dict)
    slots: dict[tuple[int, str], int] = field(default_factory=dict)
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
    # was the hub in this row silent at any time between two event times (an alert then is
    # inhibited; a gap it spans is not stillness); set by the engine
    silent_during: Callable[[int, int, int], bool] | None = None
    # how long it was silent between two event times (not booked as hours at home or in bed)
    silent_ms: Callable[[int, int, int], int] | None = None
    # rows whose fast state (ints, today) or learned state changed since the last checkpoint
    dirty: set[int] = field(default_factory=set)
    dirty_learned: set[int] = field(default_factory=set)
    # rows restored whose thresholds are still to be derived (`Engine.restore` with
    # derive=False: the service's registry configures each home next, and derives them)
    underived: set[int] = field(default_factory=set)
    # the thresholds they had, from the checkpoint (`derived`), taken back by `derive`
    saved_thresholds: dict[int, SavedThresholds] = field(default_factory=dict)
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
        self.day_ends = grown(self.day_ends, rows)
        self.ctx_hist = grown(self.ctx_hist, rows)
        self.ctx_thr = grown(self.ctx_thr, rows, NONE)
        self.devices = grown(self.devices, rows)
        self.night_floor = grown(self.night_floor, rows, False)
        self.learned = grown(self.learned, rows, False)
        self.today_count = grown(self.today_count, rows)
        self.today_home_ms = grown(self.today_home_ms, rows)
        self.week_count = grown(self.week_count, rows)
        self.week_home_h = grown(self.week_home_h, rows)
        self.scheduled = grown(self.scheduled, rows, NONE)
        new = self.ints.shape[0]
        self.ints[old:new] = 0
        self.ints[old:new, DEADLINES] = NONE
        self.floats[old:new, F_DISPERSION] = 2.0
        self.floats[old:new, [F_DAY_P, F_DAY_RATIO]] = 1.0
        if not self.clocks:
            self.clocks.append(LocalClock(DEFAULT_TZ))
        self._set_rules(slice(old, new), 0, self.default_settings)  # (new homes: not active)

    def context_slot(self, row: int, device_id: str) -> int:
        """The home's slot for a device's contexts, given on first sight (the last is shared)."""
        slot = self.slots.get((row, device_id))
        if slot is None:
            devices = self.ctx_devices.setdefault(row, [])
            devices.append(device_id)
            self.dirty_learned.add(row)
            slot = self.slots[(row, device_id)] = min(len(devices), learning.CONTEXT_DEVICES) - 1
        return slot

    def restore_devices(self, row: int, devices: list[str]) -> None:
        """Put back the devices behind a home's context slots (from a checkpoint)."""
        self.ctx_devices[row] = list(devices)
        for index, device_id in enumerate(devices):
            self.slots[(row, device_id)] = min(index, learning.CONTEXT_DEVICES - 1)

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
            self.derive(home)
            if home.presence == ASLEEP and not home.inact_alerted:
                home.set_inactivity()  # a changed rising rule applies tonight
            self._store(home)

    def derive(self, home: Home) -> None:
        """Derive a home's thresholds; one just restored takes back those it had, if its
        night hours and fixed timer are still those they were derived under."""
        saved = self.saved_thresholds.pop(home.row, None)
        if saved is not None and home.row in self.underived and saved.put_back(self, home.row):
            stillness.use_thresholds(home)
        else:
            stillness.recompute_thresholds(home)

    def _set_rules(self, row: int | slice, clock: int, s: HubSettings) -> None:
        rules, fallback, floor = rules_of(s)
        self.rules[row] = (clock, *rules)
        self.fallback[row] = fallback
        self.night_floor[row] = floor
        if isinstance(row, slice) or not self.ints[row, I_ACTIVE]:
            self.thresholds[row] = fallback

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
            if faults.ignored(home, t, home.ctx >> 1):
                continue
            if not home.active:
                home.activate(t)
            if (t > home.inact_dl or t > home.day_dl or t > home.night_dl or t > home.exit_dl
                    or t > home.open_dl):
                home.fire_until(t - 1)
            late = t <= late_before
            if t >= home.last_act:
                # the newest sign of life says whether the resident has just sat down
                home.seated_at = t if kind == K_SEATED else 0
            if kind in (K_ACTIVITY, K_TOILET, K_BEDROOM, K_SEATED):
                home.activity(t, kind == K_TOILET, late, bedroom=kind == K_BEDROOM)
            elif kind in (K_EXIT_OPEN, K_EXIT_CLOSED):
                home.exit_door(t, kind == K_EXIT_OPEN, late)
            elif kind == K_BED_IN:
                home.bed_in(t, late)
            elif kind == K_BED_OUT:
                home.bed_out(t)
        if home.active:
            home.fire_until(clock)
        self._store(home)

    def due(self, clock: int, limit: int | None = None) -> list[int]:
        """Pop the homes whose earliest deadline is at or before `clock`, the earliest
        first, at most `limit` of them (the rest stay due). When more are due than
        that (a local midnight, every home's day ending), up to `limit` more come too:
        those whose inactivity, night exit or door left open is due, the earliest
        first, so that an alarm is not kept waiting behind other homes' day-ends."""
        rows: list[int] = []
        heap = self.heap
        while heap and heap[0][0] <= clock and (limit is None or len(rows) < limit):
            deadline, row = heapq.heappop(heap)
            if self.scheduled[row] == deadline:
                self.scheduled[row] = NONE
                rows.append(row)
        if limit is not None and heap and heap[0][0] <= clock:
            # (their entries stay in the heap: popped later, each runs its home again,
            # which finds nothing left due, and is then replaced by its next deadline)
            n = self.ints.shape[0]
            alarms = self.ints[:n, ALARM_DEADLINES].min(axis=1)
            waiting = (alarms <= clock) & (self.ints[:n, I_ACTIVE] != 0)
            waiting[rows] = False  # (taken already)
            more = np.flatnonzero(waiting)
            if more.size > limit:
                more = more[np.argsort(alarms[more], kind="stable")[:limit]]
            rows += more.tolist()
        return rows

    def _load(self, row: int) -> Home:
        return Home(self, row)

    def _store(self, home: Home) -> None:
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
        # each active home's earliest deadline (`Home.next_deadline`), for all at once
        earliest = self.ints[:n, DEADLINES].min(axis=1)
        rows = np.flatnonzero((self.ints[:n, I_ACTIVE] != 0) & (earliest < NONE))
        self.scheduled[rows] = earliest[rows]
        self.heap = list(zip(earliest[rows].tolist(), rows.tolist(), strict=True))
        heapq.heapify(self.heap)


@functools.lru_cache(maxsize=1024)
def rules_of(s: HubSettings) -> tuple[tuple[int, ...], tuple[int, ...], tuple[bool, ...]]:
    """A home's rules row (all but its clock, the first column), fixed timers and night
    floor, from its settings (worked out once for each set of settings in use)."""
    rules = (
        parse_hhmm(s.night_start), parse_hhmm(s.night_end), int(s.night_exit),
        s.return_min * MINUTE_MS, s.door_open_min * MINUTE_MS, int(s.inactivity),
        int(s.routine), int(s.fallback_h * HOUR_MS), s.out_of_bed_min * MINUTE_MS,
        int(s.not_up), parse_hhmm(s.up_by) if s.up_by else NO_UP_BY,
        int(s.not_back_h * HOUR_MS),
    )
    return rules, tuple(fallback_thresholds(s)), tuple(night_floor_hours(s))
