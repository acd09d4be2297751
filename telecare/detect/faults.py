"""Sensors that have gone wrong: a contact or pad that chatters, a PIR stuck firing.

A chattering bed pad or door, or a PIR that fires every minute whether anyone is
there or not, is worse than no sensor: it keeps a home "active" through a
collapse, makes an empty home look occupied, and inflates the learned usual
level so that every ordinary day after it looks low. Each device of a home (its
context slot) keeps its last event and the run of events each within
`RAPID_MS` of the one before:

- chatter: `CHATTER_EVENTS` events of one device within `CHATTER_MS` (a door
  or pad cannot be used that fast);
- stuck: a run lasting `STUCK_MS` (a person does not keep one PIR firing
  every minute or so for three hours).

Either raises `sensor_fault` (priority 4, technical) naming the device; from then
on the device's events are left out of presence, inactivity and routine until it
has been quiet for `QUIET_MS`, when the fault clears (at its next event) and its
events count again. The first events of a run, before it is recognised, count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from telecare.detect import learning
from telecare.detect.columns import HOME, NONE
from telecare.detect.decisions import Clear
from telecare.detect.localtime import HOUR_MS, MINUTE_MS
from telecare.model import AlertType, Priority

if TYPE_CHECKING:
    from telecare.detect.home import Home

RAPID_MS: Final = 90_000
CHATTER_EVENTS: Final = 30
CHATTER_MS: Final = 10 * MINUTE_MS
STUCK_MS: Final = 3 * HOUR_MS
QUIET_MS: Final = 2 * HOUR_MS
# columns of a device's state (AmbientDetectors.devices[row, slot])
D_LAST, D_RUN_START, D_RUN_EVENTS, D_FAULTY = range(4)
N_DEVICE_COLUMNS: Final = 4
# the last slot is shared by every device beyond the others: no run can be told there
CHECKED_SLOTS: Final = learning.CONTEXT_DEVICES - 1


def ignored(home: Home, t: int, slot: int) -> bool:
    """Note one event of the device in `slot`; return whether it is to be left out."""
    if slot >= CHECKED_SLOTS:
        return False
    state = home.devices[slot]
    last, start, events, faulty = state
    if t < last:
        return bool(faulty)  # later than the device's last event: leave its run alone
    if faulty and t - last >= QUIET_MS:
        faulty = 0
        state[D_FAULTY] = 0
        home.faulty = any_faulty(home)
        if not home.faulty:
            home.out.append(Clear(home.hub_id, AlertType.SENSOR_FAULT, t))
    if last and t - last <= RAPID_MS:
        events += 1
    else:
        start, events = t, 1
    if not faulty:
        if events >= CHATTER_EVENTS and t - start <= CHATTER_MS:
            faulty = 1
            _raise(home, t, slot, f"{events} events in {max(1, (t - start) // 1000)} s: "
                                  "chattering")
        elif t - start >= STUCK_MS:
            faulty = 1
            minutes = (t - start) // MINUTE_MS
            _raise(home, t, slot, f"firing every {max(1, (t - start) // 1000 // events)} s "
                                  f"for {minutes // 60} h {minutes % 60:02d} min: stuck")
    state[:] = [t, start, events, faulty]
    if faulty and not home.faulty:
        home.faulty = True
        # a home with a faulty sensor is judged by the rules that do not trust it (the night
        # floor again, no rule for a resident up in the night): the deadline follows now
        if home.presence == HOME and not home.inact_alerted and home.inact_dl != NONE:
            home.set_inactivity()
    return bool(faulty)


def any_faulty(home: Home) -> bool:
    """Whether any of the home's devices is faulty now (its events left out); kept in
    `home.faulty` as faults come and go."""
    return any(d[D_FAULTY] for d in home.devices)


def _raise(home: Home, t: int, slot: int, what: str) -> None:
    devices = home.det.ctx_devices.get(home.row, [])
    device = devices[slot] if slot < len(devices) else None
    home.raise_(AlertType.SENSOR_FAULT, Priority.TECHNICAL, t,
                f"sensor {device or '?'} {what}; its events are left out until it is "
                f"quiet for {QUIET_MS // HOUR_MS} h", device_id=device)
