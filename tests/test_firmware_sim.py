"""The simulator's homes, days and event log, as plain data (no broker)."""

from __future__ import annotations

import csv
import itertools
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from firmware_sim import (
    HomeSpec,
    generate,
    hub_events,
    plan_homes,
    read_event_log,
    read_truth,
    resident_activity,
    write_device_csv,
    write_event_log,
)
from firmware_sim.__main__ import main
from firmware_sim.csvlog import EVENT_LOG_HEADER
from firmware_sim.day import OUT
from firmware_sim.hub import HubStream
from firmware_sim.incidents import IncidentKind
from firmware_sim.kits import code
from firmware_sim.link import HubTopics, encode_event
from firmware_sim.live import parse_broker_url
from firmware_sim.timefmt import parse_ts
from telecare.protocol import EventPayload, is_known, is_valid_hub_id

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday in winter: London time is UTC
DAY_S = 86400.0


def full_homes(n: int, *, seed: int = 7, heartbeat_s: int = 60) -> list[HomeSpec]:
    """Return the first n planned homes that have the standard kit (pendant, PIRs, bed pad)."""
    homes = plan_homes(20 * n, seed=seed, heartbeat_s=heartbeat_s)
    return [h for h in homes if h.kit == "standard"][:n]


def read_log(path: Path) -> list[dict[str, str]]:
    """Read a CSV into rows keyed by column."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_plan_homes_gives_opaque_stable_ids_sparse_and_rich_kits_and_working_residents() -> None:
    """Hub ids are H-0001... (no names), stable in n and seed; kits and residents vary."""
    homes = plan_homes(200, seed=1)
    assert [h.hub_id for h in homes[:3]] == ["H-0001", "H-0002", "H-0003"]
    assert all(is_valid_hub_id(h.hub_id) and re.fullmatch(r"H-\d{4}", h.hub_id) for h in homes)
    assert plan_homes(5, seed=1) == homes[:5]
    sparse = [h for h in homes if h.kit == "sparse"]
    assert sparse and all({d.type for d in h.devices} <= {"door", "usage"} for h in sparse)
    assert any(h.kit == "rich" and {"chair", "bed", "pendant", "fall"} <= {d.type for d in
                                                                          h.devices}
               for h in homes)
    assert Counter(h.lifestyle for h in homes).keys() == {"retired", "frail", "worker"}
    only = plan_homes(10, seed=1, kits={"sparse": 1.0}, lifestyles={"worker": 1.0}, tz="Asia/Tokyo")
    assert {(h.kit, h.lifestyle, h.tz) for h in only} == {("sparse", "worker", "Asia/Tokyo")}


def test_same_seed_gives_the_same_event_log_and_truth(tmp_path: Path) -> None:
    """Two runs with one seed write identical files; another seed writes another file."""
    homes = plan_homes(4, seed=5)
    logs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        truths: list[object] = []
        path = tmp_path / f"{name}.csv"
        write_event_log(generate(homes, 3, seed, START, incident_rate=7.0,
                                 truths=truths), path)  # type: ignore[arg-type]
        logs.append((path.read_bytes(), sorted(map(repr, truths))))
    assert logs[0] == logs[1]
    assert logs[0][0] != logs[2][0]
    assert logs[0][1], "an incident a day per home must show in three days"


def test_event_log_has_the_protocol_header_utc_times_in_order_and_heartbeats(
    tmp_path: Path,
) -> None:
    """The log is `ts,hub_id,...` with RFC 3339 UTC times, sorted, and hubs beat every 60 s."""
    homes = plan_homes(3, seed=2)
    path = tmp_path / "log.csv"
    write_event_log(generate(homes, 1, 2, START), path)
    assert path.read_text().splitlines()[0] == ",".join(EVENT_LOG_HEADER)
    rows = read_log(path)
    stamps = [r["ts"] for r in rows]
    assert all(re.fullmatch(r"2026-01-0[56]T\d\d:\d\d:\d\dZ", ts) for ts in stamps)
    assert stamps == sorted(stamps)
    beats = Counter(r["hub_id"] for r in rows if (r["type"], r["event"]) == ("hub", "heartbeat"))
    assert beats == {h.hub_id: 1440 for h in homes}


def test_every_generated_event_is_valid_against_the_protocol() -> None:
    """Each event's type/event is known, its device is fitted, and both payloads decode alike."""
    homes = plan_homes(10, seed=3)
    kits = {h.hub_id: {d.device_id: d for d in h.devices} for h in homes}
    topics = {h.hub_id: HubTopics(h.hub_id) for h in homes}
    for seq, event in enumerate(generate(homes, 2, 3, START, incident_rate=3.5)):
        assert is_known(event.type, event.event), event
        if event.device_id != "hub":
            device = kits[event.hub_id][event.device_id]
            assert (device.type, device.location) == (event.type, event.location)
        payload = msgspec.json.decode(encode_event(event, seq=seq), type=EventPayload)
        assert (payload.hub, payload.seq, payload.type) == (event.hub_id, seq, event.type)
        value = event.value if isinstance(event.value, float) else None
        fast = topics[event.hub_id].payload(seq, payload.ts, code(event.device_id, event.event),
                                            value)
        assert msgspec.json.decode(fast, type=EventPayload) == payload


