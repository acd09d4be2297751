"""The device simulator: planned homes, residents' days, the event log, and hubs publishing live."""

from __future__ import annotations

import asyncio
import csv
import itertools
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
import pytest
from conftest import Broker
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim import (
    HomeSpec,
    Incident,
    generate,
    hub_events,
    plan_homes,
    resident_activity,
    run_live,
    write_device_csv,
    write_event_log,
)
from firmware_sim.__main__ import main
from firmware_sim.csvlog import EVENT_LOG_HEADER
from firmware_sim.link import encode_event
from firmware_sim.live import parse_broker_url
from telecare.protocol import (
    Channel,
    EventPayload,
    encode_ack,
    is_known,
    is_valid_hub_id,
    shard_of,
    topic_for,
)

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START = datetime(2026, 1, 5, tzinfo=UTC)  # winter: London local time is UTC
DAY_S = 86400.0
TOPIC = re.compile(r"^telecare/v1/([0-9a-f]{2})/([A-Za-z0-9_-]+)/(alarm|event|status)$")


def full_homes(n: int, *, seed: int = 7, heartbeat_s: int = 60) -> list[HomeSpec]:
    """Return the first n planned homes that have the full kit (pendant, PIRs...)."""
    homes = plan_homes(10 * n, seed=seed, heartbeat_s=heartbeat_s)
    return [h for h in homes if len(h.devices) > 3][:n]


def read_log(path: Path) -> list[dict[str, str]]:
    """Read an event-log CSV into rows keyed by column."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_plan_homes_gives_opaque_stable_ids_and_some_sparse_homes() -> None:
    """Hub ids are H-0001... (no names), stable in n and seed, and some homes are sparse."""
    homes = plan_homes(50, seed=1)
    assert [h.hub_id for h in homes[:3]] == ["H-0001", "H-0002", "H-0003"]
    assert all(is_valid_hub_id(h.hub_id) and re.fullmatch(r"H-\d{4}", h.hub_id) for h in homes)
    assert plan_homes(5, seed=1) == homes[:5]
    kinds = Counter(tuple(sorted(d.type for d in h.devices)) for h in homes)
    assert kinds[("door", "usage", "usage")] > 0
    assert any("pendant" in kit and "motion" in kit for kit in kinds)


def test_same_seed_gives_the_same_event_log(tmp_path: Path) -> None:
    """Two runs with one seed write identical files; another seed writes another file."""
    homes = plan_homes(3, seed=5)
    paths = [tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        write_event_log(generate(homes, 2, seed, START), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


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
    """Each event's type/event is known, its device is fitted, and its payload decodes."""
    homes = plan_homes(10, seed=3)
    kits = {h.hub_id: {d.device_id: d for d in h.devices} for h in homes}
    for seq, event in enumerate(generate(homes, 2, 3, START)):
        assert is_known(event.type, event.event), event
        if event.device_id != "hub":
            device = kits[event.hub_id][event.device_id]
            assert (device.type, device.location) == (event.type, event.location)
        payload = msgspec.json.decode(encode_event(event, seq=seq), type=EventPayload)
        assert (payload.hub, payload.seq, payload.type) == (event.hub_id, seq, event.type)


def test_device_csv_registers_every_device_the_event_log_mentions(tmp_path: Path) -> None:
    """`hub_id,device_id,type,location` rows cover every (hub, device) in the generated log."""
    homes = plan_homes(5, seed=4)
    write_device_csv(homes, tmp_path / "devices.csv")
    write_event_log(generate(homes, 1, 4, START), tmp_path / "log.csv")
    registered = {(r["hub_id"], r["device_id"]): r for r in read_log(tmp_path / "devices.csv")}
    assert (tmp_path / "devices.csv").read_text().startswith("hub_id,device_id,type,location\n")
    for row in read_log(tmp_path / "log.csv"):
        if row["device_id"] != "hub":
            device = registered[(row["hub_id"], row["device_id"])]
            assert (device["type"], device["location"]) == (row["type"], row["location"])


def test_devices_report_slowly_draining_batteries_now_and_then() -> None:
    """Each device sends its level every six hours or more; it only falls, bar a new battery."""
    home = full_homes(1)[0]
    start = START.timestamp()
    reports: dict[str, list[tuple[float, float]]] = {}
    for event in hub_events(home, seed=6, start=start, until=start + 7 * DAY_S):
        if event.battery is not None:
            reports.setdefault(event.device_id, []).append((event.at, event.battery))
    assert "hub" not in reports and len(reports) >= 8
    for device_id, levels in reports.items():
        for (at, level), (next_at, next_level) in itertools.pairwise(levels):
            assert next_at - at >= 6 * 3600
            drop = level - next_level
            assert 0 <= drop < 0.01 or next_level - level > 0.5, (device_id, level, next_level)
        assert all(0.0 <= level <= 1.0 for _, level in levels)


