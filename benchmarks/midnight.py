"""How long a local midnight holds the live service's worker, by estate size.

    .venv/bin/python benchmarks/midnight.py [--homes 10000] [--days 10] [--seed 1]

At local midnight every home in a zone ends its day at once (`daily.end_day`: learn
the day's gaps, re-derive the thresholds, judge the day), and the live service's one
worker thread runs ticks and alarm batches in turn, so an alarm that arrives then
waits for the tick in progress. This builds an estate: the simulator's 100 homes run
through `--days` days by the backtest engine, then copied (their checkpoint restored
under new hub ids) to `--homes`. Then it ticks each second from that midnight, two
ways: every home's timers in one tick and the checkpoint (every home's learned state)
after it, as before ticks were bounded; and at most `pipeline.TIMER_HOMES_PER_TICK`
homes a tick, checkpointed each tick, as the service runs it. Printed: the ticks, the
longest (advancing + writing the checkpoint to a SQLite file), all of them, and the
tick just before midnight, when no home's day ends (the baseline in the same run);
then how long a restart's start spends reading the estate's checkpoint, restoring it
and configuring its homes, when each home's thresholds are derived again (as they were)
and when they are taken back from the checkpoint (as they are).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from scoring import replay

from telecare.detect import Engine
from telecare.detect.decisions import Raise
from telecare.detect.engine import HUB_PREFIX, LEARNED_SUFFIX
from telecare.model import AlertType, Event, HubSettings
from telecare.pipeline import TIMER_HOMES_PER_TICK
from telecare.store import SqliteStore

TZ = "Europe/London"
DOOR = "door-bench"
# the door of the estate's last home is left open this long after midnight, while the
# midnight's day-ends are still running
ALARM_AFTER_MS = 2000
DAY_MS = 86_400_000
# checkpoint rows: (key, state)
Rows = list[tuple[str, bytes]]


def _learned_estate(work: Path, days: int, seed: int) -> tuple[Rows, int]:
    """The simulator's 100 homes after `days` days: their checkpoint and its time."""
    log = work / "sim.csv"
    subprocess.run([sys.executable, "-m", "firmware_sim", "generate", "--homes", "100",
                    "--days", str(days), "--seed", str(seed), "--incident-rate", "0",
                    "--tz", TZ, "--out", str(log)], check=True, capture_output=True)
    engine, mark = replay(log, TZ, HubSettings())
    return engine.checkpoint(everything=True), mark


def _copies(saved: Rows, homes: int) -> tuple[list[str], Rows]:
    """`homes` hub ids and their checkpoint rows: copies of the saved homes."""
    hubs = sorted({k[len(HUB_PREFIX):].split(":")[0] for k, _ in saved
                   if k.startswith(HUB_PREFIX)})
    names, rows = [], []
    for i in range(homes):
        hub = hubs[i % len(hubs)]
        name = f"{hub}-{i // len(hubs)}"
        names.append(name)
        rows += [(k.replace(HUB_PREFIX + hub, HUB_PREFIX + name, 1), blob) for k, blob in saved
                 if k.startswith(HUB_PREFIX) and k[len(HUB_PREFIX):].split(":")[0] == hub]
    return names, rows


def _estate(saved: Rows, homes: int, at: int) -> Engine:
    """`homes` homes, copies of the saved ones, in one engine (the devices' roles are
    not copied: no events are given to it)."""
    names, rows = _copies(saved, homes)
    engine = Engine.starting_at(at)
    for name in names:
        engine.configure(name, tz=TZ, settings=HubSettings())
    engine.restore(rows)
    return engine


def _door_left_open(engine: Engine, due: int) -> None:
    """The estate's last home (the last the heap takes at midnight) has its front door
    opened so that it is left open at `due`, just after midnight."""
    hub = engine.index.ids[-1]
    engine.register_device(hub, DOOR, "door", "front")
    opened = due - HubSettings().door_open_min * 60_000
    engine.observe([Event(hub_id=hub, seq=1, ts=opened, device_id=DOOR, type="door",
                          event="open", event_time=opened, received_at=opened,
                          channel="event")])


def _without_derived(rows: Rows) -> Rows:
    """The checkpoint rows without the derived thresholds (as written before they were
    kept): every home is derived at a restart."""
    out = []
    for key, blob in rows:
        if key.endswith(LEARNED_SUFFIX):
            state = msgspec.msgpack.decode(blob)
            state.pop("derived", None)
            blob = msgspec.msgpack.encode(state)
        out.append((key, blob))
    return out


