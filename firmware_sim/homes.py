"""Simulated homes: opaque hub ids and the kit of devices fitted in each home."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

ROOMS: Final = ("hall", "kitchen", "lounge", "bedroom", "bathroom")

# Device ids are per hub, so every home with a device names it the same way
# and the routine can refer to a device by its id.
PENDANT: Final = "pendant"
FALL_DETECTOR: Final = "fall-detector"
FRONT_DOOR: Final = "door-front"
BED_PAD: Final = "bed-pad"
FRIDGE: Final = "fridge"
TOILET_FLUSH: Final = "toilet-flush"

# Share of homes with door and usage contacts only (no wearables, PIRs or bed pad).
SPARSE_SHARE: Final = 0.2
DEVICE_CSV_HEADER: Final = ("hub_id", "device_id", "type", "location")


def pir_id(room: str) -> str:
    """Return the device id of the PIR in a room."""
    return f"pir-{room}"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One sensor fitted in a home, as the service registers it."""

    device_id: str
    type: str
    location: str


@dataclass(frozen=True, slots=True)
class HomeSpec:
    """One home: its hub and the devices paired with it."""

    hub_id: str
    heartbeat_s: int
    devices: tuple[DeviceSpec, ...]

    def first_of_type(self, type_: str) -> DeviceSpec | None:
        """Return the home's first device of a type, or None when it has none."""
        return next((d for d in self.devices if d.type == type_), None)


# Wearables move with the resident, so they have no registered location.
FULL_KIT: Final = (
    DeviceSpec(PENDANT, "pendant", ""),
    DeviceSpec(FALL_DETECTOR, "fall", ""),
    *(DeviceSpec(pir_id(room), "motion", room) for room in ROOMS),
    DeviceSpec(FRONT_DOOR, "door", "front"),
    DeviceSpec(BED_PAD, "bed", "bedroom"),
    DeviceSpec(FRIDGE, "usage", "kitchen"),
    DeviceSpec(TOILET_FLUSH, "usage", "bathroom"),
)
SPARSE_KIT: Final = (
    DeviceSpec(FRONT_DOOR, "door", "front"),
    DeviceSpec(FRIDGE, "usage", "kitchen"),
    DeviceSpec(TOILET_FLUSH, "usage", "bathroom"),
)


def hub_id_for(number: int) -> str:
    """Return the opaque hub id of the home with this 1-based number (H-0001, ...)."""
    return f"H-{number:04d}"


def plan_homes(n: int, *, seed: int, heartbeat_s: int = 60) -> list[HomeSpec]:
    """Plan n homes deterministically from a seed: hub ids H-0001... and each home's kit."""
    if n < 0:
        raise ValueError(f"number of homes must be >= 0, got {n}")
    if heartbeat_s <= 0:
        raise ValueError(f"heartbeat_s must be > 0, got {heartbeat_s}")
    homes = []
    for number in range(1, n + 1):
        # One generator per home, so home k's kit does not depend on n.
        rng = np.random.default_rng([seed, number])
        kit = SPARSE_KIT if rng.random() < SPARSE_SHARE else FULL_KIT
        homes.append(HomeSpec(hub_id=hub_id_for(number), heartbeat_s=heartbeat_s, devices=kit))
    return homes


def write_device_csv(homes: Iterable[HomeSpec], path: str | Path) -> int:
    """Write the homes' devices as `hub_id,device_id,type,location` CSV; return the row count."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(DEVICE_CSV_HEADER)
        for home in homes:
            for device in home.devices:
                writer.writerow((home.hub_id, device.device_id, device.type, device.location))
                rows += 1
    return rows
