"""Times as the event log and the ground truth write them, and local days in a home's zone."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo


def format_ts(at: float) -> str:
    """Format Unix seconds as the log's RFC 3339 UTC time, to the second (2026-01-05T08:00:00Z)."""
    # isoformat is several times faster than strftime, and logs run to millions of rows.
    return datetime.fromtimestamp(math.floor(at), UTC).isoformat()[:19] + "Z"


def parse_ts(text: str) -> float:
    """Parse an RFC 3339 time (Z or an offset) into Unix seconds."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone; the log's times are UTC (…Z)")
    return value.timestamp()


def local_midnight(day: date, tz: tzinfo) -> float:
    """Return the Unix time of a local day's midnight in a zone."""
    return datetime.combine(day, time(), tzinfo=tz).timestamp()


def local_day(at: float, tz: tzinfo) -> date:
    """Return the local date at a Unix time."""
    return datetime.fromtimestamp(at, tz).date()


class DayClock:
    """Turns offsets from a local midnight into Unix seconds, on wall-clock time."""

    def __init__(self, day: date, tz: tzinfo) -> None:
        self.midnight_dt = datetime.combine(day, time(), tzinfo=tz)
        self.midnight = self.midnight_dt.timestamp()
        self.next_midnight = local_midnight(day + timedelta(days=1), tz)
        # Wall-clock arithmetic, so that 07:00 stays 07:00 on the days the clocks change;
        # on every other day one addition does.
        self.plain = self.next_midnight - self.midnight == 86400.0

    def at(self, offset: float) -> float:
        """Return the Unix time of an offset (seconds) from the local midnight."""
        if self.plain:
            return self.midnight + offset
        return (self.midnight_dt + timedelta(seconds=offset)).timestamp()
