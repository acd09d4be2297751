"""Presence, inactivity, night exit and door left open, in event time (plain data, no clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from telecare.detect import Clear, Decision, Engine, Raise, learning
from telecare.detect.home import Home
from telecare.model import AlertType, Event, HubSettings

HUB = "H-t-1"
MIN = 60_000
HOUR = 60 * MIN
# a Monday, 10:00 UTC
T0 = int(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp() * 1000)


def engine_for(settings: HubSettings | None = None, tz: str = "UTC") -> Engine:
    engine = Engine.starting_at(T0 - HOUR)
    engine.configure(HUB, tz=tz, settings=settings or HubSettings())
    for device, type_, location in (("pir-lounge", "motion", "lounge"),
                                    ("door-front", "door", "front"),
                                    ("bed-pad", "bed", "bedroom"),
                                    ("flush", "usage", "bathroom")):
        engine.register_device(HUB, device, type_, location)
    return engine


def ev(at: int, device: str = "pir-lounge", type_: str = "motion", event: str = "active",
       received_at: int | None = None) -> Event:
    return Event(hub_id=HUB, seq=at // 1000, device_id=device, type=type_, event=event, ts=at,
                 event_time=at, received_at=at if received_at is None else received_at,
                 channel="event")


def door(at: int, event: str) -> Event:
    return ev(at, "door-front", "door", event)


def run(engine: Engine, events: list[Event], until: int) -> list[Decision]:
    out = engine.observe(events)
    out += engine.advance(until + engine.lateness_ms)
    return out


def raised(decisions: list[Decision], type_: AlertType) -> list[Raise]:
    return [d for d in decisions if isinstance(d, Raise) and d.type is type_]


def test_a_new_home_raises_inactivity_when_its_fixed_timer_expires_at_that_time() -> None:
    """While learning, 4 h by day; the alert's time is the deadline, not the last activity."""
    engine = engine_for()
    decisions = run(engine, [ev(T0)], T0 + 4 * HOUR - 1)
    assert raised(decisions, AlertType.INACTIVITY) == []
    (alert,) = raised(engine.advance(T0 + 4 * HOUR + engine.lateness_ms), AlertType.INACTIVITY)
    assert alert.at == T0 + 4 * HOUR and alert.priority == 3 and alert.suppressed_by is None


def test_a_sign_of_life_after_an_inactivity_alert_clears_it() -> None:
    """A restore clears the alert it ends rather than opening another."""
    engine = engine_for()
    run(engine, [ev(T0)], T0 + 5 * HOUR)
    decisions = run(engine, [ev(T0 + 5 * HOUR)], T0 + 5 * HOUR)
    assert Clear(HUB, AlertType.INACTIVITY, T0 + 5 * HOUR) in decisions
    assert raised(decisions, AlertType.INACTIVITY) == []


def test_a_resident_who_went_out_raises_no_inactivity_however_long_he_is_out() -> None:
    """Activity, then the front door, then nothing inside: out, not still."""
    engine = engine_for()
    events = [ev(T0), door(T0 + MIN, "open"), door(T0 + MIN + 5_000, "closed")]
    assert raised(run(engine, events, T0 + 11 * HOUR), AlertType.INACTIVITY) == []


def test_a_home_with_not_back_set_raises_an_absence_that_long_and_the_return_clears_it() -> None:
    """Switched on for the home (off by default), out by the front door and no sign of
    life for `not_back_h` raises "not back" (the resident may have let a visitor out and
    fallen); coming in clears it."""
    engine = engine_for(HubSettings(not_back_h=6.0))
    events = [ev(T0), door(T0 + MIN, "open"), door(T0 + MIN + 5_000, "closed")]
    (alert,) = raised(run(engine, events, T0 + 7 * HOUR), AlertType.INACTIVITY)
    assert alert.at == T0 + MIN + 6 * HOUR  # from the door opening
    assert "out by the exit door at 10:01 local" in alert.reason and "not back" in alert.reason
    back = T0 + 8 * HOUR
    decisions = run(engine, [door(back, "open"), door(back + 4_000, "closed")], back + MIN)
    assert Clear(HUB, AlertType.INACTIVITY, back) in decisions
    assert raised(decisions, AlertType.INACTIVITY) == []


