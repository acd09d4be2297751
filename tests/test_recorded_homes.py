"""A recording in the Ordóñez et al. format (start, end, sensor, type, place; activities
beside it) becomes the event log a hub would have sent, and is backtested."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from firmware_sim.recorded import ordonez_home
from telecare.backtest import run_backtest
from telecare.detect import Raise
from telecare.model import parse_rfc3339

# the authors' layout: a header, a rule, tab-separated columns padded with extra tabs, CRLF
SENSORS = """Start time          \tEnd time            \tLocation\tType\t\tPlace\r
--------------------\t--------------------\t--------\t--------\t-----\r
2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tBed\t\t\tPressure\tBedroom\r
2011-11-28 10:21:24\t\t2011-11-28 10:21:31\t\tCabinet\t\tMagnetic\tBathroom\r
2011-11-28 10:23:02\t\t2011-11-28 10:23:36\t\tToilet\t\tFlush\t\tBathroom\r
2011-11-28 10:25:44\t\t2011-11-28 10:32:06\t\tShower\t\tPIR\t\t\tBathroom\r
2011-11-28 10:34:23\t\t2011-11-28 10:34:41\t\tFridge\t\tMagnetic\tKitchen\r
2011-11-28 11:00:01\t\t2011-11-28 16:10:00\t\tSeat\t\tPressure\tLiving\r
2011-11-28 16:11:31\t\t2011-11-28 16:11:35\t\tMaindoor\tMagnetic\tEntrance\r
2011-11-28 18:28:59\t\t2011-11-28 18:29:09\t\tMaindoor\tMagnetic\tEntrance\r
2011-11-28 18:30:00\t\t2011-11-28 18:30:04\t\tMicrowave\tElectric\tKitchen\r
"""
ADLS = """Start time          \tEnd time            \tActivity\t\r
--------------------\t--------------------\t--------\r
2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tSleeping\t\t\r
2011-11-28 10:21:24\t\t2011-11-28 10:23:36\t\tToileting\t\r
2011-11-28 11:00:01\t\t2011-11-28 16:10:00\t\tSpare_Time/TV\t\t\r
2011-11-28 16:11:31\t\t2011-11-28 18:29:09\t\tLeaving\t\r
"""


def convert(work: Path) -> tuple[Path, Path]:
    (work / "s.txt").write_bytes(SENSORS.encode())
    (work / "a.txt").write_bytes(ADLS.encode())
    return ordonez_home(work / "s.txt", work / "a.txt", "H-rec-1", work)


def test_a_recording_becomes_an_event_log_a_hub_would_have_sent(tmp_path: Path) -> None:
    """Pads say occupied then vacant, the front door opens then closes, a PIR left on
    reports again every 2 min, contacts and appliances are usage, heartbeats every
    minute; the annotations name going out and going to bed as real-home-a does."""
    events, notes = convert(tmp_path)
    with events.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    signs = [(r["ts"], r["device_id"], r["type"], r["event"], r["location"])
             for r in rows if r["device_id"] != "hub"]
    assert signs[:2] == [
        ("2011-11-28T02:27:59Z", "bed-pressure-bedroom", "bed", "occupied", "bedroom"),
        ("2011-11-28T10:18:11Z", "bed-pressure-bedroom", "bed", "vacant", "bedroom")]
    assert [s[0] for s in signs if s[1] == "shower-pir-bathroom"] == [
        "2011-11-28T10:25:44Z", "2011-11-28T10:27:44Z", "2011-11-28T10:29:44Z",
        "2011-11-28T10:31:44Z"]
    assert [s[3] for s in signs if s[1] == "front-door"] == ["open", "closed", "open", "closed"]
    assert {s[2] for s in signs if s[1] in ("fridge-magnetic-kitchen",
                                            "microwave-electric-kitchen",
                                            "toilet-flush-bathroom")} == {"usage"}
    beats = [parse_rfc3339(r["ts"]) for r in rows if r["device_id"] == "hub"]
    assert {b - a for a, b in itertools.pairwise(beats)} == {60_000}
    with notes.open() as fh:
        activities = [r["activity"] for r in csv.DictReader(fh)]
    assert activities == ["go-to-bed", "toileting", "spare_time/tv", "leave-house"]


def test_five_hours_on_the_seat_in_a_new_home_raise_nothing(tmp_path: Path) -> None:
    """The recording's resident sits from 11:00 to 16:10 with nothing else seen, then goes
    out: the backtest raises no welfare alert (the 4 h fixed timer would have, at 15:00)."""
    events, _ = convert(tmp_path)
    found: list[Raise] = []
    run_backtest(events, tz="UTC", on_alert=found.append)
    assert [a for a in found if a.priority <= 3] == []
