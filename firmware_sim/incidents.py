"""Incidents injected into a run, and the ground-truth log of what was injected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

import msgspec

from firmware_sim.csvlog import format_ts
from firmware_sim.homes import HomeSpec
from firmware_sim.hub import HubEvent


class IncidentKind(StrEnum):
    """What goes wrong in a home."""

    PENDANT_PRESS = "pendant_press"
    DEVICE_FALL = "device_fall"
    HUB_OFFLINE = "hub_offline"
    HUB_SILENT = "hub_silent"


# Incidents that a device reports, and as what (type, event).
DEVICE_INCIDENTS: Final[dict[str, tuple[str, str]]] = {
    IncidentKind.PENDANT_PRESS: ("pendant", "press"),
    IncidentKind.DEVICE_FALL: ("fall", "fall"),
}


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident in one home, at_s simulated seconds after the run starts."""

    hub_id: str
    kind: str
    at_s: float


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
        if incident.at_s < 0:
            raise ValueError(f"incident at_s must be >= 0, got {incident.at_s}")
        device = DEVICE_INCIDENTS.get(incident.kind)
        if device is not None and home.first_of_type(device[0]) is None:
            raise ValueError(f"{incident.kind} needs a {device[0]} device, {home.hub_id} has none")


def incident_event(home: HomeSpec, incident: Incident, at: float) -> HubEvent | None:
    """Return the event a device sends for an incident at a time, or None for hub faults."""
    device = DEVICE_INCIDENTS.get(incident.kind)
    if device is None:
        return None
    type_, event = device
    spec = home.first_of_type(type_)
    if spec is None:
        raise ValueError(f"{incident.kind} needs a {type_} device, {home.hub_id} has none")
    return HubEvent(
        at=round(at, 3),
        hub_id=home.hub_id,
        device_id=spec.device_id,
        type=type_,
        event=event,
        location=spec.location,
    )


class TruthRecord(msgspec.Struct, frozen=True):
    """One line of the ground-truth log: what was injected where, and when."""

    ts: str
    hub_id: str
    kind: str


def write_truth(path: str | Path, incidents: Iterable[Incident], *, start: datetime) -> int:
    """Write injected incidents as ground-truth JSON lines in time order; return the count."""
    ordered = sorted(incidents, key=lambda incident: incident.at_s)
    encoder = msgspec.json.Encoder()
    with open(path, "wb") as out:
        for incident in ordered:
            ts = format_ts(start.timestamp() + incident.at_s)
            record = TruthRecord(ts=ts, hub_id=incident.hub_id, kind=incident.kind)
            out.write(encoder.encode(record) + b"\n")
    return len(ordered)