def test_not_back_waits_for_the_night_exit_it_would_repeat() -> None:
    """Out at night with both rules on: the night exit is raised; "not back" is not raised
    beside it while it stands."""
    engine = engine_for(HubSettings(night_exit=True, not_back_h=2.0))
    night = T0 + 13 * HOUR  # 23:00
    events = [ev(night), door(night + MIN, "open"), door(night + MIN + 5_000, "closed")]
    decisions = run(engine, events, night + 5 * HOUR)
    assert len(raised(decisions, AlertType.NIGHT_EXIT)) == 1
    assert raised(decisions, AlertType.INACTIVITY) == []


def test_coming_back_through_the_front_door_restarts_the_inactivity_timer_at_the_door() -> None:
    """A collapse just inside the door is still found in a door-contacts-only home."""
    engine = engine_for()
    back = T0 + 3 * HOUR
    events = [ev(T0), door(T0 + MIN, "open"), door(T0 + MIN + 5_000, "closed"),
              door(back, "open"), door(back + 4_000, "closed")]
    (alert,) = raised(run(engine, events, back + 5 * HOUR), AlertType.INACTIVITY)
    assert alert.at == back + 4_000 + 4 * HOUR


def test_a_resident_in_bed_raises_no_inactivity_overnight() -> None:
    """The bed pad says occupied: asleep, not still; only 14 h in bed raises."""
    engine = engine_for()
    night = T0 + 12 * HOUR  # 22:00
    decisions = run(engine, [ev(night - MIN), ev(night, "bed-pad", "bed", "occupied")],
                    night + 13 * HOUR)
    assert raised(decisions, AlertType.INACTIVITY) == []
    (alert,) = raised(engine.advance(night + 14 * HOUR + engine.lateness_ms),
                      AlertType.INACTIVITY)
    assert alert.at == night + 14 * HOUR and "in bed" in alert.reason


def test_night_exit_is_off_by_default() -> None:
    """Rules that suit only some residents are switched on per home."""
    engine = engine_for()
    night = T0 + 14 * HOUR  # 00:00
    events = [ev(night - MIN), door(night, "open"), door(night + 5_000, "closed")]
    assert raised(run(engine, events, night + HOUR), AlertType.NIGHT_EXIT) == []


def test_a_night_exit_without_return_raises_at_the_return_time() -> None:
    """Front door at night, nothing inside within the return time: priority 3."""
    engine = engine_for(HubSettings(night_exit=True, return_min=15))
    night = T0 + 16 * HOUR  # 02:00
    events = [ev(night - MIN), door(night, "open"), door(night + 5_000, "closed")]
    (alert,) = raised(run(engine, events, night + 20 * MIN), AlertType.NIGHT_EXIT)
    assert alert.at == night + 15 * MIN and alert.priority == 3


def test_a_night_exit_with_return_raises_nothing() -> None:
    """Back in through the door and moving inside within the return time."""
    engine = engine_for(HubSettings(night_exit=True, return_min=15))
    night = T0 + 16 * HOUR
    events = [ev(night - MIN), door(night, "open"), door(night + 5_000, "closed"),
              door(night + 10 * MIN, "open"), door(night + 10 * MIN + 5_000, "closed"),
              ev(night + 11 * MIN)]
    assert raised(run(engine, events, night + HOUR), AlertType.NIGHT_EXIT) == []


