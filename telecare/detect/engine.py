"""The detection engine: events and a watermark in, decisions out. Pure.

The live service feeds it wall-clock ticks as the watermark; a backtest feeds
it the log's latest time. Nothing here reads a clock or touches I/O.

Three clocks, on purpose:

- alarms (pendant, fall, smoke) are raised the moment they are observed,
  however late they arrive;
- hub supervision runs on receipt time against the watermark (a silent hub's
  own events, by definition, do not come);
- the ambient detectors (presence, inactivity, night exit, door left open,
  routine) run on device time, `lateness_ms` behind the watermark. Events are
  held in a small buffer until the event-time clock passes them and applied in
  device-time order, so out-of-order and late events within the bound are
  handled exactly. An event later than that is still applied (a late sign of
  life clears an inactivity alert it disproves), never learned from, and
  counted in `late_events`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import msgspec
import numpy as np

from telecare.detect import ambient as amb
from telecare.detect import learning
from telecare.detect.columns import I_ACTIVE
from telecare.detect.condition import DeviceConditions
from telecare.detect.decisions import Decision
from telecare.detect.derived import SavedThresholds
from telecare.detect.fall import FallDetector
from telecare.detect.hubindex import HubIndex
from telecare.detect.immediate import immediate
from telecare.detect.kinds import (
    E_UNKNOWN,
    EVENT_CODE,
    KIND_TABLE,
    R_ACCEL,
    ambient_codes,
    device_role,
)
from telecare.detect.supervision import HubSupervision
from telecare.model import Event, HubSettings

# how far behind the watermark device-time detectors run: events up to this late are exact
DEFAULT_LATENESS_MS: Final = 60_000
# late events remembered for inspection (all are counted)
LATE_LOG: Final = 1000
ENGINE_KEY: Final = "engine"
FALL_KEY: Final = "fall"
HUB_PREFIX: Final = "hub:"
LEARNED_SUFFIX: Final = ":learned"


@dataclass
class Engine:
    """Runs every detector over a stream of events in event time."""

    supervision: HubSupervision
    conditions: DeviceConditions = field(default_factory=DeviceConditions)
    lateness_ms: int = DEFAULT_LATENESS_MS
    fall: FallDetector = field(default_factory=FallDetector)
    ambient: amb.AmbientDetectors = field(init=False)
    late_events: int = 0
    late_log: deque[tuple[str, int]] = field(default_factory=lambda: deque(maxlen=LATE_LOG))
    clock: int = -(2**62)
    _roles: dict[tuple[int, str], int] = field(default_factory=dict)
    _pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ambient = amb.AmbientDetectors(hub_ids=self.supervision.index.ids)
        self.ambient.silent_during = self.supervision.silent_during
        self.ambient.silent_ms = self.supervision.silent_ms

    @classmethod
    def starting_at(cls, resumed_at: int, *, lateness_ms: int = DEFAULT_LATENESS_MS) -> Engine:
        """Make an engine for a service (or backtest) that starts at `resumed_at`."""
        return cls(supervision=HubSupervision(resumed_at=resumed_at), lateness_ms=lateness_ms)

    @property
    def index(self) -> HubIndex:
        """Hub ids and their rows, shared by every detector."""
        return self.supervision.index

    def row(self, hub_id: str) -> int:
        """Return the hub's row in every detector's arrays, making one on first sight."""
        row = self.index.row(hub_id)
        self.ambient.fit(row + 1)
        return row

    # registry ---------------------------------------------------------------------

    def configure(self, hub_id: str, *, tz: str, settings: HubSettings) -> None:
        """Set a home's time zone and detection rules."""
        self.ambient.configure(self.row(hub_id), tz, settings)

    def register_device(self, hub_id: str, device_id: str, type_: str, location: str) -> int:
        """Record a device's role (from its type and location); return it."""
        role = device_role(type_, location)
        self._roles[(self.row(hub_id), device_id)] = role
        return role

    def role_of(self, row: int, device_id: str, type_: str, location: str = "") -> int:
        """The device's role; a device met for the first time is registered as given."""
        role = self._roles.get((row, device_id))
        if role is None:
            role = device_role(type_, location)
            self._roles[(row, device_id)] = role
        return role

    # events -------------------------------------------------------------------------

    def observe(self, events: Iterable[Event]) -> list[Decision]:
        """Take a batch of accepted events; return what they call for now, in order.

        Alarms, battery and clock conditions and hub supervision answer at once;
        the ambient detectors answer from `advance`, in event time.
        """
        out: list[Decision] = []
        times: list[int] = []
        rows: list[int] = []
        kinds: list[int] = []
        slots: list[int] = []
        codes: list[int] = []
        windows: list[Event] = []
        for event in events:
            cleared = self.supervision.heard(event.hub_id, event.received_at)
            if cleared is not None:
                out.append(cleared)
            decision = immediate(event)
            if decision is not None:
                out.append(decision)
            out.extend(self.conditions.observe(event))
            row = self.row(event.hub_id)
            role = self.role_of(row, event.device_id, event.type)
            if role == R_ACCEL:
                windows.append(event)
                continue
            code = EVENT_CODE.get(event.event, E_UNKNOWN)
            kind = int(KIND_TABLE[role, code])
            if kind:
                times.append(event.event_time)
                rows.append(row)
                kinds.append(kind)
                slots.append(self.ambient.context_slot(row, event.device_id))
                codes.append(code)
        if windows:
            out.extend(self.fall.observe(windows))
        if times:
            arrays = (np.asarray(times, np.int64), np.asarray(rows, np.int64),
                      ambient_codes(np.asarray(kinds, np.int16), np.asarray(slots, np.int64),
                                    np.asarray(codes, np.int64)))
            self._pending.append(arrays)
        return out

    def observe_columns(
        self,
        times: np.ndarray,
        rows: np.ndarray,
        kinds: np.ndarray,
        rare: Sequence[Event] = (),
        received: np.ndarray | None = None,
        heard: np.ndarray | None = None,
    ) -> list[Decision]:
        """Take a chunk as arrays (a backtest): every row (or those `heard` marks) is a
        message from its hub (supervision), rows with an ambient kind feed the ambient
        detectors, and `rare` events (alarms, battery reports, accel windows) go one by one."""
        at = times if received is None else received
        if heard is None:
            out = self.supervision.heard_many(rows, at)
        else:
            out = self.supervision.heard_many(rows[heard], at[heard])
        windows: list[Event] = []
        for event in rare:
            if event.type == "accel":
                windows.append(event)
                continue
            decision = immediate(event)
            if decision is not None:
                out.append(decision)
            out.extend(self.conditions.observe(event))
        if windows:
            out.extend(self.fall.observe(windows))
        keep = kinds != 0
        if keep.any():
            self._pending.append((times[keep], rows[keep], kinds[keep]))
        return out

    def hub_online(self, hub_id: str, at: int) -> list[Decision]:
        """The hub's status says online: it has been heard."""
        cleared = self.supervision.heard(hub_id, at)
        return [cleared] if cleared is not None else []

    def hub_offline(self, hub_id: str, at: int) -> list[Decision]:
        """The hub's will says offline: it is silent now."""
        raised = self.supervision.offline(hub_id, at)
        return [raised] if raised is not None else []

    # time ---------------------------------------------------------------------------

    def advance(self, watermark: int, max_homes: int | None = None) -> list[Decision]:
        """Move time to the watermark; return the timers that expired and what
        the ambient detectors found in events now `lateness_ms` old.

        `max_homes` bounds how many homes with no events in this call have their
        timers run, earliest deadline first; the rest are run by the next calls (a
        home's own events run its due timers first, so nothing is applied out of
        order). The live service sets it so that a local midnight, when every home
        in a zone ends its day at once, is spread over several ticks instead of
        holding up the alarms behind one long one. A backtest leaves it unset."""
        out = self.supervision.advance(watermark)
        out.extend(self.fall.flush(watermark))
        out.extend(self._run_ambient(watermark - self.lateness_ms, max_homes))
        return out

    def drain(self, watermark: int) -> list[Decision]:
        """Advance with no lateness left to wait for: the end of a recorded log."""
        out = self.supervision.advance(watermark)
        out.extend(self.fall.flush(watermark))
        out.extend(self._run_ambient(watermark))
        return out

    def _run_ambient(self, clock: int, max_homes: int | None = None) -> list[Decision]:
        out: list[Decision] = []
        det = self.ambient
        det.fit(len(self.index))
        if self._pending:
            if len(self._pending) == 1:
                times, rows, kinds = self._pending[0]
            else:
                times = np.concatenate([p[0] for p in self._pending])
                rows = np.concatenate([p[1] for p in self._pending])
                kinds = np.concatenate([p[2] for p in self._pending])
            ready = times <= clock
            if ready.all():
                self._pending = []
            else:
                later = ~ready
                self._pending = [(times[later], rows[later], kinds[later])]
                times, rows, kinds = times[ready], rows[ready], kinds[ready]
            if times.size:
                self._note_late(times, rows)
                order = np.lexsort((times, rows))
                rows_sorted = rows[order]
                edges = np.flatnonzero(np.r_[True, rows_sorted[1:] != rows_sorted[:-1]])
                bounds = np.r_[edges, rows_sorted.size].tolist()
                time_list = times[order].tolist()
                kind_list = kinds[order].tolist()
                for i, row in enumerate(rows_sorted[edges].tolist()):
                    lo, hi = bounds[i], bounds[i + 1]
                    det.run(row, time_list[lo:hi], kind_list[lo:hi], clock, self.clock, out)
        for row in det.due(clock, max_homes):
            det.run(row, [], [], clock, self.clock, out)
        self.clock = max(self.clock, clock)
        return out

    def _note_late(self, times: np.ndarray, rows: np.ndarray) -> None:
        late = times <= self.clock
        count = int(late.sum())
        if count:
            self.late_events += count
            ids = self.index.ids
            for t, row in zip(times[late][-LATE_LOG:].tolist(), rows[late][-LATE_LOG:].tolist(),
                              strict=True):
                self.late_log.append((ids[row], t))

    # checkpoints --------------------------------------------------------------------

    @property
    def unsaved_learning(self) -> int:
        """Homes whose learned state (about 17 KB each) changed since the last checkpoint."""
        return len(self.ambient.dirty_learned)

    def checkpoint(self, *, everything: bool = False) -> list[tuple[str, bytes]]:
        """Return (key, state) for what changed since the last checkpoint (or everything)."""
        det = self.ambient
        n = len(self.index)
        det.fit(n)
        active = det.ints[:n, I_ACTIVE]
        fast = set(np.flatnonzero(active).tolist()) if everything else det.dirty
        learned = set(np.flatnonzero(active).tolist()) if everything else det.dirty_learned
        out: list[tuple[str, bytes]] = []
        ids = self.index.ids
        for row in sorted(fast):
            state = {
                "ints": det.ints[row].tolist(),
                "floats": det.floats[row].tolist(),
                "today_count": det.today_count[row].tolist(),
                "today_home_ms": det.today_home_ms[row].tolist(),
                "pending_gaps": det.pending_gaps.get(row, []),
                "pending_ctx_gaps": det.pending_ctx_gaps.get(row, []),
                "devices": det.devices[row].tolist(),
                "supervision": self.supervision.row_state(row),
            }
            out.append((HUB_PREFIX + ids[row], msgspec.msgpack.encode(state)))
        for row in sorted(learned):
            state = {
                "gap_hist": det.gap_hist[row].astype(np.float32).tobytes(),
                "gap_days": det.gap_days[row].astype(np.float32).tobytes(),
                "day_ends": det.day_ends[row].astype(np.float32).tobytes(),
                "ctx_hist": det.ctx_hist[row].astype(np.float32).tobytes(),
                "ctx_devices": det.ctx_devices.get(row, []),
                "week_count": det.week_count[row].astype(np.float32).tobytes(),
                "week_home_h": det.week_home_h[row].astype(np.float32).tobytes(),
                # what was derived from them, so that a restart need not derive it again
                "derived": (None if row in det.underived
                            else SavedThresholds.of(det, row).encode()),
            }
            out.append((HUB_PREFIX + ids[row] + LEARNED_SUFFIX, msgspec.msgpack.encode(state)))
        # events still waiting for the event-time clock go with the checkpoint too
        waiting = [(t, ids[r], k) for times, rows, kinds in self._pending
                   for t, r, k in zip(times.tolist(), rows.tolist(), kinds.tolist(), strict=True)]
        engine_state = {"clock": self.clock, "late_events": self.late_events, "waiting": waiting}
        out.append((ENGINE_KEY, msgspec.msgpack.encode(engine_state)))
        out.append((FALL_KEY, self.fall.state()))
        det.dirty = set()
        det.dirty_learned = set()
        return out

    def restore(self, saved: Iterable[tuple[str, bytes]], *, derive: bool = True) -> None:
        """Put back checkpointed state (before any event), then rebuild the timers.

        A home's thresholds are put back once its settings are known: here, unless
        `derive` is False; then by `configure` (the service's registry configures every
        home as it starts) and, for a home it does not configure, by `derive_restored`.
        Those kept in the checkpoint are taken back where the home's night hours and
        fixed timer are unchanged (`derived`); the rest are derived again from the
        restored histograms, at about 1 ms a home."""
        det = self.ambient
        saved = list(saved)
        for key, _ in saved:  # every home's row first, so that the arrays grow once
            if key.startswith(HUB_PREFIX):
                self.index.row(key[len(HUB_PREFIX):].removesuffix(LEARNED_SUFFIX))
        det.fit(len(self.index))
        for key, blob in saved:
            if key == ENGINE_KEY:
                state = msgspec.msgpack.decode(blob)
                self.clock = int(state["clock"])
                self.late_events = int(state["late_events"])
                waiting = state.get("waiting") or []
                if waiting:
                    self._pending.append((
                        np.asarray([w[0] for w in waiting], np.int64),
                        np.asarray([self.row(w[1]) for w in waiting], np.int64),
                        np.asarray([w[2] for w in waiting], np.int16),
                    ))
            elif key == FALL_KEY:
                self.fall = FallDetector.restore(blob)
            elif key.startswith(HUB_PREFIX) and key.endswith(LEARNED_SUFFIX):
                row = self.row(key[len(HUB_PREFIX) : -len(LEARNED_SUFFIX)])
                state = msgspec.msgpack.decode(blob)
                det.gap_hist[row] = np.frombuffer(state["gap_hist"], np.float32).reshape(24, -1)
                det.gap_days[row] = np.frombuffer(state["gap_days"], np.float32)
                day_ends = np.frombuffer(state.get("day_ends", b""), np.float32)
                if day_ends.size == 24:  # (a checkpoint from before: learned again)
                    det.day_ends[row] = day_ends
                ctx_hist = np.frombuffer(state.get("ctx_hist", b""), np.float32)
                if ctx_hist.size == learning.CONTEXTS * learning.BINS:
                    # (a checkpoint from before sensor contexts, or with fewer, relearns them)
                    det.ctx_hist[row] = ctx_hist.reshape(learning.CONTEXTS, learning.BINS)
                    det.restore_devices(row, state["ctx_devices"])
                det.week_count[row] = np.frombuffer(state["week_count"], np.float32)
                det.week_home_h[row] = np.frombuffer(state["week_home_h"], np.float32)
                derived = SavedThresholds.decode(state.get("derived"))
                if derived is not None:
                    det.saved_thresholds[row] = derived
            elif key.startswith(HUB_PREFIX):
                row = self.row(key[len(HUB_PREFIX) :])
                state = msgspec.msgpack.decode(blob)
                # a checkpoint from an older engine has fewer columns (the rest start at 0);
                # one from a newer engine, more (kept up to ours: a rollback still starts)
                ints = state["ints"][:det.ints.shape[1]]
                det.ints[row, :len(ints)] = ints
                floats = state["floats"][:det.floats.shape[1]]
                det.floats[row, :len(floats)] = floats
                det.today_count[row] = state["today_count"]
                det.today_home_ms[row] = state["today_home_ms"]
                if state["pending_gaps"]:
                    det.pending_gaps[row] = list(state["pending_gaps"])
                devices = state.get("devices")
                if devices is not None and len(devices) == det.devices.shape[1]:
                    det.devices[row] = devices
                if state.get("pending_ctx_gaps"):
                    det.pending_ctx_gaps[row] = list(state["pending_ctx_gaps"])
                self.supervision.restore_row(row, state["supervision"])
        n = len(self.index)
        det.underived.update(np.flatnonzero(det.ints[:n, I_ACTIVE]).tolist())
        det.rebuild_heap()  # (first: deriving moves a deadline through the heap)
        if derive:
            self.derive_restored()
        self.supervision.resume(self.supervision.resumed_at)

    def derive_restored(self) -> None:
        """Put back or derive the thresholds of restored homes that no `configure` has."""
        det = self.ambient
        for row in sorted(det.underived):
            home = det._load(row)
            det.derive(home)
            det._store(home)  # (a deadline the thresholds moved earlier goes in the heap)
        det.underived.clear()
        det.saved_thresholds.clear()
        # nothing restored has changed; a home derived again here (its night hours or fixed
        # timer changed while the service was down) is written with its next midnight
        det.dirty = set()
        det.dirty_learned = set()
