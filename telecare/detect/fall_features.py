"""A wearable's last seconds of samples, and what they show around an impact.

`Wearable` keeps the samples and the impacts not yet decided. `measure` takes
many candidates at once, each one row of a stacked segment: the samples from
`PRE_S` before the impact's peak to the end of the last rest span after it, in
g, NaN where the device sent nothing; every figure is computed for all rows
together.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Final

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy import signal

STANDARD_GRAVITY: Final = 9.80665
# The highest sample within this span after the first one above the impact
# threshold is the impact: a body meets the floor with knee, hip and hand in turn.
IMPACT_SPAN_S: Final = 1.0
# Posture history searched for where the trunk was before the fall. Seconds,
# not one instant: a fall while getting up or sitting down starts from a trunk
# already bent forward, and the upright posture a moment earlier is the reference.
PRE_S: Final = 4.5
# The last half-second before the peak is the fall itself, not a posture.
FALL_PHASE_S: Final = 0.5
# Acceleration above 1 g is integrated this far either side of the peak: at
# least the speed at which the hip was stopped (docs/detection-falls.md).
IMPULSE_HALF_S: Final = 0.5
# The body must then lie at rest for one second starting at any of these
# offsets after the peak, so a roll or a bounce on landing does not hide the
# lie that follows, and a fall is raised as soon as one such second has arrived.
REST_STARTS_S: Final = (1.0, 1.5, 2.0, 2.5, 3.0)
REST_LEN_S: Final = 1.0
# Gravity is the part of the signal below this frequency; steps (about 2 Hz)
# and impacts are above it.
POSTURE_CUTOFF_HZ: Final = 0.5
POSTURE_STEP_S: Final = 0.25


@dataclass(frozen=True, slots=True)
class FallRule:
    """Thresholds an impact must pass to be a fall (docs/detection-falls.md)."""

    # peak magnitude of acceleration (signal magnitude vector), g
    impact_g: float = 2.0
    # speed of the hip stopped by the impact, at least, m/s
    impulse_ms: float = 1.0
    # trunk turned at least this far from a posture of the seconds before, degrees
    turn_deg: float = 60.0
    # at rest: standard deviation of the magnitude over one second, g
    rest_sd_g: float = 0.15


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things are in the segments of one sampling rate, in samples."""

    hz: float
    pre: int
    fall_phase: int
    span: int
    rest_starts: tuple[int, ...]
    rest_len: int

    @staticmethod
    @functools.cache
    def at(hz: float) -> Layout:
        """The layout of segments sampled at `hz`."""
        return Layout(
            hz=hz,
            pre=round(PRE_S * hz),
            fall_phase=round(FALL_PHASE_S * hz),
            span=round(IMPACT_SPAN_S * hz),
            rest_starts=tuple(round(s * hz) for s in REST_STARTS_S),
            rest_len=max(1, round(REST_LEN_S * hz)),
        )

    @property
    def post(self) -> int:
        """Samples needed after the peak to have every rest span."""
        return self.rest_starts[-1] + self.rest_len - 1

    @property
    def rest_ends(self) -> tuple[int, ...]:
        """Per rest span, how many samples after the peak complete it."""
        return tuple(start + self.rest_len for start in self.rest_starts)

    @property
    def length(self) -> int:
        """Samples per segment; the peak is sample `pre`."""
        return self.pre + 1 + self.post


@dataclass(frozen=True, slots=True)
class Impacts:
    """Features of candidate impacts: one row each; one column per rest span."""

    peak_g: NDArray[np.float64]
    impulse_ms: NDArray[np.float64]
    rest_sd_g: NDArray[np.float64]
    turn_deg: NDArray[np.float64]
    # all of the span's samples have arrived
    complete: NDArray[np.bool_]

    def lying(self, rule: FallRule) -> NDArray[np.bool_]:
        """Tell, per candidate and span, whether the body lay at rest, turned from before."""
        return self.complete & (self.rest_sd_g <= rule.rest_sd_g) & (self.turn_deg >= rule.turn_deg)

    def struck(self, rule: FallRule) -> NDArray[np.bool_]:
        """Tell which candidates pass the rule's impact part (peak and impulse)."""
        return (self.peak_g >= rule.impact_g) & (self.impulse_ms >= rule.impulse_ms)

    def falls(self, rule: FallRule) -> NDArray[np.bool_]:
        """Tell which candidates the rule calls a fall, on the spans that have arrived."""
        return self.struck(rule) & self.lying(rule).any(axis=1)


