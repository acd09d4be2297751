"""Local time of day for time-of-day rules, fast enough to call once per event.

Offsets are cached per zone and UTC hour (taken at the hour's start), so each
zone costs one `zoneinfo` call per hour ever met, however the homes sharing it
interleave (a backtest walks one home's block of hours, then the next home's).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000
MINUTE_MS: Final = 60_000
# hours of offsets a zone keeps (about eleven years), then starts again
HOURS_KEPT: Final = 100_000


class LocalClock:
    """One IANA zone: UTC offset, local hour and local day of an epoch-ms time."""

    __slots__ = ("by_hour", "hi", "lo", "off", "zone", "zone_name")

    def __init__(self, zone_name: str) -> None:
        self.zone_name = zone_name
        self.zone = ZoneInfo(zone_name)
        self.lo = 1
        self.hi = 0
        self.off = 0
        self.by_hour: dict[int, int] = {}

    def offset(self, t: int) -> int:
        """Return the zone's UTC offset in ms at time t (as at the start of its UTC hour)."""
        if not self.lo <= t < self.hi:
            hour = t // HOUR_MS
            off = self.by_hour.get(hour)
            if off is None:
                if len(self.by_hour) > HOURS_KEPT:
                    self.by_hour.clear()
                at = datetime.fromtimestamp(hour * HOUR_MS / 1000, UTC).astimezone(self.zone)
                delta = at.utcoffset()
                off = int(delta.total_seconds() * 1000) if delta is not None else 0
                self.by_hour[hour] = off
            self.lo = hour * HOUR_MS
            self.hi = self.lo + HOUR_MS
            self.off = off
        return self.off

    def local(self, t: int) -> int:
        """Return t as local wall-clock ms since the epoch (for hour and day arithmetic)."""
        return t + self.offset(t)

    def hour(self, t: int) -> int:
        """Return the local hour of day (0-23)."""
        return (self.local(t) // HOUR_MS) % 24

    def minute_of_day(self, t: int) -> int:
        """Return the local minute of day (0-1439)."""
        return (self.local(t) // MINUTE_MS) % 1440

    def day(self, t: int) -> int:
        """Return the local day number (days since 1970-01-01 local)."""
        return self.local(t) // DAY_MS

    def next_local(self, t: int, minute_of_day: int) -> int:
        """Return the first UTC time after t whose local clock reads minute_of_day."""
        local = self.local(t)
        target = local - local % DAY_MS + minute_of_day * MINUTE_MS
        if target <= local:
            target += DAY_MS
        # the offset at the target may differ (clocks change): correct once
        guess = target - self.offset(target - self.offset(t))
        return guess if guess > t else guess + DAY_MS


def parse_hhmm(text: str) -> int:
    """Parse "HH:MM" into minutes after midnight."""
    hours, _, minutes = text.strip().partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value < 1440 or not 0 <= int(minutes or 0) < 60:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return value


def in_window(minute: int, start: int, end: int) -> bool:
    """Tell whether a minute of day lies in [start, end), a window that may wrap midnight."""
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end
