"""One alarm end to end: a real Mosquitto, the service as a process, the CLI."""

from __future__ import annotations

import time

from conftest import HubClient, ServiceProcess, event, wait_until

from telecare.protocol import Channel, topic_for
from telecare.store import SqliteStore

HUB = "H-test-1"


def register(service: ServiceProcess, hub: str = HUB, heartbeat_s: int = 60) -> None:
    """Register a hub with a pendant and a PIR."""
    service.cli("hub", "add", hub, "--heartbeat-s", str(heartbeat_s))
    service.cli("device", "add", hub, "pendant-1", "--type", "pendant")
    service.cli("device", "add", hub, "pir-hall", "--type", "motion", "--location", "hall")


def test_pendant_press_reaches_queue_within_a_second_and_is_acked_once(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """A press is listed as a priority 1 alert within 1 s, acked, and a retransmit adds nothing."""
    register(service)
    hub_client.listen_acks(HUB)
    press = event(HUB, 7, "pendant-1", "pendant", "press")
    store = SqliteStore.open(service.env["TELECARE_DATA_DIR"] + "/telecare.db")
    sent = time.monotonic()
    hub_client.publish(topic_for(HUB, Channel.ALARM), press)
    # read the queue straight from the store: a CLI process's own start-up is not the service's
    wait_until(lambda: store.alerts(), 5, "the press to reach the queue", step=0.005)
    elapsed = time.monotonic() - sent
    store.close()
    assert elapsed < 1.0, f"alert in the queue after {elapsed:.2f} s"
    alerts = service.alerts()
    assert [(a["type"], a["priority"], a["state"], a["hub_id"]) for a in alerts] == [
        ("pendant_press", 1, "open", HUB)
    ]
    wait_until(lambda: hub_client.acks, 5, "the hub's ack")
    assert hub_client.acks == [{"v": 1, "seq": 7}]

    hub_client.publish(topic_for(HUB, Channel.ALARM), press)  # the hub retransmits
    wait_until(lambda: len(hub_client.acks) == 2, 5, "the retransmit to be re-acked")
    alerts = service.alerts()
    assert len(alerts) == 1 and alerts[0]["occurrences"] == 1
    metrics = service.metrics()
    assert "telecare_events_ingested_total 1.0" in metrics
    assert "telecare_events_duplicate_total 1.0" in metrics
    assert 'telecare_alerts_raised_total{type="pendant_press"} 1.0' in metrics


def test_alert_is_acknowledged_and_resolved_from_the_cli_with_who_and_when(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """ack and resolve record the person and the time; a resolved alert leaves the queue."""
    register(service)
    press = event(HUB, 1, "pendant-1", "pendant", "press")
    hub_client.publish(topic_for(HUB, Channel.ALARM), press)
    alert = wait_until(service.alerts, 5, "the press")[0]
    before = time.time()
    service.cli("alerts", "ack", str(alert["id"]), "--by", "operator-7")
    acked = service.alerts()[0]
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "operator-7"
    assert acked["acknowledged_at"] is not None
    service.cli("alerts", "resolve", str(alert["id"]), "--by", "operator-7",
                "--outcome", "resident_ok")
    assert service.alerts() == []
    resolved = service.alerts(include_resolved=True)[0]
    assert resolved["state"] == "resolved" and resolved["outcome"] == "resident_ok"
    assert resolved["resolved_by"] == "operator-7"
    assert resolved["resolved_at"] >= time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before))
    again = service.cli("alerts", "ack", str(alert["id"]), "--by", "operator-7", check=False)
    assert again.returncode == 2 and "resolved" in again.stderr
    bad = service.cli("alerts", "resolve", "999", "--by", "x", "--outcome", "resident_ok",
                      check=False)
    assert bad.returncode == 2 and "no alert 999" in bad.stderr


def test_hub_whose_heartbeats_stop_is_flagged_within_grace_and_restored_when_it_speaks(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """Heartbeats every 1 s stop: hub_silent within 32 s + 5 s; they resume: the alert clears."""
    register(service, heartbeat_s=1)
    topic = topic_for(HUB, Channel.EVENT)
    for seq in range(3):
        hub_client.publish(topic, event(HUB, seq, "hub", "hub", "heartbeat"))
    last = time.monotonic()
    grace = 2 * 1 + 30
    alert = wait_until(
        lambda: [a for a in service.alerts() if a["type"] == "hub_silent"], grace + 5,
        "hub_silent", step=0.25,
    )[0]
    silent_after = time.monotonic() - last
    assert grace - 1 <= silent_after <= grace + 5, f"flagged after {silent_after:.1f} s"
    assert alert["priority"] == 4 and alert["cleared_at"] is None
    hub_client.publish(topic, event(HUB, 3, "hub", "hub", "heartbeat"))
    cleared = wait_until(
        lambda: [a for a in service.alerts() if a["cleared_at"]], 5, "the alert to clear"
    )[0]
    assert cleared["id"] == alert["id"] and cleared["state"] == "open"  # visible until seen


def test_hub_will_offline_raises_silence_at_once_and_online_restores_it(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """A retained `offline` status raises hub_silent at once; `online` clears it."""
    register(service)
    status = topic_for(HUB, Channel.STATUS)
    hub_client.publish(status, "offline", retain=True)
    alert = wait_until(service.alerts, 5, "hub_silent from the will")[0]
    assert alert["type"] == "hub_silent" and "offline" in alert["reason"]
    hub_client.publish(status, "online", retain=True)
    wait_until(lambda: service.alerts()[0]["cleared_at"], 5, "the alert to clear")


def test_sigterm_stops_cleanly_and_the_broker_keeps_the_session_for_the_restart(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """A clean stop exits 0; a press published while stopped is raised after the restart."""
    register(service)
    assert service.stop() == 0
    assert "stopped cleanly" in service.logs()
    hub_client.listen_acks(HUB)
    hub_client.publish(topic_for(HUB, Channel.ALARM), event(HUB, 1, "pendant-1", "pendant",
                                                            "press"))
    service.start()
    alert = wait_until(service.alerts, 10, "the press queued while stopped")[0]
    assert alert["type"] == "pendant_press"
    wait_until(lambda: hub_client.acks == [{"v": 1, "seq": 1}], 5, "the ack after restart")


def test_an_offline_status_retained_before_the_service_started_waits_for_the_grace(
    service_env: ServiceProcess, hub_client: HubClient
) -> None:
    """After our own restart, a hub is not called silent before its grace from our start."""
    service_env.cli("hub", "add", HUB, "--heartbeat-s", "1")
    hub_client.publish(topic_for(HUB, Channel.STATUS), "offline", retain=True)
    started = time.monotonic()
    service_env.start()
    try:
        alert = wait_until(service_env.alerts, 40, "hub_silent after the grace", step=0.25)[0]
        after = time.monotonic() - started
        assert alert["type"] == "hub_silent" and "no message" in alert["reason"]
        assert after >= 2 * 1 + 30 - 2, f"raised after {after:.1f} s, before the grace"
    finally:
        service_env.stop()
