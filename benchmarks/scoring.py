"""What the detection benchmarks score by: matching alerts to ground truth, the 12-hour
timer beside the engine, false welfare alerts, and running the simulator.

Shared by `detection.py`, `injected.py`, `pad_quirks.py` and `misses.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from telecare.backtest import LogReader, alert_json, run_backtest
from telecare.detect import Engine, Raise
from telecare.detect.supervision import heartbeat_grace_ms
from telecare.model import HubSettings, parse_rfc3339

ROOT = Path(__file__).resolve().parent.parent
H = 3_600_000
TIMER_MS = 12 * H
DAY = 24 * H
GRACE_MS = heartbeat_grace_ms(60)  # the simulator's heartbeat is 60 s
WELFARE = 3  # priority 3 or above (1-3) counts as a welfare alert raised on normal life


# what counts as detecting each truth type: (alert types, deadline after start)
MATCH: dict[str, tuple[tuple[str, ...], int]] = {
    "pendant_press": (("pendant_press",), 60_000),
    "device_fall": (("fall", "fall_detected"), 60_000),
    "silent_collapse": (("inactivity",), DAY),
    "night_exit_no_return": (("night_exit",), 16 * 60_000),  # return time 15 min + 1 min
    "hub_power_loss": (("mains_lost", "hub_silent"), 150_000),
    # the hub's last heartbeat is at most one interval before the outage starts, so silence
    # is raised within the grace of the start; an outage no longer than the grace ends
    # before it passes and is not expected to raise (scored apart)
    "hub_offline": (("hub_silent",), GRACE_MS),
    "illness": (("routine_change",), 2 * DAY),
    "low_battery": (("low_battery",), DAY),
    # a chattering or stuck sensor, recognised while it lasts (a stuck PIR after 3 h of it)
    "noisy_sensor": (("sensor_fault",), 3 * DAY),
}


@dataclass
class Scored:
    """Detections and delays of one detector on one incident type."""

    found: int = 0
    total: int = 0
    delays_min: list[float] = field(default_factory=list)

    def row(self) -> tuple[str, str, str]:
        """(share detected, median delay, p90 delay) as text."""
        if not self.total:
            return ("-", "-", "-")
        share = f"{self.found}/{self.total} ({100 * self.found / self.total:.0f}%)"
        if not self.delays_min:
            return (share, "-", "-")
        d = np.asarray(self.delays_min)
        return (share, _minutes(float(np.median(d))), _minutes(float(np.percentile(d, 90))))


def _minutes(value: float) -> str:
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def replay(path: Path, tz: str, settings: HubSettings) -> tuple[Engine, int]:
    """Run a fresh engine over a log, every hub with these settings, advancing as a
    backtest does (not drained); return it and the log's last time."""
    engine = Engine.starting_at(0)
    reader = LogReader(engine, tz=tz, settings={"*": settings})
    mark = 0
    for block in reader.blocks(path):
        engine.observe_columns(block.times, block.rows, block.kinds, block.rare,
                               heard=block.heard)
        mark = max(mark, int(block.times.max()))
        engine.advance(mark)
    return engine, mark


def twelve_hour_timer(path: Path, tz: str) -> list[dict[str, Any]]:
    """The baseline: one 12 h timer per home, reset by any sensor event (not heartbeats)."""
    reader = LogReader(Engine.starting_at(0), tz=tz, settings={})
    last: dict[int, int] = {}
    alerts: list[dict[str, Any]] = []
    ids = reader.engine.index.ids
    end = 0
    for block in reader.blocks(path):
        sensed = block.kinds != 0
        times, rows = block.times[sensed], block.rows[sensed]
        end = max(end, int(block.times.max()))
        order = np.lexsort((times, rows))
        times, rows = times[order], rows[order]
        first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        prev = np.empty_like(times)
        prev[1:] = times[:-1]
        prev[first] = [last.get(int(r), int(t)) for r, t in zip(rows[first], times[first],
                                                                  strict=True)]
        for i in np.flatnonzero(times - prev > TIMER_MS).tolist():
            alerts.append({"hub_id": ids[int(rows[i])], "ts": int(prev[i]) + TIMER_MS,
                           "type": "inactivity", "priority": 3})
        for r, t in zip(rows[np.r_[first[1:] - 1, rows.size - 1]].tolist(),
                        times[np.r_[first[1:] - 1, rows.size - 1]].tolist(), strict=True):
            last[r] = t
    for row, t in last.items():
        if t + TIMER_MS <= end:
            alerts.append({"hub_id": ids[row], "ts": t + TIMER_MS, "type": "inactivity",
                           "priority": 3})
    return alerts


def engine_alerts(path: Path, tz: str, settings: dict[str, HubSettings]) -> tuple[
        list[dict[str, Any]], float, int]:
    """Run the backtest; return its alerts (ts in ms), seconds and rows."""
    alerts: list[dict[str, Any]] = []

    def keep(alert: Raise) -> None:
        line = alert_json(alert)
        line["ts"] = alert.at
        alerts.append(line)

    summary = run_backtest(path, tz=tz, settings=settings, on_alert=keep)
    return alerts, summary.seconds, summary.rows


