"""Not up by the usual time in a home without a bed pad: the first sign of life after the
night's stillness is the rising (plain data, no clock)."""

from __future__ import annotations

from test_detect_bed_rules import DAY0, HOUR, MIN, ev, inactivity

from telecare.detect import Engine
from telecare.model import Event, HubSettings

DAY = 24 * HOUR


def no_pad(settings: HubSettings | None = None) -> Engine:
    engine = Engine.starting_at(DAY0)
    engine.configure("H-b-1", tz="UTC", settings=settings or HubSettings())
    engine.register_device("H-b-1", "pir-hall", "motion", "hall")
    engine.register_device("H-b-1", "pir-lounge", "motion", "lounge")
    return engine


def days(n: int, *, rise_min: int = 7 * 60) -> list[Event]:
    """`n` days: up at `rise_min` (the hall), the lounge every 20 min from 08:00 to 22:20,
    the hall at 22:40 on the way to bed."""
    out: list[Event] = []
    for day in range(n):
        start = DAY0 + day * DAY
        if day:
            out.append(ev(start + rise_min * MIN))
        out += [ev(start + 8 * HOUR + k * 20 * MIN, "pir-lounge") for k in range(44)]
        out.append(ev(start + 22 * HOUR + 40 * MIN))
    return out


def test_still_since_going_to_bed_is_raised_two_hours_after_the_usual_rising() -> None:
    """Up at 07:00 for nine mornings; on the tenth nothing after 22:40: raised at 09:00,
    not 12 h after (the floor under a learned night hour, as with the rule off)."""
    tenth = DAY0 + 10 * DAY
    (alert,) = inactivity(no_pad(), days(10), tenth + 13 * HOUR)
    assert alert.at == tenth + 9 * HOUR
    assert "not up by the usual time: about 07:00" in alert.reason
    off = inactivity(no_pad(HubSettings(not_up=False)), days(10), tenth + 13 * HOUR)
    assert [a.at for a in off] == [tenth - 80 * MIN + 12 * HOUR]


def test_back_to_bed_after_a_trip_in_the_night_is_raised_the_same_way() -> None:
    """The tenth night the hall at 02:00 after four hours' stillness, then nothing."""
    tenth = DAY0 + 10 * DAY
    (alert,) = inactivity(no_pad(), [*days(10), ev(tenth + 2 * HOUR)], tenth + 13 * HOUR)
    assert alert.at == tenth + 9 * HOUR


def test_a_resident_up_and_about_in_the_morning_is_left_to_the_hours_threshold() -> None:
    """Risings at 06:00 and 08:00 by turns (usual 07:00, due by 10:00). Up at 06:30 on the
    tenth morning, the lounge until 06:50, then still: up for the day (not a trip in the
    night, which comes two hours or more before the usual rising), so not the not-up rule."""
    events = [e for day in range(10) for e in days(day + 1, rise_min=(6 if day % 2 else 8) * 60)
              if DAY0 + day * DAY <= e.event_time < DAY0 + (day + 1) * DAY]
    tenth = DAY0 + 10 * DAY
    morning = [ev(tenth + 6 * HOUR + 30 * MIN), ev(tenth + 6 * HOUR + 40 * MIN, "pir-lounge"),
               ev(tenth + 6 * HOUR + 50 * MIN, "pir-lounge")]
    raised = inactivity(no_pad(), [*events, *morning], tenth + 13 * HOUR)
    assert all("not up" not in a.reason for a in raised)


def test_a_time_set_for_the_home_applies_without_a_pad_from_the_first_morning() -> None:
    """`up_by` 08:30: the second morning, nothing after 22:40: raised at 08:30."""
    second = DAY0 + 2 * DAY
    (alert,) = inactivity(no_pad(HubSettings(up_by="08:30")), days(2), second + 13 * HOUR)
    assert alert.at == second + 8 * HOUR + 30 * MIN
    assert "not up by the time set for this home" in alert.reason
