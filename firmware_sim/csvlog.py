"""The event-log CSV of PROTOCOL.md: generate days of the homes' events and write them."""

from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, Final

import msgspec

from firmware_sim.homes import HomeSpec
from firmware_sim.hub import HubEvent, hub_events

EVENT_LOG_HEADER: Final = ("ts", "hub_id", "device_id", "type", "event", "value", "location")
# A Monday, fixed so that the same seed always gives the same file.
DEFAULT_START: Final = datetime(2026, 1, 5, tzinfo=UTC)
_DAY_S: Final = 86400.0


def generate(
    homes: Sequence[HomeSpec], days: int, seed: int, start: datetime = DEFAULT_START
) -> Iterator[HubEvent]:
    """Yield every event the homes' hubs send in `days` days from start, sorted by time."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    begin = start.timestamp()
    end = begin + days * _DAY_S
    streams = [hub_events(home, seed=seed, start=begin, until=end) for home in homes]
    # merge is stable, so equal times keep the homes' order: the file is deterministic.
    return heapq.merge(*streams, key=attrgetter("at"))


def format_ts(at: float) -> str:
    """Format Unix seconds as the log's RFC 3339 UTC time, to the second (2026-01-05T08:00:00Z)."""
    # isoformat is several times faster than strftime, and logs run to millions of rows.
    return datetime.fromtimestamp(math.floor(at), UTC).isoformat()[:19] + "Z"


def format_value(value: float | dict[str, Any] | None) -> str:
    """Format an event's value for the log: empty, a number, or JSON for an object."""
    if value is None:
        return ""
    return msgspec.json.encode(value).decode()


def event_log_row(event: HubEvent) -> tuple[str, str, str, str, str, str, str]:
    """Return one event as the log's columns, in EVENT_LOG_HEADER order."""
    return (
        format_ts(event.at),
        event.hub_id,
        event.device_id,
        event.type,
        event.event,
        format_value(event.value),
        event.location,
    )


def write_event_log(events: Iterable[HubEvent], path: str | Path) -> int:
    """Write events (already in time order) as an event-log CSV; return the row count."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EVENT_LOG_HEADER)
        for event in events:
            writer.writerow(event_log_row(event))
            rows += 1
    return rows
