"""Simulated hubs live over MQTT, against a Mosquitto of the test's own."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mqtt5
import msgspec
import paho.mqtt.client as mqtt
import pytest
from conftest import Broker
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim import (
    FleetOptions,
    HomeSpec,
    Incident,
    plan_homes,
    read_truth,
    run_fleet,
    run_live,
)
from firmware_sim.__main__ import main
from firmware_sim.live import parse_broker_url
from firmware_sim.network import NetworkProfile
from firmware_sim.wire import publish_packet
from telecare.broker import EmbeddedBroker
from telecare.protocol import (
    Channel,
    EventPayload,
    encode_ack,
    is_known,
    shard_of,
    topic_for,
)

TOPIC = re.compile(r"^telecare/v1/([0-9a-f]{2})/([A-Za-z0-9_-]+)/(alarm|event|status)$")
FIXED_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


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


def at_least(n: int) -> Callable[[list[Received]], bool]:
    """A condition on the messages: n of them or more."""
    return lambda messages: len(messages) >= n


def standard_homes(n: int, *, seed: int = 7) -> list[HomeSpec]:
    """The first n planned homes with the standard kit (pendant, fall detector, PIRs)."""
    return [h for h in plan_homes(20 * n, seed=seed) if h.kit == "standard"][:n]


@pytest.fixture
def broker_url(broker: Broker) -> str:
    """A private mosquitto of the test's own (conftest), as a URL."""
    return broker.url


def seqs_by_hub(messages: list[Received]) -> dict[str, list[int]]:
    """Each hub's event and alarm seqs in arrival order."""
    out: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        if m.channel in ("event", "alarm"):
            out[m.hub_id].append(m.event().seq)
    return out


def test_a_publish_packet_is_what_the_mqtt5_codec_reads() -> None:
    """The hand-made PUBLISH decodes to the same topic, payload, id, QoS and flags."""
    for size in (10, 200, 20_000):
        packet = publish_packet(b"telecare/v1/ab/H-0001/event", b"x" * size, 513, retain=True)
        decoded, used = mqtt5.read(memoryview(packet))
        assert isinstance(decoded, mqtt5.PublishPacket) and used == len(packet)
        assert (decoded.topic, decoded.payload, decoded.packet_id, decoded.qos, decoded.retain) == (
            "telecare/v1/ab/H-0001/event", b"x" * size, 513, mqtt5.QoS.AT_LEAST_ONCE, True)


async def test_live_hub_is_online_beats_and_retransmits_a_press_with_one_seq_until_acked(
    broker_url: str,
) -> None:
    """Retained online, heartbeats, a press on `alarm` repeated with its seq, silent once acked."""
    home = standard_homes(1)[0]
    hub, retransmit_s = home.hub_id, 0.25
    stop = asyncio.Event()
    sent: list[str] = []
    press = Incident(hub, "pendant_press", at_s=300.0)  # one second in, at speed 300
    sub = Subscriber(broker_url)
    await sub.start()
    try:
        async with asyncio.TaskGroup() as tg:
            sim = tg.create_task(run_live(
                broker_url, [home], incidents=[press], speed=300.0, seed=1,
                retransmit_s=retransmit_s, stop=stop,
                on_publish=lambda topic, _: sent.append(topic),
            ))
            await sub.wait_for(lambda _: bool(sub.where(hub, "status")))
            # Our first subscriber has it, so the broker has stored it: a newcomer gets it
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
    first_seen = list(dict.fromkeys(seqs_by_hub(sub.messages)[hub]))
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
    gone, quiet, well = standard_homes(3)
    sub = Subscriber(broker_url)
    await sub.start()
    stop = asyncio.Event()
    faults = [
        Incident(gone.hub_id, "hub_offline", 120.0),
        Incident(quiet.hub_id, "hub_silent", 120.0),
    ]
    try:
        async with asyncio.TaskGroup() as tg:
            sim = tg.create_task(run_live(broker_url, [gone, quiet, well], incidents=faults,
                                          speed=300.0, seed=2, stop=stop))
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


