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
from telecare.detect.engine import HUB_PREFIX, LEARNED_SUFFIX
from telecare.model import HubSettings
from telecare.pipeline import TIMER_HOMES_PER_TICK
from telecare.store import SqliteStore

TZ = "Europe/London"
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
           every_tick: bool) -> list[tuple[float, float, int]]:
    """Tick each second from midnight until no home's day is left to end, as the
    pipeline does: advance, then write the checkpoint when the policy says (every
    tick's when `every_tick`, else once the midnight is done, as a tick every minute
    would). Returns (seconds advancing, seconds checkpointing, homes written) a tick."""
    out = []
    second = 0
    while True:
        second += 1
        started = time.perf_counter()
        engine.advance(midnight + second * 1000 + engine.lateness_ms, max_homes)
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
        if not left:
            return out


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
              "| all ticks (s) | tick before midnight (s) |\n|---|---:|---:|---:|---:|---:|")
        for label, budget, every in (("every home at once, checkpoint after", None, False),
                                     (f"{TIMER_HOMES_PER_TICK} homes a tick, checkpoint each",
                                      TIMER_HOMES_PER_TICK, True)):
            engine = _estate(saved, args.homes, midnight - 2 * 60_000)
            store = SqliteStore.open(Path(tmp) / f"{budget}.db")
            started = time.perf_counter()
            engine.advance(midnight - 1000 + engine.lateness_ms, budget)
            before = time.perf_counter() - started
            ticks = _ticks(engine, store, midnight, budget, every)
            worst = max(ticks, key=lambda t: t[0] + t[1])
            total = sum(a + c for a, c, _ in ticks)
            print(f"| {label} | {len(ticks)} | {worst[0]:.2f} + {worst[1]:.2f} | {worst[2]:,} "
                  f"| {total:.2f} | {before:.3f} |")
            store.close()
        start = _restart(Path(tmp), saved, args.homes, midnight)
        print(f"\nA restart's start with the {args.homes:,} homes (read the checkpoint, "
              "restore, configure each home from the registry), in seconds:")
        print(" | ".join(f"{label} {seconds:.2f}" for label, seconds in start.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
