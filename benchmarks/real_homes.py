"""Recorded real homes for the detection benchmark, each as an event log and annotations.

real-home-a comes converted in `../shared/data/`. The two homes of Ordóñez et al. (the
UCI data set "Activities of Daily Living (ADLs) Recognition Using Binary Sensors") are
not in this repository: their authors' terms prohibit any commercial use. Given a
folder holding the authors' `OrdonezA_Sensors.txt`, `OrdonezA_ADLs.txt` and the same
for B (`--ordonez DIR`, by default `../shared/data/ordonez`), `firmware_sim.recorded`
converts them into the work folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware_sim.recorded import ordonez_home

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
ORDONEZ = SHARED / "ordonez"
REAL_HOME_A = SHARED / "real-home-a"


@dataclass(frozen=True)
class RecordedHome:
    """One recorded home: its event log, its annotations, and what it is."""

    name: str
    hub_id: str
    events: Path
    annotations: Path
    about: str


def recorded_homes(work: Path, ordonez: Path = ORDONEZ) -> list[RecordedHome]:
    """Every recorded home there is data for, converted into `work` where needed."""
    homes = []
    a = REAL_HOME_A
    if (a / "events.csv").exists():
        homes.append(RecordedHome("real-home-a", "H-dev-A", a / "events.csv",
                                  a / "annotations.csv", "contact sensors only, out at work"))
    for name, hub, about in (("A", "H-ordonez-a", "PIRs, bed and seat pads, contacts"),
                             ("B", "H-ordonez-b", "doorway PIRs, bed and seat pads, contacts")):
        sensors, adls = ordonez / f"Ordonez{name}_Sensors.txt", ordonez / f"Ordonez{name}_ADLs.txt"
        if sensors.exists() and adls.exists():
            events, notes = ordonez_home(sensors, adls, hub, work)
            homes.append(RecordedHome(f"ordonez-{name.lower()}", hub, events, notes, about))
    return homes
