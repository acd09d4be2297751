"""Turn one raw MQTT message into an accepted event, a duplicate, a status change
or a rejection with a named reason (PROTOCOL.md). No I/O: the registry and the
replay windows are handed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

import msgspec

from telecare.ingest.seqwindow import SeqVerdict, SeqWindow
from telecare.model import Device, Event, Hub
from telecare.protocol import (
    HUB_DEVICE,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    TOPIC_ROOT,
    Channel,
    EventPayload,
    is_alarm,
    is_known,
    is_valid_hub_id,
    shard_of,
)

CLOCK_AHEAD_MS: Final = 10 * 60 * 1000
CLOCK_BEHIND_MS: Final = 24 * 3600 * 1000
_DECODER: Final = msgspec.json.Decoder(EventPayload)
_ROOT_PARTS: Final = tuple(TOPIC_ROOT.split("/"))


class RejectReason(StrEnum):
    """Why a message went to dead letters; one metric label each."""

    BAD_TOPIC = "bad_topic"
    WRONG_SHARD = "wrong_shard"
    OVERSIZE = "oversize"
    BAD_ENCODING = "bad_encoding"
    BAD_JSON = "bad_json"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    UNSUPPORTED_VERSION = "unsupported_version"
    SPOOFED = "spoofed"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_HUB = "unknown_hub"
    UNKNOWN_DEVICE = "unknown_device"
    STALE = "stale"
    SEQ_JUMP = "seq_jump"
    BAD_STATUS = "bad_status"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as it came off the wire, stamped with the service's receipt time."""

    topic: str
    payload: bytes
    received_at: int
    retained: bool = False  # replayed from the broker's retained store, not live


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that goes to dead letters."""

    reason: RejectReason
    detail: str
    message: RawMessage
    hub_id: str | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A `seq` seen before: counted, re-acked if an alarm, not stored again."""

    hub_id: str
    seq: int
    channel: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A hub's retained `status`: online on connect, offline from its will."""

    hub_id: str
    online: bool
    received_at: int
    retained: bool = False


Verdict = Event | Duplicate | StatusChange | Rejected


class Registry(Protocol):
    """What validation needs to know about registered hubs and devices."""

    def hub(self, hub_id: str) -> Hub | None:
        """Return the registered hub, or None."""

    def device(self, hub_id: str, device_id: str) -> Device | None:
        """Return the registered device, or None."""

    def window(self, hub_id: str) -> SeqWindow:
        """Return the hub's replay window, to be checked and marked in place."""


def classify(msg: RawMessage, registry: Registry, *, live: bool = True) -> Verdict:
    """Validate one message against the protocol and the registry."""
    parts = msg.topic.split("/")
    if len(parts) != 5 or tuple(parts[:2]) != _ROOT_PARTS or not is_valid_hub_id(parts[3]):
        detail = "topic is not telecare/v1/SHARD/HUB/CHANNEL"
        return Rejected(RejectReason.BAD_TOPIC, detail, msg)
    _, _, shard, hub_id, channel = parts
    if shard != shard_of(hub_id):
        return Rejected(RejectReason.WRONG_SHARD, f"shard {shard!r} is not the hub's", msg, hub_id)
    if channel == Channel.STATUS:
        return _status(msg, hub_id, registry)
    if channel not in (Channel.ALARM, Channel.EVENT):
        return Rejected(RejectReason.BAD_TOPIC, f"channel {channel!r} is not hub -> service", msg)
    if len(msg.payload) > MAX_PAYLOAD_BYTES:
        return Rejected(RejectReason.OVERSIZE, f"{len(msg.payload)} bytes > 16 KiB", msg, hub_id)
    payload = _decode(msg, hub_id)
    if isinstance(payload, Rejected):
        return payload
    return _admit(payload, msg, channel, registry, live=live)


def _decode(msg: RawMessage, hub_id: str) -> EventPayload | Rejected:
    try:
        msg.payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected(RejectReason.BAD_ENCODING, f"not UTF-8: {exc.reason}", msg, hub_id)
    try:
        payload = _DECODER.decode(msg.payload)
    except msgspec.ValidationError as exc:
        text = str(exc)
        missing = "missing required" in text
        reason = RejectReason.MISSING_FIELD if missing else RejectReason.BAD_FIELD
        return Rejected(reason, text, msg, hub_id)
    except msgspec.DecodeError as exc:
        return Rejected(RejectReason.BAD_JSON, str(exc), msg, hub_id)
    if payload.v != PROTOCOL_VERSION:
        return Rejected(RejectReason.UNSUPPORTED_VERSION, f"v={payload.v}", msg, hub_id)
    if payload.hub != hub_id:
        return Rejected(RejectReason.SPOOFED, "payload hub differs from topic hub", msg, hub_id)
    return payload


def _admit(
    p: EventPayload, msg: RawMessage, channel: str, registry: Registry, *, live: bool
) -> Verdict:
    if not is_known(p.type, "battery"):
        return Rejected(RejectReason.UNKNOWN_TYPE, f"type {p.type!r}", msg, p.hub, p.seq)
    if not is_known(p.type, p.event):
        return Rejected(RejectReason.UNKNOWN_EVENT, f"{p.type}/{p.event}", msg, p.hub, p.seq)
    hub = registry.hub(p.hub)
    if hub is None:
        return Rejected(RejectReason.UNKNOWN_HUB, "hub is not registered", msg, p.hub, p.seq)
    alarm = is_alarm(p.type, p.event)
    unregistered = p.device != HUB_DEVICE and registry.device(p.hub, p.device) is None
    if unregistered and not alarm:
        return Rejected(RejectReason.UNKNOWN_DEVICE, "device is not registered", msg, p.hub, p.seq)
    window = registry.window(p.hub)
    verdict = window.check(p.seq)
    if verdict is SeqVerdict.DUPLICATE:
        return Duplicate(p.hub, p.seq, channel)
    if verdict is SeqVerdict.STALE:
        return Rejected(RejectReason.STALE, f"seq {p.seq} below window", msg, p.hub, p.seq)
    if verdict is SeqVerdict.JUMP:
        detail = f"seq {p.seq} jumps past {window.high}"
        return Rejected(RejectReason.SEQ_JUMP, detail, msg, p.hub, p.seq)
    window.mark(p.seq)
    ahead = p.ts - msg.received_at > CLOCK_AHEAD_MS
    behind = live and msg.received_at - p.ts > CLOCK_BEHIND_MS
    clock_fault = ahead or behind
    return Event(
        hub_id=p.hub,
        seq=p.seq,
        device_id=p.device,
        type=p.type,
        event=p.event,
        ts=p.ts,
        event_time=msg.received_at if clock_fault else p.ts,
        received_at=msg.received_at,
        channel=channel,
        value=p.value,
        battery=p.battery,
        misrouted=alarm and channel != Channel.ALARM,
        unregistered_device=unregistered,
        clock_fault=clock_fault,
    )


def _status(msg: RawMessage, hub_id: str, registry: Registry) -> StatusChange | Rejected:
    text = msg.payload.strip().lower()
    if text not in (b"online", b"offline"):
        detail = "status is neither online nor offline"
        return Rejected(RejectReason.BAD_STATUS, detail, msg, hub_id)
    if registry.hub(hub_id) is None:
        return Rejected(RejectReason.UNKNOWN_HUB, "hub is not registered", msg, hub_id)
    return StatusChange(hub_id, text == b"online", msg.received_at, msg.retained)
