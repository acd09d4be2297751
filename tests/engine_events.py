"""Plain-data helpers for the detection engine's tests: one home's events in, the
inactivity alerts it raises out (no clock, no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

from telecare.detect import Decision, Engine, Raise
from telecare.model import AlertType, Event, HubSettings

HUB = "H-b-1"
MIN = 60_000
HOUR = 60 * MIN
# a Monday, 00:00 UTC
DAY0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)


def ev(at: int, device: str = "pir-hall", type_: str = "motion", event: str = "active") -> Event:
    """One event of the test home's device at `at` (ms)."""
    return Event(hub_id=HUB, seq=at // 1000, device_id=device, type=type_, event=event, ts=at,
                 event_time=at, received_at=at, channel="event")


def inactivity(engine: Engine, events: list[Event], until: int) -> list[Raise]:
    """Feed the events in time order, advance to `until`; the inactivity alerts raised."""
    out: list[Decision] = engine.observe(sorted(events, key=lambda e: e.event_time))
    out += engine.advance(until + engine.lateness_ms)
    return [d for d in out if isinstance(d, Raise) and d.type is AlertType.INACTIVITY]


def home_engine(devices: tuple[tuple[str, str, str], ...],
                settings: HubSettings | None = None) -> Engine:
    """An engine with the test home configured (UTC) and its (device, type, location)s."""
    engine = Engine.starting_at(DAY0)
    engine.configure(HUB, tz="UTC", settings=settings or HubSettings())
    for device, type_, location in devices:
        engine.register_device(HUB, device, type_, location)
    return engine