def test_a_door_left_open_raises_a_technical_alert_and_closing_it_clears_it() -> None:
    """Door left open: priority 4 after 15 min; closed clears it."""
    engine = engine_for()
    decisions = run(engine, [ev(T0), door(T0 + MIN, "open")], T0 + 20 * MIN)
    (alert,) = raised(decisions, AlertType.DOOR_LEFT_OPEN)
    assert alert.at == T0 + 16 * MIN and alert.priority == 4
    after = run(engine, [door(T0 + 30 * MIN, "closed")], T0 + 30 * MIN)
    assert Clear(HUB, AlertType.DOOR_LEFT_OPEN, T0 + 30 * MIN) in after


def test_out_of_order_events_within_the_lateness_bound_give_the_in_order_answer() -> None:
    """Device time, not arrival order, decides."""
    events = [ev(T0), ev(T0 + 2 * HOUR), ev(T0 + 3 * HOUR + 50 * MIN)]
    in_order, shuffled = engine_for(), engine_for()
    a = run(in_order, events, T0 + 10 * HOUR)
    b = shuffled.observe([events[2], events[0]])
    b += shuffled.observe([events[1]])
    b += shuffled.advance(T0 + 10 * HOUR + shuffled.lateness_ms)
    assert raised(a, AlertType.INACTIVITY) == raised(b, AlertType.INACTIVITY)
    assert shuffled.late_events == 0


def test_an_event_later_than_the_bound_is_counted_and_still_clears_what_it_disproves() -> None:
    """Never silently lost: counted, and a late sign of life clears the inactivity alert."""
    engine = engine_for()
    run(engine, [ev(T0)], T0 + 6 * HOUR)
    decisions = run(engine, [ev(T0 + 5 * HOUR, received_at=T0 + 6 * HOUR)], T0 + 6 * HOUR)
    assert engine.late_events == 1
    assert Clear(HUB, AlertType.INACTIVITY, T0 + 5 * HOUR) in decisions


def test_inactivity_in_a_home_whose_hub_is_silent_is_marked_suppressed_by_hub_silent() -> None:
    """Inhibition is visible, not hidden: the alert is raised and says why it is muted."""
    engine = engine_for()
    engine.supervision.watch(HUB, 60, registered_at=T0)
    decisions = run(engine, [ev(T0)], T0 + 5 * HOUR)
    assert [d.type for d in raised(decisions, AlertType.HUB_SILENT)] == [AlertType.HUB_SILENT]
    (alert,) = raised(decisions, AlertType.INACTIVITY)
    assert alert.suppressed_by == "hub_silent"


def test_a_restored_engine_keeps_its_pending_timer_and_never_raises_the_same_alert_twice() -> None:
    """A restart neither forgets a pending timer nor re-raises an old alert."""
    engine = engine_for()
    run(engine, [ev(T0)], T0 + HOUR)
    saved = engine.checkpoint(everything=True)
    again = engine_for()
    again.restore(saved)
    (alert,) = raised(again.advance(T0 + 5 * HOUR), AlertType.INACTIVITY)
    assert alert.at == T0 + 4 * HOUR
    later = engine_for()
    later.restore(again.checkpoint())
    assert raised(later.advance(T0 + 8 * HOUR), AlertType.INACTIVITY) == []


def test_a_home_learns_how_long_it_goes_quiet_and_then_beats_the_fixed_timer() -> None:
    """After two weeks of activity every 20 min from 08:00 to 22:00, a collapse at 11:00
    is raised well before the 4 h fixed timer and no normal day raised anything."""
    engine = engine_for()
    day0 = T0 - 10 * HOUR  # Monday 00:00
    events = [ev(day0 + d * 24 * HOUR + 8 * HOUR + k * 20 * MIN)
              for d in range(14) for k in range(43)]
    decisions = run(engine, events, day0 + 14 * 24 * HOUR)
    assert raised(decisions, AlertType.INACTIVITY) == []
    collapse = day0 + 14 * 24 * HOUR + 11 * HOUR
    decisions = run(engine, [ev(day0 + 14 * 24 * HOUR + 8 * HOUR), ev(collapse)],
                    collapse + 5 * HOUR)
    (alert,) = raised(decisions, AlertType.INACTIVITY)
    assert alert.at - collapse < 2 * HOUR


