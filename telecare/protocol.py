"""The device protocol (docs/protocol.md): topics, shards and the event payload.

Shared by the service, the simulator and every tool that replays recorded data,
so it holds only the contract itself: no I/O, no service state.
"""

from __future__ import annotations

import functools
import hashlib
import re
from enum import StrEnum
from typing import Annotated, Any, Final

import msgspec

PROTOCOL_VERSION: Final = 1
TOPIC_ROOT: Final = "telecare/v1"
MAX_PAYLOAD_BYTES: Final = 16 * 1024
HUB_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
_HUB_ID = re.compile(HUB_ID_PATTERN)


class Channel(StrEnum):
    """The last level of a topic: what kind of message travels on it."""

    ALARM = "alarm"
    EVENT = "event"
    STATUS = "status"
    ACK = "ack"
    CMD = "cmd"


# type -> the events it may carry ("battery" is allowed for every type).
EVENTS_BY_TYPE: Final[dict[str, frozenset[str]]] = {
    "pendant": frozenset({"press", "cancel"}),
    "fall": frozenset({"fall", "cancel"}),
    "accel": frozenset({"window"}),
    "motion": frozenset({"active"}),
    "door": frozenset({"open", "closed"}),
    "bed": frozenset({"occupied", "vacant"}),
    "chair": frozenset({"occupied", "vacant"}),
    "usage": frozenset({"active"}),
    "smoke": frozenset({"alarm", "clear"}),
    "temperature": frozenset({"reading"}),
    "hub": frozenset({"heartbeat", "mains_lost", "mains_restored", "tamper", "test"}),
}
BATTERY_EVENT: Final = "battery"
HUB_DEVICE: Final = "hub"

# (type, event) pairs that need a person now and belong on the alarm channel.
ALARM_EVENTS: Final[frozenset[tuple[str, str]]] = frozenset(
    {("pendant", "press"), ("pendant", "cancel"), ("fall", "fall"), ("fall", "cancel"),
     ("smoke", "alarm"), ("smoke", "clear")}
)


@functools.lru_cache(maxsize=1 << 17)
def shard_of(hub_id: str) -> str:
    """Return the hub's shard: the first two hex characters of sha256(hub_id)."""
    return hashlib.sha256(hub_id.encode()).hexdigest()[:2]


def is_valid_hub_id(hub_id: str) -> bool:
    """Tell whether a hub id is 1-64 characters of [A-Za-z0-9_-]."""
    return _HUB_ID.match(hub_id) is not None


def topic_for(hub_id: str, channel: Channel | str) -> str:
    """Build the topic a hub publishes (or receives) a channel on."""
    return f"{TOPIC_ROOT}/{shard_of(hub_id)}/{hub_id}/{channel}"


def subscription_filter(channel: Channel | str, shard: str = "+") -> str:
    """Build the filter a worker subscribes with: one channel, one shard or all."""
    return f"{TOPIC_ROOT}/{shard}/+/{channel}"


class EventPayload(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One device event as a hub publishes it on `alarm` or `event` (protocol v1)."""

    v: int
    hub: str
    seq: Annotated[int, msgspec.Meta(ge=0)]
    ts: int
    device: str
    type: str
    event: str
    value: float | dict[str, Any] | None = None
    battery: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None


class AckPayload(msgspec.Struct, frozen=True):
    """What the service publishes on `ack` once an alarm event is durably stored."""

    v: int
    seq: int


def is_known(type_: str, event: str) -> bool:
    """Tell whether (type, event) is in the protocol's table."""
    events = EVENTS_BY_TYPE.get(type_)
    return events is not None and (event in events or event == BATTERY_EVENT)


def is_alarm(type_: str, event: str) -> bool:
    """Tell whether (type, event) is an alarm event (pendant, fall, smoke)."""
    return (type_, event) in ALARM_EVENTS


def encode_ack(seq: int) -> bytes:
    """Encode the `ack` payload for one alarm event."""
    return msgspec.json.encode(AckPayload(v=PROTOCOL_VERSION, seq=seq))


def event_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the event payload, as published for hub makers."""
    schema = msgspec.json.schema(EventPayload)
    body = schema["$defs"]["EventPayload"]
    props = body["properties"]
    props["v"]["const"] = PROTOCOL_VERSION
    props["hub"]["pattern"] = HUB_ID_PATTERN
    props["type"]["enum"] = sorted(EVENTS_BY_TYPE)
    all_events = set().union(*EVENTS_BY_TYPE.values()) | {BATTERY_EVENT}
    props["event"]["enum"] = sorted(all_events)
    props["ts"]["description"] = "device time, milliseconds since the Unix epoch, UTC"
    props["seq"]["description"] = "per hub, increasing in publish order, kept across reboots"
    props["device"]["description"] = "device id on the hub; 'hub' for the hub's own events"
    body["additionalProperties"] = True
    body["description"] = (
        "A telecare hub event (protocol v1). At most 16 KiB of UTF-8 JSON. "
        "Unknown fields are ignored; unknown type or event values are dead-lettered."
    )
    body["allOf"] = [
        {
            "if": {"properties": {"type": {"const": t}}},
            "then": {"properties": {"event": {"enum": sorted(evs | {BATTERY_EVENT})}}},
        }
        for t, evs in sorted(EVENTS_BY_TYPE.items())
    ]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