async def test_a_hub_back_online_sends_what_it_held_in_a_burst_and_its_press_until_acked(
    broker_url: str,
) -> None:
    """Offline for 15 simulated minutes with a press inside: will, then online, then the held
    events with their device times, the press among them, repeated until acknowledged."""
    home = standard_homes(1, seed=4)[0]
    hub = home.hub_id
    incidents = [Incident(hub, "hub_offline", 120.0, 900.0), Incident(hub, "pendant_press", 400.0)]
    options = FleetOptions(seed=4, speed=300.0, start=FIXED_START, until_s=1500.0,
                           retransmit_s=0.2)
    sub = Subscriber(broker_url)
    await sub.start()
    try:
        async with asyncio.TaskGroup() as tg:
            sim = tg.create_task(run_fleet(broker_url, [home], options, incidents=incidents))
            await sub.wait_for(lambda _: len(sub.where(hub, "alarm")) >= 2)
            press = sub.where(hub, "alarm")[0].event()
            sub.client.publish(topic_for(hub, Channel.ACK), encode_ack(press.seq), qos=1)
            stats = await sim
        await sub.wait_for(lambda _: sub.where(hub, "status")[-1].payload == b"offline")
    finally:
        sub.stop()
    statuses = [m.payload for m in sub.where(hub, "status")]
    assert statuses == [b"online", b"offline", b"online", b"offline"]
    back = sub.where(hub, "status")[2].at
    down_from, down_until = (FIXED_START + 120.0) * 1000, (FIXED_START + 1020.0) * 1000
    assert press.ts == (FIXED_START + 400.0) * 1000
    assert all(m.at >= back for m in sub.where(hub, "alarm"))
    held = [m.event() for m in sub.messages if m.hub_id == hub and m.channel in ("event", "alarm")
            and down_from <= m.event().ts < down_until]
    assert held and all(e.event != "heartbeat" for e in held)
    assert stats.acks_received == 1 and stats.retransmissions >= 1


async def test_a_pool_of_connections_carries_many_hubs_each_with_its_own_seq_and_status(
    broker_url: str,
) -> None:
    """300 hubs over three connections: every seq once and in order, online then offline each."""
    homes = plan_homes(300, seed=3)
    sub = Subscriber(broker_url)
    await sub.start()
    try:
        options = FleetOptions(seed=3, speed=None, start=FIXED_START, until_s=1800.0,
                               connections=3)
        stats = await run_fleet(broker_url, homes, options)
        total = sum(stats.published.values())
        await sub.wait_for(at_least(total), within_s=60.0)
    finally:
        sub.stop()
    assert stats.broker_acked == total
    assert stats.published["status"] == 600
    seqs = seqs_by_hub(sub.messages)
    for home in homes:
        assert seqs[home.hub_id] == list(range(stats.next_seq[home.hub_id]))
    beats = Counter(m.hub_id for m in heartbeats(sub.messages))
    assert set(beats.values()) == {30}
    status: dict[str, list[bytes]] = defaultdict(list)
    for m in sub.messages:
        if m.channel == "status":
            status[m.hub_id].append(m.payload)
    assert all(status[h.hub_id] == [b"online", b"offline"] for h in homes)


async def test_the_network_duplicates_reorders_and_delays_but_keeps_device_time(
    broker_url: str,
) -> None:
    """Seqs arrive twice and out of order; each event's device time is its clean-run time give
    or take the clock's drift."""
    homes = plan_homes(40, seed=5)
    faulty = NetworkProfile(duplicate=0.05, reorder=0.05, late=0.01, drift_ppm=100.0)
    runs = {}
    for name, network in (("clean", NetworkProfile()), ("faulty", faulty)):
        sub = Subscriber(broker_url)
        await sub.start()
        try:
            options = FleetOptions(seed=5, speed=None, start=FIXED_START, until_s=3600.0,
                                   connections=2, network=network)
            stats = await run_fleet(broker_url, homes, options)
            total = sum(stats.published.values())
            await sub.wait_for(at_least(total), within_s=60.0)
        finally:
            sub.stop()
        runs[name] = (stats, [m for m in sub.messages if m.channel in ("event", "alarm")])
    clean_stats, clean = runs["clean"]
    faulty_stats, noisy = runs["faulty"]
    assert faulty_stats.duplicates > 0 and faulty_stats.delayed > 0
    assert clean_stats.next_seq == faulty_stats.next_seq
    seqs = seqs_by_hub(noisy)
    assert any(len(s) != len(set(s)) for s in seqs.values())
    assert any(s != sorted(s) for s in seqs.values())
    assert all(sorted(set(s)) == list(range(clean_stats.next_seq[h])) for h, s in seqs.items())
    truth = {(m.hub_id, m.event().seq): m.event().ts for m in clean}
    skews = [abs(m.event().ts - truth[(m.hub_id, m.event().seq)]) for m in noisy]
    assert 0 < max(skews) <= 100e-6 * 86400 * 1000 + 200


