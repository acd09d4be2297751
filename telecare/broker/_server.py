"""The socket side of the embedded broker: packet framing, one protocol per client, the listener."""

from __future__ import annotations

import asyncio
from typing import Final, cast

import mqtt5
from mqtt5 import DisconnectReasonCode as Reason

from telecare.broker._state import MAX_PACKET_SIZE, Router, Session, Subscription, log, message_from

CONNECT_TIMEOUT: Final = 10.0
SHUTDOWN_TIMEOUT: Final = 2.0
_PINGRESP: Final = mqtt5.PingRespPacket().write()


class _Connection(asyncio.Protocol):
    """One client connection: handles every whole packet per read, batches its writes."""

    _transport: asyncio.Transport

    def __init__(self, broker: EmbeddedBroker) -> None:
        self._broker = broker
        self._router = broker._router
        self._loop = asyncio.get_running_loop()
        self._pending: list[bytes] = []  # the pieces of a partial packet
        self._pending_len = 0
        self._need = 0  # that packet's total length, 0 until its fixed header is in
        self._out: list[bytes] = []
        self._closed = False
        self._keep_alive = 0.0  # 1.5 x the client's keep alive
        self._last_rx = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.session: Session | None = None
        self.will: mqtt5.Will | None = None
        self.lost: asyncio.Future[None] = self._loop.create_future()
        self.name = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection and give the client a while to send CONNECT."""
        self._transport = cast(asyncio.Transport, transport)
        self.name = str(transport.get_extra_info("peername"))
        self._broker._connections.add(self)
        self._timer = self._loop.call_later(CONNECT_TIMEOUT, self._check_alive)

    def data_received(self, data: bytes) -> None:
        """Handle every whole packet received so far and keep the partial tail."""
        if self._closed:
            return
        self._last_rx = self._loop.time()
        if self._pending:
            self._pending.append(data)
            self._pending_len += len(data)
            if self._pending_len < self._need:
                return
            data = b"".join(self._pending)
            self._pending.clear()
        pos = self._parse(data)
        if pos < len(data) and not self._closed:
            rest = data[pos:]
            self._pending.append(rest)
            self._pending_len = len(rest)
            self._need = _packet_length(rest)[0]
            if self._need > MAX_PACKET_SIZE:
                log.warning("%s: %d-byte packet is too large, closing", self.name, self._need)
                self.close(Reason.PACKET_TOO_LARGE)

    def connection_lost(self, exc: Exception | None) -> None:
        """Treat a connection the broker did not close as lost: its will goes out."""
        if not self._closed:
            log.debug("%s: connection lost (%s)", self.name, exc or "closed by peer")
            self.close(None)
        self._broker._connections.discard(self)
        if not self.lost.done():
            self.lost.set_result(None)

    def send(self, data: bytes) -> None:
        """Queue bytes; the broker writes each connection's queue once per loop pass."""
        if not self._out:
            self._broker._mark_dirty(self)
        self._out.append(data)

    def flush(self) -> None:
        """Write everything queued with a single transport.write."""
        out = self._out
        if out and not self._transport.is_closing():
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def close(self, reason: Reason | None) -> None:
        """Send DISCONNECT (when connected and given a reason), close, release the session."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if reason is not None and self.session is not None:
            self.send(mqtt5.DisconnectPacket(reason_code=reason).write())
        self.flush()
        self._transport.close()
        if self.session is not None:
            self._router.detach(self, self.session, self.will)

    def _parse(self, data: bytes) -> int:
        """Handle the whole packets at the start of data; return the bytes they took."""
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end and not self._closed:
            chunk = view[pos:]
            if self.session is None and (level := _protocol_level(chunk)) not in (None, 5):
                log.info("%s: refused MQTT protocol level %s", self.name, level)
                reason = mqtt5.ConnAckReasonCode.UNSUPPORTED_PROTOCOL_VERSION
                self.send(mqtt5.ConnAckPacket(reason_code=reason).write())
                self.close(None)
                break
            try:
                packet, size = mqtt5.read(chunk)
            except IndexError:
                break
            except ValueError as exc:
                log.warning("%s: malformed packet (%s), closing", self.name, exc)
                self.close(Reason.MALFORMED_PACKET)
                break
            pos += size
            try:
                self._handle(packet)
            except Exception:
                log.exception("%s: failed on %s, closing", self.name, type(packet).__name__)
                self.close(Reason.IMPLEMENTATION_SPECIFIC_ERROR)
        return pos

    def _handle(self, packet: mqtt5.Packet) -> None:
        """Apply one packet, testing the frequent kinds first."""
        session = self.session
        if session is None:
            if isinstance(packet, mqtt5.ConnectPacket):
                self._on_connect(packet)
            else:
                log.warning("%s: %s before CONNECT, closing", self.name, type(packet).__name__)
                self.close(None)
        elif isinstance(packet, mqtt5.PublishPacket):
            self._on_publish(packet, session)
        elif isinstance(packet, mqtt5.PubAckPacket):
            if not session.acknowledge(packet.packet_id):
                log.debug("%s: PUBACK for unknown packet id %d", self.name, packet.packet_id)
        elif isinstance(packet, mqtt5.PingReqPacket):
            self.send(_PINGRESP)
        elif isinstance(packet, mqtt5.SubscribePacket):
            self._on_subscribe(packet, session)
        elif isinstance(packet, mqtt5.UnsubscribePacket):
            codes = []
            for pattern in packet.patterns:
                if session.subscriptions.pop(pattern, None) is None:
                    codes.append(mqtt5.UnsubAckReasonCode.NO_SUBSCRIPTION_EXISTED)
                else:
                    self._router.remove(pattern, session.client_id)
                    codes.append(mqtt5.UnsubAckReasonCode.SUCCESS)
            self.send(mqtt5.UnsubAckPacket(packet.packet_id, codes).write())
        elif isinstance(packet, mqtt5.DisconnectPacket):
            self._on_disconnect(packet, session)
        else:
            log.warning("%s: unexpected %s, closing", self.name, type(packet).__name__)
            self.close(Reason.PROTOCOL_ERROR)

    def _on_connect(self, p: mqtt5.ConnectPacket) -> None:
        """Refuse what is unsupported, else attach the session and start keep-alive checks."""
        refuse = None
        if p.authentication_method is not None:
            refuse = mqtt5.ConnAckReasonCode.BAD_AUTHENTICATION_METHOD
        elif p.will is not None and int(p.will.qos) > 1:
            refuse = mqtt5.ConnAckReasonCode.QUALITY_NOT_SUPPORTED
        if refuse is not None:
            self.send(mqtt5.ConnAckPacket(reason_code=refuse).write())
            self.close(None)
            return
        if self._timer is not None:
            self._timer.cancel()
        self.will = p.will
        self.session = self._router.open(self, p)
        self.name = self.session.client_id
        if p.keep_alive:
            self._keep_alive = 1.5 * p.keep_alive
            self._timer = self._loop.call_later(self._keep_alive, self._check_alive)

    def _on_publish(self, p: mqtt5.PublishPacket, session: Session) -> None:
        """Route a client's PUBLISH, then acknowledge it at QoS 1."""
        qos, pid = int(p.qos), p.packet_id
        problem = None
        if qos == 2:
            problem = Reason.QOS_NOT_SUPPORTED  # the CONNACK advertised maximum QoS 1
        elif p.topic_alias is not None:
            problem = Reason.TOPIC_ALIAS_INVALID  # the CONNACK advertised topic alias maximum 0
        elif not p.topic or p.subscription_ids or (qos == 1 and not pid):
            problem = Reason.PROTOCOL_ERROR
        if problem is not None:
            log.warning("%s: bad PUBLISH on %r (%s), closing", self.name, p.topic, problem.name)
            self.close(problem)
            return
        self._router.publish(message_from(p, session.client_id))
        if pid:
            self.send(mqtt5.PubAckPacket(pid).write())

    def _on_subscribe(self, p: mqtt5.SubscribePacket, session: Session) -> None:
        """Add subscriptions, answer SUBACK, then send the retained messages asked for."""
        if p.subscription_id is not None:
            self.close(Reason.SUBSCRIPTION_IDS_NOT_SUPPORTED)
            return
        codes: list[mqtt5.SubAckReasonCode] = []
        wanted: list[tuple[str, int]] = []
        for f in p.topic_filters:
            if f.pattern.startswith("$share/"):
                codes.append(mqtt5.SubAckReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED)
                continue
            qos = min(int(f.max_qos), 1)
            is_new = f.pattern not in session.subscriptions
            sub = Subscription(session, qos, f.no_local, f.retain_as_published)
            session.subscriptions[f.pattern] = sub
            self._router.add(f.pattern, sub)
            codes.append(mqtt5.SubAckReasonCode(qos))
            handling = int(f.retain_handling)
            if handling == 0 or (handling == 1 and is_new):
                wanted.append((f.pattern, qos))
        self.send(mqtt5.SubAckPacket(p.packet_id, codes).write())
        for pattern, qos in wanted:
            for msg in self._router.retained_for(pattern):
                session.deliver(msg, min(msg.qos, qos), True)

    def _on_disconnect(self, p: mqtt5.DisconnectPacket, session: Session) -> None:
        """Close on the client's DISCONNECT; only reason 0x00 discards the will."""
        if int(p.reason_code) == 0:
            self.will = None
        expiry = p.session_expiry_interval
        if expiry is not None:
            if session.expiry_interval == 0 and expiry != 0:
                self.close(Reason.PROTOCOL_ERROR)  # MQTT forbids raising it from 0 here
                return
            session.expiry_interval = expiry
        log.debug("%s: disconnected (reason %d)", self.name, int(p.reason_code))
        self.close(None)

    def _check_alive(self) -> None:
        """Close a client that never sent CONNECT or stayed silent 1.5 x its keep alive."""
        idle = self._loop.time() - self._last_rx
        if self.session is None or idle >= self._keep_alive:
            log.info("%s: no CONNECT or keep alive timeout, closing", self.name)
            self.close(Reason.KEEP_ALIVE_TIMEOUT)
        else:
            self._timer = self._loop.call_later(self._keep_alive - idle, self._check_alive)


