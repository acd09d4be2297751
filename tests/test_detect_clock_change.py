"""The clocks change: a home's day and its learned times follow local time (plain data)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from telecare.detect import Engine, Raise
from telecare.detect.columns import F_RISE_MEAN, I_DAYS_SEEN
from telecare.model import Event, HubSettings

HUB = "H-c-1"
LONDON = ZoneInfo("Europe/London")


def ev(at: datetime, device: str = "pir-lounge", type_: str = "motion",
       event: str = "active") -> Event:
    t = int(at.timestamp() * 1000)
    return Event(hub_id=HUB, seq=t // 1000, device_id=device, type=type_, event=event, ts=t,
                 event_time=t, received_at=t, channel="event")


@pytest.mark.parametrize("first", [datetime(2026, 3, 15, tzinfo=LONDON),
                                   datetime(2026, 10, 11, tzinfo=LONDON)])
def test_a_home_across_a_clock_change_raises_nothing_and_counts_each_local_day_once(
    first: datetime,
) -> None:
    """Four weeks round the spring or autumn change of a home whose resident keeps to
    local time (up at 07:00, about until 22:30, in bed at 22:45): no alert, one day
    learned per local day, the usual rising still 07:00 local."""
    engine = Engine.starting_at(int(first.timestamp() * 1000))
    engine.configure(HUB, tz="Europe/London", settings=HubSettings())
    engine.register_device(HUB, "pir-lounge", "motion", "lounge")
    engine.register_device(HUB, "bed-pad", "bed", "bedroom")
    out = []
    for day in range(28):
        midnight = first + timedelta(days=day)  # wall-clock arithmetic: local midnight
        events = [ev(midnight.replace(hour=7), "bed-pad", "bed", "vacant")]
        events += [ev(midnight.replace(hour=m // 60, minute=m % 60))
                   for m in range(8 * 60, 22 * 60 + 30, 15)]
        events.append(ev(midnight.replace(hour=22, minute=45), "bed-pad", "bed", "occupied"))
        out += engine.observe(events)
        next_morning = (midnight + timedelta(days=1)).replace(hour=6)
        out += engine.advance(int(next_morning.timestamp() * 1000))
        assert engine.ambient.ints[engine.row(HUB), I_DAYS_SEEN] == day + 1
    assert [d for d in out if isinstance(d, Raise)] == []
    assert engine.ambient.floats[engine.row(HUB), F_RISE_MEAN] == 7 * 60
