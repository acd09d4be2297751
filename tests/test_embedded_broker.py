"""Tests for the embedded MQTT 5 broker that `telecare demo` uses when Mosquitto is absent."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import mqtt5
import paho.mqtt.client as paho
import pytest
from mqtt5 import DisconnectReasonCode, QoS, RetainHandling, TopicFilter, Will
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from telecare.broker import EmbeddedBroker

TIMEOUT = 5.0
QOS1 = QoS.AT_LEAST_ONCE
T = TypeVar("T")


def _address(broker: EmbeddedBroker) -> tuple[str, int]:
    """Split the broker URL into host and port."""
    parts = urlsplit(broker.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def _get(q: queue.Queue[T]) -> T:
    """Wait for an item a paho callback thread puts on a queue."""
    return await asyncio.to_thread(q.get, True, TIMEOUT)


class RawClient:
    """A bare MQTT 5 client on the mqtt5 codec: sends exactly what a test says, acks nothing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._buf = b""

    @classmethod
    async def open(cls, broker: EmbeddedBroker) -> RawClient:
        """Open a TCP connection to the broker."""
        return cls(*await asyncio.open_connection(*_address(broker)))

    def send(self, *packets: Any) -> None:
        """Write packets (codec objects or raw bytes)."""
        for packet in packets:
            self._writer.write(packet if isinstance(packet, bytes) else packet.write())

    async def recv(self) -> mqtt5.Packet:
        """Return the next packet from the broker; EOFError once it closed the connection."""
        while True:
            try:
                packet, size = mqtt5.read(memoryview(self._buf))
            except IndexError:
                data = await asyncio.wait_for(self._reader.read(65536), TIMEOUT)
                if not data:
                    raise EOFError("connection closed by the broker") from None
                self._buf += data
            else:
                self._buf = self._buf[size:]
                return packet

    async def expect(self, kind: type[T]) -> T:
        """Return the next packet, asserting its type."""
        packet = await self.recv()
        assert isinstance(packet, kind), f"expected {kind.__name__}, got {packet!r}"
        return packet

    async def connect(self, client_id: str, **options: Any) -> mqtt5.ConnAckPacket:
        """Send CONNECT and return the CONNACK."""
        self.send(mqtt5.ConnectPacket(client_id, **options))
        connack = await self.expect(mqtt5.ConnAckPacket)
        assert connack.reason_code == mqtt5.ConnAckReasonCode.SUCCESS
        return connack

    async def subscribe(self, *filters: TopicFilter, packet_id: int = 1) -> list[int]:
        """Subscribe and return the SUBACK reason codes."""
        self.send(mqtt5.SubscribePacket(packet_id, list(filters)))
        suback = await self.expect(mqtt5.SubAckPacket)
        return [int(code) for code in suback.reason_codes]

    async def publish(self, topic: str, payload: bytes, packet_id: int, **options: Any) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK (it routes before acking)."""
        self.send(mqtt5.PublishPacket(topic, payload, qos=QOS1, packet_id=packet_id, **options))
        puback = await self.expect(mqtt5.PubAckPacket)
        assert puback.packet_id == packet_id

    async def ping(self) -> None:
        """Round-trip a PINGREQ: proves nothing else was waiting to be sent to this client."""
        self.send(mqtt5.PingReqPacket())
        await self.expect(mqtt5.PingRespPacket)

    async def until_closed(self) -> list[mqtt5.Packet]:
        """Read until the broker closes the connection; return what came before."""
        packets: list[mqtt5.Packet] = []
        try:
            while True:
                packets.append(await self.recv())
        except (EOFError, ConnectionResetError):
            return packets

    def drop(self) -> None:
        """Lose the socket abruptly, without DISCONNECT."""
        self._writer.transport.abort()


class PahoClient:
    """A paho-mqtt 2.x MQTT 5 client whose callbacks feed thread-safe queues."""

    def __init__(self, client_id: str) -> None:
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=client_id, protocol=paho.MQTTv5)
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self._connacks: queue.Queue[tuple[bool, int]] = queue.Queue()
        self._subacks: queue.Queue[list[int]] = queue.Queue()
        self.client.on_connect = lambda _c, _u, flags, rc, _p: self._connacks.put(
            (flags.session_present, rc.value))
        self.client.on_subscribe = lambda _c, _u, _mid, rcs, _p: self._subacks.put(
            [rc.value for rc in rcs])
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)

    async def connect(self, broker: EmbeddedBroker, *, clean_start: bool = True,
                      session_expiry: int = 0) -> bool:
        """Connect, wait for CONNACK and return its session-present flag."""
        props = Properties(PacketTypes.CONNECT)
        if session_expiry:
            props.SessionExpiryInterval = session_expiry
        host, port = _address(broker)
        await asyncio.to_thread(self.client.connect, host, port, 30,
                                clean_start=clean_start, properties=props)
        self.client.loop_start()
        session_present, reason = await _get(self._connacks)
        assert reason == 0
        return session_present

    async def subscribe(self, *patterns: str) -> list[int]:
        """Subscribe at QoS 1 and return the SUBACK reason codes."""
        self.client.subscribe([(p, SubscribeOptions(qos=1)) for p in patterns])
        return await _get(self._subacks)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the PUBACK."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        await asyncio.to_thread(info.wait_for_publish, TIMEOUT)
        assert info.is_published()

    async def topics_until(self, last: str) -> list[str]:
        """Collect received topics up to and including `last`."""
        topics: list[str] = []
        while not topics or topics[-1] != last:
            topics.append((await _get(self.messages)).topic)
        return topics

    async def stop(self) -> None:
        """Disconnect normally and stop the network thread."""
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)


@pytest.fixture
async def broker() -> AsyncIterator[EmbeddedBroker]:
    """Run a broker on a free port for one test."""
    async with EmbeddedBroker() as running:
        yield running


@pytest.fixture
async def raw(broker: EmbeddedBroker) -> AsyncIterator[Callable[[], Awaitable[RawClient]]]:
    """Open raw clients to the test's broker; drop any still open at the end."""
    made: list[RawClient] = []

    async def make() -> RawClient:
        made.append(await RawClient.open(broker))
        return made[-1]

    yield make
    for client in made:
        client.drop()


