"""Recorded real homes turned into the event-log CSV of docs/protocol.md.

The two homes of Ordóñez et al. (the UCI data set "Activities of Daily Living (ADLs)
Recognition Using Binary Sensors", not shipped here: see benchmarks/real_homes.py) come
as the authors published them: one line per sensor activation, its start and end.
`ordonez_home` writes one as a hub would have reported it:

- a pressure pad (`Bed`, `Seat`): `occupied` at the start, `vacant` at the end;
- a PIR: `active` at the start and again every `PIR_REARM_S` while it stays on (a
  telecare PIR reports a trigger, then is blind for its re-arm time);
- the front door (`Maindoor`): `open` at the start, `closed` at the end;
- a cupboard, the fridge, a toilet flush, an appliance: `usage` `active` at the start;
- hub heartbeats every 60 s from the first event to the last, as real-home-a has them.

The recordings are in the homes' local time, written here as UTC (replay or backtest
with `--tz UTC`). Annotations keep the authors' activities, lower-cased, with
`Leaving` as `leave-house` and `Sleeping` as `go-to-bed`, as real-home-a names them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

HEADER = "ts,hub_id,device_id,type,event,value,location\n"
PIR_REARM_S = 120
HEARTBEAT_S = 60

_LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"
                   r"\s+(\S+)(?:\s+(\S+))?(?:\s+(\S+))?")
_ACTIVITY = {"leaving": "leave-house", "sleeping": "go-to-bed"}


def _seconds(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def _stamp(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _intervals(path: Path) -> list[tuple[int, int, list[str]]]:
    """(start, end, the words after the two times) of each data line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line.strip())
        if m:
            words = [w for w in m.groups()[2:] if w]
            out.append((_seconds(m.group(1)), _seconds(m.group(2)), words))
    return out


def _sensor_events(start: int, end: int, where: str, kind: str,
                   place: str) -> list[tuple[int, str, str, str, str]]:
    """(t, device_id, type, event, location) of one activation."""
    room = place.lower()
    device = f"{where}-{kind}-{place}".lower()
    if kind == "Pressure":
        pad = "bed" if where == "Bed" else "chair"
        return [(start, device, pad, "occupied", room), (max(end, start), device, pad,
                                                         "vacant", room)]
    if kind == "PIR":
        return [(t, device, "motion", "active", room)
                for t in range(start, max(end, start) + 1, PIR_REARM_S)]
    if where == "Maindoor":
        return [(start, "front-door", "door", "open", "front"),
                (max(end, start), "front-door", "door", "closed", "front")]
    return [(start, device, "usage", "active", room)]


def ordonez_home(sensors: Path, adls: Path, hub_id: str, work: Path) -> tuple[Path, Path]:
    """Write one Ordóñez home as `events.csv` and `annotations.csv` in `work`."""
    marks: list[tuple[int, str, str, str, str]] = []
    for start, end, words in _intervals(sensors):
        where, kind, place = [*words, "", ""][:3]
        marks.extend(_sensor_events(start, end, where, kind, place))
    marks.sort()
    first, last = marks[0][0], marks[-1][0]
    marks.extend((t, "hub", "hub", "heartbeat", "")
                 for t in range(first - first % HEARTBEAT_S, last + 1, HEARTBEAT_S))
    marks.sort(key=lambda m: (m[0], m[1] != "hub"))
    events = work / f"{hub_id}-events.csv"
    with events.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        out.writelines(f"{_stamp(t)},{hub_id},{device},{kind},{event},,{room}\n"
                       for t, device, kind, event, room in marks)
    notes = work / f"{hub_id}-annotations.csv"
    with notes.open("w", encoding="utf-8") as out:
        out.write("start,end,activity\n")
        for start, end, words in sorted(_intervals(adls)):
            activity = words[0].lower() if words else "unknown"
            out.write(f"{_stamp(start)},{_stamp(end)},{_ACTIVITY.get(activity, activity)}\n")
    return events, notes
