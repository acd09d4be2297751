"""SIGKILL the service while idle and mid-stream: nothing is lost, nothing is stored twice."""

from __future__ import annotations

import threading

from conftest import Broker, HubClient, ServiceProcess, event, wait_until

from telecare.protocol import Channel, topic_for
from telecare.store import SqliteStore

HUBS = [f"H-crash-{i}" for i in range(5)]


def stored(service: ServiceProcess) -> dict[str, int]:
    """Events stored per hub, read from the real store file."""
    store = SqliteStore.open(service.env["TELECARE_DATA_DIR"] + "/telecare.db")
    try:
        return {hub: store.count_events(hub) for hub in HUBS}
    finally:
        store.close()


def test_service_killed_idle_and_mid_stream_loses_no_event_and_stores_each_once(
    service: ServiceProcess, hub_client: HubClient, broker: Broker
) -> None:
    """50 events (5 presses) queue while down; a kill mid-stream redelivers what was unstored."""
    for hub in HUBS:
        service.cli("hub", "add", hub)
        service.cli("device", "add", hub, "pendant-1", "--type", "pendant")
        service.cli("device", "add", hub, "pir-1", "--type", "motion", "--location", "hall")
    published = dict.fromkeys(HUBS, 0)

    def send(hub: str, alarm: bool = False) -> None:
        seq = published[hub]
        if alarm:
            hub_client.publish(topic_for(hub, Channel.ALARM),
                               event(hub, seq, "pendant-1", "pendant", "press"))
        else:
            hub_client.publish(topic_for(hub, Channel.EVENT),
                               event(hub, seq, "pir-1", "motion", "active"))
        published[hub] += 1

    service.kill()  # idle
    for i in range(45):
        send(HUBS[i % 5])
    for hub in HUBS:
        send(hub, alarm=True)
    service.start()
    wait_until(lambda: stored(service) == published, 20, "the 50 queued events to be stored")
    alerts = service.alerts()
    assert sorted((a["hub_id"], a["type"], a["priority"]) for a in alerts) == [
        (hub, "pendant_press", 1) for hub in HUBS
    ]

    # mid-stream: a second client streams while the service is killed under it
    streamer = HubClient(broker, "test-streamer").connect()
    total = 4000
    stream_seq = dict.fromkeys(HUBS, 1000)

    def stream() -> None:
        for i in range(total):
            hub = HUBS[i % 5]
            streamer.publish(topic_for(hub, Channel.EVENT),
                             event(hub, stream_seq[hub], "pir-1", "motion", "active"))
            stream_seq[hub] += 1

    thread = threading.Thread(target=stream, name="streamer")
    thread.start()
    base = sum(published.values())
    wait_until(lambda: sum(stored(service).values()) >= base + 400, 30, "the stream to flow")
    service.kill()
    killed_at = sum(stored(service).values()) - base
    thread.join(120)
    streamer.close()
    assert killed_at < total, "the stream finished before the kill; nothing was tested"
    service.start()
    expected = {hub: published[hub] + (stream_seq[hub] - 1000) for hub in HUBS}
    wait_until(lambda: stored(service) == expected, 60, "every streamed event to be stored once")
    print(f"killed after {killed_at} of {total} streamed events had been stored")
    assert len(service.alerts()) == 5
