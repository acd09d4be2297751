"""Recorded event logs replayed over MQTT: to a subscriber, and into the service."""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from pathlib import Path

from conftest import Broker, ServiceProcess, wait_until
from test_firmware_sim_live import Subscriber

from firmware_sim import read_event_log
from firmware_sim.__main__ import main
from firmware_sim.replay import replay
from telecare.store import SqliteStore


def write_rows(path: Path, rows: list[tuple[str, ...]], *, seq: bool = False) -> None:
    """Write an event-log CSV by hand (with a seq column if asked)."""
    header = ["ts", "hub_id", "device_id", "type", "event", "value", "location"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*header, "seq"] if seq else header)
        writer.writerows(rows)


async def test_replay_numbers_seq_per_hub_keeps_device_time_and_routes_alarms(
    broker: Broker, tmp_path: Path,
) -> None:
    """Rows without seq are numbered 0.. per hub; ts is the row's; a press goes on `alarm`."""
    log = tmp_path / "log.csv"
    write_rows(log, [
        ("2008-02-25T09:33:41Z", "H-a", "front-door", "door", "open", "", "front"),
        ("2008-02-25T09:33:42Z", "H-b", "hub", "hub", "heartbeat", "", ""),
        ("2008-02-25T09:36:43Z", "H-a", "pendant", "pendant", "press", "", ""),
        ("2008-02-25T09:37:00Z", "H-a", "pir-hall", "motion", "battery", "0.42", "hall"),
        ("2008-02-25T09:38:00Z", "H-b", "hub", "hub", "heartbeat", "", ""),
    ])
    sub = Subscriber(broker.url)
    await sub.start()
    try:
        stats = await replay(log, broker.url, connections=2)
        await sub.wait_for(lambda msgs: len(msgs) >= 5)
    finally:
        sub.stop()
    assert stats.rows == 5 and stats.broker_acked == 5 and stats.per_hub == {"H-a": 3, "H-b": 2}
    got = [(m.hub_id, m.channel, m.event().seq, m.event().ts, m.event().value)
           for m in sub.messages]
    assert sorted(got) == sorted([
        ("H-a", "event", 0, 1203932021000, None),
        ("H-b", "event", 0, 1203932022000, None),
        ("H-a", "alarm", 1, 1203932203000, None),
        ("H-a", "event", 2, 1203932220000, 0.42),
        ("H-b", "event", 1, 1203932280000, None),
    ])


async def test_replay_keeps_a_log_s_own_seq_and_paces_itself_at_the_asked_speed(
    broker: Broker, tmp_path: Path,
) -> None:
    """A `seq` column is used as is; at speed 60, a minute of log takes a second or more."""
    log = tmp_path / "log.csv"
    write_rows(log, [
        ("2026-01-05T10:00:00Z", "H-s", "hub", "hub", "heartbeat", "", "", "41"),
        ("2026-01-05T10:00:30Z", "H-s", "hub", "hub", "heartbeat", "", "", "40"),
        ("2026-01-05T10:01:00Z", "H-s", "hub", "hub", "heartbeat", "", "", "42"),
    ], seq=True)
    sub = Subscriber(broker.url)
    await sub.start()
    try:
        started = time.monotonic()
        stats = await replay(log, broker.url, speed=60.0)
        took = time.monotonic() - started
        await sub.wait_for(lambda msgs: len(msgs) >= 3)
    finally:
        sub.stop()
    assert [m.event().seq for m in sub.messages] == [41, 40, 42]
    assert took >= 0.95 and stats.next_seq == {"H-s": 43}


def test_a_generated_log_replayed_into_the_service_is_stored_event_for_event(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    """3 homes x 1 day with incidents: devices imported, replayed at max speed, every row kept."""
    log, devices, truth = tmp_path / "log.csv", tmp_path / "devices.csv", tmp_path / "truth.jsonl"
    assert main(["generate", "--homes", "3", "--days", "1", "--seed", "12", "--incident-rate",
                 "7", "--kits", "standard=1,rich=1,sparse=1", "--out", str(log),
                 "--devices", str(devices), "--truth", str(truth)]) == 0
    service.cli("device", "import", str(devices))
    rows: Counter[str] = Counter(row.hub_id for row in read_event_log(log))
    assert len(rows) == 3
    broker_url = service.env["TELECARE_BROKER_URL"]
    assert main(["replay", str(log), "--broker", broker_url, "--speed", "max"]) == 0
    store = SqliteStore.open(Path(service.env["TELECARE_DATA_DIR"]) / "telecare.db")
    try:
        wait_until(lambda: all(store.count_events(h) == n for h, n in rows.items()), 60,
                   "every replayed row to be stored")
        stored: defaultdict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
        for hub_id in rows:
            for _, device, type_, event in store.events(hub_id):
                stored[hub_id][(device, type_, event)] += 1
        expected: defaultdict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
        for row in read_event_log(log):
            expected[row.hub_id][(row.device_id, row.type, row.event)] += 1
        assert stored == expected
        assert not [d for d in store.dead_letters() if d["reason"] != "clock_fault"]
    finally:
        store.close()
