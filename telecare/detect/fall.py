"""Central fall detection on wearables' raw acceleration (`accel` `window` events).

A fall is an impact, then the body lying at rest, turned from the posture it
had in the seconds before (docs/detection-falls.md). Each wearable keeps a few
seconds of samples, so an impact at the end of one window is decided when the
windows after it arrive, and raised as soon as one second of rest has.

Everything is in event time; there is no clock. `flush(watermark)`, called on
every watermark tick, settles the impacts of wearables whose next windows have
not come by then: they are judged on what arrived, and an impact with no
second of rest after it is counted (`silent_after_impact`), not raised.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Annotated, Final

import msgspec
import numpy as np
from numpy.typing import NDArray

from telecare.detect.decisions import Raise
from telecare.detect.fall_features import (
    FallRule,
    Impacts,
    Layout,
    Wearable,
    WearableState,
    measure,
    smv,
)
from telecare.model import AlertType, Event, Priority

MIN_HZ: Final = 20.0
MAX_HZ: Final = 1000.0
# A window that starts within this of where the last one ended continues it;
# device clocks and sample counts jitter by a few milliseconds.
JOIN_TOLERANCE_MS: Final = 500
# A longer break loses the posture history a decision needs: start again.
GAP_RESET_MS: Final = 2_000
# One fall, one alert: impacts this close to a raised one are not decided again
# (a body bounces and rolls; the open alert already covers it).
REFRACTORY_MS: Final = 10_000
# A window arrives after the second it covers. Once the watermark is this far
# past the last sample a pending impact needs, that sample is not coming (the
# wearable went silent): decide on what has arrived.
FLUSH_GRACE_MS: Final = 5_000
# A wearable silent this long is forgotten (its history is too old to use);
# the watermark is checked for such wearables this often.
FORGET_AFTER_MS: Final = 60_000
SWEEP_EVERY_MS: Final = 10_000

CHECKPOINT_VERSION: Final = 1

Key = tuple[str, str]


class AccelWindow(msgspec.Struct, frozen=True):
    """The `value` of an `accel` `window` event (PROTOCOL.md)."""

    hz: Annotated[float, msgspec.Meta(ge=MIN_HZ, le=MAX_HZ)]
    g: Annotated[list[tuple[float, float, float]], msgspec.Meta(min_length=1)]


class FallDetector:
    """Detects falls in the acceleration that wearables stream, for all of them at once.

    >>> from telecare.model import Event
    >>> def second(s, g):
    ...     t = 1_700_000_000_000 + 1000 * s
    ...     return Event(hub_id="H-1", seq=s, device_id="belt", type="accel", event="window",
    ...                  ts=t, event_time=t, received_at=t + 300, channel="event",
    ...                  value={"hz": 50, "g": g})
    >>> upright, lying = [[0.0, -1.0, 0.0]], [[0.0, 0.0, -1.0]]
    >>> hit = [[0.0, -3.0, -1.0], [0.0, -2.5, -2.5], [0.0, -1.0, -3.0], [0.0, 0.0, -2.0]]
    >>> stream = [second(s, upright * 50) for s in range(5)]
    >>> stream.append(second(5, upright * 20 + hit + lying * 26))
    >>> stream += [second(s, lying * 50) for s in range(6, 10)]
    >>> detector = FallDetector()
    >>> [(r.type, r.at - 1_700_000_000_000) for r in detector.observe(stream)]
    [(<AlertType.FALL_DETECTED: 'fall_detected'>, 5420)]
    """

    def __init__(self, *, rule: FallRule | None = None) -> None:
        """Start with no wearables seen; `rule` replaces the documented thresholds."""
        self.rule = rule if rule is not None else FallRule()
        # windows skipped: value not {"hz": 20..1000, "g": [[x, y, z], ...]} of finite numbers
        self.malformed = 0
        # windows skipped: older than (or overlapping) what the wearable already sent
        self.late = 0
        # impacts left unjudged: the wearable went silent before a second of rest arrived
        self.silent_after_impact = 0
        self._wearables: dict[Key, Wearable] = {}
        # the wearables with impacts not yet decided
        self._waiting: dict[Key, Wearable] = {}
        self._next_sweep = -(2**63)

    def observe(self, windows: Sequence[Event]) -> list[Raise]:
        """Take a batch of `accel` windows (any hubs and devices); return a Raise per fall."""
        parsed: list[tuple[Event, AccelWindow]] = []
        for event in windows:
            if (event.type, event.event) != ("accel", "window"):
                continue
            window = _parse(event)
            if window is None:
                self.malformed += 1
            else:
                parsed.append((event, window))
        parsed.sort(key=lambda pair: (pair[0].hub_id, pair[0].device_id, pair[0].event_time))
        batch = _Batch.of([window for _, window in parsed])

        raises: list[Raise] = []
        touched: dict[Key, Wearable] = {}
        for i, (event, window) in enumerate(parsed):
            if not batch.finite[i]:
                self.malformed += 1
                continue
            key = (event.hub_id, event.device_id)
            wearable = self._wearables.get(key)
            if wearable is None or wearable.hz != window.hz:
                fresh = Wearable(key, window.hz)
                if wearable is not None:
                    raises += self._decide([wearable], final=True)
                    fresh.quiet_until = wearable.quiet_until
                wearable = self._wearables[key] = fresh
            gap = wearable.gap_ms(event.event_time)
            if gap < -JOIN_TOLERANCE_MS:
                self.late += 1
                continue
            if gap > GAP_RESET_MS:
                raises += self._decide([wearable], final=True)
                wearable.reset()
            elif gap > JOIN_TOLERANCE_MS:
                wearable.skip(gap)
            g, smv = batch.window(i)
            wearable.append(g, smv, event.event_time, event.received_at)
            if batch.loudest[i] >= self.rule.impact_g:
                wearable.open_impacts(self.rule.impact_g)
            touched[key] = wearable
        raises += self._decide([w for w in touched.values() if w.pending], final=False)
        self._note_waiting(touched.values())
        return sorted(raises, key=lambda r: (r.at, r.hub_id))

    def flush(self, watermark: int) -> list[Raise]:
        """Event time has reached `watermark`: decide impacts whose wearable went silent."""
        silent = [
            w for w in self._waiting.values() if w.last_needed_ms() + FLUSH_GRACE_MS <= watermark
        ]
        raises = self._decide(silent, final=True)
        self._note_waiting(silent)
        if watermark >= self._next_sweep:
            self._next_sweep = watermark + SWEEP_EVERY_MS
            for key, wearable in list(self._wearables.items()):
                idle = wearable.silent_for(watermark) > FORGET_AFTER_MS
                if idle and not wearable.pending and wearable.quiet_until <= watermark:
                    del self._wearables[key]
        return sorted(raises, key=lambda r: (r.at, r.hub_id))

    def state(self) -> bytes:
        """Checkpoint: counters and each wearable's recent samples and pending impacts."""
        return msgspec.msgpack.encode(
            _Checkpoint(
                version=CHECKPOINT_VERSION,
                rule=self.rule,
                malformed=self.malformed,
                late=self.late,
                silent_after_impact=self.silent_after_impact,
                wearables=[w.snapshot() for w in self._wearables.values()],
            )
        )

    @classmethod
    def restore(cls, blob: bytes) -> FallDetector:
        """Rebuild a detector from a checkpoint made by `state()`."""
        saved = msgspec.msgpack.decode(blob, type=_Checkpoint)
        if saved.version != CHECKPOINT_VERSION:
            raise ValueError(f"fall detector checkpoint version {saved.version} is not known")
        detector = cls(rule=saved.rule)
        detector.malformed, detector.late, detector.silent_after_impact = (
            saved.malformed,
            saved.late,
            saved.silent_after_impact,
        )
        for snapshot in saved.wearables:
            wearable = Wearable.from_snapshot(snapshot)
            detector._wearables[wearable.key] = wearable
        detector._note_waiting(detector._wearables.values())
        return detector

    def _note_waiting(self, wearables: Iterable[Wearable]) -> None:
        for wearable in wearables:
            if wearable.pending:
                self._waiting[wearable.key] = wearable
            else:
                self._waiting.pop(wearable.key, None)

    def _decide(self, wearables: list[Wearable], *, final: bool) -> list[Raise]:
        """Judge the pending impacts of these wearables; with `final`, on what has arrived."""
        rows: dict[float, list[tuple[Wearable, int]]] = {}
        for wearable in wearables:
            for peak in wearable.ready_peaks(final=final):
                rows.setdefault(wearable.hz, []).append((wearable, peak))
        raises: list[Raise] = []
        for hz, candidates in rows.items():
            layout = Layout.at(hz)
            segments = np.stack([w.segment(peak, layout) for w, peak in candidates])
            impacts = measure(segments, layout)
            falls = impacts.falls(self.rule)
            complete = np.asarray(impacts.complete.all(axis=1), dtype=np.bool_)
            unseen = np.asarray(~impacts.complete.any(axis=1), dtype=np.bool_)
            for row, (wearable, peak) in enumerate(candidates):
                if not wearable.still_pending(peak):
                    continue
                if falls[row]:
                    raises.append(self._raise(wearable, peak, impacts, row))
                    wearable.raised(peak, REFRACTORY_MS)
                elif complete[row] or final:
                    # Silence right after an impact is not raised (a wearer walking
                    # out of the hub's range cuts a stream mid-stride); it is counted.
                    self.silent_after_impact += bool(final and unseen[row])
                    wearable.rejected(peak)
        return raises

    def _raise(self, wearable: Wearable, peak: int, impacts: Impacts, row: int) -> Raise:
        hub_id, device_id = wearable.key
        impact = (
            f"impact {impacts.peak_g[row]:.1f} g (hip stopped from at least "
            f"{impacts.impulse_ms[row]:.1f} m/s)"
        )
        span = int(np.argmax(impacts.lying(self.rule)[row]))
        after = (
            f"then lying turned {impacts.turn_deg[row, span]:.0f} deg from before "
            f"and still (sd {impacts.rest_sd_g[row, span]:.2f} g)"
        )
        return Raise(
            hub_id=hub_id,
            type=AlertType.FALL_DETECTED,
            priority=Priority.LIFE_SAFETY,
            at=wearable.time_ms(peak),
            received_at=wearable.received_at(peak),
            reason=f"fall detected by wearable {device_id}: {impact}, {after}",
            device_id=device_id,
        )


