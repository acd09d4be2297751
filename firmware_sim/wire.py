"""A small MQTT 5 client for hubs: QoS 1 publishes, a will, acks in, no thread per connection.

Built on the sans-IO `mqtt5` codec and an asyncio Protocol, so one event loop
holds thousands of hub connections (one per hub) or a pool that many hubs
share. Publishes are written into a buffer that the caller flushes once per
turn: one socket write for many messages.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import mqtt5

CONNECT_TIMEOUT_S: Final = 10.0
_PUBACK: Final = 0x40


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packet(
    topic: bytes, payload: bytes, packet_id: int, *, retain: bool = False, dup: bool = False
) -> bytes:
    """Encode a QoS 1 PUBLISH with no properties (what mqtt5.PublishPacket writes, faster)."""
    flags = 0x32 | (0x08 if dup else 0) | (0x01 if retain else 0)
    size = len(topic) + len(payload) + 5
    if size < 128:
        head = bytes((flags, size))
    elif size < 16384:
        head = bytes((flags, (size & 0x7F) | 0x80, size >> 7))
    else:
        head = bytes((flags,)) + _varint(size)
    return b"".join((head, len(topic).to_bytes(2, "big"), topic,
                     packet_id.to_bytes(2, "big"), b"\x00", payload))


class MqttError(Exception):
    """The broker refused us or broke the protocol."""


@dataclass
class Backlog:
    """Publishes waiting for room, across every connection of a run: the brake on producers."""

    high: int = 200_000
    queued: int = 0
    acked: int = 0
    """PUBACKs received from the broker, across connections."""
    outstanding: int = 0
    """Publishes the broker has not acknowledged yet (queued ones included)."""

    def __post_init__(self) -> None:
        self.drained = asyncio.Event()
        self.drained.set()
        self.settled = asyncio.Event()
        self.settled.set()

    def published(self, n: int) -> None:
        """Count publishes handed to a connection."""
        self.outstanding += n
        self.settled.clear()

    def done(self, n: int) -> None:
        """Count publishes acknowledged, or given up with their connection."""
        self.outstanding -= n
        if self.outstanding <= 0:
            self.outstanding = 0
            self.settled.set()

    def add(self, n: int) -> None:
        """Count publishes that joined a queue."""
        self.queued += n
        if self.queued >= self.high:
            self.drained.clear()

    def remove(self, n: int) -> None:
        """Count publishes that left a queue."""
        self.queued -= n
        if self.queued < self.high // 2:
            self.drained.set()

    @property
    def full(self) -> bool:
        """True while producers should wait."""
        return not self.drained.is_set()


OnMessage = Callable[[str, bytes], None]


class MqttClient(asyncio.Protocol):
    """One connection: CONNECT with an optional will, SUBSCRIBE, QoS 1 PUBLISH, keep-alive."""

    def __init__(
        self,
        client_id: str,
        *,
        backlog: Backlog,
        username: str | None = None,
        password: str | None = None,
        will: tuple[bytes, bytes] | None = None,
        keep_alive: int = 30,
        on_message: OnMessage | None = None,
        on_lost: Callable[[MqttClient], None] | None = None,
    ) -> None:
        self.client_id = client_id
        self.backlog = backlog
        self._username = username
        self._password = password
        self._will = will
        self.keep_alive = keep_alive
        self.on_message = on_message
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.receive_max = 65535
        self.inflight: dict[int, bytes] = {}
        self.waiting: deque[tuple[bytes, bytes, bool]] = deque()
        self._next_id = 0
        self._out: list[bytes] = []
        self._buffer = bytearray()
        self._replies: dict[str, asyncio.Future[mqtt5.Packet]] = {}
        self._ping: asyncio.TimerHandle | None = None
        self._last_read = time.monotonic()
        self.closed = False
        self.paused = False

    # -- life cycle ------------------------------------------------------------------------

    async def connect(self, host: str, port: int) -> None:
        """Open the connection and wait for the broker's CONNACK."""
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.create_connection(lambda: self, host, port),
                               CONNECT_TIMEOUT_S)
        will = None
        if self._will is not None:
            topic, payload = self._will
            will = mqtt5.Will(topic.decode(), payload=payload, qos=mqtt5.QoS.AT_LEAST_ONCE,
                              retain=True)
        connect = mqtt5.ConnectPacket(
            self.client_id, clean_start=True, keep_alive=self.keep_alive, will=will,
            username=self._username,
            password=self._password.encode() if self._password is not None else None,
        )
        connack = await self._request(connect.write(), "connack")
        assert isinstance(connack, mqtt5.ConnAckPacket)
        if connack.reason_code != mqtt5.ConnAckReasonCode.SUCCESS:
            self.abort()
            raise MqttError(f"{self.client_id}: broker refused: {connack.reason_code.name}")
        self.receive_max = connack.receive_max or 65535
        self._schedule_ping()

    async def subscribe(self, *filters: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK."""
        packet = mqtt5.SubscribePacket(
            self._allocate_id(),
            [mqtt5.TopicFilter(f, max_qos=mqtt5.QoS.AT_LEAST_ONCE) for f in filters],
        )
        suback = await self._request(packet.write(), "suback")
        assert isinstance(suback, mqtt5.SubAckPacket)
        if any(int(c) > int(mqtt5.QoS.AT_LEAST_ONCE) for c in suback.reason_codes):
            raise MqttError(f"{self.client_id}: subscription refused")

    def abort(self) -> None:
        """Drop the connection without DISCONNECT, as a hub losing its link does: the will fires."""
        self._stop_ping()
        if self.transport is not None:
            self.transport.abort()

    def disconnect(self) -> None:
        """Flush what is written, send DISCONNECT (the will is discarded) and close."""
        self._stop_ping()
        if self.transport is not None and not self.transport.is_closing():
            self._out.append(mqtt5.DisconnectPacket().write())
            self.flush()
            self.transport.close()

    # -- publishing ------------------------------------------------------------------------

    def publish(self, topic: bytes, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1: written now if the broker allows more in flight, else queued."""
        self.backlog.published(1)
        if len(self.inflight) < self.receive_max and not self.waiting:
            self._send(topic, payload, retain)
        else:
            self.waiting.append((topic, payload, retain))
            self.backlog.add(1)

    def _send(self, topic: bytes, payload: bytes, retain: bool) -> None:
        packet_id = self._allocate_id()
        packet = publish_packet(topic, payload, packet_id, retain=retain)
        self.inflight[packet_id] = packet
        self._out.append(packet)

    def unsent(self) -> list[tuple[bytes, bytes, bool]]:
        """What the broker has not acknowledged: in flight, then queued (to send again)."""
        out = [_unpack(packet) for packet in self.inflight.values()]
        out.extend(self.waiting)
        self.backlog.done(len(out))
        self.backlog.remove(len(self.waiting))
        self.waiting.clear()
        self.inflight.clear()
        return out

    def flush(self) -> None:
        """Write everything published since the last flush in one go."""
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
        self._out.clear()

    @property
    def pending(self) -> int:
        """Publishes in flight or queued."""
        return len(self.inflight) + len(self.waiting)

    def _allocate_id(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self.inflight:
                return self._next_id
        raise MqttError("65535 publishes in flight")

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._last_read = time.monotonic()
        buf = self._buffer
        buf += data
        offset = 0
        acked = 0
        size = len(buf)
        inflight = self.inflight
        while offset + 1 < size:
            # PUBACKs are nearly all we read (with reason "no matching subscribers"
            # when nobody listens): parse them here, not through the codec.
            length = buf[offset + 1]
            if buf[offset] == _PUBACK and length < 128:
                if offset + 2 + length > size:
                    break
                if inflight.pop((buf[offset + 2] << 8) | buf[offset + 3], None) is not None:
                    acked += 1
                offset += 2 + length
                continue
            try:
                with memoryview(buf) as view:
                    packet, used = mqtt5.read(view[offset:])
            except IndexError:  # a partial packet: wait for the rest
                break
            except ValueError:
                self.abort()
                return
            offset += used
            acked += self._on_packet(packet)
        del buf[:offset]
        if acked:
            self.backlog.acked += acked
            self.backlog.done(acked)
            self._release()

    def _release(self) -> None:
        moved = 0
        while self.waiting and len(self.inflight) < self.receive_max:
            self._send(*self.waiting.popleft())
            moved += 1
        if moved:
            self.backlog.remove(moved)
            self.flush()

    def _on_packet(self, packet: mqtt5.Packet) -> int:
        if isinstance(packet, mqtt5.PubAckPacket):
            return int(self.inflight.pop(packet.packet_id, None) is not None)
        if isinstance(packet, mqtt5.PublishPacket):
            if packet.qos == mqtt5.QoS.AT_LEAST_ONCE and packet.packet_id is not None:
                self._out.append(mqtt5.PubAckPacket(packet.packet_id).write())
                self.flush()
            if self.on_message is not None:
                self.on_message(packet.topic, packet.payload)
        elif isinstance(packet, mqtt5.ConnAckPacket):
            self._reply("connack", packet)
        elif isinstance(packet, mqtt5.SubAckPacket):
            self._reply("suback", packet)
        elif isinstance(packet, mqtt5.DisconnectPacket):
            self.abort()
        return 0

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_ping()
        self.closed = True
        for future in self._replies.values():
            if not future.done():
                future.set_exception(ConnectionError(f"{self.client_id}: connection lost"))
        if self.on_lost is not None:
            self.on_lost(self)

    # -- helpers ---------------------------------------------------------------------------

    async def _request(self, data: bytes, kind: str) -> mqtt5.Packet:
        future: asyncio.Future[mqtt5.Packet] = asyncio.get_running_loop().create_future()
        self._replies[kind] = future
        self._out.append(data)
        self.flush()
        try:
            return await asyncio.wait_for(future, CONNECT_TIMEOUT_S)
        except TimeoutError:
            self.abort()
            raise MqttError(f"{self.client_id}: no {kind} from the broker") from None
        finally:
            self._replies.pop(kind, None)

    def _reply(self, kind: str, packet: mqtt5.Packet) -> None:
        future = self._replies.get(kind)
        if future is not None and not future.done():
            future.set_result(packet)

    def _schedule_ping(self) -> None:
        if self.keep_alive > 0:
            loop = asyncio.get_running_loop()
            self._ping = loop.call_later(self.keep_alive / 2, self._keep_alive)

    def _stop_ping(self) -> None:
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None

    def _keep_alive(self) -> None:
        if time.monotonic() - self._last_read > self.keep_alive * 1.5:
            self.abort()  # the broker stopped answering
            return
        self._out.append(mqtt5.PingReqPacket().write())
        self.flush()
        self._schedule_ping()


def _unpack(packet: bytes) -> tuple[bytes, bytes, bool]:
    """Recover (topic, payload, retain) from a PUBLISH that publish_packet encoded."""
    offset = 1
    while packet[offset] & 0x80:
        offset += 1
    offset += 1
    topic_len = int.from_bytes(packet[offset:offset + 2], "big")
    topic = packet[offset + 2:offset + 2 + topic_len]
    return topic, packet[offset + 2 + topic_len + 3:], bool(packet[0] & 0x01)