async def test_pacing_never_runs_ahead_of_the_asked_speed_or_rate(broker_url: str) -> None:
    """At 400 events/s, 400 events take about a second; at speed 600, 5 minutes take 0.5 s."""
    homes = plan_homes(20, seed=6)
    by_rate = await run_fleet(broker_url, homes, FleetOptions(seed=6, rate=400.0, connections=1),
                              max_events=400)
    assert by_rate.events == 400 and by_rate.real_seconds >= 0.95
    by_speed = await run_fleet(broker_url, homes,
                               FleetOptions(seed=6, speed=600.0, until_s=300.0, connections=1))
    assert by_speed.real_seconds >= 0.45 and by_speed.sim_seconds <= 300.0


async def test_hubs_publish_to_the_demo_s_embedded_broker_too() -> None:
    """The demo's in-process broker takes the hubs' connections, wills and presses."""
    home = standard_homes(1, seed=8)[0]
    async with EmbeddedBroker() as broker:
        sub = Subscriber(broker.url)
        await sub.start()
        try:
            options = FleetOptions(seed=8, speed=600.0, until_s=600.0)
            stats = await run_fleet(broker.url, [home], options,
                                    incidents=[Incident(home.hub_id, "pendant_press", 120.0)])
            await sub.wait_for(lambda _: bool(sub.where(home.hub_id, "alarm")))
        finally:
            sub.stop()
    assert stats.broker_acked == sum(stats.published.values())
    assert sub.where(home.hub_id, "alarm")[0].event().event == "press"


async def test_cli_run_with_an_outage_takes_every_hub_offline_then_back_with_its_burst(
    broker_url: str, tmp_path: Path,
) -> None:
    """`run --outage 600:600`: each hub online, offline (its will's word), online, its held
    events after that with their device times, and the truth names each hub's outage."""
    truth = tmp_path / "truth.jsonl"
    start = datetime.fromtimestamp(FIXED_START, UTC).isoformat()
    argv = ["run", "--broker", broker_url, "--homes", "30", "--seed", "9", "--speed", "max",
            "--days", "0.05", "--connections", "2", "--outage", "600:600", "--network", "clean",
            "--incident-rate", "0", "--start", start, "--truth", str(truth)]
    sub = Subscriber(broker_url)
    await sub.start()
    try:
        assert await asyncio.to_thread(main, argv) == 0
        await sub.wait_for(lambda msgs: sum(m.channel == "status" for m in msgs) >= 120)
    finally:
        sub.stop()
    records = read_truth(truth)
    assert len(records) == 30 and {r.type for r in records} == {"hub_offline"}
    down, up = (FIXED_START + 600) * 1000, (FIXED_START + 1200) * 1000
    bursts = 0
    for hub_id in {r.hub_id for r in records}:
        statuses = sub.where(hub_id, "status")
        assert [m.payload for m in statuses] == [b"online", b"offline", b"online", b"offline"]
        held = [m for m in sub.where(hub_id, "event") if down <= m.event().ts < up]
        assert all(m.at >= statuses[2].at for m in held)
        assert not [m for m in held if m.event().event == "heartbeat"]
        bursts += bool(held)
    assert bursts > 10, "most residents do something in ten minutes"
