"""Silent collapses found, by what the home has fitted and how long it has been learning.

The simulator fits one of four kits (`firmware_sim/kits.py`); stillness tells the most
where motion sensors see the resident and a bed pad sees sleep, the least where only
doors and cupboards do, and a home's first week is judged by its fixed timers. The
breakdown shows where the collapses the engine misses are.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scoring import DAY, Scored, score

from telecare.model import parse_rfc3339

KITS = ("contact sensors only", "motion sensors, no bed pad", "motion sensors and a bed pad")
LEARNING_DAYS = 7


def home_kits(log: Path) -> tuple[dict[str, str], int]:
    """Each hub's kit (one of KITS) from the sensor types in its log, and the log's first
    time (ms)."""
    table = pacsv.read_csv(log, convert_options=pacsv.ConvertOptions(
        include_columns=["ts", "hub_id", "type"]))
    grouped = table.group_by(["hub_id", "type"]).aggregate([])
    types: dict[str, set[str]] = defaultdict(set)
    for hub, kind in zip(grouped["hub_id"].to_pylist(), grouped["type"].to_pylist(),
                         strict=True):
        types[hub].add(kind)
    kits = {hub: KITS[0] if "motion" not in kinds else KITS[2] if "bed" in kinds else KITS[1]
            for hub, kinds in types.items()}
    first = pc.min(table["ts"]).as_py()
    return kits, round(first.timestamp() * 1000)


def collapses_by_kit(truth: list[dict[str, Any]], alerts: list[dict[str, Any]],
                     log: Path) -> list[str]:
    """Markdown lines: the engine's silent collapses by kit, and in each, those begun in
    the log's first LEARNING_DAYS days apart from the rest."""
    kits, first = home_kits(log)
    lines = ["| silent collapses, by kit | all | first week | after |", "|---|---|---|---|"]
    collapses = [t for t in truth if t["type"] == "silent_collapse"]
    for kit in KITS:
        mine = [t for t in collapses if kits.get(t["hub_id"]) == kit]
        early = [t for t in mine
                 if parse_rfc3339(t["start"]) < first + LEARNING_DAYS * DAY]
        later = [t for t in mine if t not in early]
        cells = [score(group, alerts).get("silent_collapse", Scored()).row()
                 for group in (mine, early, later)]
        lines.append(f"| {kit} | " + " | ".join(
            f"{share}, {median} / {p90}" if median != "-" else share
            for share, median, p90 in cells) + " |")
    return lines