def measure(segments: NDArray[np.float64], layout: Layout) -> Impacts:
    """Measure each row of `segments`, shaped (rows, layout.length, 3) with the peak at `pre`."""
    hz, peak_at = layout.hz, layout.pre
    magnitude = np.sqrt(np.einsum("rij,rij->ri", segments, segments))

    index = (peak_at + np.asarray(layout.rest_starts))[:, None] + np.arange(layout.rest_len)
    rest = segments[:, index]
    complete = np.asarray(~np.isnan(rest).any(axis=(2, 3)), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        rest_sd = magnitude[:, index].std(axis=2)
        after = rest.mean(axis=2)

    half = max(1, round(IMPULSE_HALF_S * hz))
    impact = magnitude[:, max(0, peak_at - half) : peak_at + half + 1]
    impulse = np.nansum(np.clip(impact - 1.0, 0.0, None), axis=1) * STANDARD_GRAVITY / hz

    history = _fill_gaps(segments[:, : peak_at - layout.fall_phase])
    before = _postures(history, hz)
    with np.errstate(invalid="ignore"):
        turn = _angle_deg(before[:, :, None, :], after[:, None, :, :]).max(axis=1)

    return Impacts(
        peak_g=magnitude[:, peak_at],
        impulse_ms=impulse,
        rest_sd_g=np.where(complete, rest_sd, np.inf),
        turn_deg=np.where(complete, turn, 0.0),
        complete=complete,
    )


def _fill_gaps(history: NDArray[np.float64]) -> NDArray[np.float64]:
    """Carry the last sample over missing ones; before the first, its value (a new device)."""
    valid = ~np.isnan(history[:, :, 0])
    if valid.all():
        return history
    steps = np.arange(history.shape[1])
    last = np.maximum.accumulate(np.where(valid, steps, -1), axis=1)
    first = np.argmax(valid, axis=1)
    last = np.where(last < 0, first[:, None], last)
    return np.asarray(np.take_along_axis(history, last[:, :, None], axis=1), dtype=np.float64)


def _postures(history: NDArray[np.float64], hz: float) -> NDArray[np.float64]:
    """Gravity every POSTURE_STEP_S through the history, shaped (rows, steps, 3)."""
    sos = _low_pass(hz)
    # Mirrored padding, not the default odd extension: an odd extension about a
    # sample taken mid-stride throws the estimate at the edges far from gravity.
    pad = min(round(hz), history.shape[1] - 1)
    gravity = signal.sosfiltfilt(sos, history, axis=1, padtype="even", padlen=pad)
    step = max(1, round(POSTURE_STEP_S * hz))
    return np.asarray(gravity[:, ::step], dtype=np.float64)


@functools.cache
def _low_pass(hz: float) -> NDArray[np.float64]:
    return np.asarray(signal.butter(2, POSTURE_CUTOFF_HZ, fs=hz, output="sos"), dtype=np.float64)


def _angle_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    dot = np.sum(a * b, axis=-1)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    cosine = np.divide(dot, norms, out=np.ones_like(dot), where=norms > 0)
    return np.asarray(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))), dtype=np.float64)


class PendingImpact(msgspec.Struct, array_like=True):
    """An impact not yet decided: its first sample above the threshold, then its peak."""

    first: int
    peak: int = -1
    # rest spans complete when it was last judged
    judged: int = 0

    @property
    def sample(self) -> int:
        """The peak once it is known, else the first sample above the threshold."""
        return self.peak if self.peak >= 0 else self.first


class Anchor(msgspec.Struct, array_like=True):
    """Where a run of samples starts: its number, its event time, when it was received."""

    sample: int
    time: float
    received: int


class WearableState(msgspec.Struct, array_like=True):
    """A wearable as checkpointed: the samples still needed, as float32 bytes."""

    hub_id: str
    device_id: str
    hz: float
    origin: int
    scan_from: int
    pending: list[PendingImpact]
    quiet_until: float
    anchors: list[Anchor]
    samples: bytes