def hall_and_lounge_days() -> tuple[Engine, int]:
    """Five days of a home with a hall and a lounge PIR; returns the engine and the next
    midnight. The hall is always followed within minutes, the lounge by a nap at 14:50."""
    engine = engine_for()
    engine.register_device(HUB, "pir-hall", "motion", "hall")
    day0 = T0 - 10 * HOUR  # Monday 00:00
    decisions = run(engine, hall_and_lounge(day0, 5), day0 + 5 * 24 * HOUR)
    assert raised(decisions, AlertType.INACTIVITY) == []
    return engine, day0 + 5 * 24 * HOUR


def hall_and_lounge(day0: int, days: int) -> list[Event]:
    """The days' events: the hall, then the lounge within minutes, 08:00-22:00."""
    events = []
    for d in range(days):
        for hour in range(8, 22):
            start = day0 + d * 24 * HOUR + hour * HOUR
            if hour == 15:
                continue  # a nap in the lounge chair every afternoon: 70 min still
            events += [ev(start + m * MIN, "pir-hall") for m in (0, 30)]
            events += [ev(start + m * MIN) for m in (5, 20, 35, 50)]
    return events


def test_stillness_after_a_sensor_that_is_always_followed_soon_is_raised_early() -> None:
    """A home learns how long it stays still after each sensor: the hall PIR is always
    followed within minutes, the lounge PIR sometimes by an hour's nap. Within a week
    (before the hours are learned) stillness after the hall is raised in about an hour,
    well before the 4 h fixed timer, while the same stillness after the lounge is not."""
    engine, day5 = hall_and_lounge_days()
    in_hall = day5 + 11 * HOUR
    decisions = run(engine, [ev(day5 + 10 * HOUR), ev(in_hall, "pir-hall")],
                    in_hall + 5 * HOUR)
    (alert,) = raised(decisions, AlertType.INACTIVITY)
    assert 40 * MIN <= alert.at - in_hall <= 90 * MIN
    assert "after that sensor" in alert.reason
    day6 = day5 + 24 * HOUR
    decisions = run(engine, [ev(day6 + 14 * HOUR + 45 * MIN, "pir-hall"),
                             ev(day6 + 14 * HOUR + 50 * MIN), ev(day6 + 16 * HOUR, "pir-hall")],
                    day6 + 16 * HOUR)
    assert raised(decisions, AlertType.INACTIVITY) == []


def test_stillness_running_into_the_night_is_judged_by_the_hour_not_the_sensor() -> None:
    """Going to bed (no bed pad) from the hall at 20:50 is not raised at the hall's
    daytime threshold: that would run into the night floor."""
    engine = engine_for()
    engine.register_device(HUB, "pir-hall", "motion", "hall")
    day0 = T0 - 10 * HOUR
    events = [ev(day0 + d * 24 * HOUR + hour * HOUR + m * MIN, "pir-hall" if m % 30 == 0 else
                 "pir-lounge") for d in range(5) for hour in range(8, 22) for m in (0, 5, 30, 35)]
    bedtime = day0 + 5 * 24 * HOUR + 20 * HOUR + 50 * MIN
    events += [ev(day0 + 5 * 24 * HOUR + hour * HOUR + m * MIN) for hour in range(8, 21)
               for m in (0, 30)]
    events.append(ev(bedtime, "pir-hall"))
    assert raised(run(engine, events, bedtime + 3 * HOUR), AlertType.INACTIVITY) == []


