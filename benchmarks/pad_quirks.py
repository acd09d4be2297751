"""False alerts when bed pads behave as real pressure mats do, beside the 12-hour timer.

    .venv/bin/python benchmarks/pad_quirks.py [--homes 100 --days 30 --seed 1]

The simulator's pads are perfect: occupied when the resident lies down, vacant when
they get up, nothing in between, and its bedroom PIRs never see a sleeper. Recorded
homes are not like that (the pressure mats of the van Kasteren houses, for one, lose
and find their sleeper through the night). This script takes the simulator's
incident-free log, changes only what its pads and bedroom PIRs say during each stay in
bed of 3 h or more, and counts the false welfare alerts (priority 1-3) the engine and
the 12 h timer raise on each version of the log:

- rolls off: once in three stays the sleeper rolls off the mat for 20-120 min (vacant,
  then occupied again), nothing else moving;
- bounces: a Poisson(6) number of flickers a stay (vacant, occupied 2-90 s later);
- bedroom PIR: in homes with one, a Poisson(3) number of detections a stay (the sleeper
  turning over) while the mat says occupied;
- stays missed: one stay in five leaves no trace on the mat (a flat battery, a mat slipped
  off the bed, or the resident asleep in a chair): its occupied, vacant and everything in
  between dropped;
- all four at once;
- seat unseen: in homes with a chair pad, the PIR of its room does not see the chair (as in
  a recorded home whose living room only the seat pad sees): its detections while the pad
  says occupied are dropped. With `--collapses` the same is done to the log with
  incidents, and its silent collapses are scored for the engine and the 12 h timer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scoring import (
    collapses_changed,
    engine_alerts,
    false_welfare,
    on_incident_free_month,
    twelve_hour_timer,
)

from telecare.model import parse_rfc3339

H = 3_600_000
STAY_MS = 3 * H  # stays in bed this long or longer are nights' sleep


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Log:
    """An event log's lines with their times, and its stays in bed."""

    def __init__(self, path: Path) -> None:
        with path.open() as fh:
            self.header = fh.readline()
            self.lines = fh.readlines()
        self.times = [parse_rfc3339(line.split(",", 1)[0]) for line in self.lines]
        self.bedroom_pir: dict[str, str] = {}
        # (hub, chair pad's location, index of occupied, index of vacant)
        self.sits: list[tuple[str, str, int, int]] = []
        seated: dict[str, int] = {}
        # (hub, pad device, location, index of occupied, index of vacant)
        self.stays: list[tuple[str, str, str, int, int]] = []
        opened: dict[str, int] = {}
        for i, line in enumerate(self.lines):
            cols = line.rstrip("\n").split(",")
            if cols[3] == "motion" and "bed" in cols[6]:
                self.bedroom_pir[cols[1]] = cols[2]
            if cols[3] == "chair" and cols[4] == "occupied":
                seated.setdefault(cols[1], i)
            elif cols[3] == "chair" and cols[4] == "vacant" and cols[1] in seated:
                self.sits.append((cols[1], cols[6], seated.pop(cols[1]), i))
            if cols[3] != "bed":
                continue
            if cols[4] == "occupied":
                opened.setdefault(cols[1], i)
            elif cols[4] == "vacant" and cols[1] in opened:
                first = opened.pop(cols[1])
                if self.times[i] - self.times[first] >= STAY_MS:
                    self.stays.append((cols[1], cols[2], cols[6], first, i))

    def write(self, path: Path, extra: list[tuple[int, str]], drop: set[int]) -> None:
        """Write the log with `extra` (time, line) merged in and the lines `drop` left out."""
        extra.sort()
        out, j = [], 0
        for i, (t, line) in enumerate(zip(self.times, self.lines, strict=True)):
            while j < len(extra) and extra[j][0] < t:
                out.append(extra[j][1])
                j += 1
            if i not in drop:
                out.append(line)
        out += [line for _, line in extra[j:]]
        with path.open("w") as fh:
            fh.write(self.header)
            fh.writelines(out)


Quirk = Callable[[Log, np.random.Generator], tuple[list[tuple[int, str]], set[int]]]


def _pad(t: int, hub: str, device: str, event: str, location: str) -> tuple[int, str]:
    return t, f"{_iso(t)},{hub},{device},bed,{event},,{location}\n"


def rolls_off(log: Log, rng: np.random.Generator) -> tuple[list[tuple[int, str]], set[int]]:
    """Once in three stays, off the mat for 20-120 min with nothing else moving."""
    extra = []
    for hub, device, place, first, last in log.stays:
        t0, t1 = log.times[first], log.times[last]
        if rng.random() < 1 / 3:
            off = t0 + int(rng.uniform(0.1, 0.7) * (t1 - t0))
            back = off + int(rng.uniform(20, 120) * 60_000)
            if back < t1 - 60_000:
                extra += [_pad(off, hub, device, "vacant", place),
                          _pad(back, hub, device, "occupied", place)]
    return extra, set()