class Wearable:
    """One wearable's last seconds of samples and the impacts not yet decided.

    Samples are numbered from the wearable's first one; `origin` is the number
    of the first one kept, and each window (or gap) adds an anchor giving the
    event time of its first sample.
    """

    __slots__ = (
        "anchors",
        "count",
        "hz",
        "key",
        "layout",
        "magnitude",
        "origin",
        "pending",
        "quiet_until",
        "samples",
        "scan_from",
    )

    def __init__(self, key: tuple[str, str], hz: float) -> None:
        self.key = key
        self.hz = hz
        self.layout = Layout.at(hz)
        self.origin = 0
        self.count = 0
        self.scan_from = 0
        self.pending: list[PendingImpact] = []
        self.quiet_until = -np.inf
        self.anchors: list[Anchor] = []
        capacity = 2 * (self.layout.pre + self.layout.span + self.layout.post)
        self.samples: NDArray[np.float32] = np.empty((capacity, 3), dtype=np.float32)
        self.magnitude: NDArray[np.float64] = np.empty(capacity)

    @property
    def end(self) -> int:
        """Number of the sample after the last one kept."""
        return self.origin + self.count

    def gap_ms(self, event_time: int) -> float:
        """How far a window starting at `event_time` is from where the last one ended."""
        if self.count == 0:
            return 0.0
        return event_time - self.time_of(self.end)

    def reset(self) -> None:
        """Forget the samples: the stream broke for longer than a decision can bridge."""
        self.origin, self.count = self.end, 0
        self.scan_from = self.end
        self.anchors.clear()
        self.pending.clear()

    def skip(self, gap_ms: float) -> None:
        """Mark the samples of a short gap as missing, so time stays true to sample numbers."""
        missing = round(gap_ms * self.hz / 1000)
        anchor = Anchor(self.end, self.time_of(self.end), self.anchors[-1].received)
        self._extend(
            np.full((missing, 3), np.nan, dtype=np.float32), np.full(missing, np.nan), anchor
        )

    def append(
        self, g: NDArray[np.float64], magnitude: NDArray[np.float64], start: int, received: int
    ) -> None:
        """Add one window's samples; the first was taken at `start`."""
        self._extend(g.astype(np.float32), magnitude, Anchor(self.end, float(start), received))

    def open_impacts(self, threshold: float) -> None:
        """Note each new impact: a first sample above the threshold after the last one's span."""
        start = max(self.scan_from, self.origin)
        above = np.flatnonzero(self.magnitude[start - self.origin : self.count] >= threshold)
        for sample in (above + start).tolist():
            if sample >= self.scan_from and self.time_ms(sample) >= self.quiet_until:
                self.pending.append(PendingImpact(first=sample))
                self.scan_from = sample + self.layout.span

    def ready_peaks(self, *, final: bool) -> list[int]:
        """Fix the peak of each pending impact whose span has arrived; list those to judge."""
        span, rest_ends = self.layout.span, self.layout.rest_ends
        ready: list[int] = []
        for impact in self.pending:
            if impact.peak < 0 and (impact.first + span <= self.end or final):
                lo = impact.first - self.origin
                hi = min(lo + span, self.count)
                impact.peak = impact.first + int(np.nanargmax(self.magnitude[lo:hi]))
            if impact.peak < 0:
                continue
            complete = bisect.bisect_right(rest_ends, self.end - impact.peak)
            if final or complete > impact.judged:
                impact.judged = complete
                ready.append(impact.peak)
        return ready

    def still_pending(self, peak: int) -> bool:
        """Tell whether the impact at `peak` is still undecided."""
        return any(impact.peak == peak for impact in self.pending)

    def raised(self, peak: int, quiet_ms: int) -> None:
        """A fall was raised at `peak`: drop impacts within `quiet_ms` of it, open none after."""
        at = self.time_ms(peak)
        self.quiet_until = at + quiet_ms
        self.pending = [i for i in self.pending if abs(self.time_ms(i.sample) - at) >= quiet_ms]

    def rejected(self, peak: int) -> None:
        """The impact at `peak` was no fall."""
        self.pending = [impact for impact in self.pending if impact.peak != peak]

    def last_needed_ms(self) -> float:
        """Event time of the last sample the earliest pending impact needs."""
        span = self.layout.span
        needed = min(i.peak if i.peak >= 0 else i.first + span for i in self.pending)
        return self.time_of(needed + self.layout.post)

    def silent_for(self, watermark: int) -> float:
        """Milliseconds from the end of the last sample to the watermark."""
        return watermark - (self.time_of(self.end) if self.count else -np.inf)

    def time_of(self, sample: int) -> float:
        """Event time of a sample (kept, or extrapolated past the last one), ms."""
        anchor = self._anchor(sample)
        return anchor.time + (sample - anchor.sample) * 1000.0 / self.hz

    def time_ms(self, sample: int) -> int:
        """Event time of a sample, whole ms."""
        return round(self.time_of(sample))

    def received_at(self, sample: int) -> int:
        """When the window holding a sample was received, ms."""
        return self._anchor(sample).received

    def segment(self, peak: int, layout: Layout) -> NDArray[np.float64]:
        """Samples around `peak` laid out for `measure`, NaN where there are none."""
        out = np.full((layout.length, 3), np.nan)
        lo = peak - layout.pre
        a, b = max(lo, self.origin), min(lo + layout.length, self.end)
        if a < b:
            out[a - lo : b - lo] = self.samples[a - self.origin : b - self.origin]
        return out

    def snapshot(self) -> WearableState:
        """This wearable's state, for a checkpoint: only the samples still needed."""
        cut = self._cut()
        origin = self.origin + cut
        return WearableState(
            hub_id=self.key[0],
            device_id=self.key[1],
            hz=self.hz,
            origin=origin,
            scan_from=self.scan_from,
            pending=[PendingImpact(i.first, i.peak, i.judged) for i in self.pending],
            quiet_until=float(self.quiet_until),
            anchors=self.anchors[self._anchor_index(origin) :],
            samples=self.samples[cut : self.count].tobytes(),
        )

    @classmethod
    def from_snapshot(cls, saved: WearableState) -> Wearable:
        """Rebuild a wearable from its checkpointed state."""
        wearable = cls((saved.hub_id, saved.device_id), saved.hz)
        wearable.origin = saved.origin
        wearable.scan_from = saved.scan_from
        wearable.pending = [PendingImpact(i.first, i.peak, i.judged) for i in saved.pending]
        wearable.quiet_until = saved.quiet_until
        wearable.anchors = list(saved.anchors)
        g = np.frombuffer(saved.samples, dtype=np.float32).reshape(-1, 3)
        wearable._store(g, smv(g.astype(np.float64)))
        return wearable

    def _anchor(self, sample: int) -> Anchor:
        if sample >= self.anchors[-1].sample:
            return self.anchors[-1]
        return self.anchors[self._anchor_index(sample)]

    def _anchor_index(self, sample: int) -> int:
        return max(bisect.bisect_right(self.anchors, sample, key=lambda a: a.sample) - 1, 0)

    def _extend(
        self, g: NDArray[np.float32], magnitude: NDArray[np.float64], anchor: Anchor
    ) -> None:
        if len(g) == 0:
            return
        self.anchors.append(anchor)
        if self.count + len(g) > len(self.samples):
            self._compact()
        self._store(g, magnitude)

    def _store(self, g: NDArray[np.float32], magnitude: NDArray[np.float64]) -> None:
        n = self.count + len(g)
        if n > len(self.samples):
            self.samples = np.resize(self.samples, (2 * n, 3))
            self.magnitude = np.resize(self.magnitude, 2 * n)
        self.samples[self.count : n] = g
        self.magnitude[self.count : n] = magnitude
        self.count = n

    def _cut(self) -> int:
        """How many of the oldest samples no pending or future impact can need."""
        pre = self.layout.pre
        keep_from = min([self.end - pre] + [i.first - pre for i in self.pending])
        return min(max(0, keep_from - self.origin), self.count)

    def _compact(self) -> None:
        cut = self._cut()
        if cut == 0:
            return
        self.count -= cut
        self.samples[: self.count] = self.samples[cut : cut + self.count]
        self.magnitude[: self.count] = self.magnitude[cut : cut + self.count]
        self.origin += cut
        del self.anchors[: self._anchor_index(self.origin)]


def smv(g: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signal magnitude vector: the length of each sample's acceleration, g."""
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", g, g)), dtype=np.float64)
