"""Broker state without sockets: messages, sessions with their QoS 1 window, topic routing."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import mqtt5
from mqtt5 import DisconnectReasonCode as Reason

log = logging.getLogger("telecare.broker")

MAX_PACKET_SIZE: Final = 16 * 1024 * 1024
MAX_QUEUED: Final = 100_000
NEVER_EXPIRES: Final = 0xFFFFFFFF
_MATCH_CACHE_SIZE: Final = 50_000
_QOS: Final = (mqtt5.QoS.AT_MOST_ONCE, mqtt5.QoS.AT_LEAST_ONCE)
_FORWARDED: Final = ("payload_format_indicator", "content_type", "response_topic",
                     "correlation_data", "user_properties")  # expiry is recomputed per delivery
_CAPABILITIES: Final[dict[str, Any]] = {
    "max_qos": mqtt5.QoS.AT_LEAST_ONCE, "topic_alias_max": 0, "max_packet_size": MAX_PACKET_SIZE,
    "subscription_id_available": False, "shared_subscription_available": False,
}


class Outbox(Protocol):
    """The connection a session is attached to."""

    def send(self, data: bytes) -> None:
        """Queue bytes for the client."""

    def close(self, reason: Reason | None) -> None:
        """Close the connection, with a DISCONNECT when a reason is given."""


@dataclass(slots=True, eq=False)
class Message:
    """An application message as routed, without per-delivery fields (packet id, DUP)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    sender: str
    props: dict[str, Any]
    expires_at: float | None
    # QoS 0, non-retained encoding: identical for every such copy, so encode it once.
    plain: bytes | None = None

    def encode(self, qos: int, pid: int | None, retain: bool, dup: bool = False) -> bytes | None:
        """Encode one delivery as a PUBLISH, or return None once the message has expired."""
        cacheable = qos == 0 and not retain and self.expires_at is None
        if cacheable and self.plain is not None:
            return self.plain
        expiry = None
        if self.expires_at is not None:
            expiry = math.ceil(self.expires_at - time.monotonic())
            if expiry <= 0:
                return None
        data = mqtt5.PublishPacket(self.topic, self.payload, qos=_QOS[qos], retain=retain,
                                   packet_id=pid, duplicate=dup, message_expiry_interval=expiry,
                                   **self.props).write()
        if cacheable:
            self.plain = data
        return data


def message_from(src: mqtt5.PublishPacket | mqtt5.Will, sender: str) -> Message:
    """Build the routed message from a client's PUBLISH or a CONNECT's will."""
    props = {name: value for name in _FORWARDED if (value := getattr(src, name))}
    interval = src.message_expiry_interval
    expires_at = None if interval is None else time.monotonic() + interval
    payload = src.payload or b""
    return Message(src.topic, payload, int(src.qos), src.retain, sender, props, expires_at)


@dataclass(slots=True, eq=False)
class Subscription:
    """One session's subscription to one topic filter."""

    session: Session
    qos: int
    no_local: bool
    retain_as_published: bool


