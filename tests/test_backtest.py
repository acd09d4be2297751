"""`telecare backtest`: the engine over an event-log CSV, streamed, in event time."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from telecare.backtest import BacktestError, alert_json, main, run_backtest
from telecare.detect import Raise
from telecare.model import HubSettings, rfc3339

HEADER = "ts,hub_id,device_id,type,event,value,location\n"
REAL_HOME_A = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-home-a"


def stamp(minute: int) -> str:
    return f"2026-03-02T{minute // 60:02d}:{minute % 60:02d}:00Z"


def write_log(path: Path, *, hubs: int = 3, silent_from: int | None = None) -> Path:
    """Hubs with heartbeats every minute 00:00-23:59; hub 0 presses at 08:00; hub 1 goes
    quiet inside after 09:00 (a collapse); hub 2's heartbeats stop at silent_from."""
    rows = []
    for minute in range(24 * 60):
        for h in range(hubs):
            if not (h == 2 and silent_from is not None and minute >= silent_from):
                rows.append(f"{stamp(minute)},H-{h},hub,hub,heartbeat,,\n")
            quiet = (h == 1 and minute > 9 * 60) or (
                h == 2 and silent_from is not None and minute >= silent_from
            )
            if minute % 30 == 7 and not quiet:
                rows.append(f"{stamp(minute)},H-{h},pir-1,motion,active,,lounge\n")
        if minute == 8 * 60:
            rows.append(f"{stamp(minute)},H-0,pendant-1,pendant,press,,\n")
    path.write_text(HEADER + "".join(rows))
    return path


def alerts_of(path: Path, **options: object) -> list[dict[str, object]]:
    found: list[Raise] = []
    run_backtest(path, tz="UTC", on_alert=found.append, **options)  # type: ignore[arg-type]
    return [alert_json(a) for a in found]


def test_backtest_prints_json_lines_with_the_contract_fields(tmp_path: Path) -> None:
    """ts (RFC 3339), hub_id, type, priority and a reason on every line."""
    out = io.StringIO()
    assert main(write_log(tmp_path / "log.csv"), as_json=True, tz="UTC", settings_path=None,
                out=out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"ts", "hub_id", "type", "priority", "reason"} <= set(lines[0])
    press = [a for a in lines if a["type"] == "pendant_press"]
    assert press == [{**press[0], "ts": "2026-03-02T08:00:00.000Z", "hub_id": "H-0",
                      "priority": 1}]


def test_a_collapse_in_the_log_is_raised_when_the_timer_expires(tmp_path: Path) -> None:
    """A timer alert's time is when it expired (09:00 + 4 h), not the last activity."""
    alerts = alerts_of(write_log(tmp_path / "log.csv"))
    inactivity = [a for a in alerts if a["type"] == "inactivity"]
    assert [(a["hub_id"], a["ts"], a["priority"]) for a in inactivity] == [
        ("H-1", "2026-03-02T12:37:00.000Z", 3)
    ]


def test_a_hub_that_falls_silent_in_the_log_is_flagged_as_it_would_be_live(
    tmp_path: Path,
) -> None:
    """Heartbeats stop at 10:00: hub_silent 150 s after the last one."""
    alerts = alerts_of(write_log(tmp_path / "log.csv", silent_from=600))
    silent = [a for a in alerts if a["type"] == "hub_silent"]
    assert [(a["hub_id"], a["ts"]) for a in silent] == [("H-2", "2026-03-02T10:01:30.000Z")]


def test_events_a_hub_held_through_an_outage_do_not_hide_the_outage(tmp_path: Path) -> None:
    """A log has device times: activity written inside an outage (held by the hub, sent
    after it) does not mean the hub was heard; its heartbeats stopping does."""
    log = write_log(tmp_path / "log.csv", silent_from=600)
    held = "".join(f"{stamp(m)},H-2,pir-1,motion,active,,lounge\n" for m in (603, 605))
    log.write_text(log.read_text() + held)
    alerts = alerts_of(log)
    silent = [a for a in alerts if a["type"] == "hub_silent"]
    assert [(a["hub_id"], a["ts"]) for a in silent] == [("H-2", "2026-03-02T10:01:30.000Z")]


def test_a_hub_with_no_heartbeat_in_the_log_is_not_judged_for_silence_and_is_named(
    tmp_path: Path,
) -> None:
    """A log outside the protocol (no heartbeats: a converted dataset) cannot show a hub's
    silence; its quiet spells are not raised as hub_silent, and the summary says which
    hub sent none. A hub whose heartbeats stop in the same log still is raised."""
    log = write_log(tmp_path / "log.csv", silent_from=600)
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(line for line in lines if not line.startswith(tuple(
        f"{stamp(m)},H-1,hub," for m in range(24 * 60)))))
    found: list[Raise] = []
    summary = run_backtest(log, tz="UTC", on_alert=found.append)
    silent = [(a.hub_id, a.type.value) for a in found if a.type.value == "hub_silent"]
    assert silent == [("H-2", "hub_silent")]
    assert summary.heartbeatless == ["H-1"]
    out = io.StringIO()
    assert main(log, as_json=False, tz="UTC", settings_path=None, out=out) == 0
    assert "1 hub(s) sent no heartbeat in this log (H-1)" in out.getvalue()


