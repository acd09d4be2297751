"""`telecare backtest`: the live detection engine over a recorded event-log CSV.

The file is streamed in blocks of a few MB (pyarrow's CSV reader, which parses
timestamps and dictionary-encodes the id columns in C). Each block becomes
arrays: hub rows, device roles and ambient kinds come from small per-block
dictionaries, so no Python object is built per row; only alarms, battery
reports and accel windows (a few per thousand rows) become `Event`s. The
engine then sees the block as the live service sees a batch, and the
watermark moves to the block's latest time. Memory is bounded by the block
size and the per-home state, whatever the file's length.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from telecare.detect import Decision, Engine, Raise
from telecare.detect.kinds import (
    E_BATTERY,
    E_HEARTBEAT,
    E_UNKNOWN,
    EVENT_CODE,
    KIND_TABLE,
    R_ACCEL,
    R_ALARM,
    R_HUB,
    ambient_codes,
)
from telecare.loglines import NotUsed, locate
from telecare.model import DEFAULT_HEARTBEAT_S, Event, HubSettings, rfc3339

BLOCK_BYTES: Final = 8 << 20
COLUMNS: Final = ("ts", "hub_id", "device_id", "type", "event", "value", "location")
_DICT = pa.dictionary(pa.int32(), pa.string())
_TYPES: Final = {
    "ts": pa.timestamp("ms", tz="UTC"),
    "hub_id": _DICT,
    "device_id": _DICT,
    "type": _DICT,
    "event": _DICT,
    "location": _DICT,
    "value": pa.string(),
}


class BacktestError(Exception):
    """The log cannot be backtested as given."""


@dataclass(frozen=True, slots=True)
class Block:
    """One parsed block of the log, as arrays."""

    times: np.ndarray
    rows: np.ndarray
    kinds: np.ndarray
    rare: list[Event]
    # lines that show the hub's link was up at their time (see `LogReader.block`)
    heard: np.ndarray


@dataclass
class Summary:
    """What a backtest saw and raised."""

    rows: int = 0
    hubs: int = 0
    seconds: float = 0.0
    parse_seconds: float = 0.0
    late_events: int = 0
    first: int | None = None
    last: int | None = None
    raised: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    hubs_by_type: dict[str, set[str]] = field(default_factory=dict)
    # hubs that sent no heartbeat in the log: their silence was not judged
    heartbeatless: list[str] = field(default_factory=list)
    # lines the live service would dead-letter, left out
    not_used: NotUsed = field(default_factory=NotUsed)

    def count(self, alert: Raise) -> None:
        """Count one raised alert."""
        self.raised[alert.type.value] += 1
        if alert.suppressed_by:
            self.suppressed[alert.type.value] += 1
        self.hubs_by_type.setdefault(alert.type.value, set()).add(alert.hub_id)


def alert_json(alert: Raise) -> dict[str, Any]:
    """The JSON line of one raised alert (PROTOCOL.md's backtest contract)."""
    line: dict[str, Any] = {
        "ts": rfc3339(alert.at),
        "hub_id": alert.hub_id,
        "type": alert.type.value,
        "priority": int(alert.priority),
        "reason": alert.reason,
        "audience": alert.audience,
    }
    if alert.device_id:
        line["device_id"] = alert.device_id
    if alert.suppressed_by:
        line["suppressed_by"] = alert.suppressed_by
    return line


def load_settings(path: Path) -> dict[str, HubSettings]:
    """Read per-home settings: {"*": {...defaults...}, "HUB_ID": {...}, ...} (JSON)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BacktestError(f"cannot read settings {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise BacktestError(f"{path}: expected an object of hub id -> settings")
    try:
        return {key: msgspec.convert(value, HubSettings) for key, value in raw.items()}
    except msgspec.ValidationError as exc:
        raise BacktestError(f"{path}: {exc}") from exc


class LogReader:
    """Turns an event-log CSV into blocks of arrays for one engine."""

    def __init__(self, engine: Engine, *, tz: str, settings: Mapping[str, HubSettings],
                 heartbeat_s: int = DEFAULT_HEARTBEAT_S) -> None:
        self.engine = engine
        self.tz = tz
        self.settings = dict(settings)
        self.heartbeat_s = heartbeat_s
        self.rows = 0
        self.not_used = NotUsed()
        # hubs (by engine row) that have sent a heartbeat in this log
        self._beating = np.zeros(0, bool)

    def blocks(self, path: Path, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
        """Yield the file's blocks in order."""
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=block_bytes),
                convert_options=pacsv.ConvertOptions(
                    column_types=_TYPES, strings_can_be_null=False, include_columns=COLUMNS
                ),
            )
        except OSError as exc:
            raise BacktestError(f"cannot read {path}: {exc}") from exc
        except pa.ArrowInvalid as exc:
            raise BacktestError(f"cannot read {path}: {locate(path, 0) or exc}") from exc
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise BacktestError(f"{path}: {locate(path, self.rows) or exc}") from exc
            if batch.num_rows:
                if batch.column("ts").null_count:
                    where = locate(path, self.rows) or "a line with no time"
                    raise BacktestError(f"{path}: {where}")
                usable = self.not_used.check(batch, first_row=self.rows)
                self.rows += batch.num_rows
                if usable is not None:
                    batch = batch.filter(pa.array(usable))
                if batch.num_rows:
                    yield self.block(batch)

    def block(self, batch: pa.RecordBatch) -> Block:
        """Turn one record batch into arrays, registering hubs and devices met first here."""
        times = batch.column("ts").cast(pa.int64()).to_numpy()
        hubs = batch.column("hub_id")
        hub_local = hubs.indices.to_numpy()
        hub_rows = self._hub_rows(hubs.dictionary.to_pylist(), hub_local)
        rows = hub_rows[hub_local]
        devices = batch.column("device_id")
        dev_local = devices.indices.to_numpy()
        n_dev = len(devices.dictionary)
        pair = hub_local.astype(np.int64) * n_dev + dev_local
        roles, slots = self._roles(batch, hub_rows, devices.dictionary.to_pylist(), n_dev, pair)
        events = batch.column("event")
        codes = np.array(
            [EVENT_CODE.get(name, E_UNKNOWN) for name in events.dictionary.to_pylist()] or [0],
            np.int64,
        )[events.indices.to_numpy()]
        kinds = ambient_codes(KIND_TABLE[roles, codes].astype(np.int16), slots, codes)
        rare_mask = (roles == R_ALARM) | (roles == R_ACCEL) | (codes == E_BATTERY) | (
            (roles == R_HUB) & (codes != E_HEARTBEAT)
        )
        rare = self._events(batch, np.flatnonzero(rare_mask), times) if rare_mask.any() else []
        # the lines that prove a hub's link was up at their time: its heartbeats
        beats = (roles == R_HUB) & (codes == E_HEARTBEAT)
        self._supervise_from_first_beat(rows, times, beats)
        return Block(times, rows, kinds, rare, beats)

    def _supervise_from_first_beat(self, rows: np.ndarray, times: np.ndarray,
                                   beats: np.ndarray) -> None:
        """Start supervising each hub at its first heartbeat in the log.

        A log carries device times: events a hub held through a network outage are written
        at the time they happened, inside the outage, though they reached the service after
        it. Heartbeats are sent live, never held, so they alone tell supervision when the hub
        was heard. A hub is supervised from its first heartbeat in the log; one that sends
        none (a log outside PROTOCOL.md, which has hubs send them) cannot be judged for
        silence, and `heartbeatless` names it rather than raising every quiet spell.
        """
        n = len(self.engine.index)
        if self._beating.shape[0] < n:
            self._beating = np.r_[self._beating, np.zeros(n - self._beating.shape[0], bool)]
        starting = beats & ~self._beating[rows]
        if starting.any():
            # each hub's first heartbeat in the block (lines are in file order, not time's)
            hub, at = rows[starting], times[starting]
            order = np.lexsort((at, hub))
            hub, at = hub[order], at[order]
            first = np.r_[True, hub[1:] != hub[:-1]]
            ids = self.engine.index.ids
            for row, t in zip(hub[first].tolist(), at[first].tolist(), strict=True):
                self.engine.supervision.watch(ids[row], self.heartbeat_s, t)
            self._beating[hub] = True

    def heartbeatless(self) -> list[str]:
        """Hubs met in the log that have sent no heartbeat so far."""
        n = len(self.engine.index)
        beating = np.r_[self._beating, np.zeros(max(0, n - self._beating.shape[0]), bool)]
        return [self.engine.index.ids[row] for row in np.flatnonzero(~beating[:n]).tolist()]

    def _hub_rows(self, names: list[str], local: np.ndarray) -> np.ndarray:
        engine = self.engine
        found = [engine.index.get(name) for name in names]
        if any(row is None for row in found):
            # a hub met for the first time is registered at its first line, as an installer would
            first = np.full(len(names), len(local), np.int64)
            np.minimum.at(first, local, np.arange(len(local)))
            for i, name in enumerate(names):
                if found[i] is None and first[i] < len(local):
                    settings = self.settings.get(name) or self.settings.get("*") or HubSettings()
                    engine.configure(name, tz=self.tz, settings=settings)
                    found[i] = engine.index.get(name)
        return np.array([-1 if row is None else row for row in found] or [0], np.int64)

    def _roles(self, batch: pa.RecordBatch, hub_rows: np.ndarray, device_names: list[str],
               n_dev: int, pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each line's device role and the device's context slot in its home."""
        seen = np.zeros(max(len(hub_rows) * n_dev, 1), bool)
        seen[pair] = True
        present = np.flatnonzero(seen)
        table = np.zeros(seen.size, np.int64)
        slot_table = np.zeros(seen.size, np.int64)
        engine = self.engine
        first: np.ndarray | None = None
        types = batch.column("type")
        locations = batch.column("location")
        for key in present.tolist():
            hub_row = int(hub_rows[key // n_dev])
            device = device_names[key % n_dev]
            role = engine._roles.get((hub_row, device))
            if role is None:
                if first is None:
                    first = np.full(seen.size, len(pair), np.int64)
                    np.minimum.at(first, pair, np.arange(len(pair)))
                line = int(first[key])
                # the type and location on the device's first line register it
                role = engine.role_of(hub_row, device, str(types[line]), str(locations[line]))
            table[key] = role
            if KIND_TABLE[role].any():
                slot_table[key] = engine.ambient.context_slot(hub_row, device)
        roles: np.ndarray = table[pair]
        slots: np.ndarray = slot_table[pair]
        return roles, slots

    def _events(self, batch: pa.RecordBatch, where: np.ndarray, times: np.ndarray) -> list[Event]:
        cols = {name: batch.column(name).take(pa.array(where)).to_pylist() for name in COLUMNS[1:]}
        out = []
        for i, line in enumerate(where.tolist()):
            t = int(times[line])
            out.append(Event(
                hub_id=cols["hub_id"][i], seq=self.rows + line, device_id=cols["device_id"][i],
                type=cols["type"][i], event=cols["event"][i], ts=t, event_time=t, received_at=t,
                channel="alarm" if cols["type"][i] in ("pendant", "fall", "smoke") else "event",
                value=_value(cols["value"][i]),
            ))
        return out


def _value(text: str) -> float | dict[str, Any] | None:
    if not text:
        return None
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return value if isinstance(value, dict) else None


def run_backtest(
    path: Path,
    *,
    tz: str,
    settings: Mapping[str, HubSettings] | None = None,
    on_alert: Callable[[Raise], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    block_bytes: int = BLOCK_BYTES,
    heartbeat_s: int = DEFAULT_HEARTBEAT_S,
) -> Summary:
    """Run the engine over the log; call on_alert for each raise, in time order per block."""
    with path.open("rb") as handle:
        head = handle.readline().decode("utf-8", "replace").strip().split(",")
    if tuple(name.strip().strip('"') for name in head) != COLUMNS:
        raise BacktestError(f"{path}: header must be {','.join(COLUMNS)}")
    summary = Summary()
    started = time.perf_counter()
    # each hub is registered (and its grace starts) at its first line
    engine = Engine.starting_at(0)
    reader = LogReader(engine, tz=tz, settings=settings or {}, heartbeat_s=heartbeat_s)

    # raises wait here until the event-time clock passes them, so that they come out in
    # time order whatever the block boundaries (only an event beyond the lateness bound
    # can still produce one out of order)
    waiting: list[tuple[int, int, Raise]] = []
    arrival = itertools.count()

    def emit(decisions: list[Decision], *, until: int | None = None) -> None:
        for decision in decisions:
            if isinstance(decision, Raise):
                heapq.heappush(waiting, (decision.at, next(arrival), decision))
        while waiting and (until is None or waiting[0][0] <= until):
            alert = heapq.heappop(waiting)[2]
            summary.count(alert)
            if on_alert is not None:
                on_alert(alert)

    watermark = 0
    for block in reader.blocks(path, block_bytes):
        if summary.first is None:
            summary.first = int(block.times.min())
        decisions = engine.observe_columns(block.times, block.rows, block.kinds, block.rare,
                                           heard=block.heard)
        watermark = max(watermark, int(block.times.max()))
        emit(decisions + engine.advance(watermark), until=engine.clock)
        if on_progress is not None:
            on_progress(reader.rows)
    emit(engine.drain(watermark))
    summary.late_events = engine.late_events
    summary.hubs = len(engine.index)
    summary.last = watermark or None
    summary.rows = reader.rows
    summary.heartbeatless = reader.heartbeatless()
    summary.not_used = reader.not_used
    if summary.not_used.counts:
        summary.not_used.place(path)
    summary.seconds = time.perf_counter() - started
    return summary


def main(path: Path, *, as_json: bool, tz: str, settings_path: Path | None,
         out: TextIO = sys.stdout) -> int:
    """The `telecare backtest` command: JSON lines, or readable lines and a summary."""
    settings = load_settings(settings_path) if settings_path else {}
    if as_json:
        encoder = msgspec.json.Encoder()
        write = out.write

        def print_json(alert: Raise) -> None:
            write(encoder.encode(alert_json(alert)).decode() + "\n")

        summary = run_backtest(path, tz=tz, settings=settings, on_alert=print_json)
        out.flush()
        if summary.heartbeatless:
            print(_heartbeatless_note(summary.heartbeatless), file=sys.stderr)
        if summary.not_used.counts:
            print(summary.not_used.note(), file=sys.stderr)
        return 0
    return _run_with_progress(path, tz=tz, settings=settings, out=out)


def _run_with_progress(path: Path, *, tz: str, settings: Mapping[str, HubSettings],
                       out: TextIO) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    console = Console(file=out)
    size = os.path.getsize(path)
    with Progress(TextColumn("backtest"), BarColumn(), TextColumn("{task.fields[rows]:,} rows"),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("rows", total=size, rows=0)
        row_bytes = _bytes_per_row(path)

        def show(alert: Raise) -> None:
            muted = f"  [suppressed: {alert.suppressed_by}]" if alert.suppressed_by else ""
            console.print(f"{rfc3339(alert.at)}  P{int(alert.priority)}  {alert.type.value:<15} "
                          f"{alert.hub_id:<16} {alert.reason}{muted}", markup=False,
                          highlight=False)

        def progress(rows: int) -> None:
            bar.update(task, completed=min(size, rows * row_bytes), rows=rows)

        summary = run_backtest(path, tz=tz, settings=settings, on_alert=show, on_progress=progress)
    table = Table(title=f"backtest of {path.name}")
    table.add_column("alert type")
    table.add_column("raised", justify="right")
    table.add_column("homes", justify="right")
    table.add_column("suppressed", justify="right")
    for name, count in sorted(summary.raised.items()):
        table.add_row(name, str(count), str(len(summary.hubs_by_type[name])),
                      str(summary.suppressed.get(name, 0)))
    console.print(table)
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    span = ""
    if summary.first is not None and summary.last is not None:
        span = f", {rfc3339(summary.first)} to {rfc3339(summary.last)}"
    console.print(f"{summary.rows:,} events from {summary.hubs} hubs{span}; "
                  f"{summary.seconds:.2f} s ({rate:,.0f} events/s); "
                  f"{summary.late_events} events beyond the lateness bound")
    if summary.heartbeatless:
        console.print(_heartbeatless_note(summary.heartbeatless), markup=False, highlight=False)
    if summary.not_used.counts:
        console.print(summary.not_used.note(), markup=False, highlight=False)
    return 0


def _heartbeatless_note(hubs: list[str]) -> str:
    named = ", ".join(hubs[:5]) + (f" and {len(hubs) - 5} more" if len(hubs) > 5 else "")
    return (f"note: {len(hubs)} hub(s) sent no heartbeat in this log ({named}); the log "
            "format (docs/protocol.md) has hubs in a recorded log send them as live hubs do. "
            "Their silence was not judged (no hub_silent): a quiet spell is taken as the "
            "resident's.")


def _bytes_per_row(path: Path) -> float:
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    return len(sample) / max(sample.count(b"\n"), 1)
