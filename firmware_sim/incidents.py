"""Incidents: what goes wrong in a home, when, and the ground-truth log of what was injected."""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import msgspec

from firmware_sim.homes import HomeSpec
from firmware_sim.kits import BED_PAD, CHAIR_PAD, FALL_DETECTOR, PENDANT
from firmware_sim.seeds import home_random
from firmware_sim.timefmt import format_ts


class IncidentKind(StrEnum):
    """What goes wrong in a home (docs/simulator.md gives each one's signature)."""

    PENDANT_PRESS = "pendant_press"
    DEVICE_FALL = "device_fall"
    SILENT_COLLAPSE = "silent_collapse"
    NIGHT_EXIT_NO_RETURN = "night_exit_no_return"
    NIGHT_EXIT_RETURN = "night_exit_return"
    HUB_POWER_LOSS = "hub_power_loss"
    HUB_OFFLINE = "hub_offline"
    ILLNESS = "illness"
    LOW_BATTERY = "low_battery"
    NOISY_SENSOR = "noisy_sensor"
    HUB_SILENT = "hub_silent"
    """Live runs only: the hub stays connected and sends nothing (hung firmware)."""


# Injected at random, in these proportions; hub_silent only when asked for.
DEFAULT_WEIGHTS: Final[Mapping[str, float]] = {
    IncidentKind.PENDANT_PRESS: 0.16,
    IncidentKind.DEVICE_FALL: 0.08,
    IncidentKind.SILENT_COLLAPSE: 0.12,
    IncidentKind.NIGHT_EXIT_RETURN: 0.08,
    IncidentKind.NIGHT_EXIT_NO_RETURN: 0.06,
    IncidentKind.ILLNESS: 0.08,
    IncidentKind.HUB_POWER_LOSS: 0.08,
    IncidentKind.HUB_OFFLINE: 0.12,
    IncidentKind.LOW_BATTERY: 0.12,
    IncidentKind.NOISY_SENSOR: 0.10,
}
DEFAULT_RATE_PER_WEEK: Final = 1.0
# Kinds with a duration; the others are over within the day they start.
LASTING: Final = frozenset({
    IncidentKind.HUB_OFFLINE, IncidentKind.HUB_SILENT, IncidentKind.HUB_POWER_LOSS,
    IncidentKind.NOISY_SENSOR, IncidentKind.LOW_BATTERY, IncidentKind.ILLNESS,
})
_DAY_S: Final = 86400.0
_HOUR_S: Final = 3600.0
_INCIDENT_STREAM: Final = 5


def needs(home: HomeSpec, kind: str) -> str | None:
    """Return what the home lacks for an incident of this kind, or None when it can happen."""
    if kind == IncidentKind.PENDANT_PRESS and not home.has(PENDANT):
        return "a pendant"
    if kind == IncidentKind.DEVICE_FALL and not home.has(FALL_DETECTOR):
        return "a fall detector"
    if kind == IncidentKind.NOISY_SENSOR and not noisy_candidates(home):
        return "a bed or chair pad, an inner door contact or a PIR"
    return None


def noisy_candidates(home: HomeSpec) -> list[str]:
    """The devices that can turn noisy: pads and inner doors chatter, a PIR sticks on."""
    return [
        d.device_id
        for d in home.devices
        if d.device_id in (BED_PAD, CHAIR_PAD)
        or d.type == "motion"
        or (d.type == "door" and d.location not in ("front", "back"))
    ]


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident asked for in a live run: at_s simulated seconds after the run starts.

    `duration_s` None means until the run ends (for the kinds that last).
    """

    hub_id: str
    kind: str
    at_s: float
    duration_s: float | None = None


def check_incidents(homes: Sequence[HomeSpec], incidents: Iterable[Incident]) -> None:
    """Raise ValueError for an incident in an unknown home, of an unknown kind or device."""
    by_hub = {home.hub_id: home for home in homes}
    kinds = set(IncidentKind)
    for incident in incidents:
        home = by_hub.get(incident.hub_id)
        if home is None:
            raise ValueError(f"incident for unknown hub {incident.hub_id!r}")
        if incident.kind not in kinds:
            raise ValueError(f"unknown incident kind {incident.kind!r}")
        if incident.at_s < 0 or (incident.duration_s is not None and incident.duration_s <= 0):
            raise ValueError(f"incident at_s must be >= 0 and duration_s > 0: {incident}")
        lacking = needs(home, incident.kind)
        if lacking is not None:
            raise ValueError(f"{incident.kind} needs {lacking}, {home.hub_id} has none")


class Truth(msgspec.Struct, frozen=True):
    """One line of the ground-truth log: what was injected where, from when until when."""

    hub_id: str
    type: str
    start: str
    end: str | None
    params: dict[str, Any]


def truth(hub_id: str, kind: str, start: float, end: float | None, **params: Any) -> Truth:
    """Build a ground-truth record from Unix seconds (written to the second, like the log)."""
    return Truth(hub_id, str(kind), format_ts(start), None if end is None else format_ts(end),
                 params)


def write_truth_records(path: str | Path, records: Iterable[Truth]) -> int:
    """Write ground-truth records as JSON lines ordered by start then hub; return the count."""
    ordered = sorted(records, key=lambda t: (t.start, t.hub_id, t.type))
    encoder = msgspec.json.Encoder()
    with open(path, "wb") as out:
        for record in ordered:
            out.write(encoder.encode(record) + b"\n")
    return len(ordered)


def write_truth(path: str | Path, incidents: Iterable[Incident], *, start: datetime) -> int:
    """Write asked-for incidents as ground truth, times from the run's start; return the count."""
    at = start.timestamp()
    return write_truth_records(path, (
        truth(i.hub_id, i.kind, at + i.at_s,
              None if i.duration_s is None else at + i.at_s + i.duration_s)
        for i in incidents
    ))


