"""Detection quality and backtest speed, beside a single 12-hour inactivity timer.

    .venv/bin/python benchmarks/detection.py [--homes 200 --days 30 --seed 1] [--skip-sim]

Three parts, each scored in the same run as its baseline:

1. simulator: `python -m firmware_sim generate ... --truth` writes a log with injected
   incidents and their ground truth; the engine (via `telecare.backtest`) and a 12-hour
   timer (one timer per home reset by any sensor event) are scored on it per incident
   type: share detected, delay median and p90, false welfare alerts on incident-free homes;
2. real-home-a: false alerts on 28 recorded days, and delays on silent collapses injected
   where the annotations say the resident was at home and awake (his activity is cut
   from the collapse on; heartbeats go on);
3. speed: events/s of the backtest beside the same reader with no detection and `wc -l`.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from ceiling import hidden_collapses

from telecare.backtest import LogReader, alert_json, run_backtest
from telecare.detect import Engine, Raise
from telecare.detect.supervision import heartbeat_grace_ms
from telecare.model import HubSettings, parse_rfc3339

ROOT = Path(__file__).resolve().parent.parent
REAL_HOME = ROOT.parent / "shared" / "data" / "real-home-a"
SISFALL = ROOT.parent / "shared" / "data" / "sisfall-dev"
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


def false_welfare(alerts: Iterable[dict[str, Any]], homes: set[str]) -> Counter[str]:
    """Alerts of priority 1-3 on the given (incident-free) homes, by type."""
    return Counter(a["type"] for a in alerts if a["hub_id"] in homes and a["priority"] <= WELFARE
                   and not a.get("suppressed_by"))


def generate(args: argparse.Namespace, out: Path, truth: Path, rate: float) -> str | None:
    """Run the simulator's generate command; return an error text or None."""
    cmd = [sys.executable, "-m", "firmware_sim", "generate", "--homes", str(args.homes),
           "--days", str(args.days), "--seed", str(args.seed), "--out", str(out),
           "--truth", str(truth), "--incident-rate", str(rate), "--tz", args.tz]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return f"`{' '.join(cmd[1:])}` failed: {done.stderr.strip()[-300:]}"
    return None


def simulator_part(args: argparse.Namespace, work: Path) -> list[str]:
    """Generate a log with incidents and one without, backtest both, score; markdown lines."""
    log, truth_path = work / "sim.csv", work / "truth.jsonl"
    clean_log = work / "clean.csv"
    for out, truth_out, rate in ((log, truth_path, args.incident_rate),
                                 (clean_log, work / "none.jsonl", 0.0)):
        error = generate(args, out, truth_out, rate)
        if error:
            return [f"simulator not run: {error}"]
    truth = [json.loads(line) for line in truth_path.read_text().splitlines() if line.strip()]
    # night exit is a per-home rule; switched on here for every home so that it is measured
    settings = {"*": HubSettings(night_exit=True)}
    engine, _, rows = engine_alerts(log, args.tz, settings)
    timer = twelve_hour_timer(log, args.tz)
    clean, _, clean_rows = engine_alerts(clean_log, args.tz, settings)
    clean_timer = twelve_hour_timer(clean_log, args.tz)
    homes = {f"H-{n:04d}" for n in range(1, args.homes + 1)}
    home_days = args.homes * args.days
    kinds = Counter(t["type"] for t in truth)
    lines = [f"Simulator: {args.homes} homes x {args.days} days, seed {args.seed}, tz {args.tz}; "
             f"log with incidents ({args.incident_rate}/home-week): {rows:,} events, "
             f"{len(truth)} incidents {dict(kinds)}; incident-free log (same homes and seed, "
             f"rate 0): {clean_rows:,} events. Night exit switched on for every home.", "",
             "| incident | engine detected | engine median | engine p90 | 12 h timer detected "
             "| 12 h median | 12 h p90 |", "|---|---|---|---|---|---|---|"]
    ours, theirs = score(truth, engine), score(truth, timer)
    for kind in sorted(set(ours)):
        b = theirs[kind].row() if kind == "silent_collapse" else ("n/a",) * 3
        lines.append(f"| {kind} | {' | '.join(ours[kind].row())} | {' | '.join(b)} |")
    fa_engine, fa_timer = false_welfare(clean, homes), false_welfare(clean_timer, homes)
    lines += ["", "| false welfare alerts (priority 1-3) on the incident-free log | engine | "
              "12 h timer |", "|---|---:|---:|",
              f"| per home-day | {sum(fa_engine.values()) / home_days:.4f} | "
              f"{sum(fa_timer.values()) / home_days:.4f} |",
              f"| per home-month (30 d) | {30 * sum(fa_engine.values()) / home_days:.2f} | "
              f"{30 * sum(fa_timer.values()) / home_days:.2f} |",
              f"| by type | {dict(fa_engine)} | {dict(fa_timer)} |"]
    ill = {t["hub_id"] for t in truth if t["type"] == "illness"}
    faults = Counter(t["type"] for t in truth if t["type"] == "noisy_sensor")
    notices = [a for a in engine if a["type"] == "routine_change" and a["hub_id"] not in ill]
    lines += ["", f"Routine notices to carers in the log with incidents, on homes with no "
              f"illness ({faults['noisy_sensor']} noisy-sensor incidents in it): "
              f"{len(notices)} on {len({a['hub_id'] for a in notices})} homes."]
    total, by_hour, hidden = hidden_collapses(truth, log, clean_log, args.tz)
    lines += ["", f"Collapses that stillness alone cannot find (`benchmarks/ceiling.py`): "
              f"{by_hour} of {total} were no longer than an ordinary still spell of the same "
              f"home, within an hour of that time of day, in the incident-free log; "
              f"{len(hidden)} no longer than one that also began at the same sensor:", ""]
    lines += [f"- {line}" for line in hidden] or ["- none"]
    return lines