def bounces(log: Log, rng: np.random.Generator) -> tuple[list[tuple[int, str]], set[int]]:
    """Flickers: vacant, then occupied again within 2-90 s, about six a stay."""
    extra = []
    for hub, device, place, first, last in log.stays:
        t0, t1 = log.times[first], log.times[last]
        for _ in range(int(rng.poisson(6.0))):
            off = t0 + int(rng.uniform(0.05, 0.95) * (t1 - t0))
            extra += [_pad(off, hub, device, "vacant", place),
                      _pad(off + int(rng.uniform(2_000, 90_000)), hub, device, "occupied",
                           place)]
    return extra, set()


def bedroom_pir(log: Log, rng: np.random.Generator) -> tuple[list[tuple[int, str]], set[int]]:
    """The bedroom PIR sees the sleeper turn over, about three times a stay."""
    extra = []
    for hub, _, place, first, last in log.stays:
        pir = log.bedroom_pir.get(hub)
        if pir is None:
            continue
        t0, t1 = log.times[first], log.times[last]
        for _ in range(int(rng.poisson(3.0))):
            t = t0 + 10 * 60_000 + int(rng.uniform(0, 1) * (t1 - t0 - 20 * 60_000))
            extra.append((t, f"{_iso(t)},{hub},{pir},motion,active,,{place}\n"))
    return extra, set()


def stays_missed(log: Log, rng: np.random.Generator) -> tuple[list[tuple[int, str]], set[int]]:
    """One stay in five leaves no trace on the mat."""
    drop: set[int] = set()
    for hub, device, _, first, last in log.stays:
        if rng.random() < 0.2:
            tag = f",{hub},{device},bed,"
            drop.update(i for i in range(first, last + 1) if tag in log.lines[i])
    return [], drop


def seat_unseen(log: Log, rng: np.random.Generator) -> tuple[list[tuple[int, str]], set[int]]:
    """The chair's room's PIR does not see the sitter: its detections while seated dropped."""
    drop: set[int] = set()
    for hub, place, first, last in log.sits:
        tag = f",{hub},"
        drop.update(i for i in range(first + 1, last) if tag in log.lines[i]
                    and f",motion,active,,{place}" in log.lines[i])
    return [], drop


QUIRKS: dict[str, list[Quirk]] = {
    "none (the simulator's log)": [],
    "rolls off the mat": [rolls_off],
    "bounces": [bounces],
    "bedroom PIR sees the sleeper": [bedroom_pir],
    "stays missed": [stays_missed],
    "all four": [rolls_off, bounces, bedroom_pir, stays_missed],
    "seat unseen": [seat_unseen],
}


def main() -> int:
    """Generate the incident-free log, change its pads each way, count false alerts."""
    return on_incident_free_month(
        __doc__, "also score silent collapses in the log with incidents, seat unseen", score)


def score(args: argparse.Namespace, work: Path, clean: Path) -> None:
    """Change the month's pads each way; print the false alerts of each."""
    log = Log(clean)
    homes = {line.split(",", 2)[1] for line in log.lines}
    pads = {hub for hub, *_ in log.stays}
    print(f"Incident-free log: {args.homes} homes x {args.days} days, seed {args.seed}; "
          f"{len(pads)} homes with a bed pad, {len(log.stays)} stays in bed of 3 h or "
          f"more, {len(set(log.bedroom_pir) & pads)} of those homes with a bedroom PIR.\n")
    print("| pads and bedroom PIRs | lines changed | engine: false welfare alerts | "
          "12 h timer |")
    print("|---|---:|---:|---:|")
    for label, quirks in QUIRKS.items():
        rng = np.random.default_rng(args.seed)
        extra: list[tuple[int, str]] = []
        drop: set[int] = set()
        for quirk in quirks:
            more, gone = quirk(log, rng)
            extra += more
            drop |= gone
        path = work / "quirks.csv"
        log.write(path, extra, drop)
        ours = false_welfare(engine_alerts(path, args.tz, {})[0], homes)
        timer = false_welfare(twelve_hour_timer(path, args.tz), homes)
        print(f"| {label} | {len(extra) + len(drop):,} | {sum(ours.values())} "
              f"{dict(ours)} | {sum(timer.values())} |")
    if args.collapses:
        print("\n".join(["", *collapses_seat_unseen(args, work)]))


def collapses_seat_unseen(args: argparse.Namespace, work: Path) -> list[str]:
    """Silent collapses in the log with incidents, as it is and with the seat unseen."""

    def unseen(path: Path, out: Path) -> set[str]:
        log = Log(path)
        log.write(out, *seat_unseen(log, np.random.default_rng(args.seed)))
        return {hub for hub, *_ in log.sits}

    return collapses_changed(args, work, "with a chair pad", "seat unseen", unseen)


if __name__ == "__main__":
    sys.exit(main())