def test_night_time_activity_is_far_below_daytime_across_ten_homes_for_a_week() -> None:
    """Hours 01-05 see under a fifth of 09-21's activity per hour: a few toilet visits."""
    homes = plan_homes(10, seed=8)
    start = START.timestamp()
    per_hour: Counter[int] = Counter()
    night_flushes = 0
    for home in homes:
        for a in resident_activity(home, seed=8, start=start, until=start + 7 * DAY_S):
            hour = datetime.fromtimestamp(a.at, UTC).hour
            per_hour[hour] += 1
            night_flushes += 1 <= hour < 5 and a.device_id == "toilet-flush"
    night_rate = sum(per_hour[h] for h in range(1, 5)) / 4
    day_rate = sum(per_hour[h] for h in range(9, 21)) / 12
    assert 0 < night_rate < 0.2 * day_rate
    assert 0 < night_flushes / (len(homes) * 7) < 1.5


def test_a_resident_who_goes_out_leaves_the_home_quiet_until_the_door_opens_again() -> None:
    """Doors alternate leave/return, and nothing but the door is seen while the resident is out."""
    outings = 0
    start = START.timestamp()
    for home in full_homes(5):
        door_events = 0
        for a in resident_activity(home, seed=9, start=start, until=start + 7 * DAY_S):
            if a.type == "door":
                expected = "open" if door_events % 2 == 0 else "closed"
                assert a.event == expected
                door_events += 1
                outings += door_events % 4 == 2
            else:
                assert door_events % 4 != 2, f"{home.hub_id} active while out at {a}"
    assert outings > 0


def test_cli_generate_writes_the_log_and_an_empty_truth_file(tmp_path: Path) -> None:
    """`generate --truth` writes the event log and the (for now empty) ground-truth file."""
    out, truth = tmp_path / "log.csv", tmp_path / "truth.jsonl"
    argv = ["generate", "--homes", "2", "--days", "1", "--seed", "1", "--out", str(out)]
    assert main([*argv, "--truth", str(truth)]) == 0
    assert len(read_log(out)) > 2 * 1440
    assert truth.exists() and truth.read_bytes() == b""
    assert main(["devices", "--homes", "2", "--seed", "1", "--out", str(tmp_path / "d.csv")]) == 0
    assert parse_broker_url("mqtt://127.0.0.1:18830") == ("127.0.0.1", 18830)


# --- live, against a mosquitto of our own ----------------------------------------------------

@pytest.fixture
def broker_url(broker: Broker) -> str:
    """A private mosquitto of the test's own (conftest), as a URL."""
    return broker.url


@dataclass(frozen=True)
class Received:
    """One message as the test's subscriber got it."""

    topic: str
    payload: bytes
    retain: bool
    at: float

    @property
    def hub_id(self) -> str:
        """The hub named in the topic."""
        return self.topic.split("/")[3]

    @property
    def channel(self) -> str:
        """The topic's channel."""
        return self.topic.rsplit("/", 1)[1]

    def event(self) -> EventPayload:
        """Decode the payload as a protocol event."""
        return msgspec.json.decode(self.payload, type=EventPayload)


class Subscriber:
    """A paho client that hands every message to the test's event loop."""

    def __init__(self, url: str) -> None:
        self.messages: list[Received] = []
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._url = parse_broker_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe("telecare/v1/+/+/#", qos=1)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_subscribe(self, *_: object) -> None:
        # paho's network thread: hand over to the loop's thread.
        self._loop.call_soon_threadsafe(self._subscribed.set)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        # paho's network thread: hand the message to the loop's thread.
        got = Received(msg.topic, bytes(msg.payload), msg.retain, time.monotonic())
        self._loop.call_soon_threadsafe(self._add, got)

    def _add(self, got: Received) -> None:
        self.messages.append(got)
        self._changed.set()

    async def start(self) -> None:
        """Connect and wait until the subscription is in place."""
        self.client.connect_async(*self._url)
        self.client.loop_start()
        await asyncio.wait_for(self._subscribed.wait(), 10.0)

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    async def wait_for(
        self, condition: Callable[[list[Received]], bool], *, within_s: float = 10.0
    ) -> None:
        """Wait until condition(messages) holds, failing after within_s seconds."""
        async with asyncio.timeout(within_s):
            while not condition(self.messages):
                self._changed.clear()
                await self._changed.wait()

    def where(self, hub_id: str, channel: str, after: float = 0.0) -> list[Received]:
        """The messages from one hub on one channel received after a monotonic time."""
        return [
            m for m in self.messages if m.hub_id == hub_id and m.channel == channel and m.at > after
        ]


def heartbeats(messages: list[Received]) -> list[Received]:
    """The heartbeats among messages."""
    return [m for m in messages if m.channel == "event" and m.event().event == "heartbeat"]


