"""What an event means to the ambient detectors, from its device's type and location.

A device's role is fixed when it is registered (type and location); an event's
ambient kind follows from the role and the event name. Codes are small ints so
that a backtest can classify millions of rows with one array lookup.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# ambient kinds of one event
K_NONE: Final = 0  # no evidence of presence or activity (heartbeat, reading, battery report)
K_ACTIVITY: Final = 1  # someone moved inside: PIR, appliance, inner door, chair pad, pendant
K_TOILET: Final = 2  # activity in a bathroom or toilet (counted for night-time visits too)
K_EXIT_OPEN: Final = 3  # front or back door opened
K_EXIT_CLOSED: Final = 4
K_BED_IN: Final = 5  # bed pad occupied
K_BED_OUT: Final = 6  # bed pad vacant
K_BEDROOM: Final = 7  # motion in a bedroom: the resident up, or a sleeper turning over
K_SEATED: Final = 8  # a chair pad occupied: the resident sat down (its vacant is K_ACTIVITY)
# an ambient code carries its kind in the low bits and its context above them: which of the
# home's devices gave the sign of life (its slot) and which way (1 for closed or vacant)
KIND_MASK: Final = 15
CONTEXT_SHIFT: Final = 4

# device roles
R_NONE: Final = 0
R_ACTIVITY: Final = 1
R_TOILET: Final = 2
R_EXIT_DOOR: Final = 3
R_BED: Final = 4
R_ALARM: Final = 5  # pendant, wearable fall detector, smoke: handled per event
R_ACCEL: Final = 6  # raw wearable windows: the fall detector's input
R_HUB: Final = 7
R_BEDROOM: Final = 8  # a motion sensor in a bedroom
R_CHAIR: Final = 9  # a chair pad (one in a bathroom counts as toilet activity)
N_ROLES: Final = 10

EXIT_LOCATIONS: Final = frozenset({"front", "back", "front door", "back door", "entrance"})
TOILET_LOCATIONS: Final = frozenset({"bathroom", "toilet", "wc", "ensuite", "en-suite", "washroom"})

# every event name of the protocol, in a fixed order: the event code is the index
EVENT_NAMES: Final = (
    "active", "open", "closed", "occupied", "vacant", "press", "cancel", "fall", "alarm",
    "clear", "window", "reading", "heartbeat", "mains_lost", "mains_restored", "tamper", "test",
    "battery",
)
EVENT_CODE: Final = {name: code for code, name in enumerate(EVENT_NAMES)}
E_UNKNOWN: Final = len(EVENT_NAMES)
E_BATTERY: Final = EVENT_CODE["battery"]
E_HEARTBEAT: Final = EVENT_CODE["heartbeat"]


def _polarity() -> np.ndarray:
    table = np.zeros(E_UNKNOWN + 1, dtype=np.int16)
    table[EVENT_CODE["closed"]] = 1
    table[EVENT_CODE["vacant"]] = 1
    return table


# POLARITY[event code]: 1 when the event ends something (a door closed, a pad left)
POLARITY: Final = _polarity()


def ambient_codes(kinds: np.ndarray, slots: np.ndarray, event_codes: np.ndarray) -> np.ndarray:
    """Events' ambient codes: each kind with its context (device slot and direction) above
    it; 0 where the kind is 0. Takes arrays (a backtest block) or one event's numbers."""
    codes = kinds | ((2 * slots + POLARITY[event_codes]) << CONTEXT_SHIFT)
    out: np.ndarray = np.where(kinds != 0, codes, 0).astype(np.int16)
    return out


def device_role(type_: str, location: str) -> int:
    """Return the role of a device of this type fitted at this location."""
    place = location.strip().lower()
    if type_ == "motion" and "bed" in place:
        return R_BEDROOM
    if type_ == "chair" and place not in TOILET_LOCATIONS:
        return R_CHAIR
    if type_ in ("motion", "usage", "chair"):
        return R_TOILET if place in TOILET_LOCATIONS else R_ACTIVITY
    if type_ == "door":
        if place in EXIT_LOCATIONS:
            return R_EXIT_DOOR
        return R_TOILET if place in TOILET_LOCATIONS else R_ACTIVITY
    if type_ == "bed":
        return R_BED
    if type_ in ("pendant", "fall", "smoke"):
        return R_ALARM
    if type_ == "accel":
        return R_ACCEL
    if type_ == "hub":
        return R_HUB
    return R_NONE


def _kind_table() -> np.ndarray:
    table = np.zeros((N_ROLES, E_UNKNOWN + 1), dtype=np.int8)
    for code, name in enumerate(EVENT_NAMES):
        if name in ("battery", "reading"):
            continue
        table[R_ACTIVITY, code] = K_ACTIVITY
        table[R_TOILET, code] = K_TOILET
        table[R_BEDROOM, code] = K_BEDROOM
        table[R_CHAIR, code] = K_ACTIVITY
        # pressing a pendant or cancelling an alarm is a sign of life too
        if name in ("press", "cancel", "fall"):
            table[R_ALARM, code] = K_ACTIVITY
    table[R_EXIT_DOOR, EVENT_CODE["open"]] = K_EXIT_OPEN
    table[R_EXIT_DOOR, EVENT_CODE["closed"]] = K_EXIT_CLOSED
    table[R_BED, EVENT_CODE["occupied"]] = K_BED_IN
    table[R_BED, EVENT_CODE["vacant"]] = K_BED_OUT
    table[R_CHAIR, EVENT_CODE["occupied"]] = K_SEATED
    return table


# KIND_TABLE[role, event code] -> ambient kind
KIND_TABLE: Final = _kind_table()


def ambient_kind(role: int, event: str) -> int:
    """Return the ambient kind of one event of a device with this role."""
    return int(KIND_TABLE[role, EVENT_CODE.get(event, E_UNKNOWN)])
