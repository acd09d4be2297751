"""Which silent collapses no inactivity rule can find without also raising on normal life.

A collapse leaves the home still from its last sign of life until the resident is found.
If the same home, on an ordinary day of the incident-free log, was once still for as
long after a sign of life at the same time of day (within an hour) and from the same
sensor, then any rule that judges only how long the home has been still (after which
sensor, at what hour) and finds the collapse before it ends raises on that ordinary day
too. Such a collapse needs other evidence (a worn detector, a visit schedule); counting
them tells how far the simulator's homes let stillness alone go.

Spells that begin at an exit door (the resident may be out) or in bed are left out, and
so are those that begin between an hour before night start and two hours after night end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from telecare.model import parse_rfc3339

HOUR_S = 3600
WINDOW_MIN = 60
NIGHT_FROM_MIN = 21 * 60  # an hour before the default night start (22:00)
NIGHT_TO_MIN = 9 * 60  # two hours after the default night end (07:00)
EXIT_LOCATIONS = ("front", "back")


@dataclass(frozen=True)
class Spell:
    """A still spell of an ordinary day: when it began (local minute), after what, how long."""

    minute: int
    after: str
    seconds: int


def normal_spells(log: Path, tz: str) -> dict[str, list[Spell]]:
    """Every home's still spells in an incident-free log (daytime, at home, awake)."""
    table = pacsv.read_csv(log, convert_options=pacsv.ConvertOptions(
        column_types={"ts": pa.timestamp("s", tz="UTC"), "value": pa.string()},
        include_columns=["ts", "hub_id", "device_id", "type", "event", "location"]))
    sensed = pc.and_(pc.not_equal(table["type"], "hub"), pc.not_equal(table["event"], "battery"))
    table = table.filter(sensed).sort_by([("hub_id", "ascending"), ("ts", "ascending")])
    ts = table["ts"].cast(pa.int64()).to_numpy()
    hubs = table["hub_id"].to_pylist()
    after = [f"{d}/{e}" for d, e in zip(table["device_id"].to_pylist(),
                                        table["event"].to_pylist(), strict=True)]
    starts_out = [(t == "door" and loc in EXIT_LOCATIONS) or t == "bed"
                  for t, loc in zip(table["type"].to_pylist(), table["location"].to_pylist(),
                                    strict=True)]
    zone = ZoneInfo(tz)
    spells: dict[str, list[Spell]] = defaultdict(list)
    for i in range(len(ts) - 1):
        if hubs[i] != hubs[i + 1] or starts_out[i]:
            continue
        local = datetime.fromtimestamp(int(ts[i]), zone)
        minute = local.hour * 60 + local.minute
        if minute >= NIGHT_FROM_MIN or minute < NIGHT_TO_MIN:
            continue
        spells[hubs[i]].append(Spell(minute, after[i], int(ts[i + 1] - ts[i])))
    return spells


def last_signs(log: Path, collapses: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """The sensor (device/event) whose event marks each collapse's start."""
    wanted = {(c["hub_id"], parse_rfc3339(c["start"]) // 1000) for c in collapses}
    table = pacsv.read_csv(log, convert_options=pacsv.ConvertOptions(
        column_types={"ts": pa.timestamp("s", tz="UTC"), "value": pa.string()},
        include_columns=["ts", "hub_id", "device_id", "type", "event"]))
    keep = pc.and_(pc.not_equal(table["type"], "hub"), pc.not_equal(table["event"], "battery"))
    keep = pc.and_(keep, pc.is_in(table["ts"].cast(pa.int64()),
                                  pa.array(sorted({t for _, t in wanted}), pa.int64())))
    part = table.filter(keep)
    out: dict[tuple[str, int], str] = {}
    for t, hub, dev, event in zip(part["ts"].cast(pa.int64()).to_pylist(),
                                  part["hub_id"].to_pylist(), part["device_id"].to_pylist(),
                                  part["event"].to_pylist(), strict=True):
        if (hub, t) in wanted:
            out[(hub, t)] = f"{dev}/{event}"
    return out


def hidden_collapses(truth: list[dict[str, Any]], log: Path, clean_log: Path,
                     tz: str) -> tuple[int, int, list[str]]:
    """(collapses, hidden by the hour alone, lines naming those hidden by hour and sensor).

    Hidden by the hour: an ordinary spell at that time of day was as long. Hidden by hour
    and sensor: an ordinary spell at that time of day after the same sensor was as long.
    """
    collapses = [t for t in truth if t["type"] == "silent_collapse" and t.get("end")]
    spells = normal_spells(clean_log, tz)
    signs = last_signs(log, collapses)
    zone = ZoneInfo(tz)
    by_hour = 0
    lines: list[str] = []
    for c in collapses:
        start = parse_rfc3339(c["start"]) // 1000
        length = parse_rfc3339(c["end"]) // 1000 - start
        local = datetime.fromtimestamp(start, zone)
        minute = local.hour * 60 + local.minute
        near = [s for s in spells.get(c["hub_id"], [])
                if min(abs(s.minute - minute), 1440 - abs(s.minute - minute)) <= WINDOW_MIN]
        longest = max((s.seconds for s in near), default=0)
        if longest >= length:
            by_hour += 1
        sign = signs.get((c["hub_id"], start), "?")
        same = max((s.seconds for s in near if s.after == sign), default=0)
        if same >= length:
            lines.append(f"{c['hub_id']} {c['start']}: {length / HOUR_S:.1f} h after {sign} "
                         f"at {local:%H:%M}; an ordinary day had {same / HOUR_S:.1f} h")
    return len(collapses), by_hour, lines

