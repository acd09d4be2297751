"""Which lines of an event-log CSV a backtest can use, and where one that cannot be read is.

A line the live service would dead-letter is not applied to the engine. It is counted by
reason, checked in the live service's order (telecare/ingest/validate.py): `bad_hub_id`
(live, the hub id is part of the topic: `bad_topic`), `unknown_type`, `unknown_event`,
and `unknown_device` for a line with no device id that is not an alarm (an alarm from a
device the service does not know is still raised there, and here). The first line of
each reason is named by its line in the file, so a converted log that maps a sensor
wrongly (a PIR's "off" written as an event) says so rather than passing for a quiet home.
A line that cannot be parsed at all (a time without its zone, a missing column, no time)
stops the backtest; `locate` finds its line.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from telecare.protocol import EVENTS_BY_TYPE, is_alarm, is_known, is_valid_hub_id

BAD_HUB_ID: Final = "bad_hub_id"
UNKNOWN_TYPE: Final = "unknown_type"
UNKNOWN_EVENT: Final = "unknown_event"
UNKNOWN_DEVICE: Final = "unknown_device"
# lines checked one by one, after the rows read, for the one the reader could not convert
_LOCATE_LIMIT: Final = 1 << 20
_TS: Final = pacsv.ConvertOptions(column_types={"ts": pa.timestamp("ms", tz="UTC")})
# what the reader takes for a time with its zone; a line that passes is checked no further
_RFC3339: Final = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:?\d\d)")


@dataclass
class NotUsed:
    """Lines left out of a backtest: how many for each reason, and the first of each (its
    data row, counted from 0 after the header, and what it said)."""

    counts: Counter[str] = field(default_factory=Counter)
    first: dict[str, tuple[int, str]] = field(default_factory=dict)
    # data row -> line in the file, of the first rows (`place`)
    lines: dict[int, int] = field(default_factory=dict)

    def place(self, path: Path) -> None:
        """Find the file lines of the first rows, once the file has been read."""
        self.lines = file_lines(path, {row for row, _ in self.first.values()})

    def note(self) -> str:
        """One line for the summary, naming each reason's count and first line."""
        total = sum(self.counts.values())
        parts = [f"{reason} {n:,} (first: line {self.lines.get(row, '?')}: {said})"
                 for reason, n in sorted(self.counts.items())
                 for row, said in [self.first[reason]]]
        return (f"note: {total:,} line(s) not used, as the live service would dead-letter "
                f"them (docs/protocol.md): {'; '.join(parts)}")

    def check(self, batch: pa.RecordBatch, first_row: int) -> np.ndarray | None:
        """Return the mask of the batch's usable lines, or None when all are usable; count
        the others. `first_row` is the data row of the batch's first line."""
        hubs, devices = batch.column("hub_id"), batch.column("device_id")
        types, events = batch.column("type"), batch.column("event")
        type_names, event_names = types.dictionary.to_pylist(), events.dictionary.to_pylist()
        pairs = [[(t, e) for e in event_names] or [(t, "")] for t in type_names] or [[("", "")]]
        known = np.array([[is_known(t, e) for t, e in row] for row in pairs], bool)
        alarm = np.array([[is_alarm(t, e) for t, e in row] for row in pairs], bool)
        type_known = np.array([t in EVENTS_BY_TYPE for t in type_names] or [False], bool)
        hub_ok = np.array([is_valid_hub_id(h) for h in hubs.dictionary.to_pylist()] or [False],
                          bool)
        device_ok = np.array([bool(d) for d in devices.dictionary.to_pylist()] or [False], bool)
        t_idx, e_idx = types.indices.to_numpy(), events.indices.to_numpy()
        reasons = (
            (BAD_HUB_ID, ~hub_ok[hubs.indices.to_numpy()]),
            (UNKNOWN_TYPE, ~type_known[t_idx]),
            (UNKNOWN_EVENT, ~known[t_idx, e_idx]),
            (UNKNOWN_DEVICE, ~device_ok[devices.indices.to_numpy()] & ~alarm[t_idx, e_idx]),
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
                said = " ".join(repr(c[i].as_py()) for c in (hubs, devices, types, events))
                self.first[reason] = (first_row + i, said)
        return None if usable.all() else usable


def _records(handle: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    """Each data row of the file with the line it starts on. Blank lines are skipped (as
    the reader skips them); a quoted value may run over several lines."""
    reader = csv.reader(handle)
    next(reader, None)  # the header
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if record:
            yield start, record


def file_lines(path: Path, rows: set[int]) -> dict[int, int]:
    """The line in the file of each of the given data rows (counted from 0 after the
    header)."""
    found: dict[int, int] = {}
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row, (line, _) in enumerate(_records(handle)):
            if row in rows:
                found[row] = line
                if len(found) == len(rows):
                    break
    return found


def locate(path: Path, rows_before: int) -> str | None:
    """Name the first line after `rows_before` data rows that the log's reader cannot
    convert (wrong column count, or a time that is not RFC 3339 with its zone), or None
    when no such line is found."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = _records(handle)
        for _ in itertools.islice(rows, rows_before):
            pass
        for line, record in itertools.islice(rows, _LOCATE_LIMIT):
            if len(record) != 7:
                return f"line {line}: {len(record)} columns where 7 are needed"
            if _RFC3339.fullmatch(record[0]) or _converts(record[0]):
                continue
            return (f"line {line}: ts {record[0]!r} is not an RFC 3339 time in UTC "
                    "(e.g. 2026-03-02T08:00:00Z)")
    return None


def _converts(ts: str) -> bool:
    """Whether the reader takes this text for a time (slow: for lines the pattern refuses)."""
    one = io.StringIO()
    csv.writer(one).writerows([["ts"], [ts]])
    try:
        table = pacsv.read_csv(io.BytesIO(one.getvalue().encode()), convert_options=_TS)
    except pa.ArrowInvalid:
        return False
    return bool(table.column("ts").null_count == 0)