def read_truth(path: str | Path) -> list[Truth]:
    """Read a ground-truth JSON lines file."""
    decoder = msgspec.json.Decoder(Truth)
    with open(path, "rb") as f:
        return [decoder.decode(line) for line in f if line.strip()]


@dataclass(frozen=True, slots=True)
class Planned:
    """An incident due on one local day: its kind, its own random stream, and when if pinned."""

    kind: str
    r: random.Random
    at: float | None = None
    """Unix seconds, for an incident asked for at a given time; else the day decides."""
    duration_s: float | None = None
    """Seconds, for the kinds that last; None for an asked-for one that lasts to the end."""


class IncidentPlanner:
    """Decides, day by day, which incident (if any) starts in one home.

    About `rate_per_week` incidents start per home-week; one is over (and a
    day has passed) before the next may start, so signatures never overlap.
    """

    def __init__(
        self,
        home: HomeSpec,
        *,
        seed: int,
        rate_per_week: float = 0.0,
        weights: Mapping[str, float] = DEFAULT_WEIGHTS,
        asked: Sequence[tuple[str, float, float | None]] = (),
    ) -> None:
        if rate_per_week < 0:
            raise ValueError(f"incident rate must be >= 0, got {rate_per_week}")
        self._home = home
        self._seed = seed
        possible = tuple((k, w) for k, w in weights.items() if w > 0 and needs(home, k) is None)
        self._kinds, self._weights, self._chance = _choice_of(rate_per_week, possible)
        self._asked = sorted(asked, key=lambda a: a[1])
        self._free_from = -math.inf

    def for_day(self, ordinal: int, midnight: float, next_midnight: float) -> list[Planned]:
        """Return the incidents starting on the local day that begins at midnight."""
        planned: list[Planned] = []
        while self._asked and self._asked[0][1] < next_midnight:
            kind, at, duration = self._asked.pop(0)
            r = home_random(self._seed, self._home.hub_id, _INCIDENT_STREAM, ordinal, len(planned))
            planned.append(Planned(kind, r, at, duration))
            if kind not in LASTING:
                until = next_midnight + _DAY_S
            else:
                until = math.inf if duration is None else at + duration + _DAY_S
            self._free_from = max(self._free_from, until)
        if planned or midnight < self._free_from or not self._kinds:
            return planned
        r = home_random(self._seed, self._home.hub_id, _INCIDENT_STREAM, ordinal)
        if r.random() >= self._chance:
            return []
        kind = r.choices(self._kinds, self._weights)[0]
        duration = _draw_duration(kind, r)
        self._free_from = midnight + _DAY_S + math.ceil((duration or 0.0) / _DAY_S) * _DAY_S
        return [Planned(kind, r, None, duration)]


@functools.lru_cache(maxsize=64)
def _choice_of(
    rate_per_week: float, weights: tuple[tuple[str, float], ...]
) -> tuple[list[str], list[float], float]:
    """Kinds, weights and daily chance, shared by every home with the same kit."""
    kinds = [k for k, _ in weights]
    return kinds, [w for _, w in weights], _daily_chance(rate_per_week, weights)


def _daily_chance(rate_per_week: float, weights: tuple[tuple[str, float], ...]) -> float:
    """The chance of an incident on a free day that gives `rate_per_week` in the long run.

    An incident keeps the days it spans (and the next) free of others, so a
    free day must be likelier than rate/7 to make up for the blocked ones.
    """
    if rate_per_week <= 0 or not weights:
        return 0.0
    r = random.Random(0)
    kinds = [k for k, _ in weights]
    draws = r.choices(kinds, [w for _, w in weights], k=4000)
    blocked = sum(math.ceil((_draw_duration(k, r) or 0.0) / _DAY_S) for k in draws) / len(draws)
    return 1.0 / max(1.0, 7.0 / rate_per_week - blocked)


def _draw_duration(kind: str, r: random.Random) -> float | None:
    if kind == IncidentKind.ILLNESS:
        return r.randint(3, 10) * _DAY_S
    if kind == IncidentKind.LOW_BATTERY:
        return r.uniform(1.0, 5.0) * _DAY_S
    if kind == IncidentKind.NOISY_SENSOR:
        return r.uniform(2.0, 72.0) * _HOUR_S
    if kind == IncidentKind.HUB_POWER_LOSS:
        return r.uniform(0.25, 30.0) * _HOUR_S
    if kind == IncidentKind.HUB_OFFLINE:
        u = r.random()
        minutes = r.uniform(1.0, 15.0) if u < 0.6 else r.uniform(15.0, 120.0) if u < 0.9 else (
            r.uniform(120.0, 480.0))
        return minutes * 60.0
    return None