class _Batch:
    """Every window of a batch in one array, with each window's bounds in it."""

    __slots__ = ("bounds", "finite", "loudest", "magnitude", "samples")

    def __init__(self, samples: NDArray[np.float64], sizes: NDArray[np.intp]) -> None:
        # Kept as float32 (half the memory and checkpoint); every figure is
        # computed from the rounded values, so a restored detector decides alike.
        self.samples = samples.astype(np.float32).astype(np.float64)
        self.bounds = np.concatenate(([0], np.cumsum(sizes)))
        self.magnitude = smv(self.samples)
        finite = np.isfinite(self.samples).all(axis=1)
        starts = self.bounds[:-1]
        if len(sizes):
            self.finite = np.logical_and.reduceat(finite, starts)
            self.loudest = np.maximum.reduceat(np.where(finite, self.magnitude, 0.0), starts)
        else:
            self.finite = self.loudest = np.zeros(0)

    @classmethod
    def of(cls, windows: list[AccelWindow]) -> _Batch:
        """Stack the windows' samples."""
        sizes = np.fromiter((len(w.g) for w in windows), dtype=np.intp, count=len(windows))
        flat = itertools.chain.from_iterable(itertools.chain.from_iterable(w.g for w in windows))
        count = 3 * int(sizes.sum())
        samples = np.fromiter(flat, dtype=np.float64, count=count).reshape(-1, 3)
        return cls(samples, sizes)

    def window(self, i: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The samples of window i and their magnitudes."""
        lo, hi = self.bounds[i], self.bounds[i + 1]
        return self.samples[lo:hi], self.magnitude[lo:hi]


def _parse(event: Event) -> AccelWindow | None:
    try:
        return msgspec.convert(event.value, AccelWindow)
    except msgspec.ValidationError:
        return None


class _Checkpoint(msgspec.Struct):
    version: int
    rule: FallRule
    malformed: int
    late: int
    silent_after_impact: int
    wearables: list[WearableState]
