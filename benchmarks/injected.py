"""Incidents the simulator does not make, injected by cutting its incident-free log.

The simulator's collapses all begin in the daytime, its residents get up at night only
for the toilet, and none is ever unable to get up. So these incidents are made by
cutting one home's log at a moment: every line after it is dropped but the hub's
heartbeats (the resident lies still, the hub goes on). The engine, the engine with the
rule for that incident switched off, and the 12 h timer are each scored on the same
cut log (inactivity within 24 h of the cut).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from scoring import DAY, H, Scored, engine_alerts, twelve_hour_timer

from telecare.model import HubSettings, parse_rfc3339


def injected_collapses(header: str, body: list[str], times: list[int], moments: list[int],
                       work: Path, tz: str, settings: dict[str, HubSettings],
                       ) -> tuple[Scored, Scored]:
    """A collapse at each moment of one home's log: its lines after the moment cut but
    heartbeats; the engine and the 12 h timer scored on each cut log (inactivity within 24 h)."""
    ours, theirs = Scored(), Scored()
    for at in moments:
        cut = work / "collapse.csv"
        with cut.open("w") as out:
            out.write(header)
            out.writelines(line for line, t in zip(body, times, strict=True)
                           if t <= at or ",hub,hub,heartbeat," in line)
        alerts, _, _ = engine_alerts(cut, tz, settings)
        for scored, found in ((ours, alerts), (theirs, twelve_hour_timer(cut, tz))):
            scored.total += 1
            hits = [a["ts"] for a in found
                    if a["type"] == "inactivity" and at < a["ts"] <= at + DAY]
            if hits:
                scored.found += 1
                scored.delays_min.append((min(hits) - at) / 60_000)
    return ours, theirs


# candidate moments in one home's log: (lines, their times, the zone) -> times to cut at
Moments = Callable[[list[str], list[int], ZoneInfo], list[int]]


def _signs(body: list[str], times: list[int]) -> list[int]:
    """The times of a log's signs of life (not the hub's own lines, not battery reports)."""
    return [t for line, t in zip(body, times, strict=True)
            if ",hub,hub," not in line and ",battery," not in line]


def after_pad(event: str, hours: range, first_day: int, *, next_sign: bool) -> Moments:
    """The pad's `event` in these local hours from this day of the log on; with `next_sign`,
    the first sign of life after it (the fall on the way to the toilet, once up)."""
    def moments(body: list[str], times: list[int], zone: ZoneInfo) -> list[int]:
        out = []
        for i, (line, t) in enumerate(zip(body, times, strict=True)):
            if (f",bed,{event}," in line and t >= times[0] + first_day * DAY
                    and datetime.fromtimestamp(t / 1000, zone).hour in hours):
                later = _signs(body[i + 1:i + 20], times[i + 1:i + 20]) if next_sign else []
                out.append(later[0] if later else t)
        return out
    return moments


def before_stillness(hours: range, still_h: float, first_day: int) -> Moments:
    """A sign of life in these local hours followed by `still_h` hours of none (going to
    bed; back to bed after a trip in the night), from this day of the log on."""
    def moments(body: list[str], times: list[int], zone: ZoneInfo) -> list[int]:
        signs = _signs(body, times)
        return [t for t, nxt in itertools.pairwise(signs)
                if t >= times[0] + first_day * DAY and nxt - t >= still_h * H
                and datetime.fromtimestamp(t / 1000, zone).hour in hours]
    return moments


@dataclass(frozen=True)
class Incident:
    """One injected incident: where it is put, and the rule that finds it (to switch off)."""

    label: str
    with_pad: bool  # homes with a bed pad, or homes without one
    moments: Moments
    rule_off: HubSettings


INCIDENTS: tuple[Incident, ...] = (
    Incident("Fall out of bed at night", True,
             after_pad("vacant", range(0, 5), 2, next_sign=True), HubSettings(out_of_bed_min=0)),
    Incident("Not up in the morning", True,
             after_pad("occupied", range(20, 24), 9, next_sign=False), HubSettings(not_up=False)),
    Incident("No pad: still from going to bed, never up", False,
             before_stillness(range(20, 24), 4.0, 9), HubSettings(not_up=False)),
    Incident("No pad: back to bed after a trip at 00-05, never up", False,
             before_stillness(range(0, 5), 2.0, 9), HubSettings(not_up=False)),
)


def incidents_part(args: argparse.Namespace, clean_log: Path, work: Path) -> list[str]:
    """Each incident once in each of `args.night_falls` homes (with a pad, or without, as
    it needs; drawn with the seed) of the incident-free log; markdown lines."""
    with clean_log.open() as fh:
        header = fh.readline()
        lines = fh.readlines()
    every = sorted({line.split(",", 2)[1] for line in lines})
    pads = {line.split(",", 2)[1] for line in lines if ",bed,vacant," in line}
    zone = ZoneInfo(args.tz)
    out = [f"Injected incidents (seed {args.seed}): one of each per home, {args.night_falls} "
           "homes of each kind, in the incident-free log (heartbeats go on after the cut).", "",
           "| incident | engine | engine, its rule off | 12 h timer |", "|---|---|---|---|"]
    for with_pad in (True, False):
        # one draw of homes per kind, the pad's first (its figures as before the no-pad rows)
        rng = np.random.default_rng(args.seed if with_pad else args.seed + 1)
        kind = sorted(pads) if with_pad else [hub for hub in every if hub not in pads]
        hubs = [str(h) for h in rng.choice(kind, size=min(args.night_falls, len(kind)),
                                           replace=False)]
        # each chosen home's lines and their times, taken from the log once
        logs: dict[str, tuple[list[str], list[int]]] = {hub: ([], []) for hub in hubs}
        for line in lines:
            home = logs.get(line.split(",", 2)[1])
            if home is not None:
                home[0].append(line)
                home[1].append(parse_rfc3339(line.split(",", 1)[0]))
        for incident in (i for i in INCIDENTS if i.with_pad == with_pad):
            total = [Scored() for _ in range(3)]
            for hub in hubs:
                body, times = logs[hub]
                starts = incident.moments(body, times, zone)
                if not starts:
                    continue
                at = starts[int(rng.integers(len(starts)))]
                ours, timer = injected_collapses(header, body, times, [at], work, args.tz, {})
                off, _ = injected_collapses(header, body, times, [at], work, args.tz,
                                            {"*": incident.rule_off})
                for into, one in zip(total, (ours, off, timer), strict=True):
                    into.total += one.total
                    into.found += one.found
                    into.delays_min += one.delays_min
            rows = [t.row() for t in total]
            out += [f"| {incident.label}: detected within 24 h | {rows[0][0]} | {rows[1][0]} | "
                    f"{rows[2][0]} |",
                    f"| {incident.label}: delay median / p90 | {rows[0][1]} / {rows[0][2]} | "
                    f"{rows[1][1]} / {rows[1][2]} | {rows[2][1]} / {rows[2][2]} |"]
    return out
