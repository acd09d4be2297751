"""Two recorded real homes with PIRs, bed and seat pads (Ordóñez et al., in the repository):
converted as a hub would report them, and backtested for false welfare alerts."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from firmware_sim.recorded import ordonez_home
from telecare.backtest import alert_json, run_backtest
from telecare.detect import Raise
from telecare.model import parse_rfc3339

ORDONEZ = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "ordonez"


def convert(home: str, work: Path) -> tuple[Path, Path]:
    return ordonez_home(ORDONEZ / f"Ordonez{home}_Sensors.txt",
                        ORDONEZ / f"Ordonez{home}_ADLs.txt", f"H-ordonez-{home.lower()}", work)


def welfare_alerts(events: Path) -> list[Raise]:
    found: list[Raise] = []
    run_backtest(events, tz="UTC", on_alert=found.append)
    return [a for a in found if a.priority <= 3]


def test_a_recording_becomes_an_event_log_a_hub_would_have_sent(tmp_path: Path) -> None:
    """Pads say occupied then vacant, the front door opens then closes, a PIR left on
    reports again every 2 min, heartbeats every minute; annotations name going out and
    going to bed as real-home-a does."""
    events, notes = convert("A", tmp_path)
    with events.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    first = [r for r in rows if r["device_id"] != "hub"][:1]
    assert first[0]["type"] == "bed" and first[0]["event"] == "occupied"
    door = [r["event"] for r in rows if r["device_id"] == "front-door"]
    assert door[:4] == ["open", "closed", "open", "closed"] and len(door) % 2 == 0
    beats = [parse_rfc3339(r["ts"]) for r in rows if r["device_id"] == "hub"]
    assert {b - a for a, b in itertools.pairwise(beats)} == {60_000}
    # the shower PIR on 2011-11-28 10:25:44-10:32:06 reports at its start and every 2 min
    shower = [r["ts"] for r in rows if r["device_id"] == "shower-pir-bathroom"
              and r["ts"].startswith("2011-11-28T10:")]
    assert shower == ["2011-11-28T10:25:44Z", "2011-11-28T10:27:44Z", "2011-11-28T10:29:44Z",
                      "2011-11-28T10:31:44Z"]
    with notes.open() as fh:
        activities = {r["activity"] for r in csv.DictReader(fh)}
    assert {"leave-house", "go-to-bed", "toileting"} <= activities


def test_afternoons_on_the_seat_raise_nothing_in_home_a(tmp_path: Path) -> None:
    """Home A's resident sits four to six hours on the living-room seat, where no PIR
    sees him: in 14 days no welfare alert (two while the home learned, before seats
    counted as the resident seated)."""
    events, _ = convert("A", tmp_path)
    assert welfare_alerts(events) == []


def test_home_b_raises_only_where_the_mat_lost_the_sleeper(tmp_path: Path) -> None:
    """Home B's resident watches television on the seat in the small hours after going to
    bed: no alert for that. What is left is the bed mat's vacant at 06:23 while he slept,
    with the bedroom doorway's PIR after it: the field's "out of bed at night" rule."""
    events, _ = convert("B", tmp_path)
    alerts = [alert_json(a) for a in welfare_alerts(events)]
    assert [(a["ts"], a["type"]) for a in alerts] == [("2012-11-22T07:10:49.000Z",
                                                        "inactivity")]
    assert "out of bed at night" in str(alerts[0]["reason"])