def with_lines(log: Path, odd: list[str], *, blank_after: int = 0) -> dict[str, int]:
    """Put the odd lines into the log in time order, with a blank line and a quoted value
    over two lines after the first `blank_after` rows; return each odd line's number."""
    header, *lines = log.read_text().splitlines(keepends=True)
    lines = sorted(lines + odd, key=lambda line: line[:20])
    if blank_after:
        two_lines = f'{lines[blank_after][:20]},H-0,hub,hub,test,"{{""a"":\n1}}",\n'
        lines[blank_after:blank_after] = ["\n", two_lines]
    text = header + "".join(lines)
    log.write_text(text)
    physical = text.split("\n")
    return {line: physical.index(line.rstrip("\n")) + 1 for line in odd}


def test_lines_the_live_service_would_dead_letter_are_left_out_counted_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A converted log that writes a PIR's "off" as an event, a sensor outside the protocol,
    a line with no device or a hub id the service would refuse: none of them is applied
    (H-1's collapse is still raised at 12:37; no hub '' appears), and the summary counts
    them by the live service's reasons, naming the first line of each in the file (a
    blank line and a value over two lines before them counted)."""
    log = write_log(tmp_path / "log.csv")
    odd = [f"{stamp(600)},H-1,pir-1,motion,inactive,,lounge\n",
           f"{stamp(610)},H-1,lux-1,light,level,300,lounge\n",
           f"{stamp(620)},H-1,,motion,active,,lounge\n",
           f"{stamp(630)},,pir-1,motion,active,,lounge\n",
           f"{stamp(640)},H 1,pir-1,motion,active,,lounge\n",
           f"{stamp(650)},H-1,pir-1,motion,inactive,,lounge\n"]
    number = with_lines(log, odd, blank_after=40)
    found: list[Raise] = []
    summary = run_backtest(log, tz="UTC", on_alert=found.append)
    inactivity = [(a.hub_id, rfc3339(a.at)) for a in found if a.type.value == "inactivity"]
    assert inactivity == [("H-1", "2026-03-02T12:37:00.000Z")]
    assert summary.hubs == 3
    assert dict(summary.not_used.counts) == {
        "unknown_event": 2, "unknown_type": 1, "unknown_device": 1, "bad_hub_id": 2}
    assert main(log, as_json=True, tz="UTC", settings_path=None, out=io.StringIO()) == 0
    note = capsys.readouterr().err
    assert "6 line(s) not used" in note
    assert f"unknown_event 2 (first: line {number[odd[0]]}: 'H-1' 'pir-1' 'motion'" in note
    assert f"unknown_type 1 (first: line {number[odd[1]]}: 'H-1' 'lux-1' 'light'" in note
    assert f"bad_hub_id 2 (first: line {number[odd[3]]}: '' 'pir-1'" in note


def test_an_alarm_with_no_device_id_is_still_raised(tmp_path: Path) -> None:
    """As live, where an alarm from a device the service does not know is raised."""
    log = write_log(tmp_path / "log.csv")
    with_lines(log, [f"{stamp(700)},H-2,,pendant,press,,\n"])
    alerts = alerts_of(log)
    assert [(a["hub_id"], a["ts"]) for a in alerts if a["type"] == "pendant_press"] == [
        ("H-0", "2026-03-02T08:00:00.000Z"), ("H-2", "2026-03-02T11:40:00.000Z")]


@pytest.mark.parametrize(("bad", "says"), [
    ("2026-03-02T20:00:00,H-0,pir-1,motion,active,,lounge\n", "is not an RFC 3339 time in UTC"),
    (",H-0,pir-1,motion,active,,lounge\n", "ts '' is not an RFC 3339 time"),
    ("2026-03-02T20:00:00Z,H-0,pir-1,motion\n", "4 columns where 7 are needed"),
])
def test_a_line_that_cannot_be_read_stops_the_backtest_and_is_named_by_its_number(
    tmp_path: Path, bad: str, says: str,
) -> None:
    """Deep in the file (past the first of many small blocks, after a blank line), by its
    line number."""
    log = write_log(tmp_path / "log.csv")
    header, *lines = log.read_text().splitlines(keepends=True)
    at = len(lines) * 5 // 6
    log.write_text(header + "".join(lines[:100]) + "\n" + "".join(lines[100:at]) + bad
                   + "".join(lines[at:]))
    with pytest.raises(BacktestError, match=f"line {at + 3}: .*{says}"):
        alerts_of(log, block_bytes=1 << 14)


def test_the_answer_does_not_depend_on_how_the_file_is_cut_into_blocks(tmp_path: Path) -> None:
    """Same alerts, in the same (time) order, with 64 KiB blocks as with one block."""
    log = write_log(tmp_path / "log.csv", silent_from=600)
    assert alerts_of(log, block_bytes=1 << 16) == alerts_of(log, block_bytes=64 << 20)


def test_per_home_settings_can_be_given_to_a_backtest(tmp_path: Path) -> None:
    """Inactivity switched off for every home raises none."""
    alerts = alerts_of(write_log(tmp_path / "log.csv"),
                       settings={"*": HubSettings(inactivity=False)})
    assert not [a for a in alerts if a["type"] == "inactivity"]


@pytest.mark.skipif(
    not REAL_HOME_A.exists() and os.environ.get("CI") != "true",
    reason="shared/data/real-home-a is not beside the checkout (required under CI)",
)
def test_the_recorded_real_home_raises_no_false_welfare_alert() -> None:
    """28 days of a sparse home, out at work on weekdays: no alert of priority 1-3."""
    alerts = alerts_of(REAL_HOME_A / "events.csv")
    assert [a for a in alerts if int(str(a["priority"])) <= 3] == []
