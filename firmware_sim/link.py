"""One hub's MQTT connection (paho-mqtt, MQTT v5): status, seq and alarms awaiting their ack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Final, NamedTuple

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim.homes import HomeSpec
from firmware_sim.hub import HubEvent
from telecare.protocol import PROTOCOL_VERSION, AckPayload, Channel, is_alarm, topic_for

# The broker declares a hub whose link died silently offline (fires its will)
# after 1.5 x keepalive; shorter means earlier notice and more pings.
KEEPALIVE_S: Final = 30
ONLINE: Final = b"online"
OFFLINE: Final = b"offline"

OnPublish = Callable[[str, bytes], None]


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


class HubLink:
    """One hub's MQTT session: its paho client, its seq and its unacknowledged alarms.

    Methods are called in the event loop's thread unless their docstring says
    they block; paho's callbacks run in paho's network thread.
    """

    def __init__(
        self,
        home: HomeSpec,
        *,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop,
        first_seq: int = 0,
        on_publish: OnPublish | None = None,
    ) -> None:
        self.hub_id = home.hub_id
        self.next_seq = first_seq
        self.unacked: dict[int, tuple[str, bytes]] = {}
        self.acks_received = 0
        self.status_published = 0
        self.publishing = True
        self.dropped = False
        self.connected = asyncio.Event()
        self._loop = loop
        self._on_publish = on_publish
        self._host = host
        self._port = port
        self._status_topic = topic_for(self.hub_id, Channel.STATUS)
        self._ack_topic = topic_for(self.hub_id, Channel.ACK)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.hub_id, protocol=mqtt.MQTTv5
        )
        client.will_set(self._status_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        """Start connecting in paho's network thread; `connected` is set once accepted."""
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def publish(self, event: HubEvent) -> Published:
        """Publish an event with the hub's next seq, QoS 1; an alarm waits for its ack."""
        seq = self.next_seq
        self.next_seq += 1
        channel = channel_of(event)
        topic = topic_for(self.hub_id, channel)
        payload = encode_event(event, seq=seq)
        self._client.publish(topic, payload, qos=1)
        if channel is Channel.ALARM:
            self.unacked[seq] = (topic, payload)
        return Published(channel, topic, payload, seq)

    def retransmit(self, seq: int) -> tuple[str, bytes] | None:
        """Publish an unacknowledged alarm again, same seq and bytes; None once acked."""
        pending = self.unacked.get(seq)
        if pending is None or not self.publishing:
            return None
        topic, payload = pending
        self._client.publish(topic, payload, qos=1)
        return pending

    def disconnect(self) -> None:
        """Publish retained `offline` and send DISCONNECT (queued; does not block)."""
        if self.dropped:
            return
        if self.connected.is_set():
            self._client.publish(self._status_topic, OFFLINE, qos=1, retain=True)
            self.status_published += 1
            if self._on_publish is not None:
                self._on_publish(self._status_topic, OFFLINE)
        # Queued after the publish, so the broker has `offline` before the DISCONNECT.
        self._client.disconnect()

    def stop_network(self) -> None:
        """Wait for paho's network thread to end (blocks up to about a second)."""
        self._client.loop_stop()

    def drop(self) -> None:
        """Drop the connection without DISCONNECT, as a hub losing power does (blocks)."""
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    # paho's network thread from here on.

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            return
        client.subscribe(self._ack_topic, qos=1)
        client.publish(self._status_topic, ONLINE, qos=1, retain=True)
        self._in_loop(self._connected)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            ack = msgspec.json.decode(message.payload, type=AckPayload)
        except msgspec.DecodeError:
            return
        self._in_loop(self._acked, ack.seq)

    def _in_loop(self, callback: Callable[..., None], *args: Any) -> None:
        # paho calls back from its own network thread, and asyncio state (events,
        # the counters and dicts the scheduler reads) belongs to the loop's
        # thread, so hand the work over with call_soon_threadsafe.
        # RuntimeError: the loop has closed, so the run is over.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback, *args)

    # The event loop's thread again (scheduled by _in_loop).

    def _connected(self) -> None:
        self.status_published += 1
        self.connected.set()
        if self._on_publish is not None:
            self._on_publish(self._status_topic, ONLINE)

    def _acked(self, seq: int) -> None:
        self.acks_received += 1
        self.unacked.pop(seq, None)
