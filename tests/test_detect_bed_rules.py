"""The bed pad's rules: out of bed at night and still (a fall on the way to the toilet), and
not up by the usual time (plain data, no clock)."""

from __future__ import annotations

from engine_events import DAY0, HOUR, HUB, MIN, ev, home_engine, inactivity

from telecare.detect import Decision, Engine, Raise
from telecare.detect.columns import F_RISE_MEAN
from telecare.model import AlertType, Event, HubSettings

DEVICES = (("pir-hall", "motion", "hall"),
           ("pir-lounge", "motion", "lounge"), ("bed-pad", "bed", "bedroom"))


def engine_for(settings: HubSettings | None = None) -> Engine:
    return home_engine(DEVICES, settings)


def evening(day: int) -> list[Event]:
    """A day up from 08:00 to 22:30 (a sign of life every 20 min), in bed at 22:40."""
    start = DAY0 + day * 24 * HOUR
    out = [ev(start + 8 * HOUR + k * 20 * MIN, "pir-lounge") for k in range(44)]
    return [*out, ev(start + 22 * HOUR + 40 * MIN, "bed-pad", "bed", "occupied")]



def test_a_resident_still_after_getting_out_of_bed_at_night_is_raised_after_45_minutes(
) -> None:
    """Up at 03:00, seen in the hall, then nothing: raised at 03:46, not in the morning."""
    engine = engine_for()
    up = DAY0 + 24 * HOUR + 3 * HOUR
    events = [*evening(0), ev(up, "bed-pad", "bed", "vacant"), ev(up + MIN)]
    (alert,) = inactivity(engine, events, up + 2 * HOUR)
    assert alert.at == up + MIN + 45 * MIN and alert.priority == 3
    assert "out of bed at night" in alert.reason


def test_the_rule_is_set_per_home_and_off_at_zero() -> None:
    """With `out_of_bed_min` 0 the same night raises nothing before the morning."""
    engine = engine_for(HubSettings(out_of_bed_min=0))
    up = DAY0 + 24 * HOUR + 3 * HOUR
    events = [*evening(0), ev(up, "bed-pad", "bed", "vacant"), ev(up + MIN)]
    assert inactivity(engine, events, up + 4 * HOUR) == []


def test_an_early_riser_who_sits_down_and_a_resident_not_yet_in_bed_are_left_alone() -> None:
    """Up at 05:30 and about for 40 min, then still in the lounge until 07:30; and an
    evening that ends in the lounge at 22:30 with no bed at all: neither is out of bed at
    night for the rule."""
    engine = engine_for()
    up = DAY0 + 24 * HOUR + 5 * HOUR + 30 * MIN
    events = [*evening(0), ev(up, "bed-pad", "bed", "vacant")]
    events += [ev(up + k * 5 * MIN, "pir-lounge") for k in range(1, 9)]
    assert inactivity(engine, events, up + 2 * HOUR) == []
    sofa = engine_for()
    start = DAY0 + 24 * HOUR
    events = [*evening(0), ev(start + 7 * HOUR, "bed-pad", "bed", "vacant")]
    events += [ev(start + 8 * HOUR + k * 20 * MIN, "pir-lounge") for k in range(44)]
    assert inactivity(sofa, events, start + 24 * HOUR) == []


def nights_in_bed(days: int, *, rise_min: int = 7 * 60) -> list[Event]:
    """`days` days as `evening` makes them, each night in bed until `rise_min` local."""
    out: list[Event] = []
    for day in range(days):
        out += evening(day)
        out.append(ev(DAY0 + (day + 1) * 24 * HOUR + rise_min * MIN, "bed-pad", "bed", "vacant"))
    return out


def test_a_resident_still_in_bed_long_after_the_usual_rising_is_raised_that_morning() -> None:
    """Up at 07:00 for eight mornings; on the ninth nothing after going to bed at 22:40:
    raised at 09:00 (two hours after the usual rising), not at 12:40 (14 h in bed)."""
    engine = engine_for()
    events = [*nights_in_bed(8), *evening(8)]
    ninth = DAY0 + 9 * 24 * HOUR
    (alert,) = inactivity(engine, events, ninth + 13 * HOUR)
    assert alert.at == ninth + 9 * HOUR and alert.priority == 3
    assert "still in bed at 09:00 local where up by about 07:00 is usual" in alert.reason