def test_what_a_home_learned_about_its_sensors_survives_a_restart() -> None:
    """Checkpointed and restored, the engine raises stillness after the hall at the same time."""
    engine, day5 = hall_and_lounge_days()
    again = engine_for()
    again.restore(engine.checkpoint(everything=True))
    in_hall = day5 + 11 * HOUR
    times = []
    for e in (engine, again):
        decisions = run(e, [ev(day5 + 10 * HOUR), ev(in_hall, "pir-hall")],
                        in_hall + 5 * HOUR)
        times += [a.at for a in raised(decisions, AlertType.INACTIVITY)]
    assert len(times) == 2 and times[0] == times[1] and times[0] - in_hall < 90 * MIN


def test_a_restore_leaves_nothing_to_write_and_its_timers_as_they_were() -> None:
    """Restored, an engine's next checkpoint holds no home (nothing changed since it was
    written: an estate's restart wrote every home's row again); its heap holds each home's
    earliest deadline, and its pending inactivity is raised when the first engine's is."""
    engine, day5 = hall_and_lounge_days()
    run(engine, [ev(day5 + 8 * HOUR)], day5 + 9 * HOUR)
    again = engine_for()
    again.restore(engine.checkpoint(everything=True))
    assert [k for k, _ in again.checkpoint() if k.startswith("hub:")] == []
    earliest = Home(engine.ambient, engine.row(HUB)).next_deadline()
    assert again.ambient.heap == [(earliest, again.row(HUB))]
    (alert,) = raised(again.advance(day5 + 13 * HOUR), AlertType.INACTIVITY)
    (expected,) = raised(engine.advance(day5 + 13 * HOUR), AlertType.INACTIVITY)
    assert alert.at == expected.at


def test_thresholds_derived_after_a_restore_are_not_put_back_to_the_checkpoints() -> None:
    """Restored without deriving (as the service starts, before its registry configures
    the home), a home that then ends its days derives its thresholds anew; configured
    after that, it keeps them, not the older ones its checkpoint held."""
    engine, day5 = hall_and_lounge_days()
    saved = engine.checkpoint(everything=True)
    again = engine_for()
    again.register_device(HUB, "pir-hall", "motion", "hall")
    again.restore(saved, derive=False)
    run(again, hall_and_lounge(day5, 4), day5 + 4 * 24 * HOUR)
    det, row = again.ambient, again.row(HUB)
    now = (det.thresholds[row].copy(), det.learned[row].copy(), det.ctx_thr[row].copy())
    assert not np.array_equal(now[0], engine.ambient.thresholds[engine.row(HUB)])
    again.configure(HUB, tz="UTC", settings=HubSettings())
    for kept, after in zip(now, (det.thresholds[row], det.learned[row], det.ctx_thr[row]),
                           strict=True):
        assert np.array_equal(kept, after)


