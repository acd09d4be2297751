"""A persistent MQTT 5 session for the ingest hot path.

An asyncio `Protocol` parses whole reads with the `mqtt5` codec (sans-IO,
written in Rust) and hands QoS 1 publishes over in batches; the PUBACKs of a
batch go out in one write, and only when the caller says the batch is
committed. No task, future or callback per message: that overhead is what
limits paho's and aiomqtt's loops (docs/ingest.md has the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final
from urllib.parse import unquote, urlsplit

import mqtt5

from telecare.ingest.validate import RawMessage

log = logging.getLogger(__name__)

SESSION_EXPIRY_S: Final = 7 * 24 * 3600  # the broker keeps our queue through a week's outage
CONNECT_TIMEOUT_S: Final = 10.0
MAX_BATCH: Final = 5000  # bounds how long an alarm can wait behind one event batch
MAX_PENDING: Final = 50_000  # stop reading the socket past this; TCP pushes back on the broker


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, from a URL such as mqtt://user:pass@host:1883 or mqtts://."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse an mqtt:// or mqtts:// URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL must start mqtt:// or mqtts://, not {url!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(slots=True)
class Delivery:
    """A batch of messages from one connection, to be acknowledged together."""

    generation: int
    messages: list[RawMessage]
    packet_ids: list[int]


class MqttError(Exception):
    """The broker refused us or broke the protocol."""


class _Wire(asyncio.Protocol):
    """One TCP connection to the broker."""

    def __init__(self, session: MqttSession, generation: int) -> None:
        self.session = session
        self.generation = generation
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = asyncio.get_running_loop().create_future()
        self.last_read = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        self.buffer += data
        view = memoryview(self.buffer)
        offset = 0
        received_at = int(time.time() * 1000)
        try:
            while offset < len(view):
                try:
                    packet, size = mqtt5.read(view[offset:])
                except IndexError:  # a partial packet: wait for the rest
                    break
                offset += size
                self.session._on_packet(self, packet, received_at)
        except ValueError as exc:
            log.error("malformed packet from broker, dropping connection: %s", exc)
            view.release()
            self.abort()
            return
        view.release()
        del self.buffer[:offset]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.session._on_lost(self)

    def write(self, data: bytes) -> bool:
        """Write to the socket if it is still open."""
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()


@dataclass
class _Outgoing:
    packet: mqtt5.PublishPacket
    sent: bool = False


@dataclass(eq=False)
class MqttSession:
    """A persistent session (clean_start off) that survives our own restarts.

    Use `async with`; it connects, subscribes and reconnects in the background
    until the block exits, when it sends DISCONNECT so that the broker keeps
    the session and queues for us.
    """

    address: BrokerAddress
    client_id: str
    filters: Sequence[str]
    keep_alive: int = 30
    session_expiry_s: int = SESSION_EXPIRY_S
    _wire: _Wire | None = None
    _generation: int = 0
    _pending: list[RawMessage] = field(default_factory=list)
    _pending_ids: list[int] = field(default_factory=list)
    _pending_gen: list[int] = field(default_factory=list)
    _has_pending: asyncio.Event = field(default_factory=asyncio.Event)
    _subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    _outgoing: dict[int, _Outgoing] = field(default_factory=dict)
    _next_id: int = 0
    _waiters: dict[str, asyncio.Future[mqtt5.Packet]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _paused: bool = False

    async def __aenter__(self) -> MqttSession:
        self._task = asyncio.create_task(self._run(), name=f"mqtt-session:{self.client_id}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        wire = self._wire
        if wire is not None and wire.write(mqtt5.DisconnectPacket().write()):
            assert wire.transport is not None
            wire.transport.close()

    @property
    def subscribed(self) -> bool:
        """True while connected with every subscription granted."""
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        """Wait until the subscriptions are live."""
        await self._subscribed.wait()

    async def next_delivery(self) -> Delivery:
        """Wait for messages; return the oldest of them (at most MAX_BATCH) in order."""
        while not self._pending:
            self._has_pending.clear()
            await self._has_pending.wait()
        generation = self._pending_gen[0]
        count = 0
        limit = min(len(self._pending), MAX_BATCH)
        while count < limit and self._pending_gen[count] == generation:
            count += 1
        messages, ids = self._pending[:count], self._pending_ids[:count]
        del self._pending[:count], self._pending_ids[:count], self._pending_gen[:count]
        if self._paused and len(self._pending) < MAX_PENDING // 2 and self._wire is not None:
            self._paused = False
            if self._wire.transport is not None:
                self._wire.transport.resume_reading()
        return Delivery(generation, messages, ids)

    def acknowledge(self, delivery: Delivery) -> None:
        """Send the PUBACKs of a committed delivery in one write (if its connection lives)."""
        wire = self._wire
        if wire is None or wire.generation != delivery.generation:
            return  # the broker will deliver these again on the new connection
        data = b"".join(mqtt5.PubAckPacket(pid).write() for pid in delivery.packet_ids if pid)
        if data:
            wire.write(data)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue a QoS 1 publish; it is (re)sent until the broker acknowledges it."""
        packet_id = self._allocate_id()
        packet = mqtt5.PublishPacket(
            topic, payload, qos=mqtt5.QoS.AT_LEAST_ONCE, retain=retain, packet_id=packet_id
        )
        out = _Outgoing(packet)
        self._outgoing[packet_id] = out
        if self.subscribed and self._wire is not None:
            out.sent = self._wire.write(packet.write())

    def _allocate_id(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._outgoing:
                return self._next_id
        raise MqttError("65535 publishes in flight")

    # connection loop ----------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._connect_once()
                backoff = 0.2
            except (OSError, MqttError, TimeoutError) as exc:
                log.warning("broker connection for %s failed: %s", self.client_id, exc)
            except Exception:
                # a fault of ours must not end the session for good: log it, reconnect
                log.exception("broker session %s failed", self.client_id)
            self._subscribed.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        self._generation += 1
        generation = self._generation
        context = ssl.create_default_context() if self.address.tls else None
        _, wire = await asyncio.wait_for(
            loop.create_connection(
                lambda: _Wire(self, generation), self.address.host, self.address.port, ssl=context
            ),
            CONNECT_TIMEOUT_S,
        )
        self._wire = wire
        self._paused = False
        try:
            await self._handshake(wire)
            await self._supervise(wire)
        finally:
            wire.abort()
            self._subscribed.clear()

    async def _handshake(self, wire: _Wire) -> None:
        connect = mqtt5.ConnectPacket(
            self.client_id,
            clean_start=False,
            keep_alive=self.keep_alive,
            session_expiry_interval=self.session_expiry_s,
            receive_max=65535,
            username=self.address.username,
            password=self.address.password.encode() if self.address.password else None,
        )
        connack = await self._request(wire, connect.write(), "connack")
        assert isinstance(connack, mqtt5.ConnAckPacket)
        if connack.reason_code != mqtt5.ConnAckReasonCode.SUCCESS:
            raise MqttError(f"broker refused connection: {connack.reason_code.name}")
        filters = [
            mqtt5.TopicFilter(
                f,
                max_qos=mqtt5.QoS.AT_LEAST_ONCE,
                retain_handling=mqtt5.RetainHandling.SEND_IF_SUBSCRIPTION_NOT_EXISTS,
                # so that the retain flag means "stored earlier", not "published retained":
                # a status replayed from the broker's store is old news
                retain_as_published=False,
            )
            for f in self.filters
        ]
        suback = await self._request(
            wire, mqtt5.SubscribePacket(self._allocate_sub_id(), filters).write(), "suback"
        )
        assert isinstance(suback, mqtt5.SubAckPacket)
        refused = [c.name for c in suback.reason_codes if int(c) > int(mqtt5.QoS.AT_LEAST_ONCE)]
        if refused:
            raise MqttError(f"subscription refused: {refused}")
        # what we published but never saw acknowledged goes again, marked duplicate
        resend = []
        for out in self._outgoing.values():
            if out.sent:  # packets are immutable: a resend is a copy marked duplicate
                p = out.packet
                out.packet = mqtt5.PublishPacket(
                    p.topic, p.payload, qos=p.qos, retain=p.retain, packet_id=p.packet_id,
                    duplicate=True,
                )
            out.sent = True
            resend.append(out.packet.write())
        if resend:
            wire.write(b"".join(resend))
        self._subscribed.set()
        log.info("subscribed %s to %s", self.client_id, ", ".join(self.filters))

    def _allocate_sub_id(self) -> int:
        # SUBSCRIBE shares the packet-id space with our publishes; an id that no
        # publish holds now is free, and the SUBACK arrives before we publish again
        return self._allocate_id()

    async def _request(self, wire: _Wire, data: bytes, kind: str) -> mqtt5.Packet:
        future: asyncio.Future[mqtt5.Packet] = asyncio.get_running_loop().create_future()
        self._waiters[kind] = future
        wire.write(data)
        try:
            done, _ = await asyncio.wait(
                (future, wire.closed), timeout=CONNECT_TIMEOUT_S, return_when="FIRST_COMPLETED"
            )
        finally:
            self._waiters.pop(kind, None)
        if future not in done:
            raise MqttError(f"no {kind} from broker")
        return future.result()

    async def _supervise(self, wire: _Wire) -> None:
        interval = max(self.keep_alive / 2, 1.0)
        while not wire.closed.done():
            await asyncio.wait((wire.closed,), timeout=interval)
            if wire.closed.done():
                break
            if time.monotonic() - wire.last_read > self.keep_alive * 1.5:
                raise MqttError("broker stopped answering pings")
            wire.write(mqtt5.PingReqPacket().write())
        log.warning("connection for %s lost", self.client_id)

    # called by _Wire ------------------------------------------------------------

    def _on_packet(self, wire: _Wire, packet: mqtt5.Packet, received_at: int) -> None:
        if isinstance(packet, mqtt5.PublishPacket):
            self._pending.append(
                RawMessage(packet.topic, packet.payload, received_at, packet.retain)
            )
            self._pending_ids.append(packet.packet_id or 0)
            self._pending_gen.append(wire.generation)
            self._has_pending.set()
            if len(self._pending) >= MAX_PENDING and not self._paused and wire.transport:
                self._paused = True
                wire.transport.pause_reading()
        elif isinstance(packet, mqtt5.PubAckPacket):
            self._outgoing.pop(packet.packet_id, None)
        elif isinstance(packet, mqtt5.ConnAckPacket):
            self._resolve("connack", packet)
        elif isinstance(packet, mqtt5.SubAckPacket):
            self._resolve("suback", packet)
        elif isinstance(packet, mqtt5.DisconnectPacket):
            log.warning("broker disconnected %s: %s", self.client_id, packet.reason_code.name)
            wire.abort()

    def _resolve(self, kind: str, packet: mqtt5.Packet) -> None:
        future = self._waiters.get(kind)
        if future is not None and not future.done():
            future.set_result(packet)

    def _on_lost(self, wire: _Wire) -> None:
        if self._wire is wire:
            self._subscribed.clear()