def score(truth: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> dict[str, Scored]:
    """Match each incident to the first alert of a matching type on its hub in its window."""
    by_hub: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in alerts:
        by_hub[a["hub_id"]].append(a)
    out: dict[str, Scored] = defaultdict(Scored)
    for incident in truth:
        kind = incident["type"]
        if kind not in MATCH:
            continue
        types = MATCH[kind][0]
        start = _ms(incident["start"])
        end = _ms(incident["end"]) if incident.get("end") is not None else None
        lo, hi = hit_window(kind, start, end)
        label = kind
        if kind == "hub_offline" and end is not None and end - start <= GRACE_MS:
            label = "hub_offline no longer than grace (not expected)"
        scored = out[label]
        scored.total += 1
        hits = [a["ts"] for a in by_hub[incident["hub_id"]]
                if a["type"] in types and lo <= a["ts"] <= hi]
        if hits:
            scored.found += 1
            scored.delays_min.append((min(hits) - start) / 60_000)
    return out


def hit_window(kind: str, start: int, end: int | None) -> tuple[int, int]:
    """The times an alert must fall in to count: from the start to its deadline; for a
    collapse no later than its end (once the resident is found, an alert finds nobody);
    for an illness after its start (an alert at the onset midnight judges the day before)."""
    hi = start + MATCH[kind][1]
    if kind in ("silent_collapse", "noisy_sensor") and end is not None:
        hi = min(hi, end)
    return (start + 1 if kind == "illness" else start), hi


def _ms(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else parse_rfc3339(str(value))


def welfare(alerts: Iterable[dict[str, Any]], homes: set[str]) -> list[dict[str, Any]]:
    """The alerts of priority 1-3 on the given homes, not suppressed (on an incident-free
    log: the false welfare alerts)."""
    return [a for a in alerts if a["hub_id"] in homes and a["priority"] <= WELFARE
            and not a.get("suppressed_by")]


def false_welfare(alerts: Iterable[dict[str, Any]], homes: set[str]) -> Counter[str]:
    """Alerts of priority 1-3 on the given (incident-free) homes, by type."""
    return Counter(a["type"] for a in welfare(alerts, homes))


def generate(args: argparse.Namespace, out: Path, truth: Path, rate: float) -> str | None:
    """Run the simulator's generate command; return an error text or None."""
    cmd = [sys.executable, "-m", "firmware_sim", "generate", "--homes", str(args.homes),
           "--days", str(args.days), "--seed", str(args.seed), "--out", str(out),
           "--truth", str(truth), "--incident-rate", str(rate), "--tz", args.tz]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return f"`{' '.join(cmd[1:])}` failed: {done.stderr.strip()[-300:]}"
    return None


def month_parser(description: str | None, collapses_help: str) -> argparse.ArgumentParser:
    """The options of a benchmark on one simulated month: its homes, days, seed and time
    zone, and `--collapses` (score the log with incidents too)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--homes", type=int, default=100)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tz", default="Europe/London")
    p.add_argument("--collapses", action="store_true", help=collapses_help)
    return p


def on_incident_free_month(description: str | None, collapses_help: str,
                           score: Callable[[argparse.Namespace, Path, Path], None]) -> int:
    """A month script's `main`: parse the shared options, print the run's time, generate
    the month with no incidents into a temporary folder and `score(args, folder, log)`;
    return the exit status (1 when the log could not be generated, the error printed)."""
    args = month_parser(description, collapses_help).parse_args()
    print(f"run {datetime.now().isoformat(timespec='minutes')}\n")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clean = work / "clean.csv"
        error = generate(args, clean, work / "truth.jsonl", 0.0)
        if error:
            print(error)
            return 1
        score(args, work, clean)
    return 0


def collapses_changed(args: argparse.Namespace, work: Path, homes_are: str, label: str,
                      change: Callable[[Path, Path], set[str]]) -> list[str]:
    """Markdown: generate the month with incidents, write it changed (`change(log, out)`
    writes the changed log to `out` and returns the homes to score), and table the silent
    collapses of those homes found by the engine (share, median, p90) and by the 12 h
    timer, on the log as simulated and as changed (`label`). An error text if the
    simulator failed."""
    log, truth_path = work / "sim.csv", work / "truth.jsonl"
    error = generate(args, log, truth_path, 1.0)
    if error:
        return [error]
    changed = work / "sim-changed.csv"
    homes = change(log, changed)
    truth = [t for t in map(json.loads, truth_path.read_text().splitlines())
             if t["type"] == "silent_collapse" and t["hub_id"] in homes]
    lines = [f"Silent collapses in the {len(homes)} homes {homes_are} (log with incidents, "
             f"seed {args.seed}):", "",
             "| log | engine found, median, p90 | 12 h timer found |", "|---|---|---|"]
    for name, path in (("as simulated", log), (label, changed)):
        ours = score(truth, engine_alerts(path, args.tz, {})[0])["silent_collapse"]
        theirs = score(truth, twelve_hour_timer(path, args.tz))["silent_collapse"]
        lines.append(f"| {name} | {', '.join(ours.row())} | {theirs.row()[0]} |")
    return lines
