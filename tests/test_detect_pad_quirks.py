"""Bed pads as real pressure mats behave: a sleeper who rolls off the mat, a bedroom PIR
that sees the sleeper turn over, two mats in one bed, a night slept off the mat. None
of them is a resident out of bed (plain data, no clock)."""

from __future__ import annotations

from test_detect_bed_rules import (
    DAY0,
    HOUR,
    MIN,
    engine_for,
    ev,
    evening,
    inactivity,
    nights_in_bed,
)

from telecare.detect import Engine

NIGHT = DAY0 + 24 * HOUR  # the first night's midnight (in bed since 22:40)


def with_bedroom_pir(engine: Engine) -> Engine:
    engine.register_device("H-b-1", "pir-bedroom", "motion", "bedroom")
    return engine


def test_a_mat_that_loses_the_sleeper_for_an_hour_raises_nothing() -> None:
    """Vacant at 02:00, occupied again at 03:10, nothing else moved: still in bed."""
    engine = engine_for()
    events = [*evening(0), ev(NIGHT + 2 * HOUR, "bed-pad", "bed", "vacant"),
              ev(NIGHT + 3 * HOUR + 10 * MIN, "bed-pad", "bed", "occupied")]
    assert inactivity(engine, events, NIGHT + 6 * HOUR) == []


def test_the_mat_alone_saying_vacant_is_raised_only_when_overdue_in_bed() -> None:
    """Vacant at 03:00 and no other sign of life: not the 45 min rule (it may be the mat),
    but raised when a resident in bed would be (14 h after going to bed here), saying so."""
    engine = engine_for()
    events = [*evening(0), ev(NIGHT + 3 * HOUR, "bed-pad", "bed", "vacant")]
    (alert,) = inactivity(engine, events, NIGHT + 16 * HOUR)
    assert alert.at == NIGHT - HOUR - 20 * MIN + 14 * HOUR
    assert "bed pad vacant since 03:00 local and no sign of life elsewhere" in alert.reason


def test_up_is_dated_from_the_mat_once_another_sensor_shows_it() -> None:
    """Vacant at 03:00, the hall at 03:02, then nothing: the 45 min rule from the hall."""
    engine = engine_for()
    events = [*evening(0), ev(NIGHT + 3 * HOUR, "bed-pad", "bed", "vacant"),
              ev(NIGHT + 3 * HOUR + 2 * MIN)]
    (alert,) = inactivity(engine, events, NIGHT + 5 * HOUR)
    assert alert.at == NIGHT + 3 * HOUR + 47 * MIN and "out of bed at night" in alert.reason


def test_a_bedroom_pir_seeing_the_sleeper_turn_over_is_not_getting_up() -> None:
    """The pad says occupied; the bedroom PIR fires at 01:00 and 02:30: still asleep. The
    hall PIR at 04:00 does show the resident up (the pad missed the vacant)."""
    engine = with_bedroom_pir(engine_for())
    events = [*evening(0), ev(NIGHT + HOUR, "pir-bedroom"), ev(NIGHT + 2 * HOUR + 30 * MIN,
                                                                "pir-bedroom")]
    assert inactivity(engine, events, NIGHT + 4 * HOUR) == []
    up = with_bedroom_pir(engine_for())
    (alert,) = inactivity(up, [*events, ev(NIGHT + 4 * HOUR)], NIGHT + 6 * HOUR)
    assert alert.at == NIGHT + 4 * HOUR + 45 * MIN and "out of bed at night" in alert.reason


def test_two_mats_in_one_bed_the_sleeper_rolling_from_one_to_the_other() -> None:
    """Left mat occupied at 22:40; at 01:00 the right says occupied and the left vacant;
    then the bedroom PIR sees the turn: nobody left the bed."""
    engine = with_bedroom_pir(engine_for())
    engine.register_device("H-b-1", "bed-pad-right", "bed", "bedroom")
    events = [*evening(0), ev(NIGHT + HOUR, "bed-pad-right", "bed", "occupied"),
              ev(NIGHT + HOUR + 2_000, "bed-pad", "bed", "vacant"),
              ev(NIGHT + HOUR + 5_000, "pir-bedroom")]
    assert inactivity(engine, events, NIGHT + 5 * HOUR) == []


def test_after_a_night_slept_off_the_mat_the_mat_is_in_doubt_for_the_night_rules() -> None:
    """Nine nights on the mat, then one in the chair (the lounge at 22:30, nothing until
    07:30). That night is judged as before (a trusted mat shows sleep, so stillness before
    bed may be a fall on the way to it); but a night's sleep off the mat puts it in doubt:
    the next night, up at 02:00 and still from 02:05 is left to the floor, as in a home
    without a mat, where the mat's 45 min rule would have raised it at 02:50."""
    tenth = DAY0 + 10 * 24 * HOUR
    events = [*nights_in_bed(9), *[e for e in evening(9) if e.type != "bed"],
              ev(tenth + 7 * HOUR + 30 * MIN, "pir-lounge"), *evening(10),
              ev(tenth + 26 * HOUR, "bed-pad", "bed", "vacant"),
              ev(tenth + 26 * HOUR + 5 * MIN)]
    raised = inactivity(engine_for(), events, tenth + 32 * HOUR)
    assert [a.at < tenth + 8 * HOUR for a in raised] == [True]
    trusted = [e for e in events if not tenth - 2 * HOUR < e.event_time < tenth + 8 * HOUR]
    trusted.append(ev(tenth - 80 * MIN, "bed-pad", "bed", "occupied"))
    (alert,) = inactivity(engine_for(), trusted, tenth + 32 * HOUR)
    assert alert.at == tenth + 26 * HOUR + 50 * MIN and "out of bed at night" in alert.reason


def test_a_nap_in_the_chair_after_breakfast_leaves_the_mat_trusted() -> None:
    """Up at 07:00 (the mat), the lounge at 07:30, nothing until 10:45: a morning nap, not
    a night off the mat; that night, up at 03:00 and still from the hall at 03:01, is
    raised at 03:46 by the mat's 45 min rule."""
    day1 = DAY0 + 24 * HOUR
    events = [*evening(0), ev(day1 + 7 * HOUR, "bed-pad", "bed", "vacant"),
              ev(day1 + 7 * HOUR + 30 * MIN, "pir-lounge"),
              *[e for e in evening(1) if e.event_time > day1 + 10 * HOUR + 40 * MIN],
              ev(day1 + 24 * HOUR + 3 * HOUR, "bed-pad", "bed", "vacant"),
              ev(day1 + 24 * HOUR + 3 * HOUR + MIN)]
    (alert,) = inactivity(engine_for(), events, day1 + 24 * HOUR + 6 * HOUR)
    assert alert.at == day1 + 24 * HOUR + 3 * HOUR + 46 * MIN
    assert "out of bed at night" in alert.reason
