"""Broker state without I/O: routed messages, sessions with their QoS 1 window, the topic tree."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from mqtt5 import PublishPacket, QoS, Will

log = logging.getLogger("telecare.broker")

MAX_QUEUED: Final = 100_000
NEVER_EXPIRES: Final = 0xFFFFFFFF
_MATCH_CACHE_SIZE: Final = 10_000
_QOS: Final = (QoS.AT_MOST_ONCE, QoS.AT_LEAST_ONCE)


class Outbox(Protocol):
    """Where a session writes encoded packets while its client is connected."""

    def send(self, data: bytes) -> None:
        """Queue bytes for the client."""


@dataclass(slots=True, eq=False)
class Message:
    """An application message as routed, without per-delivery fields (packet id, DUP)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    sender: str
    props: dict[str, Any] = field(default_factory=dict)
    expires_at: float | None = None
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
        data = PublishPacket(self.topic, self.payload, qos=_QOS[qos], retain=retain,
                             packet_id=pid, duplicate=dup, message_expiry_interval=expiry,
                             **self.props).write()
        if cacheable:
            self.plain = data
        return data


def message_from(src: PublishPacket | Will, sender: str) -> Message:
    """Build the routed message from a client's PUBLISH or a CONNECT's will."""
    props: dict[str, Any] = {}
    if src.payload_format_indicator:
        props["payload_format_indicator"] = src.payload_format_indicator
    for name in ("content_type", "response_topic", "correlation_data"):
        if (value := getattr(src, name)) is not None:
            props[name] = value
    if src.user_properties:
        props["user_properties"] = src.user_properties
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


class Session:
    """A client's session: subscriptions, the QoS 1 in-flight window and the offline queue."""

    __slots__ = ("client_id", "dropped", "expiry_interval", "expiry_timer", "inflight",
                 "max_packet_size", "next_pid", "outbox", "queue", "receive_max",
                 "subscriptions", "will", "will_timer")

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.subscriptions: dict[str, Subscription] = {}
        self.inflight: dict[int, tuple[Message, bool]] = {}  # packet id -> (message, retain)
        self.queue: deque[tuple[Message, bool]] = deque()
        self.outbox: Outbox | None = None
        self.receive_max = 65535
        self.max_packet_size: int | None = None
        self.expiry_interval = 0
        self.next_pid = 1
        self.dropped = 0
        self.expiry_timer: asyncio.TimerHandle | None = None
        self.will: Will | None = None  # a will waiting out its delay interval
        self.will_timer: asyncio.TimerHandle | None = None

    def cancel_timers(self) -> None:
        """Cancel the session-expiry and will-delay timers."""
        for timer in (self.expiry_timer, self.will_timer):
            if timer is not None:
                timer.cancel()
        self.expiry_timer = self.will_timer = None

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

    def acknowledge(self, packet_id: int) -> bool:
        """Release an in-flight message on PUBACK and refill the window; False if unknown."""
        if self.inflight.pop(packet_id, None) is None:
            return False
        if self.queue:
            self.drain()
        return True

    def resume(self, out: Outbox) -> None:
        """Attach a connection: re-send unacknowledged messages with DUP set, then queued ones."""
        self.outbox = out
        for pid, (msg, retain) in list(self.inflight.items()):
            data = msg.encode(1, pid, retain, dup=True)
            if data is None:
                del self.inflight[pid]
            else:
                out.send(data)
        self.drain()

    def drain(self) -> None:
        """Move queued messages into the in-flight window while it has room."""
        out = self.outbox
        while out is not None and self.queue and len(self.inflight) < self.receive_max:
            msg, retain = self.queue.popleft()
            self._send_new(out, msg, retain)

    def _send_new(self, out: Outbox, msg: Message, retain: bool) -> None:
        """Give a QoS 1 message a packet id, track it in flight and send it."""
        pid = self.next_pid
        while pid in self.inflight:
            pid = pid % 65535 + 1
        self.next_pid = pid % 65535 + 1
        data = msg.encode(1, pid, retain)
        if self._emit(out, data):
            self.inflight[pid] = (msg, retain)

    def _emit(self, out: Outbox, data: bytes | None) -> bool:
        """Send unless expired or larger than the client accepts (MQTT says: discard)."""
        if data is None or (self.max_packet_size is not None and len(data) > self.max_packet_size):
            return False
        out.send(data)
        return True


class _Node:
    """One level of the topic tree."""

    __slots__ = ("children", "subs")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.subs: dict[str, Subscription] = {}  # client id -> subscription


class TopicTree:
    """Topic filters by level, with a cache of topic -> matching subscriber maps."""

    def __init__(self) -> None:
        self._root = _Node()
        self._cache: dict[str, list[dict[str, Subscription]]] = {}

    def add(self, pattern: str, sub: Subscription) -> None:
        """Add or replace a session's subscription to a filter."""
        node = self._root
        for level in pattern.split("/"):
            node = node.children.setdefault(level, _Node())
        node.subs[sub.session.client_id] = sub
        self._cache.clear()

    def remove(self, pattern: str, client_id: str) -> None:
        """Remove a session's subscription to a filter and prune empty branches."""
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

    def match(self, topic: str) -> list[dict[str, Subscription]]:
        """Return the subscriber maps of every filter matching a topic."""
        found = self._cache.get(topic)
        if found is not None:
            return found
        levels = topic.split("/")
        end = len(levels)
        found = []
        stack = [(self._root, 0)]
        while stack:
            node, i = stack.pop()
            if i == end:
                if node.subs:
                    found.append(node.subs)
                hash_node = node.children.get("#")  # "a/#" also matches "a"
                if hash_node is not None and hash_node.subs:
                    found.append(hash_node.subs)
                continue
            if i > 0 or not topic.startswith("$"):
                hash_node = node.children.get("#")
                if hash_node is not None and hash_node.subs:
                    found.append(hash_node.subs)
                plus = node.children.get("+")
                if plus is not None:
                    stack.append((plus, i + 1))
            child = node.children.get(levels[i])
            if child is not None:
                stack.append((child, i + 1))
        if len(self._cache) >= _MATCH_CACHE_SIZE:
            self._cache.clear()
        self._cache[topic] = found
        return found


    def subscribers(self, topic: str, sender: str) -> Iterable[Subscription]:
        """Return one subscription per client matching the topic: its highest QoS one."""
        matches = self.match(topic)
        if len(matches) == 1:
            subs = matches[0]
            if sender not in subs or not subs[sender].no_local:
                return subs.values()
        best: dict[str, Subscription] = {}
        for found in matches:
            for client_id, sub in found.items():
                if sub.no_local and client_id == sender:
                    continue
                current = best.get(client_id)
                if current is None or sub.qos > current.qos:
                    best[client_id] = sub
        return best.values()


def filter_matches(pattern: str, topic: str) -> bool:
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