@dataclass(slots=True, eq=False)
class Session:
    """A client's session: subscriptions, the QoS 1 in-flight window and the offline queue."""

    client_id: str
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    inflight: dict[int, tuple[Message, bool]] = field(default_factory=dict)  # pid: (msg, retain)
    queue: deque[tuple[Message, bool]] = field(default_factory=deque)
    outbox: Outbox | None = None
    receive_max: int = 65535
    max_packet_size: int | None = None
    expiry_interval: int = 0
    expiry_timer: asyncio.TimerHandle | None = None
    next_pid: int = 1
    dropped: int = 0

    def deliver(self, msg: Message, qos: int, retain: bool) -> None:
        """Send a message now, or queue it (QoS 1) when offline or the window is full."""
        out = self.outbox
        if qos == 0:
            if out is not None:
                self._emit(out, msg.encode(0, None, retain))
        elif out is None or self.queue or len(self.inflight) >= self.receive_max:
            if len(self.queue) < MAX_QUEUED:
                self.queue.append((msg, retain))
                return
            self.dropped += 1
            if self.dropped % 10_000 == 1:
                log.warning("queue of %r full (%d): dropped %d QoS 1 messages so far",
                            self.client_id, MAX_QUEUED, self.dropped)
        else:
            self._send_new(out, msg, retain)

    def acknowledge(self, pid: int) -> bool:
        """Release an in-flight message on PUBACK and refill the window; False if unknown."""
        if self.inflight.pop(pid, None) is None:
            return False
        if self.queue:
            self.drain()
        return True

    def resume(self, out: Outbox) -> None:
        """Attach a connection: re-send unacknowledged messages with DUP set, then queued ones."""
        self.outbox = out
        for pid, (msg, retain) in list(self.inflight.items()):
            if not self._emit(out, msg.encode(1, pid, retain, dup=True)):
                del self.inflight[pid]
        self.drain()

    def drain(self) -> None:
        """Move queued messages into the in-flight window while it has room."""
        out = self.outbox
        while out is not None and self.queue and len(self.inflight) < self.receive_max:
            msg, retain = self.queue.popleft()
            self._send_new(out, msg, retain)

    def _send_new(self, out: Outbox, msg: Message, retain: bool) -> None:
        """Give a QoS 1 message a free packet id, send it and track it in flight."""
        pid = self.next_pid
        while pid in self.inflight:
            pid = pid % 65535 + 1
        self.next_pid = pid % 65535 + 1
        if self._emit(out, msg.encode(1, pid, retain)):
            self.inflight[pid] = (msg, retain)

    def _emit(self, out: Outbox, data: bytes | None) -> bool:
        """Send unless expired or larger than the client accepts (MQTT says: discard)."""
        if data is None or (self.max_packet_size is not None and len(data) > self.max_packet_size):
            return False
        out.send(data)
        return True


@dataclass(slots=True, eq=False)
class _Node:
    """One level of the topic tree."""

    children: dict[str, _Node] = field(default_factory=dict)
    subs: dict[str, Subscription] = field(default_factory=dict)  # client id -> subscription


