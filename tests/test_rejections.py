"""Every rejection case of PROTOCOL.md lands in dead letters, counted, and costs nothing else."""

from __future__ import annotations

import json
import time

from conftest import HubClient, ServiceProcess, event, wait_until

from telecare.protocol import TOPIC_ROOT, Channel, shard_of, topic_for
from telecare.store import SqliteStore

HUB = "H-rej-1"


def test_each_rejection_is_dead_lettered_with_its_reason_and_the_next_press_still_alerts(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """Bad topics, payloads, senders and seqs are dead-lettered per reason; a press still works."""
    service.cli("hub", "add", HUB)
    service.cli("device", "add", HUB, "pendant-1", "--type", "pendant")
    service.cli("device", "add", HUB, "pir-1", "--type", "motion", "--location", "hall")
    ev = topic_for(HUB, Channel.EVENT)
    good = json.loads(event(HUB, 0, "pir-1", "motion", "active"))

    def body(**changes: object) -> bytes:
        return json.dumps({**good, **changes}).encode()

    hub_client.publish(ev, body(seq=2000))  # accepted: sets the window for stale/jump
    cases = {
        "bad_json": (ev, b"{not json"),
        "bad_encoding": (ev, b'{"v":1,"hub":"\xff"}'),
        "missing_field": (ev, json.dumps({k: v for k, v in good.items() if k != "seq"}).encode()),
        "bad_field": (ev, body(seq="7")),
        "oversize": (ev, body(seq=1, value={"pad": "x" * 17000})),
        "unsupported_version": (ev, body(v=2, seq=2)),
        "spoofed": (ev, body(hub="H-other", seq=3)),
        "wrong_shard": (f"{TOPIC_ROOT}/{'00' if shard_of(HUB) != '00' else '01'}/{HUB}/event",
                        body(seq=4)),
        "bad_topic": (f"{TOPIC_ROOT}/{shard_of('H.dot')}/H.dot/event", body(hub="H.dot")),
        "unknown_type": (ev, body(seq=5, type="teleporter")),
        "unknown_event": (ev, body(seq=6, event="exploded")),
        "unknown_hub": (topic_for("H-nobody", Channel.EVENT), body(hub="H-nobody", seq=7)),
        "unknown_device": (ev, body(seq=8, device="pir-ghost")),
        "stale": (ev, body(seq=5)),
        "seq_jump": (ev, body(seq=2000 + 1_000_100)),  # beyond the jump limit either way
        "bad_status": (topic_for(HUB, Channel.STATUS), b"sleeping"),
    }
    for topic, payload in cases.values():
        hub_client.publish(topic, payload)
    hub_client.publish(topic_for(HUB, Channel.ALARM), event(HUB, 2001, "pendant-1", "pendant",
                                                            "press"))
    alert = wait_until(service.alerts, 5, "the press after the rejects")[0]
    assert alert["type"] == "pendant_press"

    # the press rides its own connection and may overtake the rejects: wait for them too
    def reasons() -> list[str]:
        store = SqliteStore.open(service.env["TELECARE_DATA_DIR"] + "/telecare.db")
        try:
            return sorted(row["reason"] for row in store.dead_letters())
        finally:
            store.close()

    wait_until(lambda: len(reasons()) >= len(cases), 5, "every reject to be dead-lettered")
    assert reasons() == sorted(cases)
    metrics = service.metrics()
    for reason in cases:
        assert f'telecare_events_rejected_total{{reason="{reason}"}} 1.0' in metrics, reason
    assert "telecare_events_ingested_total 2.0" in metrics


def test_alarms_from_unknown_devices_misrouted_or_with_wrong_clocks_are_still_raised(
    service: ServiceProcess, hub_client: HubClient
) -> None:
    """Fail open: such alarms raise priority 1, flagged; a wrong clock also raises clock_fault."""
    service.cli("hub", "add", HUB)
    hub_client.publish(topic_for(HUB, Channel.ALARM), event(HUB, 1, "pendant-new", "pendant",
                                                            "press"))
    hub_client.publish(topic_for(HUB, Channel.EVENT), event(HUB, 2, "fall-9", "fall", "fall"))
    future = int(time.time() * 1000) + 3600_000
    smoke = json.loads(event(HUB, 3, "smoke-1", "smoke", "alarm"))
    hub_client.publish(topic_for(HUB, Channel.ALARM), json.dumps({**smoke, "ts": future}))
    alerts = wait_until(lambda: len(service.alerts()) == 4 and service.alerts(), 5, "4 alerts")
    by_type = {a["type"]: a for a in alerts}
    assert by_type["pendant_press"]["flags"] == ["unregistered_device"]
    assert "misrouted" in by_type["fall"]["flags"]
    assert by_type["smoke"]["priority"] == 1 and "clock_fault" in by_type["smoke"]["flags"]
    assert by_type["clock_fault"]["priority"] == 4
    assert "telecare_events_misrouted_total 1.0" in service.metrics()
