"""One batch through validate -> store -> detect -> alerts, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telecare.detect import Engine
from telecare.ingest.validate import RawMessage
from telecare.metrics import Metrics
from telecare.model import Device
from telecare.pipeline import Pipeline
from telecare.protocol import Channel, topic_for
from telecare.store import SqliteStore

T0 = 1_800_000_000_000
HUB = "H-p-1"


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    store = SqliteStore.open(tmp_path / "t.db")
    with store.transaction():
        store.upsert_hub(HUB, 60, "Europe/London", T0)
        for dev, typ in (("pendant-1", "pendant"), ("pir-1", "motion")):
            store.upsert_device(Device(HUB, dev, typ, ""), T0)
    p = Pipeline(store, Engine.starting_at(T0), Metrics())
    p.start()
    return p


def msg(seq: int, device: str, type_: str, event: str, channel: Channel = Channel.EVENT,
        at: int = T0, **extra: object) -> RawMessage:
    body = {"v": 1, "hub": HUB, "seq": seq, "ts": at, "device": device, "type": type_,
            "event": event, **extra}
    return RawMessage(topic_for(HUB, channel), json.dumps(body).encode(), at)


def test_a_battery_below_20_percent_raises_once_and_clears_when_replaced(
    pipeline: Pipeline,
) -> None:
    """Low battery is priority 4, joins rather than repeats, and clears at 25% or more."""
    pipeline.process([msg(1, "pir-1", "motion", "active", battery=0.15),
                      msg(2, "pir-1", "motion", "active", battery=0.14)])
    alerts = pipeline.store.alerts()
    assert [(a.type, a.priority, a.device_id) for a in alerts] == [("low_battery", 4, "pir-1")]
    pipeline.process([msg(3, "pir-1", "battery", "battery", value=0.22)])
    assert pipeline.store.alerts()[0].cleared_at is None  # hysteresis: 22% is not yet restored
    pipeline.process([msg(4, "pir-1", "motion", "battery", value=0.95)])
    assert pipeline.store.alerts()[0].cleared_at == T0


def test_i_am_ok_is_recorded_on_the_open_press_and_never_closes_it(pipeline: Pipeline) -> None:
    """The operator still calls back after a cancel."""
    pipeline.process([msg(1, "pendant-1", "pendant", "press", Channel.ALARM)])
    result = pipeline.process([msg(2, "pendant-1", "pendant", "cancel", Channel.ALARM, at=T0 + 5)])
    (alert,) = pipeline.store.alerts()
    assert alert.state == "open" and alert.cancelled_at == T0 + 5
    assert result.acks == [(HUB, 2)]


def test_a_second_press_joins_the_open_alert_and_a_press_after_resolve_opens_a_new_one(
    pipeline: Pipeline,
) -> None:
    """One open alert per hub and type."""
    pipeline.process([msg(1, "pendant-1", "pendant", "press", Channel.ALARM)])
    pipeline.process([msg(2, "pendant-1", "pendant", "press", Channel.ALARM, at=T0 + 60_000)])
    (alert,) = pipeline.store.alerts()
    assert alert.occurrences == 2 and alert.last_raised_at == T0 + 60_000
    with pipeline.store.transaction():
        pipeline.store.update_alert(alert.id, {"state": "resolved"})
    pipeline.process([msg(3, "pendant-1", "pendant", "press", Channel.ALARM)])
    assert [a.id for a in pipeline.store.alerts()] == [alert.id + 1]


def test_a_restart_remembers_the_replay_window_and_open_silence(tmp_path: Path,
                                                                pipeline: Pipeline) -> None:
    """Seen seqs stay seen; a hub already flagged silent is cleared, not re-raised."""
    pipeline.process([msg(5, "pir-1", "motion", "active")])
    pipeline.tick(T0 + 151_000)
    assert [a.type for a in pipeline.store.alerts()] == ["hub_silent"]
    again = Pipeline(pipeline.store, Engine.starting_at(T0 + 200_000), Metrics())
    again.start()
    result = again.process([msg(5, "pir-1", "motion", "active", at=T0 + 201_000)])
    assert result.acks == [] and again.store.count_events(HUB) == 1
    again.process([msg(6, "pir-1", "motion", "active", at=T0 + 202_000)])
    assert again.store.alerts()[0].cleared_at == T0 + 202_000


def _estate(tmp_path: Path, hubs: list[str], moves: int) -> Pipeline:
    """A started pipeline whose hubs (lounge PIR each) each moved `moves` times, ten
    minutes apart from T0."""
    store = SqliteStore.open(tmp_path / "t.db")
    with store.transaction():
        for hub in hubs:
            store.upsert_hub(hub, 60, "Europe/London", T0)
            store.upsert_device(Device(hub, "pir-1", "motion", "lounge"), T0)
    p = Pipeline(store, Engine.starting_at(T0), Metrics())
    p.start()
    p.process([RawMessage(topic_for(hub, Channel.EVENT), json.dumps(
        {"v": 1, "hub": hub, "seq": k, "ts": T0 + (k - 1) * 600_000, "device": "pir-1",
         "type": "motion", "event": "active"}).encode(), T0 + (k - 1) * 600_000)
        for k in range(1, moves + 1) for hub in hubs])
    return p


def test_a_midnight_is_spread_over_ticks_so_alarms_do_not_wait_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each tick ends at most TIMER_HOMES_PER_TICK homes' days; the next tick goes on."""
    import telecare.pipeline
    from telecare.detect.columns import I_DAY_DL

    monkeypatch.setattr(telecare.pipeline, "TIMER_HOMES_PER_TICK", 3)
    hubs = [f"H-p-{i}" for i in range(2, 7)]
    p = _estate(tmp_path, hubs, moves=1)
    midnight = (T0 // 86_400_000 + 1) * 86_400_000  # London is on UTC in January
    rows = [p.engine.row(hub) for hub in hubs]
    p.tick(T0 + p.engine.lateness_ms + 1000)  # the events are applied
    p.tick(T0 + 5 * 3_600_000)  # and the homes' fixed timers raised, long before midnight

    def ended() -> int:
        return int((p.engine.ambient.ints[rows, I_DAY_DL] > midnight).sum())

    def learned() -> dict[str, bytes]:
        return {k: v for k, v in p.store.load_checkpoints() if k.endswith(":learned")}

    saved = learned()
    p.tick(midnight + p.engine.lateness_ms + 1000)
    assert ended() == 3
    # what the three homes learned at midnight is written with that tick, not a minute on
    changed = {k for k, v in learned().items() if saved.get(k) != v}
    assert len(changed) == 3
    p.tick(midnight + p.engine.lateness_ms + 2000)
    assert ended() == 5


def test_an_alarm_due_during_a_midnight_does_not_wait_behind_other_homes_day_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two homes' days end a tick; a front door opened at 23:50 and left open is raised
    in the first tick after it is due (00:05), while another home's day is still to end,
    not after every home's (in an estate of 100,000, about a hundred ticks on)."""
    import telecare.pipeline
    from telecare.detect.columns import I_DAY_DL
    from telecare.model import AlertType

    monkeypatch.setattr(telecare.pipeline, "TIMER_HOMES_PER_TICK", 2)
    hubs = [f"H-p-{i}" for i in range(2, 8)]
    p = _estate(tmp_path, hubs, moves=1)
    door_hub = hubs[-2]  # the heap takes the homes in turn: this one comes fifth
    with p.store.transaction():
        p.store.upsert_device(Device(door_hub, "door-1", "door", "front"), T0)
    midnight = (T0 // 86_400_000 + 1) * 86_400_000  # London is on UTC in January
    lateness = p.engine.lateness_ms
    p.tick(T0 + 5 * 3_600_000)  # the homes' fixed timers raised, long before midnight
    opened = midnight - 10 * 60_000

    def sent(seq: int, at: int, device: str, type_: str, event: str) -> RawMessage:
        return RawMessage(topic_for(door_hub, Channel.EVENT), json.dumps(
            {"v": 1, "hub": door_hub, "seq": seq, "ts": at, "device": device, "type": type_,
             "event": event}).encode(), at)

    # the hub is heard from 23:45 on (a door left open while it was silent is not raised)
    p.process([sent(2 + k, opened - 5 * 60_000 + k * 60_000, "hub", "hub", "heartbeat")
               for k in range(25)] + [sent(40, opened, "door-1", "door", "open")])
    p.tick(opened + lateness + 1000)
    rows = [p.engine.row(hub) for hub in hubs]

    def ended() -> int:
        return int((p.engine.ambient.ints[rows, I_DAY_DL] > midnight).sum())

    def door_alerts() -> int:
        return sum(a.type == AlertType.DOOR_LEFT_OPEN for a in p.store.alerts())

    p.tick(midnight + lateness + 1000)
    assert (ended(), door_alerts()) == (2, 0)
    p.tick(midnight + 5 * 60_000 + lateness + 1000)
    assert (ended(), door_alerts()) == (5, 1)  # the door's home's day ended with it
    p.tick(midnight + 5 * 60_000 + lateness + 2000)
    assert (ended(), door_alerts()) == (6, 1)


def test_a_restart_takes_back_each_homes_thresholds_and_derives_only_changed_homes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checkpoint keeps each home's derived thresholds: a restart puts them back as
    they were (deriving them took about 1 ms a home, minutes for a large estate), and
    derives only a home whose night hours changed while the service was down; so does a
    restore without the registry."""
    import msgspec
    import numpy as np

    from telecare.detect import stillness
    from telecare.model import HubSettings

    hubs = ["H-p-2", "H-p-3"]
    p = _estate(tmp_path, hubs, moves=9 * 144)  # nine days, every ten minutes
    store = p.store
    end = T0 + 10 * 86_400_000
    p.tick(end)
    p.checkpoint(end)
    det = p.engine.ambient

    def derived(engine: Engine, hub: str) -> list[np.ndarray]:
        a, row = engine.ambient, engine.row(hub)
        return [a.thresholds[row], a.fallback[row], a.learned[row], a.ctx_thr[row]]

    before = {hub: [x.copy() for x in derived(p.engine, hub)] for hub in hubs}
    assert det.learned[p.engine.row(hubs[0])].any()  # (something learned to keep)
    with store.transaction():
        store.set_hub_settings(hubs[1], msgspec.json.encode(
            HubSettings(night_start="21:00", night_end="06:00")).decode())

    calls: list[int] = []
    derive = stillness.recompute_thresholds
    monkeypatch.setattr(stillness, "recompute_thresholds",
                        lambda home: (calls.append(home.row), derive(home))[1])
    again = Pipeline(store, Engine.starting_at(end + 60_000), Metrics())
    again.start()
    assert calls == [again.engine.row(hubs[1])]
    for x, y in zip(derived(again.engine, hubs[0]), before[hubs[0]], strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(derived(again.engine, hubs[1])[1], before[hubs[1]][1])
    assert not again.engine.ambient.saved_thresholds  # (none held once started)

    # restored without the registry (default settings, as when checkpointed): none derived
    calls.clear()
    alone = Engine.starting_at(end + 60_000)
    alone.restore(store.load_checkpoints(), derive=False)
    alone.derive_restored()
    assert calls == []
    for hub in hubs:
        for x, y in zip(derived(alone, hub), before[hub], strict=True):
            assert np.array_equal(x, y)
