"""A hub's messages on the wire: topics, channels and the protocol's JSON payload."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import msgspec

from firmware_sim.hub import HubEvent
from firmware_sim.kits import CODES
from telecare.protocol import PROTOCOL_VERSION, Channel, is_alarm, topic_for

ONLINE: Final = b"online"
OFFLINE: Final = b"offline"


def encode_event(event: HubEvent, *, seq: int) -> bytes:
    """Encode an event as the protocol's JSON payload, with value and battery only when set."""
    payload: dict[str, Any] = {
        "v": PROTOCOL_VERSION,
        "hub": event.hub_id,
        "seq": seq,
        "ts": round(event.at * 1000),
        "device": event.device_id,
        "type": event.type,
        "event": event.event,
    }
    if event.value is not None:
        payload["value"] = event.value
    if event.battery is not None:
        payload["battery"] = event.battery
    return msgspec.json.encode(payload)


class Published(NamedTuple):
    """An event as it went out: channel, topic, payload and the seq it carries."""

    channel: Channel
    topic: str
    payload: bytes
    seq: int


def channel_of(event: HubEvent) -> Channel:
    """Return the channel an event travels on: alarm for pendant, fall and smoke, else event."""
    return Channel.ALARM if is_alarm(event.type, event.event) else Channel.EVENT


# The tail of each code's payload, so that a live event costs one bytes format.
_TAILS: Final = tuple(
    msgspec.json.encode({"device": c.device_id, "type": c.type, "event": c.event})[1:]
    for c in CODES
)


class HubTopics:
    """One hub's topics and the fixed head of its payloads, encoded once."""

    __slots__ = ("ack", "alarm", "event", "head", "status")

    def __init__(self, hub_id: str) -> None:
        self.event = topic_for(hub_id, Channel.EVENT).encode()
        self.alarm = topic_for(hub_id, Channel.ALARM).encode()
        self.status = topic_for(hub_id, Channel.STATUS).encode()
        self.ack = topic_for(hub_id, Channel.ACK).encode()
        self.head = b'{"v":%d,"hub":%b,"seq":' % (PROTOCOL_VERSION, msgspec.json.encode(hub_id))

    def payload(self, seq: int, ts_ms: int, code: int, value: float | None) -> bytes:
        """Encode one event of this hub (the same JSON as encode_event, field order aside)."""
        if value is None:
            return b'%b%d,"ts":%d,%b' % (self.head, seq, ts_ms, _TAILS[code])
        return b'%b%d,"ts":%d,"value":%b,%b' % (
            self.head, seq, ts_ms, msgspec.json.encode(value), _TAILS[code])
