"""A resident on a chair pad: seated, not on the floor (plain data, no clock). Recorded real
homes sit four to six hours in the chair, and watch television in the small hours."""

from __future__ import annotations

from engine_events import DAY0, HOUR, HUB, MIN, ev, home_engine, inactivity

from telecare.detect import Engine
from telecare.model import Event, HubSettings


def sit(at: int) -> Event:
    return ev(at, "seat", "chair", "occupied")


def stand(at: int) -> Event:
    return ev(at, "seat", "chair", "vacant")


DEVICES = (("pir-hall", "motion", "hall"),
           ("seat", "chair", "living"), ("bed-pad", "bed", "bedroom"))


def engine_for(settings: HubSettings | None = None) -> Engine:
    return home_engine(DEVICES, settings)



def about(start_h: int, end_h: int) -> list[Event]:
    """Up and about on the first day from start_h to end_h, a sign of life every 20 min."""
    return [ev(DAY0 + start_h * HOUR + k * 20 * MIN) for k in range(3 * (end_h - start_h) + 1)]


def morning() -> list[Event]:
    """Up and about from 08:00 to 12:00."""
    return about(8, 12)


def test_an_afternoon_in_the_chair_is_no_alarm_while_the_home_is_learning() -> None:
    """Sat down at 12:10 on the first day and still there at 16:30 (4 h 20 min): the 4 h
    fixed timer would have raised at 16:10; seated, nothing is raised."""
    engine = engine_for()
    sat = DAY0 + 12 * HOUR + 10 * MIN
    events = [*morning(), sit(sat), stand(sat + 4 * HOUR + 20 * MIN),
              ev(sat + 4 * HOUR + 21 * MIN)]
    assert inactivity(engine, events, sat + 5 * HOUR) == []


def test_a_resident_seated_and_still_for_six_hours_is_raised() -> None:
    """Sat down at 12:10 and nothing since: raised at 18:10, saying the resident is seated."""
    engine = engine_for()
    sat = DAY0 + 12 * HOUR + 10 * MIN
    (alert,) = inactivity(engine, [*morning(), sit(sat)], sat + 7 * HOUR)
    assert alert.at == sat + 6 * HOUR and alert.priority == 3
    assert "seated" in alert.reason and alert.reason.endswith("on the chair pad since 12:10")


def test_leaving_the_chair_and_then_nothing_is_judged_as_before() -> None:
    """Up from the chair at 12:30 and nothing after: the fixed 4 h timer raises at 16:30."""
    engine = engine_for()
    up = DAY0 + 12 * HOUR + 30 * MIN
    events = [*morning(), sit(DAY0 + 12 * HOUR + 10 * MIN), stand(up)]
    (alert,) = inactivity(engine, events, up + 6 * HOUR)
    assert alert.at == up + 4 * HOUR
    assert "fixed timer" in alert.reason


def test_up_in_the_night_to_the_chair_is_not_out_of_bed_and_still() -> None:
    """In bed at 22:40, up at 00:40 and on the chair a minute later until 01:50: nothing is
    raised (the out-of-bed rule would have raised at 01:26); the same night without the
    chair is still raised at 45 min."""
    bedtime = DAY0 + 22 * HOUR + 40 * MIN
    up = DAY0 + 24 * HOUR + 40 * MIN
    before = [*about(8, 22), ev(DAY0 + 22 * HOUR + 30 * MIN),
              ev(bedtime, "bed-pad", "bed", "occupied"), ev(up, "bed-pad", "bed", "vacant"),
              ev(up + 30_000)]
    seated = engine_for()
    events = [*before, sit(up + MIN), stand(up + 70 * MIN), ev(up + 71 * MIN),
              ev(up + 72 * MIN, "bed-pad", "bed", "occupied")]
    assert inactivity(seated, events, up + 3 * HOUR) == []
    fallen = engine_for()
    (alert,) = inactivity(fallen, before, up + 3 * HOUR)
    assert alert.at == up + 30_000 + 45 * MIN
    assert "out of bed at night" in alert.reason


def test_a_chair_pad_in_a_bathroom_is_toilet_activity_not_a_seat() -> None:
    """A commode pad counts night-time toilet visits and seats nobody: its occupied and then
    nothing is judged by the fixed timer (4 h), not the seated minimum (6 h)."""
    engine = engine_for()
    engine.register_device(HUB, "commode", "chair", "bathroom")
    sat = DAY0 + 12 * HOUR + 10 * MIN
    events = [*morning(), ev(sat, "commode", "chair", "occupied")]
    (alert,) = inactivity(engine, events, sat + 7 * HOUR)
    assert alert.at == sat + 4 * HOUR


def test_a_home_whose_sits_were_short_gets_its_usual_timer_not_six_hours() -> None:
    """Six sits of 30 min on the first afternoon (nothing else seen while seated), a night
    in bed: on the second day a resident still from sitting down at 10:00 is raised at the
    4 h fixed timer, since 1.25 times the longest sit so far is less; a home with no sits
    seen waits 6 h (above)."""
    engine = engine_for()
    events = [*morning()]
    for k in range(6):
        start = DAY0 + 12 * HOUR + 20 * MIN + k * HOUR
        events += [sit(start), stand(start + 30 * MIN), ev(start + 31 * MIN)]
    events += [e for e in about(18, 22) if e.event_time > DAY0 + 17 * HOUR + 51 * MIN]
    events += [ev(DAY0 + 22 * HOUR + 10 * MIN, "bed-pad", "bed", "occupied"),
               ev(DAY0 + 32 * HOUR, "bed-pad", "bed", "vacant"), ev(DAY0 + 32 * HOUR + MIN)]
    sat = DAY0 + 24 * HOUR + 10 * HOUR
    events += [ev(sat - HOUR), ev(sat - 30 * MIN), sit(sat)]
    (alert,) = inactivity(engine, events, sat + 7 * HOUR)
    assert alert.at == sat + 4 * HOUR

