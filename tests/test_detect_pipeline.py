"""The live pipeline feeds per-home rules to the engine and checkpoints its state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telecare import rules
from telecare.detect import Engine
from telecare.detect.columns import NO_UP_BY, R_NOT_BACK_MS, R_OUT_OF_BED_MS, R_UP_BY
from telecare.ingest.validate import RawMessage
from telecare.metrics import Metrics
from telecare.model import Device
from telecare.pipeline import Pipeline
from telecare.protocol import Channel, topic_for
from telecare.store import SqliteStore, StoreError

T0 = 1_800_000_000_000
HUB = "H-d-1"
HOUR = 3_600_000


def started(store: SqliteStore, at: int) -> Pipeline:
    pipeline = Pipeline(store, Engine.starting_at(at), Metrics())
    pipeline.start()
    return pipeline


def motion(seq: int, at: int) -> RawMessage:
    body = {"v": 1, "hub": HUB, "seq": seq, "ts": at, "device": "pir-1", "type": "motion",
            "event": "active"}
    return RawMessage(topic_for(HUB, Channel.EVENT), json.dumps(body).encode(), at)


def store_with_hub(tmp_path: Path) -> SqliteStore:
    store = SqliteStore.open(tmp_path / "t.db")
    with store.transaction():
        store.upsert_hub(HUB, 60, "UTC", T0)
        store.upsert_device(Device(HUB, "pir-1", "motion", "lounge"), T0)
    return store


def test_an_installer_switches_night_exit_on_and_the_running_pipeline_applies_it(
    tmp_path: Path,
) -> None:
    """Rules live with the hub; a change reaches the engine on the next batch."""
    store = store_with_hub(tmp_path)
    pipeline = started(store, T0)
    settings = rules.configure_hub(store, HUB, {"night_exit": True, "return_min": 20},
                                   now=T0, by="installer")
    assert settings.night_exit and settings.return_min == 20
    pipeline.process([motion(1, T0)])
    row = pipeline.engine.index.get(HUB)
    assert row is not None
    assert pipeline.engine.ambient.rules[row].tolist()[3:5] == [1, 20 * 60_000]
    assert store.audit_log()[-1][2] == "hub.configure"


@pytest.mark.parametrize(("name", "bad", "refused", "value", "said", "column", "in_engine"), [
    ("out_of_bed_min", -1, "out of bed", 30, "out of bed at night 30 min", R_OUT_OF_BED_MS,
     30 * 60_000),
    ("not_back_h", -1.0, "not back", 8.0, "not back after 8 h", R_NOT_BACK_MS, 8 * 3_600_000),
])
def test_an_installer_sets_a_timed_rule_and_a_negative_time_is_refused(
    tmp_path: Path, name: str, bad: float, refused: str, value: float, said: str,
    column: int, in_engine: int,
) -> None:
    """The night-time out-of-bed rule and "not back" (off until set) are a hub's rules like
    the others, with their bounds; they reach the engine in ms and say so."""
    store = store_with_hub(tmp_path)
    pipeline = started(store, T0)
    assert said not in rules.describe(HUB, rules.current(store, HUB))
    with pytest.raises(StoreError, match=refused):
        rules.configure_hub(store, HUB, {name: bad}, now=T0, by="installer")
    settings = rules.configure_hub(store, HUB, {name: value}, now=T0, by="installer")
    assert said in rules.describe(HUB, settings)
    pipeline.process([motion(1, T0)])
    row = pipeline.engine.index.get(HUB)
    assert row is not None
    assert pipeline.engine.ambient.rules[row, column] == in_engine


def test_an_installer_sets_a_time_to_be_up_by_and_a_time_that_is_not_one_is_refused(
    tmp_path: Path,
) -> None:
    """`up_by` is kept with the hub as HH:MM, reaches the engine as a minute of the day,
    and is cleared with an empty value."""
    store = store_with_hub(tmp_path)
    pipeline = started(store, T0)
    with pytest.raises(StoreError, match="time of day"):
        rules.configure_hub(store, HUB, {"up_by": "25:00"}, now=T0, by="installer")
    settings = rules.configure_hub(store, HUB, {"up_by": "09:30"}, now=T0, by="installer")
    assert "up by 09:30" in rules.describe(HUB, settings)
    pipeline.process([motion(1, T0)])
    row = pipeline.engine.index.get(HUB)
    assert row is not None
    assert pipeline.engine.ambient.rules[row, R_UP_BY] == 9 * 60 + 30
    cleared = rules.configure_hub(store, HUB, {"up_by": ""}, now=T0, by="installer")
    pipeline.process([motion(2, T0 + 1000)])
    assert "up by" not in rules.describe(HUB, cleared)
    assert pipeline.engine.ambient.rules[row, R_UP_BY] == NO_UP_BY


def test_a_restart_keeps_the_pending_inactivity_timer_and_does_not_raise_it_twice(
    tmp_path: Path,
) -> None:
    """Checkpointed with the alert it raised; restored on start."""
    store = store_with_hub(tmp_path)
    pipeline = started(store, T0)
    pipeline.process([motion(1, T0)])
    pipeline.checkpoint(T0 + 1000)  # a clean stop
    again = started(store, T0 + HOUR)
    for minute in range(0, 300, 2):
        # heartbeats keep the hub heard; the resident does not move
        body = {"v": 1, "hub": HUB, "seq": 10 + minute, "ts": T0 + minute * 60_000,
                "device": "hub", "type": "hub", "event": "heartbeat"}
        again.process([RawMessage(topic_for(HUB, Channel.EVENT), json.dumps(body).encode(),
                                  T0 + minute * 60_000)])
    again.tick(T0 + 5 * HOUR)
    inactivity = [a for a in store.alerts() if a.type == "inactivity"]
    assert [a.raised_at for a in inactivity] == [T0 + 4 * HOUR]
    third = started(store, T0 + 6 * HOUR)
    third.tick(T0 + 7 * HOUR)
    assert [a.occurrences for a in store.alerts() if a.type == "inactivity"] == [1]
