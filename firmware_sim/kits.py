"""The devices a home can have, the kits installers fit, and a compact code for each event.

Device ids are per hub, so every home with a device names it the same way and
the routine can refer to a device by its id. A device's location is fixed by
its id: the CSV's `location` column and the devices file always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from telecare.protocol import BATTERY_EVENT, EVENTS_BY_TYPE, HUB_DEVICE, is_alarm

ROOMS: Final = ("hall", "kitchen", "lounge", "bedroom", "bathroom")

PENDANT: Final = "pendant"
FALL_DETECTOR: Final = "fall-detector"
FRONT_DOOR: Final = "door-front"
BACK_DOOR: Final = "door-back"
BEDROOM_DOOR: Final = "door-bedroom"
BATHROOM_DOOR: Final = "door-bathroom"
BED_PAD: Final = "bed-pad"
CHAIR_PAD: Final = "chair-pad"
FRIDGE: Final = "fridge"
KETTLE: Final = "kettle"
MICROWAVE: Final = "microwave"
CUPBOARD: Final = "cupboard"
TOILET_FLUSH: Final = "toilet-flush"


def pir_id(room: str) -> str:
    """Return the device id of the PIR in a room."""
    return f"pir-{room}"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One sensor fitted in a home, as the service registers it."""

    device_id: str
    type: str
    location: str


# Wearables move with the resident, so they have no registered location.
CATALOGUE: Final[dict[str, DeviceSpec]] = {
    d.device_id: d
    for d in (
        DeviceSpec(PENDANT, "pendant", ""),
        DeviceSpec(FALL_DETECTOR, "fall", ""),
        *(DeviceSpec(pir_id(room), "motion", room) for room in ROOMS),
        DeviceSpec(FRONT_DOOR, "door", "front"),
        DeviceSpec(BACK_DOOR, "door", "back"),
        DeviceSpec(BEDROOM_DOOR, "door", "bedroom"),
        DeviceSpec(BATHROOM_DOOR, "door", "bathroom"),
        DeviceSpec(BED_PAD, "bed", "bedroom"),
        DeviceSpec(CHAIR_PAD, "chair", "lounge"),
        DeviceSpec(FRIDGE, "usage", "kitchen"),
        DeviceSpec(KETTLE, "usage", "kitchen"),
        DeviceSpec(MICROWAVE, "usage", "kitchen"),
        DeviceSpec(CUPBOARD, "usage", "kitchen"),
        DeviceSpec(TOILET_FLUSH, "usage", "bathroom"),
    )
}


def _kit(*device_ids: str) -> tuple[DeviceSpec, ...]:
    return tuple(CATALOGUE[d] for d in device_ids)


_PIRS: Final = tuple(pir_id(room) for room in ROOMS)
# What installers fit, from contacts only to everything.
KITS: Final[dict[str, tuple[DeviceSpec, ...]]] = {
    # Door and usage contacts only, like a lifestyle-monitoring install (and real-home-a).
    "sparse": _kit(FRONT_DOOR, BEDROOM_DOOR, BATHROOM_DOOR, FRIDGE, MICROWAVE, CUPBOARD,
                   TOILET_FLUSH),
    # A pendant and a few PIRs: the common first digital install.
    "basic": _kit(PENDANT, pir_id("hall"), pir_id("kitchen"), pir_id("lounge"), FRONT_DOOR),
    "standard": _kit(PENDANT, FALL_DETECTOR, *_PIRS, FRONT_DOOR, BED_PAD, FRIDGE, TOILET_FLUSH),
    "rich": _kit(PENDANT, FALL_DETECTOR, *_PIRS, FRONT_DOOR, BACK_DOOR, BEDROOM_DOOR,
                 BATHROOM_DOOR, BED_PAD, CHAIR_PAD, FRIDGE, KETTLE, MICROWAVE, CUPBOARD,
                 TOILET_FLUSH),
}
FULL_KIT: Final = KITS["standard"]
SPARSE_KIT: Final = KITS["sparse"]


@dataclass(frozen=True, slots=True)
class EventCode:
    """What one code stands for: a device, its type, the event and where it is."""

    device_id: str
    type: str
    event: str
    location: str
    alarm: bool


def _all_codes() -> list[EventCode]:
    codes = [
        EventCode(HUB_DEVICE, "hub", event, "", False)
        for event in (*sorted(EVENTS_BY_TYPE["hub"]), BATTERY_EVENT)
    ]
    for d in CATALOGUE.values():
        for event in (*sorted(EVENTS_BY_TYPE[d.type]), BATTERY_EVENT):
            codes.append(EventCode(d.device_id, d.type, event, d.location, is_alarm(d.type, event)))
    return codes


# One small integer per (device, event): a day of a home's events is kept as
# arrays of times and codes, which is what lets one process hold 100k homes.
CODES: Final[tuple[EventCode, ...]] = tuple(_all_codes())
_CODE_OF: Final[dict[tuple[str, str], int]] = {
    (c.device_id, c.event): i for i, c in enumerate(CODES)
}


def code(device_id: str, event: str) -> int:
    """Return the code of an event of a device ("hub" for the hub's own events)."""
    return _CODE_OF[(device_id, event)]


def fitted_codes(devices: tuple[DeviceSpec, ...]) -> bytes:
    """Return, per code, 1 when the home has the device that sends it (the hub always)."""
    present = {d.device_id for d in devices} | {HUB_DEVICE}
    return bytes(int(c.device_id in present) for c in CODES)


HEARTBEAT: Final = code(HUB_DEVICE, "heartbeat")
MAINS_LOST: Final = code(HUB_DEVICE, "mains_lost")
MAINS_RESTORED: Final = code(HUB_DEVICE, "mains_restored")
HUB_BATTERY: Final = code(HUB_DEVICE, BATTERY_EVENT)
MOTION: Final[dict[str, int]] = {room: code(pir_id(room), "active") for room in ROOMS}