@pytest.fixture
async def pahos(broker: EmbeddedBroker) -> AsyncIterator[Callable[[str], PahoClient]]:
    """Make paho clients that are stopped before the broker is."""
    made: list[PahoClient] = []

    def make(client_id: str) -> PahoClient:
        made.append(PahoClient(client_id))
        return made[-1]

    yield make
    for client in made:
        await client.stop()


async def test_subscribers_get_one_copy_of_each_message_matching_their_wildcard_filters(
        broker: EmbeddedBroker, pahos: Callable[[str], PahoClient]) -> None:
    """`+` and `#` match as MQTT says, `$` topics escape leading wildcards, no duplicates."""
    kitchen, everything, system, hub = (pahos(n) for n in ("kitchen", "all", "sys", "hub"))
    for client in (kitchen, everything, system, hub):
        await client.connect(broker)
    assert await kitchen.subscribe("home/+/temp") == [1]
    assert await everything.subscribe("#", "home/+/temp") == [1, 1]
    assert await system.subscribe("$SYS/#") == [1]

    for topic in ("home/kitchen/temp", "home/kitchen/light", "$SYS/load", "garden/temp",
                  "home/end/temp"):
        await hub.publish(topic, b"21.5")

    assert await kitchen.topics_until("home/end/temp") == ["home/kitchen/temp", "home/end/temp"]
    assert await everything.topics_until("home/end/temp") == [
        "home/kitchen/temp", "home/kitchen/light", "garden/temp", "home/end/temp"]
    assert await system.topics_until("$SYS/load") == ["$SYS/load"]


async def test_qos1_messages_queued_for_an_offline_persistent_session_arrive_on_reconnect(
        broker: EmbeddedBroker, pahos: Callable[[str], PahoClient]) -> None:
    """A session with an expiry interval outlives DISCONNECT; clean_start=False gets its queue."""
    carer, hub = pahos("carer"), pahos("hub")
    await carer.connect(broker, session_expiry=60)
    await carer.subscribe("alerts/#")
    await carer.stop()
    await hub.connect(broker)
    for n in (1, 2, 3):
        await hub.publish(f"alerts/{n}", b"fall detected")

    carer_again = pahos("carer")
    assert await carer_again.connect(broker, clean_start=False, session_expiry=60) is True
    assert await carer_again.topics_until("alerts/3") == ["alerts/1", "alerts/2", "alerts/3"]


