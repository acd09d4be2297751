"""A local midnight ends every home's day in its zone at once; the live service spreads
that work over several ticks (`Engine.advance(..., max_homes)`) so that no tick holds up
the alarms for long. Spread or not, each home ends its day once, before its own next
events, and learns the same."""

from __future__ import annotations

import random

import numpy as np
from engine_events import DAY0, HOUR, MIN

from telecare.detect import Decision, Engine, Raise
from telecare.detect.columns import I_DAY_DL
from telecare.model import AlertType, Event, HubSettings

HOMES = 23
DEVICES = (("pir-hall", "motion", "hall"), ("pir-lounge", "motion", "lounge"),
           ("door-front", "door", "front"))


def _event(hub: str, at: int, device: str = "pir-lounge", type_: str = "motion",
           event: str = "active", channel: str = "event") -> Event:
    return Event(hub_id=hub, seq=at // 1000, device_id=device, type=type_, event=event,
                 ts=at, event_time=at, received_at=at, channel=channel)


def _estate() -> tuple[Engine, list[str]]:
    """HOMES homes in one zone, each with a first day of movement from 08:00 to 22:00."""
    engine = Engine.starting_at(DAY0)
    hubs = [f"H-m-{i:02d}" for i in range(HOMES)]
    r = random.Random(5)
    events = []
    for hub in hubs:
        engine.configure(hub, tz="Europe/London", settings=HubSettings())
        for device, type_, location in DEVICES:
            engine.register_device(hub, device, type_, location)
        t = DAY0 + 8 * HOUR
        while t < DAY0 + 22 * HOUR:
            events.append(_event(hub, t, r.choice(["pir-hall", "pir-lounge"])))
            t += int(r.uniform(2, 40) * MIN)
    engine.observe(sorted(events, key=lambda e: e.event_time))
    engine.advance(DAY0 + 23 * HOUR)
    return engine, hubs


def _state(engine: Engine) -> tuple[np.ndarray, ...]:
    det = engine.ambient
    return (det.ints[:HOMES].copy(), det.thresholds[:HOMES].copy(),
            det.gap_hist[:HOMES].copy(), det.today_count[:HOMES].copy())


def test_midnight_spread_over_ticks_ends_each_day_once_and_learns_the_same() -> None:
    spread, hubs = _estate()
    whole, _ = _estate()
    midnight = DAY0 + 24 * HOUR
    ended = spread.ambient.ints[:HOMES, I_DAY_DL] > midnight
    assert not ended.any()
    # a minute after midnight, the last three homes move (the engine runs a minute behind)
    after = [_event(hub, midnight + 61_500 + i * 100) for i, hub in enumerate(hubs[-3:])]
    whole.observe(after)
    whole.advance(midnight + 2 * MIN + 3000)

    # ticks with the watermark past the events' lateness: the first ends the days of
    # 7 homes, the next of 7 more ...
    done = []
    for tick in range(4):
        spread.advance(midnight + 2 * MIN + tick * 1000, max_homes=7)
        done.append(int((spread.ambient.ints[:HOMES, I_DAY_DL] > midnight).sum()))
        if tick == 0:
            # ... while the last three homes, still to end their day, send events of the
            # new one: when they run, they end their day at its own time, then take them
            spread.observe(after)
    assert done == [7, 14, HOMES, HOMES]
    for a, b in zip(_state(spread), _state(whole), strict=True):
        assert np.array_equal(a, b)


def test_an_alarm_between_the_ticks_of_a_midnight_is_answered_at_once() -> None:
    engine, hubs = _estate()
    midnight = DAY0 + 24 * HOUR
    engine.advance(midnight + MIN, max_homes=5)
    press = _event(hubs[-1], midnight + MIN + 500, "pendant", "pendant", "press", "alarm")
    raised = [d for d in engine.observe([press]) if isinstance(d, Raise)]
    assert [d.type for d in raised] == [AlertType.PENDANT_PRESS]
    assert int((engine.ambient.ints[:HOMES, I_DAY_DL] > midnight).sum()) == 5



def test_alarms_due_beyond_a_ticks_homes_come_too_the_earliest_first_a_ticks_worth() -> None:
    """Six homes' fixed timers due at 12:00-12:05 (as after an outage: more due than a
    tick runs), ticks of 2 homes: the first raises four, two taken by the heap and the
    two earliest of the rest whose alarms are due; the next, the last two."""
    engine = Engine.starting_at(DAY0)
    hubs = [f"H-a-{i}" for i in range(6)]
    for hub in hubs:
        engine.configure(hub, tz="Europe/London", settings=HubSettings())
        for device, type_, location in DEVICES:
            engine.register_device(hub, device, type_, location)
    engine.observe([_event(hub, DAY0 + 8 * HOUR + i * MIN) for i, hub in enumerate(hubs)])
    engine.advance(DAY0 + 9 * HOUR)

    def raised(decisions: list[Decision]) -> list[str]:
        return [d.hub_id for d in decisions
                if isinstance(d, Raise) and d.type is AlertType.INACTIVITY]

    assert raised(engine.advance(DAY0 + 13 * HOUR, max_homes=2)) == hubs[:4]
    assert raised(engine.advance(DAY0 + 13 * HOUR + 1000, max_homes=2)) == hubs[4:]
