"""How the network and hubs' clocks misbehave in a live run: duplicates, order, lateness, drift.

A recorded log holds what was stored, in device-time order, so none of this
applies to `generate`; it shapes only what reaches the broker live.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from firmware_sim.seeds import home_random

_DAY_S: Final = 86400.0
_CLOCK_STREAM: Final = 6


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """Chances per message of each misbehaviour, and how far clocks drift."""

    duplicate: float = 0.0
    """A message sent twice (the hub missed the broker's PUBACK and sent it again)."""
    reorder: float = 0.0
    """A message overtaken by the hub's next ones (held 1-20 s in a radio retry)."""
    late: float = 0.0
    """A message delayed by 1-30 minutes (a mesh relay or a modem's queue)."""
    drift_ppm: float = 0.0
    """Hubs' clocks run up to this fast or slow, and are set right daily by NTP."""

    def __post_init__(self) -> None:
        for name in ("duplicate", "reorder", "late"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a chance between 0 and 1")
        if self.drift_ppm < 0:
            raise ValueError("drift_ppm must be >= 0")


CLEAN: Final = NetworkProfile()
# What `run` uses unless told otherwise: rare enough to leave most traffic clean.
REALISTIC: Final = NetworkProfile(duplicate=0.002, reorder=0.002, late=0.0005, drift_ppm=40.0)


class HubClock:
    """A hub's clock: true time plus a drift that NTP resets once a day."""

    __slots__ = ("_offset", "_ppm", "_sync_phase")

    def __init__(self, hub_id: str, *, seed: int, drift_ppm: float) -> None:
        r = home_random(seed, hub_id, _CLOCK_STREAM)
        self._ppm = r.uniform(-drift_ppm, drift_ppm) * 1e-6
        self._offset = r.uniform(-0.2, 0.2) if drift_ppm else 0.0
        self._sync_phase = r.uniform(0.0, _DAY_S)

    def read(self, at: float) -> float:
        """The device time the hub stamps on an event that happens at true time `at`."""
        if not self._ppm:
            return at
        return at + self._offset + self._ppm * ((at - self._sync_phase) % _DAY_S)


def delay_s(profile: NetworkProfile, r: random.Random) -> float:
    """Draw how long the network holds one message back (0 for nearly all)."""
    u = r.random()
    if u < profile.late:
        return r.uniform(60.0, 1800.0)
    if u < profile.late + profile.reorder:
        return r.uniform(1.0, 20.0)
    return 0.0