def test_a_stuck_pir_is_reported_and_then_left_out_so_a_collapse_is_still_found() -> None:
    """The resident goes still at T0 while the hall PIR fires every 65 s for ten hours:
    after 3 h of it a sensor fault names the PIR, and inactivity is raised as if it were
    silent (its last counted event plus the 4 h timer), not never."""
    engine = engine_for()
    engine.register_device(HUB, "pir-hall", "motion", "hall")
    stuck = [ev(T0 + MIN + k * 65_000, "pir-hall") for k in range(10 * 3600 // 65)]
    decisions = run(engine, [ev(T0), *stuck], T0 + 11 * HOUR)
    (fault,) = raised(decisions, AlertType.SENSOR_FAULT)
    assert fault.device_id == "pir-hall" and fault.priority == 4 and "stuck" in fault.reason
    assert 3 * HOUR <= fault.at - T0 <= 3 * HOUR + 2 * MIN
    (alert,) = raised(decisions, AlertType.INACTIVITY)
    assert alert.at - fault.at < 4 * HOUR + 2 * MIN


def test_a_chattering_door_is_reported_at_once_and_clears_when_it_has_been_quiet() -> None:
    """Forty changes five seconds apart: a fault; two hours later its next event clears it."""
    engine = engine_for()
    engine.register_device(HUB, "door-bath", "door", "bathroom")
    chatter = [ev(T0 + k * 5_000, "door-bath", "door", "open" if k % 2 else "closed")
               for k in range(40)]
    decisions = run(engine, chatter, T0 + 10 * MIN)
    (fault,) = raised(decisions, AlertType.SENSOR_FAULT)
    assert fault.at == T0 + 29 * 5_000 and "chattering" in fault.reason
    later = T0 + 3 * HOUR
    decisions = run(engine, [ev(later, "door-bath", "door", "open")], later)
    assert Clear(HUB, AlertType.SENSOR_FAULT, later) in decisions


def test_a_busy_morning_in_the_kitchen_is_not_a_sensor_fault() -> None:
    """A PIR firing every 70 s for two hours (cooking, cleaning) is a person, not a fault."""
    engine = engine_for()
    busy = [ev(T0 + k * 70_000, "pir-lounge") for k in range(2 * 3600 // 70)]
    assert raised(run(engine, busy, T0 + 3 * HOUR), AlertType.SENSOR_FAULT) == []


def restored_from_changed_checkpoint(change: Callable[[dict[str, Any]], None]) -> None:
    """Checkpoint a home with a pending inactivity timer, apply `change` to each decoded
    state and restore a new engine from it: it raises inactivity when the first does."""
    import msgspec

    engine, day5 = hall_and_lounge_days()
    run(engine, [ev(day5 + 8 * HOUR)], day5 + 9 * HOUR)
    changed = []
    for key, blob in engine.checkpoint(everything=True):
        state = msgspec.msgpack.decode(blob)
        if isinstance(state, dict):
            change(state)
            blob = msgspec.msgpack.encode(state)
        changed.append((key, blob))
    again = engine_for()
    again.restore(changed)
    (alert,) = raised(again.advance(day5 + 13 * HOUR), AlertType.INACTIVITY)
    (expected,) = raised(engine.advance(day5 + 13 * HOUR), AlertType.INACTIVITY)
    assert alert.at == expected.at and day5 + 8 * HOUR < alert.at <= day5 + 12 * HOUR


def test_a_checkpoint_from_before_sensor_contexts_and_faults_restores_and_relearns() -> None:
    """Older rows (fewer columns, no sensor histograms, device runs or derived thresholds)
    restore; the pending inactivity timer survives, the thresholds are derived and the
    sensor contexts start learning afresh."""

    def older(state: dict[str, Any]) -> None:
        if "ints" in state:
            state["ints"] = state["ints"][:23]
            state["floats"] = state["floats"][:5]
            del state["devices"], state["pending_ctx_gaps"]
        if "ctx_hist" in state:
            del state["ctx_hist"], state["ctx_devices"], state["derived"]

    restored_from_changed_checkpoint(older)


def test_a_checkpoint_from_a_newer_engine_with_more_columns_restores() -> None:
    """A rollback: rows with columns this engine does not have keep the ones it has; the
    pending inactivity timer survives."""

    def newer(state: dict[str, Any]) -> None:
        if "ints" in state:
            state["ints"] = [*state["ints"], 7, 7]
            state["floats"] = [*state["floats"], 7.0]

    restored_from_changed_checkpoint(newer)


def test_with_a_bed_pad_stillness_in_the_evening_is_judged_by_the_sensor_after_all() -> None:
    """The same evening as above in a home whose bed pad shows every bedtime: stillness
    after the hall at 20:50 is raised at the hall's threshold, well before the morning."""
    engine = engine_for()
    engine.register_device(HUB, "pir-hall", "motion", "hall")
    day0 = T0 - 10 * HOUR
    events = []
    for d in range(5):
        start = day0 + d * 24 * HOUR
        events += [ev(start + hour * HOUR + m * MIN, "pir-hall" if m % 30 == 0 else "pir-lounge")
                   for hour in range(8, 22) for m in (0, 5, 30, 35)]
        events += [ev(start + 22 * HOUR, "bed-pad", "bed", "occupied"),
                   ev(start + 31 * HOUR, "bed-pad", "bed", "vacant")]
    bedtime = day0 + 5 * 24 * HOUR + 20 * HOUR + 50 * MIN
    events += [ev(day0 + 5 * 24 * HOUR + hour * HOUR + m * MIN) for hour in range(8, 21)
               for m in (0, 30)]
    events.append(ev(bedtime, "pir-hall"))
    (alert,) = raised(run(engine, events, bedtime + 3 * HOUR), AlertType.INACTIVITY)
    assert alert.at - bedtime <= 90 * MIN and "after that sensor" in alert.reason


def test_a_gap_the_hub_was_silent_through_is_not_learned_as_stillness() -> None:
    """A power cut that outlasts the hub's battery: what the hub did not hear says nothing
    about how long the resident keeps still. The same 3 h gap with the hub heard
    throughout is learned."""
    learned = []
    for outage in (False, True):
        engine = engine_for()
        engine.supervision.watch(HUB, 60, registered_at=T0)
        beats = [ev(T0 + m * MIN, "hub", "hub", "heartbeat") for m in range(1, 16 * 60)
                 if not (outage and 60 <= m < 120)]
        awake = [ev(T0)] + [ev(T0 + 3 * HOUR + k * 30 * MIN) for k in range(19)]  # to 22:00
        events = sorted(awake + beats, key=lambda e: e.event_time)
        cut = T0 + 90 * MIN  # the live service's clock ticks on through the outage
        decisions = run(engine, [e for e in events if e.event_time < cut], cut)
        decisions += run(engine, [e for e in events if e.event_time >= cut], T0 + 15 * HOUR)
        assert raised(decisions, AlertType.INACTIVITY) == []
        assert len(raised(decisions, AlertType.HUB_SILENT)) == int(outage)
        row = engine.row(HUB)
        long_gaps = engine.ambient.gap_hist[row][:, learning.gap_bin(2 * HOUR):]
        learned.append(float(long_gaps.sum()))
    assert learned[0] > 0 and learned[1] == 0


def late_evenings(*, bed_pad: bool, days: int = 9) -> tuple[Engine, list[Event], int]:
    """A home up from 08:00 to 22:50 (a sign of life every 20 min), in bed at 23:00 and up
    at 07:00 (the pad shows it when fitted); the next evening the last sign of life is at
    21:30, and nothing after. Returns the engine, the events and that last sign's time."""
    engine = engine_for()
    day0 = T0 - 10 * HOUR
    events = []
    for d in range(days):
        start = day0 + d * 24 * HOUR
        events += [ev(start + 8 * HOUR + k * 20 * MIN) for k in range(45)]
        if bed_pad:
            events += [ev(start + 23 * HOUR, "bed-pad", "bed", "occupied"),
                       ev(start + 31 * HOUR, "bed-pad", "bed", "vacant")]
    last = day0 + days * 24 * HOUR + 21 * HOUR + 30 * MIN
    events += [ev(t) for t in range(day0 + days * 24 * HOUR + 8 * HOUR, last + 1, 20 * MIN)]
    return engine, events, last


def test_with_a_bed_pad_stillness_in_the_night_hours_is_raised_before_the_morning() -> None:
    """Night hours are no excuse where the bed pad shows sleep: a resident still and out
    of bed from 21:30 (a fall on the way to bed) is raised that evening at the hour's
    learned threshold. Without the pad the same stillness may be sleep, and waits for
    the morning."""
    engine, events, last = late_evenings(bed_pad=True)
    (alert,) = raised(run(engine, events, last + 12 * HOUR), AlertType.INACTIVITY)
    assert alert.at - last <= 2 * HOUR
    engine, events, last = late_evenings(bed_pad=False)
    alerts = raised(run(engine, events, last + 12 * HOUR), AlertType.INACTIVITY)
    assert all(a.at - last >= 9 * HOUR for a in alerts)


def test_without_a_bed_pad_a_learned_home_waits_no_longer_than_the_12_hour_timer() -> None:
    """An evening's stillness from 21:30 in a home that has learned its hours is raised by
    12 h after it, as the timer most services run would be, not at 11:00 the next day."""
    engine, events, _ = late_evenings(bed_pad=False)
    last = max(e.event_time for e in events)  # 21:20
    decisions = run(engine, events, last + 14 * HOUR)
    (alert,) = raised(decisions, AlertType.INACTIVITY)
    assert alert.at == last + 12 * HOUR and "usually goes at this hour" in alert.reason


def test_a_learned_threshold_past_12_hours_stays_near_the_longest_gap_seen() -> None:
    """The tail fit may reach far past what a sparse home has shown; beyond the 12 h timer
    it is held to 1.1 times the longest gap seen near that hour, and never below 12 h."""
    counts = np.zeros((24, learning.BINS))
    counts[:, learning.gap_bin(20 * MIN)] = 300.0
    counts[21, learning.gap_bin(10 * HOUR)] = 12.0  # ten-hour evenings
    counts[9, learning.gap_bin(23 * HOUR // 2)] = 12.0  # and mornings of 11.5 h
    minutes, learned = learning.thresholds_min(counts, np.full(24, 30.0), 30.0)
    assert learned.all()
    for hour, longest in ((21, 10 * HOUR), (9, 23 * HOUR // 2)):
        edge = learning.EDGES_MIN[learning.gap_bin(longest) + 1]
        assert minutes[hour] == max(12 * 60, 1.1 * edge)


def test_with_the_bed_pad_faulty_the_night_hours_wait_for_the_morning_again() -> None:
    """A chattering bed pad is left out, so sleep no longer shows: the evening's stillness
    is judged as in a home without one."""
    engine, events, last = late_evenings(bed_pad=True)
    chatter = [ev(last - 15 * MIN + k * 10_000, "bed-pad", "bed",
                  "occupied" if k % 2 else "vacant") for k in range(40)]
    decisions = run(engine, sorted(events + chatter, key=lambda e: e.event_time),
                    last + 12 * HOUR)
    assert [a.device_id for a in raised(decisions, AlertType.SENSOR_FAULT)] == ["bed-pad"]
    assert all(a.at - last >= 9 * HOUR for a in raised(decisions, AlertType.INACTIVITY))


def test_a_new_home_is_held_to_twice_its_longest_stillness_before_the_fixed_timer() -> None:
    """From the day it has shown a hundred daytime gaps, a home still learning raises
    stillness at twice its longest still spell so far (at least 2.5 h), not at the 4 h
    timer; stillness shorter than that raises nothing."""
    engine = engine_for()
    day0 = T0 - 10 * HOUR  # Monday 00:00
    events = []
    for d in range(2):
        start = day0 + d * 24 * HOUR
        events += [ev(start + 8 * HOUR + k * 10 * MIN) for k in range(84)
                   if not 14 * 6 <= k - 6 * 6 < 15 * 6]  # a nap from 14:00 to 15:00
    decisions = run(engine, events, day0 + 2 * 24 * HOUR)
    assert raised(decisions, AlertType.INACTIVITY) == []
    day2 = day0 + 2 * 24 * HOUR
    nap = [ev(day2 + 8 * HOUR), ev(day2 + 10 * HOUR), ev(day2 + 11 * HOUR + 50 * MIN)]
    assert raised(run(engine, nap, day2 + 11 * HOUR + 50 * MIN), AlertType.INACTIVITY) == []
    collapse = day2 + 11 * HOUR + 50 * MIN
    (alert,) = raised(run(engine, [], collapse + 5 * HOUR), AlertType.INACTIVITY)
    assert 150 * MIN <= alert.at - collapse < 4 * HOUR
    assert "longest still spell" in alert.reason