def test_device_csv_registers_every_device_the_event_log_mentions(tmp_path: Path) -> None:
    """`hub_id,device_id,type,location` rows cover every (hub, device) in the generated log."""
    homes = plan_homes(8, seed=4)
    write_device_csv(homes, tmp_path / "devices.csv")
    write_event_log(generate(homes, 2, 4, START, incident_rate=3.5), tmp_path / "log.csv")
    registered = {(r["hub_id"], r["device_id"]): r for r in read_log(tmp_path / "devices.csv")}
    assert (tmp_path / "devices.csv").read_text().startswith("hub_id,device_id,type,location\n")
    for row in read_log(tmp_path / "log.csv"):
        if row["device_id"] != "hub":
            device = registered[(row["hub_id"], row["device_id"])]
            assert (device["type"], device["location"]) == (row["type"], row["location"])


def test_devices_report_slowly_draining_batteries_once_a_day_as_battery_events() -> None:
    """Each device sends a `battery` event daily; its level only falls, bar a new battery."""
    home = full_homes(1)[0]
    start = START.timestamp()
    reports: dict[str, list[tuple[float, float]]] = {}
    for event in hub_events(home, seed=6, start=start, until=start + 14 * DAY_S):
        if event.event == "battery":
            assert isinstance(event.value, float)
            reports.setdefault(event.device_id, []).append((event.at, event.value))
    assert set(reports) == {d.device_id for d in home.devices}
    for device_id, levels in reports.items():
        assert len(levels) == 14
        for (at, level), (next_at, next_level) in itertools.pairwise(levels):
            assert abs(next_at - at - DAY_S) < 1.0
            drop = level - next_level
            assert 0 <= drop < 0.01 or next_level - level > 0.5, (device_id, level, next_level)
        assert all(0.2 < level <= 1.0 for _, level in levels)


def test_night_time_activity_is_far_below_daytime_across_ten_homes_for_a_week() -> None:
    """Hours 01-05 see under a fifth of 09-21's activity per hour: a few toilet visits."""
    homes = plan_homes(10, seed=8)
    start = START.timestamp()
    per_hour: Counter[int] = Counter()
    for home in homes:
        for a in resident_activity(home, seed=8, start=start, until=start + 7 * DAY_S):
            per_hour[datetime.fromtimestamp(a.at, UTC).hour] += 1
    night_rate = sum(per_hour[h] for h in range(1, 5)) / 4
    day_rate = sum(per_hour[h] for h in range(9, 21)) / 12
    assert 0 < night_rate < 0.2 * day_rate


def test_a_resident_who_goes_out_leaves_the_home_quiet_until_the_front_door_opens_again() -> None:
    """Each away period starts and ends with the front door; nothing else is seen meanwhile."""
    start = START.timestamp()
    outings = 0
    for home in full_homes(5):
        stream = HubStream(home, seed=9, start=start, until=start + 7 * DAY_S, keep_segments=True)
        events = list(stream.events())
        assert stream.segments is not None
        for a, b, state in stream.segments:
            if state != OUT or b >= start + 7 * DAY_S:
                continue
            outings += 1
            door = [(e.at, e.event) for e in events if e.device_id == "door-front" and
                    a <= e.at <= b]
            assert door[0] == (a, "open") and door[-1] == (b, "closed"), door
            inside = [e for e in events if a < e.at < b and e.device_id not in ("hub",
                                                                                 "door-front")]
            assert all(e.event == "battery" for e in inside), inside[:3]
    assert outings > 5


def test_residents_keep_their_local_hours_in_any_time_zone_and_the_log_stays_utc(
    tmp_path: Path,
) -> None:
    """With --tz Asia/Tokyo, beds are left at local breakfast time; ts are still written in Z."""
    out = tmp_path / "tokyo.csv"
    assert main(["generate", "--homes", "6", "--days", "2", "--seed", "4", "--tz", "Asia/Tokyo",
                 "--kits", "standard", "--incident-rate", "0", "--out", str(out)]) == 0
    rows = list(read_event_log(out))
    assert all(r.endswith("Z") for r in (x["ts"] for x in read_log(out)))
    risings = [r.at for r in rows if (r.device_id, r.event) == ("bed-pad", "vacant")]
    local_hours = Counter((datetime.fromtimestamp(at, UTC).hour + 9) % 24 for at in risings)
    assert risings and sum(local_hours[h] for h in range(5, 12)) > 0.5 * len(risings)


def test_cli_generate_writes_the_log_devices_and_the_truth_of_injected_incidents(
    tmp_path: Path,
) -> None:
    """`generate --truth --devices` writes all three; `--incident-rate 0` injects nothing."""
    out, truth, devices = tmp_path / "log.csv", tmp_path / "truth.jsonl", tmp_path / "d.csv"
    argv = ["generate", "--homes", "20", "--days", "7", "--seed", "1", "--out", str(out),
            "--devices", str(devices)]
    assert main([*argv, "--truth", str(truth), "--incident-rate", "2"]) == 0
    assert len(read_log(out)) > 20 * 7 * 1440
    assert {r["hub_id"] for r in read_log(devices)} == {f"H-{k:04d}" for k in range(1, 21)}
    records = read_truth(truth)
    assert records, "two incidents per home-week must give some in 20 home-weeks"
    kinds = {k.value for k in IncidentKind}
    for line in truth.read_bytes().splitlines():
        record = msgspec.json.decode(line)
        assert set(record) == {"hub_id", "type", "start", "end", "params"}
        assert record["type"] in kinds and isinstance(record["params"], dict)
        parse_ts(record["start"])
    assert [(r.start, r.hub_id) for r in records] == sorted((r.start, r.hub_id) for r in records)
    assert main([*argv, "--truth", str(truth), "--incident-rate", "0"]) == 0
    assert truth.read_bytes() == b""
    assert main(["devices", "--homes", "2", "--seed", "1", "--out", str(devices)]) == 0
    assert parse_broker_url("mqtt://127.0.0.1:18830") == ("127.0.0.1", 18830)