def annotated_intervals(path: Path) -> list[tuple[int, int, str]]:
    """(start, end, activity) of the real home's annotations."""
    with path.open() as fh:
        return [(parse_rfc3339(r["start"]), parse_rfc3339(r["end"]), r["activity"])
                for r in csv.DictReader(fh)]


def collapse_times(notes: list[tuple[int, int, str]], *, count: int, seed: int,
                   first: int, last: int) -> list[int]:
    """Random times when he was at home and awake: not out or in bed, 30 min clear of either."""
    away = [(s - H // 2, e + H // 2) for s, e, a in notes if a in ("leave-house", "go-to-bed")]
    rng = np.random.default_rng(seed)
    out: list[int] = []
    while len(out) < count:
        t = int(rng.integers(first, last))
        if not any(s <= t <= e for s, e in away):
            out.append(t)
    return sorted(out)


def injected_collapses(header: str, body: list[str], times: list[int], moments: list[int],
                       work: Path, tz: str, settings: dict[str, HubSettings],
                       ) -> tuple[Scored, Scored]:
    """A collapse at each moment of one home's log: its lines after the moment cut but
    heartbeats; the engine and the 12 h timer scored on each cut log (inactivity within 24 h)."""
    ours, theirs = Scored(), Scored()
    for at in moments:
        cut = work / "collapse.csv"
        with cut.open("w") as out:
            out.write(header)
            out.writelines(line for line, t in zip(body, times, strict=True)
                           if t <= at or ",hub,hub,heartbeat," in line)
        alerts, _, _ = engine_alerts(cut, tz, settings)
        for scored, found in ((ours, alerts), (theirs, twelve_hour_timer(cut, tz))):
            scored.total += 1
            hits = [a["ts"] for a in found
                    if a["type"] == "inactivity" and at < a["ts"] <= at + DAY]
            if hits:
                scored.found += 1
                scored.delays_min.append((min(hits) - at) / 60_000)
    return ours, theirs


# the bed-pad incidents injected into the incident-free log: (label, the pad event that
# begins it, its local hours, the first day it may fall on, whether the log is cut at the
# first sign of life after that event (else at the event), the rule that finds it, off)
BED_INCIDENTS: tuple[tuple[str, str, range, int, bool, HubSettings], ...] = (
    ("Fall out of bed at night", ",bed,vacant,", range(0, 5), 2, True,
     HubSettings(out_of_bed_min=0)),
    ("Not up in the morning", ",bed,occupied,", range(20, 24), 9, False,
     HubSettings(not_up=False)),
)


def bed_incidents_part(args: argparse.Namespace, work: Path) -> list[str]:
    """Incidents the simulator does not make, injected into its incident-free log in homes
    with a bed pad: a fall on the way to the toilet (cut at the first sign of life after
    the pad says vacant between 00:00 and 05:00 local, from day 3) and a resident who
    cannot get up (cut when the pad says occupied between 20:00 and 24:00, from day 10).
    The engine, the engine with the rule for it off, and the 12 h timer, on the same logs."""
    with (work / "clean.csv").open() as fh:
        header = fh.readline()
        lines = fh.readlines()
    bed_hubs = sorted({line.split(",", 2)[1] for line in lines if ",bed,vacant," in line})
    rng = np.random.default_rng(args.seed)
    hubs = [str(h) for h in rng.choice(bed_hubs, size=min(args.night_falls, len(bed_hubs)),
                                       replace=False)]
    zone = ZoneInfo(args.tz)
    out = [f"Incidents at the bed pad: {len(hubs)} homes with one (seed {args.seed}), one of "
           "each per home, in the incident-free log (heartbeats go on after the cut).", "",
           "| incident | engine | engine, its rule off | 12 h timer |", "|---|---|---|---|"]
    for label, pad, hours, first_day, after_it, off_settings in BED_INCIDENTS:
        total = [Scored() for _ in range(3)]
        for hub in hubs:
            body = [line for line in lines if line.split(",", 2)[1] == hub]
            times = [parse_rfc3339(line.split(",", 1)[0]) for line in body]
            starts = [i for i, (line, t) in enumerate(zip(body, times, strict=True))
                      if pad in line and t >= times[0] + first_day * DAY
                      and datetime.fromtimestamp(t / 1000, zone).hour in hours]
            if not starts:
                continue
            i = starts[int(rng.integers(len(starts)))]
            at = times[i]
            if after_it:
                signs = [t for line, t in zip(body[i + 1:i + 20], times[i + 1:i + 20],
                                              strict=True)
                         if ",hub,hub," not in line and ",battery," not in line]
                at = signs[0] if signs else at
            ours, timer = injected_collapses(header, body, times, [at], work, args.tz, {})
            off, _ = injected_collapses(header, body, times, [at], work, args.tz,
                                        {"*": off_settings})
            for into, one in zip(total, (ours, off, timer), strict=True):
                into.total += one.total
                into.found += one.found
                into.delays_min += one.delays_min
        rows = [t.row() for t in total]
        out += [f"| {label}: detected within 24 h | {rows[0][0]} | {rows[1][0]} | {rows[2][0]} |",
                f"| {label}: delay median / p90 | {rows[0][1]} / {rows[0][2]} | "
                f"{rows[1][1]} / {rows[1][2]} | {rows[2][1]} / {rows[2][2]} |"]
    return out


def real_home_part(args: argparse.Namespace, work: Path) -> list[str]:
    """False alerts on the recorded home, and delays on injected collapses."""
    events = REAL_HOME / "events.csv"
    notes = annotated_intervals(REAL_HOME / "annotations.csv")
    engine, _, rows = engine_alerts(events, "UTC", {})
    timer = twelve_hour_timer(events, "UTC")
    with events.open() as fh:
        lines_in = fh.readlines()
    header, body = lines_in[0], lines_in[1:]
    times = [parse_rfc3339(line.split(",", 1)[0]) for line in body]
    first, last = times[0], times[-1]
    days = (last - first) / DAY
    # collapses from day 8 on (the engine has had a week to learn), within the annotated span
    # (the annotations stop on 03-21 while the events go on: no claim of "at home" after that)
    annotated_until = max(e for _, e, _ in notes)
    injected = collapse_times(notes, count=args.collapses, seed=args.seed, first=first + 8 * DAY,
                              last=min(last - DAY, annotated_until))
    ours, theirs = injected_collapses(header, body, times, injected, work, "UTC", {})
    fa_engine = false_welfare(engine, {"H-dev-A"})
    fa_timer = false_welfare(timer, {"H-dev-A"})
    return [
        f"real-home-a: {rows:,} events over {days:.1f} days (contact sensors only); "
        f"{len(injected)} collapses injected from day 8 at annotated at-home-and-awake times "
        f"(seed {args.seed}).", "",
        "| real-home-a | engine | 12 h timer |", "|---|---|---|",
        f"| false welfare alerts (28 days) | {sum(fa_engine.values())} {dict(fa_engine)} | "
        f"{sum(fa_timer.values())} |",
        f"| false welfare alerts per month | {30 * sum(fa_engine.values()) / days:.2f} | "
        f"{30 * sum(fa_timer.values()) / days:.2f} |",
        f"| injected collapses detected within 24 h | {ours.row()[0]} | {theirs.row()[0]} |",
        f"| delay median | {ours.row()[1]} | {theirs.row()[1]} |",
        f"| delay p90 | {ours.row()[2]} | {theirs.row()[2]} |",
    ]


def speed_part(path: Path, tz: str, label: str) -> list[str]:
    """Events/s of the backtest beside the reader alone and `wc -l`, same run."""
    started = time.perf_counter()
    subprocess.run(["wc", "-l", str(path)], capture_output=True, check=True)
    wc = time.perf_counter() - started
    started = time.perf_counter()
    reader = LogReader(Engine.starting_at(0), tz=tz, settings={})
    rows = sum(block.times.size for block in reader.blocks(path))
    parse = time.perf_counter() - started
    started = time.perf_counter()
    summary = run_backtest(path, tz=tz)
    full = time.perf_counter() - started
    return [
        f"Speed on {label} ({rows:,} rows, {path.stat().st_size / 1e6:.0f} MB):", "",
        "| step (same file, same run) | seconds | events/s |", "|---|---:|---:|",
        f"| `wc -l` | {wc:.2f} | {rows / wc:,.0f} |",
        f"| read and parse only (pyarrow blocks -> arrays, no detection) | {parse:.2f} | "
        f"{rows / parse:,.0f} |",
        f"| `telecare backtest` (parse + every detector) | {full:.2f} | {rows / full:,.0f} |",
        "", f"({summary.raised.total()} alerts raised: {dict(sorted(summary.raised.items()))})",
    ]


def replicated_home(work: Path, copies: int) -> Path:
    """real-home-a replicated into many hubs (shifted by up to an hour): a speed corpus."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(REAL_HOME / "events.csv", convert_options=pacsv.ConvertOptions(
        column_types={"ts": pa.timestamp("s", tz="UTC"), "value": pa.string(),
                      "location": pa.string()}, strings_can_be_null=False))
    rng = np.random.default_rng(7)
    parts = []
    for i in range(copies):
        shifted = pc.add(table.column("ts").cast(pa.int64()), int(rng.integers(0, 3600)))
        parts.append(table.set_column(0, "ts", shifted).set_column(
            1, "hub_id", pa.array([f"H-rep-{i:04d}"] * table.num_rows)))
    big = pa.concat_tables(parts).sort_by("ts")
    stamps = pc.strftime(big.column("ts").cast(pa.timestamp("s", tz="UTC")),
                         format="%Y-%m-%dT%H:%M:%SZ")
    out = work / "replicated.csv"
    pacsv.write_csv(big.set_column(0, "ts", stamps), out)
    return out


def main() -> int:
    """Run the parts asked for and print markdown."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--homes", type=int, default=200)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--incident-rate", type=float, default=1.0)
    p.add_argument("--tz", default="Europe/London")
    p.add_argument("--collapses", type=int, default=40)
    p.add_argument("--night-falls", type=int, default=30,
                   help="homes with a bed pad given a night fall and a morning not up")
    p.add_argument("--copies", type=int, default=100, help="hubs in the replicated speed corpus")
    p.add_argument("--skip-sim", action="store_true")
    args = p.parse_args()
    print(f"run {datetime.now().isoformat(timespec='minutes')}\n")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_sim:
            print("\n".join(simulator_part(args, work)), "\n")
            if (work / "clean.csv").exists():
                print("\n".join(bed_incidents_part(args, work)), "\n")
            sim = work / "sim.csv"
            if sim.exists():
                print("\n".join(speed_part(sim, args.tz, "the simulator's log")), "\n")
        print("\n".join(real_home_part(args, work)), "\n")
        corpus = replicated_home(work, args.copies)
        print("\n".join(speed_part(corpus, "UTC", f"real-home-a x {args.copies} hubs")), "\n")
        falls = SISFALL / "falls.csv"
        if falls.exists():
            # one accel window (1 s at 50 Hz) per line, 462 wearables one after another
            print("\n".join(speed_part(falls, "UTC", "sisfall-dev accel windows (falls.csv)")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
