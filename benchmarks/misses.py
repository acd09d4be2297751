"""Why the engine misses simulator incidents: one line per missed incident, with context.

    .venv/bin/python benchmarks/misses.py LOG.csv TRUTH.jsonl [--tz Europe/London]

For each silent collapse, hub_offline and illness incident the engine did not detect in
its scoring window (benchmarks/detection.py): the home's devices, the incident's length,
and the engine's state at the truth start (presence, last sign of life, the threshold
of that hour and whether it is learned; the longest heartbeat gap in an outage; the
night-time toilet visits and day counts around an illness).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scoring import MATCH, engine_alerts, hit_window, replay

from telecare.detect import Engine
from telecare.detect.ambient import AmbientDetectors
from telecare.detect.columns import I_INACT_DL, I_LAST_ACT, I_LAST_CTX, I_PRESENCE
from telecare.model import HubSettings, parse_rfc3339

PRESENCE = {0: "unknown", 1: "home", 2: "door", 3: "asleep"}
KINDS = ("silent_collapse", "hub_offline", "illness")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%dT%H:%M")


def _hub_table(path: Path) -> pa.Table:
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"ts": pa.timestamp("ms", tz="UTC"), "value": pa.string(),
                      "location": pa.string()}, strings_can_be_null=False))


def _state_at(table: pa.Table, hub: str, until: int, tz: str, work: Path) -> Engine:
    """Run the engine over one hub's lines up to `until`; return it."""
    ts = table.column("ts").cast(pa.int64())
    mask = pc.and_(pc.equal(table.column("hub_id"), hub), pc.less_equal(ts, until))
    part = table.filter(mask)
    stamps = pc.strftime(part.column("ts"), format="%Y-%m-%dT%H:%M:%SZ")
    path = work / "hub.csv"
    pacsv.write_csv(part.set_column(0, "ts", stamps), path)
    engine, mark = replay(path, tz, HubSettings(night_exit=True))
    engine.drain(mark)
    return engine


def _context(det: AmbientDetectors, row: int, ctx: int) -> str:
    """The last sign of life's context and its threshold, e.g. `pir-hall/on 1.2 h`."""
    devices = det.ctx_devices.get(row, [])
    name = devices[ctx // 2] if ctx // 2 < len(devices) else "?"
    threshold = int(det.ctx_thr[row, ctx])
    learned = "-" if threshold >= 2**62 else f"{threshold / 3_600_000:.1f} h"
    return f"after {name}/{'off' if ctx % 2 else 'on'} {learned}"


def main() -> int:
    """Print the missed incidents with their context."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("log", type=Path)
    p.add_argument("truth", type=Path)
    p.add_argument("--tz", default="Europe/London")
    args = p.parse_args()
    truth = [json.loads(line) for line in args.truth.read_text().splitlines() if line.strip()]
    alerts, _, _ = engine_alerts(args.log, args.tz, {"*": HubSettings(night_exit=True)})
    by_hub: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in alerts:
        by_hub[a["hub_id"]].append(a)
    table = _hub_table(args.log)
    devices: dict[str, set[str]] = defaultdict(set)
    for hub, dev in zip(table.column("hub_id").to_pylist(), table.column("device_id").to_pylist(),
                        strict=True):
        devices[hub].add(dev)
    work = args.log.parent
    for incident in truth:
        kind = incident["type"]
        if kind not in KINDS:
            continue
        hub = incident["hub_id"]
        start = parse_rfc3339(incident["start"])
        end = parse_rfc3339(incident["end"]) if incident.get("end") else None
        lo, hi = hit_window(kind, start, end)
        types = MATCH[kind][0]
        mine = [a for a in by_hub[hub] if a["type"] in types]
        if any(lo <= a["ts"] <= hi for a in mine):
            continue
        near = [_iso(a["ts"]) for a in mine
                if start - 86_400_000 <= a["ts"] <= start + 4 * 86_400_000]
        length = "-" if end is None else f"{(end - start) / 3_600_000:.1f} h"
        kit = ",".join(sorted(d for d in devices[hub] if d != "hub"))
        line = f"{kind} {hub} {_iso(start)} len {length} alerts near {near} kit [{kit}]"
        if kind == "silent_collapse":
            engine = _state_at(table, hub, start, args.tz, work)
            row = engine.index.get(hub)
            assert row is not None
            det = engine.ambient
            ints = det.ints[row]
            last = int(ints[I_LAST_ACT])
            hour = det.clocks[int(det.rules[row, 0])].hour(last)
            dl = int(ints[I_INACT_DL])
            line += (f"\n    presence {PRESENCE[int(ints[I_PRESENCE])]} last {_iso(last)} "
                     f"thr[{hour}] {det.thresholds[row, hour] / 3_600_000:.1f} h learned "
                     f"{bool(det.learned[row, hour])} {_context(det, row, int(ints[I_LAST_CTX]))} "
                     f"deadline "
                     f"{'-' if dl >= 2**62 else f'{(dl - start) / 3_600_000:+.1f} h'} "
                     f"params {incident['params']}")
        elif kind == "hub_offline":
            ts = table.column("ts").cast(pa.int64())
            mask = pc.and_(pc.equal(table.column("hub_id"), hub),
                           pc.and_(pc.greater_equal(ts, start - 600_000),
                                   pc.less_equal(ts, (end or start) + 600_000)))
            part = table.filter(mask)
            t = part.column("ts").cast(pa.int64()).to_numpy()
            beats = t[np.asarray(part.column("event").to_pylist()) == "heartbeat"]
            gaps = np.diff(beats) / 1000 if beats.size > 1 else np.zeros(0)
            inside = int(((t > start) & (t < (end or start))).sum())
            line += (f"\n    longest heartbeat gap {gaps.max() if gaps.size else 0:.0f} s, "
                     f"{inside} lines inside the outage")
        else:
            line += f"\n    params {incident['params']}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