def _restart(work: Path, saved: Rows, homes: int, at: int) -> dict[str, float]:
    """Seconds a service's start spends on the detectors (`Pipeline.start`): read the
    checkpoint from a SQLite file, restore it, then configure every home from the
    registry; by the checkpoint without the thresholds derived (each home derived), and
    with them (each taken back). Beside them, the same read and restore alone, with no
    home configured (the floor, in the same run)."""
    names, rows = _copies(saved, homes)
    out = {}
    for label, kept, configure in (("derived again", False, True), ("taken back", True, True),
                                   ("read and restore only", True, False)):
        store = SqliteStore.open(work / f"restart-{label}.db")
        with store.transaction():
            store.save_checkpoints(
                (k, at, b) for k, b in (rows if kept else _without_derived(rows)))
        engine = Engine.starting_at(at)
        started = time.perf_counter()
        engine.restore(store.load_checkpoints(), derive=False)
        if configure:
            for name in names:
                engine.configure(name, tz=TZ, settings=HubSettings())
            engine.derive_restored()
        out[label] = time.perf_counter() - started
        store.close()
    return out


def _ticks(engine: Engine, store: SqliteStore, midnight: int, max_homes: int | None,
           every_tick: bool, alarm_due: int) -> tuple[list[tuple[float, float, int]], float]:
    """Tick from midnight as the pipeline does, each tick's watermark the time elapsed
    since midnight as if the clock had struck when the first began: advance, then write
    the checkpoint when the policy says (every tick's when `every_tick`, else once the
    midnight is done, as a tick every minute would). Stops once no home's day is left
    to end and the door left open has been raised. Returns (seconds advancing, seconds
    checkpointing, homes written) a tick, and the seconds from the door's deadline to
    the end of the tick that raised it."""
    out = []
    began = time.perf_counter()

    def now() -> int:
        return midnight + 1000 + round((time.perf_counter() - began) * 1000)

    raised_after = None
    while True:
        started = time.perf_counter()
        decisions = engine.advance(now() + engine.lateness_ms, max_homes)
        advanced = time.perf_counter() - started
        left = bool(engine.ambient.heap) and engine.ambient.heap[0][0] <= midnight
        written, saving = 0, 0.0
        if (every_tick and engine.unsaved_learning >= (max_homes or 0)) or not left:
            started = time.perf_counter()
            written = engine.unsaved_learning
            rows = [(k, midnight, blob) for k, blob in engine.checkpoint()]
            with store.transaction():
                store.save_checkpoints(rows)
            saving = time.perf_counter() - started
        out.append((advanced, saving, written))
        if any(isinstance(d, Raise) and d.type == AlertType.DOOR_LEFT_OPEN for d in decisions):
            raised_after = (now() - alarm_due) / 1000
        if not left and raised_after is not None:
            return out, raised_after
        if not left:
            time.sleep(0.01)  # (the door's deadline is still to come: the next tick)


def main() -> int:
    """Print the midnight's ticks beside the tick before it."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--homes", type=int, default=10_000)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        saved, mark = _learned_estate(Path(tmp), args.days, args.seed)
        midnight = (mark // DAY_MS + 1) * DAY_MS  # London is on UTC in the simulator's January
        print(f"{args.homes:,} homes, learned over {args.days} days (seed {args.seed}); "
              f"midnight {time.strftime('%Y-%m-%d %H:%M', time.gmtime(midnight / 1000))} UTC")
        print("\n| how | ticks | longest tick: advance + checkpoint (s) | homes written then "
              "| all ticks (s) | tick before midnight (s) | door left open at 00:00:02, "
              "raised after (s) |\n|---|---:|---:|---:|---:|---:|---:|")
        for label, budget, every in (("every home at once, checkpoint after", None, False),
                                     (f"{TIMER_HOMES_PER_TICK} homes a tick, checkpoint each",
                                      TIMER_HOMES_PER_TICK, True)):
            engine = _estate(saved, args.homes, midnight - 20 * 60_000)
            _door_left_open(engine, midnight + ALARM_AFTER_MS)
            store = SqliteStore.open(Path(tmp) / f"{budget}.db")
            started = time.perf_counter()
            engine.advance(midnight - 1000 + engine.lateness_ms, budget)
            before = time.perf_counter() - started
            ticks, waited = _ticks(engine, store, midnight, budget, every,
                                   midnight + ALARM_AFTER_MS)
            worst = max(ticks, key=lambda t: t[0] + t[1])
            total = sum(a + c for a, c, _ in ticks)
            print(f"| {label} | {len(ticks)} | {worst[0]:.2f} + {worst[1]:.2f} | {worst[2]:,} "
                  f"| {total:.2f} | {before:.3f} | {waited:.2f} |")
            store.close()
        start = _restart(Path(tmp), saved, args.homes, midnight)
        print(f"\nA restart's start with the {args.homes:,} homes (read the checkpoint, "
              "restore, configure each home from the registry), in seconds:")
        print(" | ".join(f"{label} {seconds:.2f}" for label, seconds in start.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
