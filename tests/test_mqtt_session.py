"""The ingest MQTT session against a real Mosquitto: queued publishes survive reconnects."""

from __future__ import annotations

import asyncio
import threading

from conftest import Broker, HubClient

from telecare.ingest.mqtt import BrokerAddress, MqttSession


async def test_publishes_queued_while_disconnected_go_out_once_the_session_is_up(
    broker: Broker,
) -> None:
    """An ack published before the connection exists is delivered after the handshake."""
    listener = HubClient(broker, "listener").connect()
    got = threading.Event()
    assert listener.client is not None
    listener.client.on_message = lambda *a: got.set()
    listener.client.subscribe("telecare/v1/+/+/ack", qos=1)
    session = MqttSession(address=BrokerAddress.parse(broker.url), client_id="svc-test",
                          filters=["telecare/v1/+/+/alarm"])
    session.publish("telecare/v1/00/H-1/ack", b'{"v":1,"seq":1}')
    async with session:
        await asyncio.wait_for(session.wait_subscribed(), 10)
        assert await asyncio.to_thread(got.wait, 10)
    listener.close()


async def test_a_dropped_connection_with_publishes_in_flight_reconnects_and_resends(
    broker: Broker,
) -> None:
    """After the socket drops, unacknowledged publishes go again marked duplicate."""
    listener = HubClient(broker, "listener2").connect()
    count = 0
    seen = threading.Event()

    def on_message(*args: object) -> None:
        nonlocal count
        count += 1
        seen.set()

    assert listener.client is not None
    listener.client.on_message = on_message
    listener.client.subscribe("telecare/v1/+/+/ack", qos=1)
    session = MqttSession(address=BrokerAddress.parse(broker.url), client_id="svc-test2",
                          filters=["telecare/v1/+/+/alarm"])
    async with session:
        await asyncio.wait_for(session.wait_subscribed(), 10)
        wire = session._wire
        assert wire is not None
        session.publish("telecare/v1/00/H-1/ack", b'{"v":1,"seq":2}')
        wire.abort()  # before the broker's PUBACK can arrive, most likely
        await asyncio.sleep(0)
        for _ in range(200):
            if session.subscribed and session._wire is not wire:
                break
            await asyncio.sleep(0.05)
        assert session.subscribed and session._wire is not wire
        assert await asyncio.to_thread(seen.wait, 10)
    listener.close()
    assert count >= 1