async def test_live_hub_is_online_beats_and_retransmits_a_press_with_one_seq_until_acked(
    broker_url: str,
) -> None:
    """Retained online, heartbeats, a press on `alarm` repeated with its seq, silent once acked."""
    home = full_homes(1)[0]
    hub, retransmit_s = home.hub_id, 0.25
    stop = asyncio.Event()
    sent: list[str] = []
    press = Incident(hub, "pendant_press", at_s=300.0)  # one second in, at speed 300
    sub = Subscriber(broker_url)
    await sub.start()
    try:
        async with asyncio.TaskGroup() as tg:
            sim = tg.create_task(
                run_live(
                    broker_url,
                    [home],
                    incidents=[press],
                    speed=300.0,
                    seed=1,
                    retransmit_s=retransmit_s,
                    stop=stop,
                    on_publish=lambda topic, _: sent.append(topic),
                )
            )
            await sub.wait_for(lambda _: bool(sub.where(hub, "status")))
            # The broker has stored it once our first subscriber has it: a newcomer gets it
            # retained.
            late = Subscriber(broker_url)
            await late.start()
            await late.wait_for(lambda _: bool(late.where(hub, "status")))
            late.stop()
            status = late.where(hub, "status")[0]
            assert (status.payload, status.retain) == (b"online", True)

            await sub.wait_for(lambda _: len(sub.where(hub, "alarm")) >= 3)
            assert len(heartbeats(sub.where(hub, "event"))) >= 2
            alarms = [m.event() for m in sub.where(hub, "alarm")]
            assert {(a.seq, a.ts, a.device, a.type, a.event) for a in alarms} == {
                (alarms[0].seq, alarms[0].ts, "pendant", "pendant", "press")
            }

            sub.client.publish(topic_for(hub, Channel.ACK), encode_ack(alarms[0].seq), qos=1)
            acked_at = time.monotonic()
            # Long enough for four more retransmissions had the ack not stopped them.
            await sub.wait_for(
                lambda _: bool(heartbeats(sub.where(hub, "event", acked_at + 4 * retransmit_s)))
            )
            assert len(sub.where(hub, "alarm", acked_at)) <= 1  # at most one already in flight
            stop.set()
            stats = await sim
        await sub.wait_for(lambda _: sub.where(hub, "status")[-1].payload == b"offline")
    finally:
        sub.stop()

    copies = len(sub.where(hub, "alarm"))
    assert stats.published["alarm"] == copies == sent.count(topic_for(hub, Channel.ALARM))
    assert stats.retransmissions == copies - 1
    assert stats.acks_received == 1
    # Retransmissions repeat an old seq; every new message takes the next one, none skipped.
    seqs = [m.event().seq for m in sub.messages if m.channel in ("event", "alarm")]
    first_seen = list(dict.fromkeys(seqs))
    assert first_seen == list(range(stats.next_seq[hub]))
    for m in (m for m in sub.messages if m.channel != "ack"):  # our own ack comes back too
        match = TOPIC.fullmatch(m.topic)
        assert match is not None, m.topic
        shard, hub_id, channel = match.groups()
        assert shard == shard_of(hub_id)
        if channel != "status":
            event = m.event()
            assert event.hub == hub_id and is_known(event.type, event.event)


async def test_offline_hub_drops_so_its_will_fires_while_a_silent_hub_stays_online(
    broker_url: str,
) -> None:
    """hub_offline: will fires, then nothing; hub_silent: no will, nothing; the rest go on."""
    gone, quiet, well = full_homes(3)
    sub = Subscriber(broker_url)
    await sub.start()
    stop = asyncio.Event()
    faults = [
        Incident(gone.hub_id, "hub_offline", 120.0),
        Incident(quiet.hub_id, "hub_silent", 120.0),
    ]
    try:
        async with asyncio.TaskGroup() as tg:
            sim = tg.create_task(
                run_live(
                    broker_url,
                    [gone, quiet, well],
                    incidents=faults,
                    speed=300.0,
                    seed=2,
                    stop=stop,
                )
            )
            await sub.wait_for(
                lambda _: b"offline" in [m.payload for m in sub.where(gone.hub_id, "status")]
            )
            will_at = time.monotonic()
            await sub.wait_for(
                lambda _: len(heartbeats(sub.where(well.hub_id, "event", will_at))) >= 5
            )
            # Allow for messages published just before the faults and still in flight.
            assert not sub.where(gone.hub_id, "event", will_at + 0.2)
            assert not sub.where(quiet.hub_id, "event", will_at + 0.2)
            assert [m.payload for m in sub.where(quiet.hub_id, "status")] == [b"online"]
            stop.set()
            stats = await sim
        await sub.wait_for(lambda _: sub.where(quiet.hub_id, "status")[-1].payload == b"offline")
    finally:
        sub.stop()
    assert stats.acks_received == 0 and stats.retransmissions == 0
    for hub_id in (gone.hub_id, quiet.hub_id):
        assert heartbeats(sub.where(hub_id, "event")), f"{hub_id} was heard before its fault"