class Router:
    """Sessions, subscriptions and retained messages: the broker minus its sockets."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.retained: dict[str, Message] = {}
        self.closing = False  # shutting down: no wills, no session bookkeeping
        self._root = _Node()
        self._cache: dict[str, list[dict[str, Subscription]]] = {}

    def open(self, conn: Outbox, p: mqtt5.ConnectPacket) -> Session:
        """Take over, resume or create the client's session, answer CONNACK, resend."""
        client_id = p.client_id or f"auto-{uuid.uuid4().hex}"
        old = self.sessions.get(client_id)
        if old is not None and old.outbox is not None:
            log.info("%s: session taken over by a new connection", client_id)
            old.outbox.close(Reason.SESSION_TAKEN_OVER)
            old = self.sessions.get(client_id)  # it ended there if its expiry interval was 0
        if old is not None and p.clean_start:
            self.end(old)
            old = None
        session = old or Session(client_id)
        self.sessions[client_id] = session
        if session.expiry_timer is not None:
            session.expiry_timer.cancel()
            session.expiry_timer = None
        session.expiry_interval = p.session_expiry_interval
        session.receive_max = p.receive_max
        session.max_packet_size = p.max_packet_size
        assigned = None if p.client_id else client_id
        conn.send(mqtt5.ConnAckPacket(session_present=old is not None,
                                      assigned_client_id=assigned, **_CAPABILITIES).write())
        log.debug("%s: connected (session present: %s)", client_id, old is not None)
        session.resume(conn)
        return session

    def detach(self, conn: Outbox, session: Session, will: mqtt5.Will | None) -> None:
        """Detach a session from its closed connection, publish the will, start expiry."""
        if session.outbox is not conn or self.closing:
            return
        session.outbox = None
        if will is not None:
            self.publish(message_from(will, session.client_id))
        if session.expiry_interval == 0:
            self.end(session)
        elif session.expiry_interval != NEVER_EXPIRES:
            session.expiry_timer = asyncio.get_running_loop().call_later(
                session.expiry_interval, self.end, session)

    def end(self, session: Session) -> None:
        """Forget a session and its subscriptions."""
        for pattern in session.subscriptions:
            self.remove(pattern, session.client_id)
        session.subscriptions.clear()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]
        if session.expiry_timer is not None:
            session.expiry_timer.cancel()

    def publish(self, msg: Message) -> None:
        """Keep or clear the retained copy, then deliver once to every matching session."""
        if msg.retain:
            if msg.payload:
                self.retained[msg.topic] = msg
            else:
                self.retained.pop(msg.topic, None)
        for sub in self._subscribers(msg.topic, msg.sender):
            sub.session.deliver(msg, min(msg.qos, sub.qos), msg.retain and sub.retain_as_published)

    def retained_for(self, pattern: str) -> list[Message]:
        """Return the retained messages a new subscription to a filter receives."""
        return [msg for topic, msg in self.retained.items() if _filter_matches(pattern, topic)]

    def add(self, pattern: str, sub: Subscription) -> None:
        """Add or replace a session's subscription to a topic filter."""
        node = self._root
        for level in pattern.split("/"):
            node = node.children.setdefault(level, _Node())
        node.subs[sub.session.client_id] = sub
        self._cache.clear()

    def remove(self, pattern: str, client_id: str) -> None:
        """Remove a session's subscription to a topic filter and prune empty branches."""
        levels = pattern.split("/")
        path = [self._root]
        for level in levels:
            child = path[-1].children.get(level)
            if child is None:
                return
            path.append(child)
        path[-1].subs.pop(client_id, None)
        for i in range(len(levels) - 1, -1, -1):
            if path[i + 1].subs or path[i + 1].children:
                break
            del path[i].children[levels[i]]
        self._cache.clear()

    def _subscribers(self, topic: str, sender: str) -> Iterable[Subscription]:
        """Return one subscription per client matching the topic: its highest-QoS one."""
        matches = self._match(topic)
        if len(matches) == 1 and (sender not in matches[0] or not matches[0][sender].no_local):
            return matches[0].values()
        best: dict[str, Subscription] = {}
        for found in matches:
            for client_id, sub in found.items():
                if sub.no_local and client_id == sender:
                    continue
                current = best.get(client_id)
                if current is None or sub.qos > current.qos:
                    best[client_id] = sub
        return best.values()

    def _match(self, topic: str) -> list[dict[str, Subscription]]:
        """Return the subscriber maps of every filter matching a topic (cached)."""
        found = self._cache.get(topic)
        if found is not None:
            return found
        found = []
        nodes = [self._root]
        wild = not topic.startswith("$")  # wildcards at level one never match "$..." topics
        for level in topic.split("/"):
            deeper = []
            for node in nodes:
                children = node.children
                if wild and (hashed := children.get("#")) is not None and hashed.subs:
                    found.append(hashed.subs)
                if wild and (plus := children.get("+")) is not None:
                    deeper.append(plus)
                if (child := children.get(level)) is not None:
                    deeper.append(child)
            nodes, wild = deeper, True
            if not nodes:
                break
        for node in nodes:
            found.extend(n.subs for n in (node, node.children.get("#")) if n and n.subs)
        if len(self._cache) >= _MATCH_CACHE_SIZE:
            self._cache.clear()
        self._cache[topic] = found
        return found


def _filter_matches(pattern: str, topic: str) -> bool:
    """Tell whether a topic filter matches a topic name."""
    if topic.startswith("$") and pattern[:1] in ("+", "#"):
        return False
    parts, levels = pattern.split("/"), topic.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part != "+" and part != levels[i]):
            return False
    return len(parts) == len(levels)
