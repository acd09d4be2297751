"""Simulated homes: opaque hub ids, the kit fitted in each, the resident's way of life."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from firmware_sim.csvfile import write_csv
from firmware_sim.kits import (
    BED_PAD,
    FALL_DETECTOR,
    FRIDGE,
    FRONT_DOOR,
    FULL_KIT,
    KITS,
    PENDANT,
    ROOMS,
    SPARSE_KIT,
    TOILET_FLUSH,
    DeviceSpec,
    pir_id,
)
from firmware_sim.seeds import home_random

__all__ = [
    "BED_PAD",
    "DEFAULT_KIT_MIX",
    "DEFAULT_LIFESTYLE_MIX",
    "DEVICE_CSV_HEADER",
    "FALL_DETECTOR",
    "FRIDGE",
    "FRONT_DOOR",
    "FULL_KIT",
    "PENDANT",
    "ROOMS",
    "SPARSE_KIT",
    "SPARSE_SHARE",
    "TOILET_FLUSH",
    "DeviceSpec",
    "HomeSpec",
    "Lifestyle",
    "hub_id_for",
    "parse_mix",
    "pir_id",
    "plan_homes",
    "write_device_csv",
]


class Lifestyle(StrEnum):
    """How the resident spends the day."""

    RETIRED = "retired"
    """At home most of the day, out shopping now and then, visitors at weekends."""
    FRAIL = "frail"
    """Slow, long spells in the chair, rarely out, a carer calls every morning."""
    WORKER = "worker"
    """Out at work all day on weekdays, like the resident of real-home-a."""


SPARSE_SHARE: Final = 0.2
DEFAULT_KIT_MIX: Final[Mapping[str, float]] = {
    "sparse": SPARSE_SHARE, "basic": 0.15, "standard": 0.4, "rich": 0.25,
}
DEFAULT_LIFESTYLE_MIX: Final[Mapping[str, float]] = {
    Lifestyle.RETIRED: 0.6, Lifestyle.FRAIL: 0.25, Lifestyle.WORKER: 0.15,
}
DEVICE_CSV_HEADER: Final = ("hub_id", "device_id", "type", "location")
_PLAN_STREAM: Final = 0


@dataclass(frozen=True, slots=True)
class HomeSpec:
    """One home: its hub, the devices paired with it, who lives there and in which time zone."""

    hub_id: str
    heartbeat_s: int
    devices: tuple[DeviceSpec, ...]
    kit: str = "standard"
    lifestyle: str = Lifestyle.RETIRED
    tz: str = "UTC"

    def first_of_type(self, type_: str) -> DeviceSpec | None:
        """Return the home's first device of a type, or None when it has none."""
        return next((d for d in self.devices if d.type == type_), None)

    def has(self, device_id: str) -> bool:
        """Tell whether the home has a device."""
        return any(d.device_id == device_id for d in self.devices)


def hub_id_for(number: int) -> str:
    """Return the opaque hub id of the home with this 1-based number (H-0001, ...)."""
    return f"H-{number:04d}"


def parse_mix(text: str, known: Iterable[str]) -> dict[str, float]:
    """Parse `name=share,...` (shares need not add up to 1) into a mix of known names."""
    names = set(known)
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, share = part.partition("=")
        if name not in names:
            known_names = ", ".join(sorted(names))
            raise ValueError(f"unknown name {name!r} in {text!r}; known: {known_names}")
        try:
            mix[name] = float(share) if share else 1.0
        except ValueError:
            raise ValueError(f"share of {name!r} must be a number, got {share!r}") from None
        if mix[name] < 0:
            raise ValueError(f"share of {name!r} must be >= 0")
    if not mix or sum(mix.values()) <= 0:
        raise ValueError(f"{text!r} gives no share to anything")
    return mix


def _pick(mix: Mapping[str, float], u: float) -> str:
    total = sum(mix.values())
    acc = 0.0
    for name, share in mix.items():
        acc += share / total
        if u < acc:
            return name
    return next(name for name, share in reversed(list(mix.items())) if share > 0)


def plan_homes(
    n: int,
    *,
    seed: int,
    heartbeat_s: int = 60,
    tz: str = "UTC",
    kits: Mapping[str, float] = DEFAULT_KIT_MIX,
    lifestyles: Mapping[str, float] = DEFAULT_LIFESTYLE_MIX,
) -> list[HomeSpec]:
    """Plan n homes deterministically from a seed: hub ids H-0001..., kits, residents, zone."""
    if n < 0:
        raise ValueError(f"number of homes must be >= 0, got {n}")
    if heartbeat_s <= 0:
        raise ValueError(f"heartbeat_s must be > 0, got {heartbeat_s}")
    ZoneInfo(tz)  # raises for an unknown zone before any work
    unknown = (set(kits) - set(KITS)) | (set(lifestyles) - set(Lifestyle))
    if unknown:
        raise ValueError(f"unknown kits or lifestyles: {', '.join(sorted(unknown))}")
    homes = []
    for number in range(1, n + 1):
        hub_id = hub_id_for(number)
        # One generator per home, so home k does not depend on n.
        rng = home_random(seed, hub_id, _PLAN_STREAM)
        kit = _pick(kits, rng.random())
        lifestyle = str(_pick(lifestyles, rng.random()))
        homes.append(HomeSpec(hub_id, heartbeat_s, KITS[kit], kit, lifestyle, tz))
    return homes


def write_device_csv(homes: Iterable[HomeSpec], path: str | Path) -> int:
    """Write the homes' devices as `hub_id,device_id,type,location` CSV; return the row count."""
    return write_csv(path, DEVICE_CSV_HEADER, (
        (home.hub_id, device.device_id, device.type, device.location)
        for home in homes for device in home.devices
    ))
