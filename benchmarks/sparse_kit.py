"""False alerts in homes whose only sensors are a front door and kitchen contacts.

    .venv/bin/python benchmarks/sparse_kit.py [--homes 100 --days 30 --seed 1]

Real homes are sometimes fitted with little more than a front door contact and one on
the fridge or a cupboard: two or three signs of life a meal, and nothing between. This
script takes the simulator's incident-free log, keeps only the lines of the front door,
the fridge and the cupboard (and the hub's heartbeats), and counts the false welfare
alerts (priority 1-3) the engine and the 12 h timer raise on the homes that have a fridge
or a cupboard, week by week of the log: a home still learning raises more, one that has
learned should not.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from scoring import (
    DAY,
    collapses_changed,
    engine_alerts,
    on_incident_free_month,
    twelve_hour_timer,
    welfare,
)

KEEP = ("hub", "door-front", "fridge", "cupboard")
KITCHEN = ("fridge", "cupboard")


def sparse_copy(log: Path, out: Path) -> set[str]:
    """Write the log's lines of the kept devices to `out`; return the hubs with a kitchen
    contact."""
    kitchen: set[str] = set()
    with log.open() as src, out.open("w") as dst:
        dst.write(src.readline())
        for line in src:
            _, hub, device, _ = line.split(",", 3)
            if device in KEEP:
                dst.write(line)
                if device in KITCHEN:
                    kitchen.add(hub)
    return kitchen


def by_week(alerts: list[dict[str, Any]], homes: set[str], start: int) -> list[int]:
    """Welfare alerts on `homes` per week of the log (the last week holds the days left)."""
    weeks = Counter(min(3, (a["ts"] - start) // (7 * DAY)) for a in welfare(alerts, homes))
    return [weeks[w] for w in range(4)]


def main() -> int:
    """Generate the incident-free log, keep the sparse kit's lines, count false alerts."""
    return on_incident_free_month(
        __doc__, "also score silent collapses in the log with incidents, cut down", score)


def score(args: argparse.Namespace, work: Path, clean: Path) -> None:
    """Cut the month down to the sparse kit; print the false alerts by week and rule."""
    sparse = work / "sparse.csv"
    homes = sparse_copy(clean, sparse)
    engine, _, rows = engine_alerts(sparse, args.tz, {})
    timer = twelve_hour_timer(sparse, args.tz)
    start = min(a["ts"] for a in engine + timer) // DAY * DAY
    ours, theirs = by_week(engine, homes, start), by_week(timer, homes, start)
    print(f"{len(homes)} of {args.homes} homes with a fridge or cupboard contact, seed "
          f"{args.seed}; {rows:,} lines kept (front door, fridge, cupboard, heartbeats).\n")
    print("| false welfare alerts | days 1-7 | 8-14 | 15-21 | 22 on | all |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, weeks in (("engine", ours), ("12 h timer", theirs)):
        print(f"| {label} | {' | '.join(map(str, weeks))} | {sum(weeks)} |")
    reasons = Counter(re.sub(r"\d+", "N", a["reason"]).split("(")[-1].rstrip(")")
                      for a in welfare(engine, homes))
    print("\nThe engine's alerts by rule: "
          + "; ".join(f"{n} {why}" for why, n in reasons.most_common()))
    if args.collapses:
        print("\n".join(["", *collapses(args, work)]))


def collapses(args: argparse.Namespace, work: Path) -> list[str]:
    """Silent collapses in the homes with a kitchen contact, as simulated and cut down."""
    return collapses_changed(args, work, "with a fridge or cupboard contact", "cut down",
                             sparse_copy)


if __name__ == "__main__":
    sys.exit(main())
