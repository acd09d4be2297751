"""The event-log CSV of PROTOCOL.md: generate days of the homes' events, write and read them."""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, Final

import msgspec

from firmware_sim.csvfile import write_csv
from firmware_sim.homes import HomeSpec
from firmware_sim.hub import HubEvent, HubStream
from firmware_sim.incidents import DEFAULT_WEIGHTS, Truth
from firmware_sim.timefmt import format_ts, parse_ts

EVENT_LOG_HEADER: Final = ("ts", "hub_id", "device_id", "type", "event", "value", "location")
# A Monday, fixed so that the same seed always gives the same file.
DEFAULT_START: Final = datetime(2026, 1, 5, tzinfo=UTC)
_DAY_S: Final = 86400.0

__all__ = [
    "DEFAULT_START",
    "EVENT_LOG_HEADER",
    "LogRow",
    "event_log_row",
    "format_ts",
    "format_value",
    "generate",
    "read_event_log",
    "write_event_log",
]


def generate(
    homes: Sequence[HomeSpec],
    days: int,
    seed: int,
    start: datetime = DEFAULT_START,
    *,
    incident_rate: float = 0.0,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    truths: list[Truth] | None = None,
) -> Iterator[HubEvent]:
    """Yield every event the homes' hubs send in `days` days from start, sorted by time.

    Incidents start at about `incident_rate` per home-week; the ground truth of
    each is appended to `truths` (if given) by the time the merged stream ends.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    begin = start.timestamp()
    end = begin + days * _DAY_S
    streams = []
    for home in homes:
        stream = HubStream(home, seed=seed, start=begin, until=end, incident_rate=incident_rate,
                           weights=weights)
        if truths is not None:
            stream.truths = truths
        streams.append(stream.events())
    # merge is stable, so equal times keep the homes' order: the file is deterministic.
    return heapq.merge(*streams, key=attrgetter("at"))


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
    return write_csv(path, EVENT_LOG_HEADER, map(event_log_row, events))


@dataclass(frozen=True, slots=True)
class LogRow:
    """One row of an event log, parsed: device time in Unix seconds, value decoded."""

    at: float
    hub_id: str
    device_id: str
    type: str
    event: str
    value: float | dict[str, Any] | None
    location: str
    seq: int | None


def read_event_log(path: str | Path) -> Iterator[LogRow]:
    """Read an event-log CSV row by row; a `seq` column, where a log has one, is kept."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(EVENT_LOG_HEADER) - set(reader.fieldnames or ()) - {"value", "location"}
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                text = row.get("value") or ""
                value = msgspec.json.decode(text) if text else None
                seq_text = row.get("seq") or ""
                yield LogRow(
                    parse_ts(row["ts"]), row["hub_id"], row["device_id"], row["type"],
                    row["event"], value, row.get("location") or "",
                    int(seq_text) if seq_text else None,
                )
            except (ValueError, msgspec.DecodeError) as exc:
                raise ValueError(f"{path}, line {line}: {exc}") from None