class EmbeddedBroker:
    """A small in-process MQTT 5 broker: QoS 0/1, retained messages, wills, sessions."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._requested_port, self._port = host, port, port
        self._server: asyncio.Server | None = None
        self._router = Router()
        self._connections: set[_Connection] = set()
        self._dirty: list[_Connection] = []

    @property
    def url(self) -> str:
        """Return the broker's address, with the port actually bound."""
        if self._port == 0:
            raise RuntimeError("the broker has not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"mqtt://{host}:{self._port}"

    async def __aenter__(self) -> EmbeddedBroker:
        """Start listening."""
        loop = asyncio.get_running_loop()
        self._router = Router()
        self._server = await loop.create_server(
            lambda: _Connection(self), self._host, self._requested_port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("embedded MQTT broker listening on %s", self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Disconnect every client, stop listening and wait for the sockets to close."""
        if self._server is None:
            return
        self._router.closing = True
        self._server.close()
        connections = list(self._connections)
        for conn in connections:
            conn.close(Reason.SERVER_SHUTTING_DOWN)
        for session in list(self._router.sessions.values()):
            self._router.end(session)
        if connections:
            await asyncio.wait([c.lost for c in connections], timeout=SHUTDOWN_TIMEOUT)
            for conn in connections:
                if not conn.lost.done():
                    conn._transport.abort()
        await self._server.wait_closed()
        self._server = None
        log.info("embedded MQTT broker stopped")

    def _mark_dirty(self, conn: _Connection) -> None:
        """Remember a connection with queued output; flush them all when this loop pass ends."""
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self._flush_all)
        self._dirty.append(conn)

    def _flush_all(self) -> None:
        """Write every connection's queued output."""
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


def _packet_length(data: bytes | memoryview) -> tuple[int, int]:
    """Return (total, fixed header) length of the packet data starts with; 0s if not in yet."""
    value = 0
    for i in range(1, min(len(data), 5)):
        byte = data[i]
        value |= (byte & 0x7F) << (7 * (i - 1))
        if not byte & 0x80:
            return i + 1 + value, i + 1
    return 0, 0


def _protocol_level(view: memoryview) -> int | None:
    """Return the protocol level of a CONNECT at the start of view, once it has arrived."""
    header = _packet_length(view)[1] if len(view) and view[0] == 0x10 else 0
    if not header or len(view) < header + 2:
        return None
    level_at = header + 2 + int.from_bytes(view[header:header + 2], "big")
    return view[level_at] if len(view) > level_at else None
