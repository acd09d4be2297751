"""Which lines of an event-log CSV a backtest can use, and where one that cannot be read is.

A line the live service would dead-letter (docs/protocol.md: a type or event not in the
protocol's table, a hub id outside `[A-Za-z0-9_-]{1,64}`, no device id) is not applied to
the engine: it is counted by the same reason names and the first of each is named by its
line number, so a converted log that maps a sensor wrongly (a PIR's "off" written as an
event) says so rather than passing for a quiet home. A line that cannot be parsed at all
(a time without its zone, a missing column) stops the backtest; `locate` finds its line.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from telecare.protocol import EVENTS_BY_TYPE, is_known, is_valid_hub_id

UNKNOWN_TYPE: Final = "unknown_type"
UNKNOWN_EVENT: Final = "unknown_event"
BAD_HUB_ID: Final = "bad_hub_id"
NO_DEVICE_ID: Final = "no_device_id"
# lines of one block checked one by one for the one pyarrow could not convert
_LOCATE_LIMIT: Final = 1 << 20
_TS: Final = pacsv.ConvertOptions(column_types={"ts": pa.timestamp("ms", tz="UTC")})


@dataclass
class NotUsed:
    """Lines left out of a backtest: how many for each reason, and the first of each."""

    counts: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)

    def note(self) -> str:
        """One line for the summary, naming each reason's count and first line, e.g.
        `unknown_event 2 (first: line 43: 'H-1' 'pir-1' 'motion' 'inactive')`."""
        total = sum(self.counts.values())
        parts = [f"{reason} {n:,} (first: {self.first[reason]})"
                 for reason, n in sorted(self.counts.items())]
        return (f"note: {total:,} line(s) not used, as the live service would dead-letter "
                f"them (docs/protocol.md): {'; '.join(parts)}")

    def check(self, batch: pa.RecordBatch, first_line: int) -> np.ndarray | None:
        """Return the mask of the batch's usable lines, or None when all are usable;
        count the others. `first_line` is the file line of the batch's first row."""
        hubs, devices = batch.column("hub_id"), batch.column("device_id")
        types, events = batch.column("type"), batch.column("event")
        type_names, event_names = types.dictionary.to_pylist(), events.dictionary.to_pylist()
        known = np.array([[is_known(t, e) for e in event_names] or [False]
                          for t in type_names] or [[False]], bool)
        type_known = np.array([t in EVENTS_BY_TYPE for t in type_names] or [False], bool)
        hub_ok = np.array([is_valid_hub_id(h) for h in hubs.dictionary.to_pylist()] or [False],
                          bool)
        device_ok = np.array([bool(d) for d in devices.dictionary.to_pylist()] or [False], bool)
        t_idx, e_idx = types.indices.to_numpy(), events.indices.to_numpy()
        reasons = (
            (BAD_HUB_ID, ~hub_ok[hubs.indices.to_numpy()]),
            (NO_DEVICE_ID, ~device_ok[devices.indices.to_numpy()]),
            (UNKNOWN_TYPE, ~type_known[t_idx]),
            (UNKNOWN_EVENT, type_known[t_idx] & ~known[t_idx, e_idx]),
        )
        usable = np.ones(batch.num_rows, bool)
        for reason, bad in reasons:
            bad = bad & usable  # one reason a line, the first that applies
            if not bad.any():
                continue
            usable &= ~bad
            self.counts[reason] += int(bad.sum())
            if reason not in self.first:
                i = int(np.argmax(bad))
                self.first[reason] = (
                    f"line {first_line + i}: {hubs[i].as_py()!r} {devices[i].as_py()!r} "
                    f"{types[i].as_py()!r} {events[i].as_py()!r}")
        return None if usable.all() else usable


def locate(path: Path, rows_before: int) -> str | None:
    """Name the first line after `rows_before` data rows that the log's reader cannot
    convert (wrong column count, or a time that is not RFC 3339 with its zone), or None
    when no such line is found."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)  # the header
        for _ in itertools.islice(reader, rows_before):
            pass
        for record in itertools.islice(reader, _LOCATE_LIMIT):
            if len(record) != 7:
                return f"line {reader.line_num}: {len(record)} columns where 7 are needed"
            one = io.StringIO()
            csv.writer(one).writerows([["ts"], [record[0]]])
            try:
                pacsv.read_csv(io.BytesIO(one.getvalue().encode()), convert_options=_TS)
            except pa.ArrowInvalid:
                return (f"line {reader.line_num}: ts {record[0]!r} is not an RFC 3339 time "
                        "in UTC (e.g. 2026-03-02T08:00:00Z)")
    return None
