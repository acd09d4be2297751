"""The ingest MQTT session against a real Mosquitto: queued publishes survive reconnects."""

from __future__ import annotations

import asyncio

from conftest import Broker, HubClient, wait_until

from telecare.ingest.mqtt import BrokerAddress, MqttSession
from telecare.protocol import Channel, topic_for

HUB = "H-1"


def listener(broker: Broker, name: str) -> HubClient:
    """A hub listening on its ack topic, subscribed (SUBACK seen) before anything is sent."""
    client = HubClient(broker, name).connect()
    client.listen_acks(HUB)
    return client


async def test_publishes_queued_while_disconnected_go_out_once_the_session_is_up(
    broker: Broker,
) -> None:
    """An ack published before the connection exists is delivered after the handshake."""
    hub = listener(broker, "listener")
    session = MqttSession(address=BrokerAddress.parse(broker.url), client_id="svc-test",
                          filters=["telecare/v1/+/+/alarm"])
    session.publish(topic_for(HUB, Channel.ACK), b'{"v":1,"seq":1}')
    async with session:
        await asyncio.wait_for(session.wait_subscribed(), 10)
        await asyncio.to_thread(wait_until, lambda: hub.acks, 10, "the queued ack")
    hub.close()
    assert hub.acks == [{"v": 1, "seq": 1}]


async def test_a_dropped_connection_with_publishes_in_flight_reconnects_and_resends(
    broker: Broker,
) -> None:
    """After the socket drops, unacknowledged publishes go again marked duplicate."""
    hub = listener(broker, "listener2")
    session = MqttSession(address=BrokerAddress.parse(broker.url), client_id="svc-test2",
                          filters=["telecare/v1/+/+/alarm"])
    async with session:
        await asyncio.wait_for(session.wait_subscribed(), 10)
        wire = session._wire
        assert wire is not None
        session.publish(topic_for(HUB, Channel.ACK), b'{"v":1,"seq":2}')
        wire.abort()  # before the broker's PUBACK can arrive, most likely
        await asyncio.to_thread(
            wait_until, lambda: session.subscribed and session._wire is not wire, 10,
            "the session to reconnect")
        await asyncio.to_thread(wait_until, lambda: hub.acks, 10, "the ack")
    hub.close()
    assert {"v": 1, "seq": 2} in hub.acks