def test_a_lie_in_within_the_margin_raises_nothing_and_is_learned() -> None:
    """Up at 07:00 for eight mornings, then at 08:30: no alert, and the usual moves later."""
    engine = engine_for()
    events = [*nights_in_bed(8), *evening(8)]
    ninth = DAY0 + 9 * 24 * HOUR
    events.append(ev(ninth + 8 * HOUR + 30 * MIN, "bed-pad", "bed", "vacant"))
    events += [e for e in evening(9) if e.event_time > ninth + 8 * HOUR + 30 * MIN]
    assert inactivity(engine, events, ninth + 24 * HOUR + HOUR) == []
    row = engine.row(HUB)
    assert engine.ambient.floats[row, F_RISE_MEAN] > 7 * 60


def test_before_a_week_of_mornings_or_with_the_rule_off_the_14_hour_rule_stands() -> None:
    """Three mornings learned are too few, and a home can have the rule switched off: the
    resident still in bed is raised at 14 h."""
    for days, settings in ((3, HubSettings()), (8, HubSettings(not_up=False))):
        engine = engine_for(settings)
        events = [*nights_in_bed(days), *evening(days)]
        bedtime = DAY0 + days * 24 * HOUR + 22 * HOUR + 40 * MIN
        (alert,) = inactivity(engine, events, bedtime + 15 * HOUR)
        assert alert.at == bedtime + 14 * HOUR and "in bed and still for 14 h" in alert.reason


def test_a_morning_raised_as_not_up_is_not_learned() -> None:
    """Raised at 09:00, up at 09:30: the usual rising stays at 07:00."""
    engine = engine_for()
    ninth = DAY0 + 9 * 24 * HOUR
    events = [*nights_in_bed(8), *evening(8),
              ev(ninth + 9 * HOUR + 30 * MIN, "bed-pad", "bed", "vacant")]
    events += [e for e in evening(9) if e.event_time > ninth + 9 * HOUR + 30 * MIN]
    (alert,) = inactivity(engine, events, ninth + 24 * HOUR + HOUR)
    assert alert.at == ninth + 9 * HOUR
    assert engine.ambient.floats[engine.row(HUB), F_RISE_MEAN] == 7 * 60


def test_a_sensor_found_faulty_while_the_resident_is_up_at_night_lifts_the_rule_at_once(
) -> None:
    """Up at 02:50, then the bedroom door chatters (every 10 s): once it is recognised as
    faulty the home no longer trusts its sensors, so the 45 min rule does not stand on
    the chatter's last counted event; the night waits for the morning as without a pad."""
    engine = engine_for()
    engine.register_device(HUB, "door-bedroom", "door", "bedroom")
    up = DAY0 + 24 * HOUR + 2 * HOUR + 50 * MIN
    chatter = [ev(up + MIN + k * 10_000, "door-bedroom", "door", "open" if k % 2 else "closed")
               for k in range(40)]
    out: list[Decision] = engine.observe([*evening(0), ev(up, "bed-pad", "bed", "vacant"),
                                          *chatter])
    out += engine.advance(up + 2 * HOUR + engine.lateness_ms)
    raised = [d for d in out if isinstance(d, Raise)]
    assert [d.type for d in raised] == [AlertType.SENSOR_FAULT]


def test_a_time_set_for_the_home_raises_from_the_first_morning_and_the_earlier_wins() -> None:
    """`up_by` 08:30 raises the second morning at 08:30 (nothing learned yet), saying
    so; after eight mornings up at 07:00 the learned 09:00 and the set 08:30 give 08:30,
    and a time set after 09:00 leaves the learned one to speak."""
    engine = engine_for(HubSettings(up_by="08:30"))
    events = [*nights_in_bed(1), *evening(1)]
    second = DAY0 + 2 * 24 * HOUR
    (alert,) = inactivity(engine, events, second + 13 * HOUR)
    assert alert.at == second + 8 * HOUR + 30 * MIN
    assert "still in bed at 08:30 local, the time set for this home" in alert.reason
    ninth = DAY0 + 9 * 24 * HOUR
    for up_by, due in (("08:30", 8 * HOUR + 30 * MIN), ("10:00", 9 * HOUR)):
        engine = engine_for(HubSettings(up_by=up_by))
        (alert,) = inactivity(engine, [*nights_in_bed(8), *evening(8)], ninth + 13 * HOUR)
        assert alert.at == ninth + due


def test_a_time_set_while_the_resident_is_in_bed_applies_that_morning() -> None:
    """In bed at 22:40; at 23:00 the time 08:00 is set: raised at 08:00."""
    engine = engine_for()
    events = [*nights_in_bed(1), *evening(1)]
    engine.observe(sorted(events, key=lambda e: e.event_time))
    second = DAY0 + 2 * 24 * HOUR
    engine.advance(second - HOUR + engine.lateness_ms)
    engine.configure(HUB, tz="UTC", settings=HubSettings(up_by="08:00"))
    (alert,) = inactivity(engine, [], second + 13 * HOUR)
    assert alert.at == second + 8 * HOUR