async def test_unacknowledged_message_is_resent_with_dup_flag_before_queued_ones_on_reconnect(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """receive_max bounds the window; after a drop the unacked message comes back first, DUP set."""
    worker, hub = await raw(), await raw()
    await worker.connect("worker", clean_start=True, session_expiry_interval=60, receive_max=1)
    assert await worker.subscribe(TopicFilter("alarms/#", max_qos=QOS1)) == [1]
    await hub.connect("hub")
    await hub.publish("alarms/1", b"first", packet_id=1)
    await hub.publish("alarms/2", b"second", packet_id=2)

    first = await worker.expect(mqtt5.PublishPacket)
    assert (first.payload, first.duplicate) == (b"first", False)
    await worker.ping()  # receive_max=1: the second one waits in the broker
    worker.drop()

    worker = await raw()  # reconnects with a wide window: the order is now the broker's choice
    assert (await worker.connect("worker", clean_start=False)).session_present
    again = await worker.expect(mqtt5.PublishPacket)
    assert (again.payload, again.duplicate, again.packet_id) == (b"first", True, first.packet_id)
    second = await worker.expect(mqtt5.PublishPacket)
    assert (second.payload, second.duplicate, int(second.qos)) == (b"second", False, 1)


async def test_retained_message_reaches_new_subscribers_and_retain_handling_is_honoured(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """Retained copies go to new subscriptions (0 always, 1 only if new, 2 never)."""
    hub, dash = await raw(), await raw()
    await hub.connect("hub")
    await hub.publish("status/hub1", b"online", packet_id=1, retain=True)
    await dash.connect("dash")

    only_new = RetainHandling.SEND_IF_SUBSCRIPTION_NOT_EXISTS
    await dash.subscribe(TopicFilter("status/+", retain_handling=only_new))
    retained = await dash.expect(mqtt5.PublishPacket)
    assert (retained.topic, retained.payload, retained.retain) == ("status/hub1", b"online", True)
    await dash.subscribe(TopicFilter("status/+", retain_handling=only_new))
    await dash.ping()  # the subscription existed: no retained copy this time
    await dash.subscribe(TopicFilter("status/#", retain_handling=RetainHandling.SEND_NEVER))
    await dash.ping()
    await dash.subscribe(TopicFilter("status/+", retain_handling=RetainHandling.SEND_ALWAYS))
    assert (await dash.expect(mqtt5.PublishPacket)).payload == b"online"

    await hub.publish("status/hub1", b"", packet_id=2, retain=True)  # deletes the retained one
    late = await raw()
    await late.connect("late")
    await late.subscribe(TopicFilter("status/#"))
    await late.ping()


async def test_will_is_published_when_a_socket_drops_but_not_after_a_normal_disconnect(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """Abnormal loss publishes the will (retain flag kept); DISCONNECT 0x00 discards it."""
    centre = await raw()
    await centre.connect("centre")
    await centre.subscribe(TopicFilter("hubs/+/online"))

    lost, leaving, other = await raw(), await raw(), await raw()
    await lost.connect("hub-a", will=Will("hubs/hub-a/online", payload=b"false", retain=True))
    lost.drop()
    will = await centre.expect(mqtt5.PublishPacket)
    assert (will.topic, will.payload) == ("hubs/hub-a/online", b"false")

    await leaving.connect("hub-b", will=Will("hubs/hub-b/online", payload=b"false"))
    leaving.send(mqtt5.DisconnectPacket())
    assert await leaving.until_closed() == []
    await other.connect("hub-c")
    await other.publish("hubs/hub-c/online", b"true", packet_id=1)
    assert (await centre.expect(mqtt5.PublishPacket)).topic == "hubs/hub-c/online"

    newcomer = await raw()
    await newcomer.connect("newcomer")
    await newcomer.subscribe(TopicFilter("hubs/+/online"))
    kept = await newcomer.expect(mqtt5.PublishPacket)
    assert (kept.topic, kept.payload, kept.retain) == ("hubs/hub-a/online", b"false", True)
    await newcomer.ping()


async def test_silent_client_is_closed_after_one_and_a_half_keep_alives_and_its_will_sent(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """Keep-alive enforcement: DISCONNECT 0x8D, then the will goes out."""
    centre, silent = await raw(), await raw()
    await centre.connect("centre")
    await centre.subscribe(TopicFilter("hubs/#"))
    await silent.connect("hub-s", keep_alive=1, will=Will("hubs/hub-s/online", payload=b"false"))

    assert [getattr(p, "reason_code", None) for p in await silent.until_closed()] == [
        DisconnectReasonCode.KEEP_ALIVE_TIMEOUT]
    assert (await centre.expect(mqtt5.PublishPacket)).topic == "hubs/hub-s/online"


async def test_malformed_packet_closes_only_the_client_that_sent_it(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """A garbage packet gets DISCONNECT 0x81 for its sender; others carry on, new ones connect."""
    healthy, bad = await raw(), await raw()
    await healthy.connect("healthy")
    await healthy.subscribe(TopicFilter("t/#"))
    await bad.connect("bad")

    bad.send(b"\x00\x00")  # packet type 0 does not exist
    packets = await bad.until_closed()
    assert [getattr(p, "reason_code", None) for p in packets] == [
        DisconnectReasonCode.MALFORMED_PACKET]

    newcomer = await raw()
    await newcomer.connect("newcomer")
    await newcomer.publish("t/x", b"still here", packet_id=1)
    assert (await healthy.expect(mqtt5.PublishPacket)).payload == b"still here"


async def test_connect_for_mqtt_311_is_refused_as_unsupported_protocol_version(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """Protocol level 4 gets CONNACK 0x84 and the connection is closed."""
    client = await raw()
    client.send(b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03abc")  # a 3.1.1 CONNECT
    packets = await client.until_closed()
    assert [getattr(p, "reason_code", None) for p in packets] == [
        mqtt5.ConnAckReasonCode.UNSUPPORTED_PROTOCOL_VERSION]


async def test_second_connection_with_the_same_client_id_takes_over_the_session(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """The old connection gets DISCONNECT 0x8E; the new one inherits the subscriptions."""
    old, new, hub = await raw(), await raw(), await raw()
    await old.connect("hub-x", session_expiry_interval=60)
    await old.subscribe(TopicFilter("cmd/hub-x", max_qos=QOS1))

    assert (await new.connect("hub-x", session_expiry_interval=60)).session_present
    assert [getattr(p, "reason_code", None) for p in await old.until_closed()] == [
        DisconnectReasonCode.SESSION_TAKEN_OVER]
    await hub.connect("centre")
    await hub.publish("cmd/hub-x", b"test", packet_id=1)
    assert (await new.expect(mqtt5.PublishPacket)).payload == b"test"


async def test_qos2_publish_is_answered_with_disconnect_qos_not_supported(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """The broker advertises maximum QoS 1, so a QoS 2 PUBLISH ends the connection with 0x9B."""
    client = await raw()
    assert int((await client.connect("hub")).max_qos) == 1
    client.send(mqtt5.PublishPacket("t", b"x", qos=QoS.EXACTLY_ONCE, packet_id=1))
    assert [getattr(p, "reason_code", None) for p in await client.until_closed()] == [
        DisconnectReasonCode.QOS_NOT_SUPPORTED]


async def test_packets_split_across_reads_or_batched_in_one_write_are_all_handled(
        raw: Callable[[], Awaitable[RawClient]]) -> None:
    """Framing: a CONNECT trickled byte by byte, five packets in one write, one 200 kB PUBLISH."""
    client = await raw()
    for byte in mqtt5.ConnectPacket("trickle").write():
        client.send(bytes([byte]))
        await asyncio.sleep(0)  # yield so the bytes leave as separate segments where they can
    await client.expect(mqtt5.ConnAckPacket)

    big = bytes(200_000)
    client.send(b"".join(p.write() for p in (
        mqtt5.SubscribePacket(1, [TopicFilter("echo/#")]),
        mqtt5.PublishPacket("echo/1", b"one", qos=QOS1, packet_id=1),
        mqtt5.PublishPacket("echo/2", big, qos=QOS1, packet_id=2),
        mqtt5.PublishPacket("echo/3", b"three", qos=QOS1, packet_id=3),
        mqtt5.PingReqPacket())))
    packets = [await client.recv() for _ in range(8)]
    assert [type(p).__name__ for p in packets] == [
        "SubAckPacket", "PublishPacket", "PubAckPacket", "PublishPacket", "PubAckPacket",
        "PublishPacket", "PubAckPacket", "PingRespPacket"]
    assert [p.payload for p in packets if isinstance(p, mqtt5.PublishPacket)] == [
        b"one", big, b"three"]
