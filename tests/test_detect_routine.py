"""Routine change: days far below usual activity, more night-time toilet visits than usual."""

from __future__ import annotations

from telecare.detect import Decision, Engine, Raise
from telecare.detect.routine import judge_day, judge_nights, judge_unwell, nb_cdf
from telecare.model import AlertType, Event, HubSettings

HUB = "H-r-1"
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
MONDAY = 1_772_409_600_000  # 2026-03-02T00:00:00Z


def ev(at: int, device: str) -> Event:
    return Event(hub_id=HUB, seq=at // 1000, device_id=device, type="motion", event="active",
                 ts=at, event_time=at, received_at=at, channel="event")


def engine() -> Engine:
    eng = Engine.starting_at(MONDAY)
    eng.configure(HUB, tz="UTC", settings=HubSettings())
    eng.register_device(HUB, "pir-lounge", "motion", "lounge")
    eng.register_device(HUB, "pir-bath", "motion", "bathroom")
    return eng


def day_events(day: int, every_min: int, night_visits: int) -> list[Event]:
    start = MONDAY + day * DAY
    out = [ev(start + 7 * HOUR + k * every_min * MIN, "pir-lounge")
           for k in range(15 * 60 // every_min)]
    out += [ev(start + 22 * HOUR + 30 * MIN + v * 40 * MIN, "pir-bath")
            for v in range(night_visits)]
    return sorted(out, key=lambda e: e.event_time)


def carer_notices(decisions: list[Decision]) -> list[Raise]:
    return [d for d in decisions if isinstance(d, Raise) and d.type is AlertType.ROUTINE_CHANGE]


def test_the_negative_binomial_tail_is_a_probability_that_shrinks_with_the_count() -> None:
    """P(X <= x) rises with x and stays in [0, 1]."""
    values = [nb_cdf(x, 50.0, 2.0) for x in (0, 10, 25, 50, 100)]
    assert values == sorted(values) and values[0] >= 0.0 and values[-1] <= 1.0


def test_a_quiet_day_is_not_flagged_but_a_day_at_a_fifth_of_usual_is() -> None:
    """Far in the tail and at most half of what is expected."""
    assert not judge_day(40, 60, 2.0, low_yesterday=False).flagged
    assert judge_day(10, 100, 2.0, low_yesterday=False).flagged


def test_a_day_far_less_likely_than_any_usual_one_is_flagged_even_at_two_thirds() -> None:
    """p < 1e-5 flags a day at up to 70 % of usual; at p 1e-4 it takes half."""
    assert judge_day(110, 180, 1.7, low_yesterday=False).flagged
    assert not judge_day(120, 180, 1.7, low_yesterday=False).flagged
    assert not judge_day(600, 1000, 20.0, low_yesterday=False).flagged


def test_a_day_far_above_the_usual_is_marked_high_and_an_ordinary_busy_day_is_not() -> None:
    """A chattering sensor's day (three times the usual) is held back from learning."""
    assert judge_day(540, 180, 2.0, low_yesterday=False).high
    assert not judge_day(250, 180, 2.0, low_yesterday=False).high
    assert not judge_day(540, 180, 2.0, low_yesterday=False).flagged
    # a sparse home (too few events to judge a low day) still holds back a chattering day
    assert judge_day(300, 25, 2.0, low_yesterday=False).high


def test_three_nights_of_many_more_toilet_visits_than_usual_are_flagged() -> None:
    """One visit a night is usual; four a night for three nights is not."""
    assert not judge_nights(4, 1.0)[1]
    assert judge_nights(15, 1.0)[1]


def test_a_low_day_and_a_night_of_many_toilet_visits_are_flagged_together() -> None:
    """Neither alone is enough; together (how an illness starts) they are."""
    low_day = judge_day(120, 180, 1.7, low_yesterday=False)
    assert not low_day.flagged
    assert not judge_nights(6, 1.1)[1]
    assert judge_unwell(low_day.p_low, low_day.ratio, 6, 1.1)[1]
    # a usual day, or a usual night, clears it
    assert not judge_unwell(0.4, 0.97, 6, 1.1)[1]
    assert not judge_unwell(low_day.p_low, low_day.ratio, 2, 1.1)[1]


def test_a_home_whose_activity_drops_to_a_fraction_is_told_to_carers_once_the_day_ends() -> None:
    """Two weeks of the same day, then a day at a tenth of it: one carer notice at midnight."""
    eng = engine()
    decisions: list[Decision] = []
    for day in range(14):
        decisions += eng.observe(day_events(day, 10, 1))
        decisions += eng.advance(MONDAY + (day + 1) * DAY + HOUR)
    assert carer_notices(decisions) == []
    decisions = eng.observe(day_events(14, 100, 1))
    decisions += eng.advance(MONDAY + 15 * DAY + HOUR)
    (notice,) = carer_notices(decisions)
    assert notice.audience == "carer" and notice.priority == 3
    assert notice.at == MONDAY + 15 * DAY and "low activity" in notice.reason


def test_hours_the_hub_was_not_heard_are_not_counted_as_hours_at_home() -> None:
    """Two weeks of the same day, then one whose hub is not heard from 08:00 to 18:00 (a
    power cut past its battery: nothing arrives): the day is judged on the hours heard,
    and nothing is told. The same day with the hub heard but the resident that quiet is."""
    for hub_heard in (False, True):
        eng = engine()
        eng.supervision.watch(HUB, 60, registered_at=MONDAY)
        cut = range(MONDAY + 14 * DAY + 8 * HOUR, MONDAY + 14 * DAY + 18 * HOUR)
        decisions: list[Decision] = []
        for day in range(15):
            start = MONDAY + day * DAY
            events = day_events(day, 10, 1) + [
                Event(hub_id=HUB, seq=t // 1000 + 1, device_id="hub", type="hub",
                      event="heartbeat", ts=t, event_time=t, received_at=t, channel="event")
                for t in range(start + MIN // 2, start + DAY, MIN)]
            if day == 14:
                events = [e for e in events if e.event_time not in cut
                          or (hub_heard and e.device_id == "hub")]
            for hour in range(24):
                lo = start + hour * HOUR
                decisions += eng.observe(sorted((e for e in events
                                                 if lo <= e.event_time < lo + HOUR),
                                                key=lambda e: e.event_time))
                decisions += eng.advance(lo + HOUR)
        decisions += eng.advance(MONDAY + 15 * DAY + HOUR)
        assert len(carer_notices(decisions)) == int(hub_heard)


def test_more_night_time_toilet_visits_over_several_nights_are_told_to_carers() -> None:
    """One visit a night for two weeks, then five a night."""
    eng = engine()
    decisions: list[Decision] = []
    for day in range(14):
        decisions += eng.observe(day_events(day, 10, 1))
        decisions += eng.advance(MONDAY + (day + 1) * DAY + 8 * HOUR)
    assert carer_notices(decisions) == []
    for day in range(14, 17):
        decisions += eng.observe(day_events(day, 10, 5))
        decisions += eng.advance(MONDAY + (day + 1) * DAY + 8 * HOUR)
    notices = carer_notices(decisions)
    assert notices and all(n.audience == "carer" for n in notices)
    assert "toilet visits" in notices[0].reason


def bed(at: int, event: str) -> Event:
    return Event(hub_id=HUB, seq=at // 1000, device_id="bed-pad", type="bed", event=event,
                 ts=at, event_time=at, received_at=at, channel="event")


def test_a_day_spent_in_bed_is_told_to_carers_at_midnight_and_a_usual_day_is_not() -> None:
    """Two weeks in bed only at night, then two hours in bed in the afternoon."""
    eng = engine()
    eng.register_device(HUB, "bed-pad", "bed", "bedroom")
    decisions: list[Decision] = []
    for day in range(15):
        start = MONDAY + day * DAY
        events = [*day_events(day, 10, 1), bed(start + 23 * HOUR, "occupied"),
                  bed(start + DAY + 6 * HOUR + 50 * MIN, "vacant")]
        if day == 14:
            events = [e for e in events if not 14 * HOUR <= e.event_time - start < 16 * HOUR]
            events += [bed(start + 14 * HOUR, "occupied"), bed(start + 16 * HOUR, "vacant")]
        decisions += eng.observe(sorted(events, key=lambda e: e.event_time))
        decisions += eng.advance(start + DAY + HOUR)
        if day == 13:
            assert carer_notices(decisions) == []
    (notice,) = carer_notices(decisions)
    assert notice.at == MONDAY + 15 * DAY and notice.audience == "carer"
    assert "in bed for 2 h 00 min in the daytime" in notice.reason


def first_week_with_an_afternoon_in_bed(nap: int, *, hub_silent: bool = False, on_day: int = 4,
                                        rise: int = 6 * HOUR + 50 * MIN,
                                        bedtime: int = 23 * HOUR) -> list[Raise]:
    """Days in bed only at night (from `bedtime` to `rise`, and active between), then `nap`
    ms in bed from 12:00 on `on_day`; with `hub_silent`, nothing from the hub is heard from
    13:00 to 15:00 that day (a power cut past its battery, the pad left occupied). Carer
    notices."""
    eng = engine()
    eng.register_device(HUB, "bed-pad", "bed", "bedroom")
    eng.supervision.watch(HUB, 60, registered_at=MONDAY)
    nap_from = MONDAY + on_day * DAY + 12 * HOUR
    events: list[Event] = []
    for day in range(on_day + 1):
        start = MONDAY + day * DAY
        events += [e for e in day_events(day, 10, 1)
                   if not nap_from <= e.event_time < nap_from + nap
                   and not start <= e.event_time < start + rise
                   and not start + bedtime <= e.event_time < start + DAY]
        events += [bed(start + bedtime, "occupied"), bed(start + DAY + rise, "vacant")]
    events += [bed(nap_from, "occupied"), bed(nap_from + nap, "vacant")]
    unheard = range(MONDAY + on_day * DAY + 13 * HOUR, MONDAY + on_day * DAY + 15 * HOUR)
    end = MONDAY + (on_day + 1) * DAY + 2 * HOUR
    events += [Event(hub_id=HUB, seq=t // 1000 + 1, device_id="hub", type="hub",
                     event="heartbeat", ts=t, event_time=t, received_at=t, channel="event")
               for t in range(MONDAY + MIN // 2, end, MIN)]
    events = sorted((e for e in events if not (hub_silent and e.event_time in unheard)),
                    key=lambda e: e.event_time)
    decisions: list[Decision] = []
    for t in range(MONDAY + HOUR, end, HOUR):
        decisions += eng.observe([e for e in events if t - HOUR < e.event_time <= t])
        decisions += eng.advance(t)
    return carer_notices(decisions)


def test_an_afternoon_in_bed_in_a_homes_first_week_is_told_when_far_beyond_its_first_days(
) -> None:
    """From the fourth day, a home whose pad showed no daytime rest is told about three
    hours in bed that afternoon; ninety minutes, within the wider margin of its first
    week, is not."""
    (notice,) = first_week_with_an_afternoon_in_bed(3 * HOUR)
    assert notice.at == MONDAY + 5 * DAY and "in bed for 3 h 00 min in the daytime" in notice.reason
    assert first_week_with_an_afternoon_in_bed(90 * MIN) == []


def test_time_in_bed_while_the_hub_was_silent_is_not_judged() -> None:
    """Three hours on the pad, two of them while the hub was not heard: not told."""
    assert first_week_with_an_afternoon_in_bed(3 * HOUR, hub_silent=True) == []


def test_a_chattering_sensor_in_the_first_week_does_not_make_later_days_look_low() -> None:
    """Day 4 has a sensor firing every 20 s; the ordinary days after it raise nothing."""
    eng = engine()
    decisions: list[Decision] = []
    for day in range(21):
        events = day_events(day, 10, 1)
        if day == 4:
            start = MONDAY + day * DAY
            events += [ev(start + 8 * HOUR + k * 20_000, "pir-bath") for k in range(4 * 180)]
        decisions += eng.observe(sorted(events, key=lambda e: e.event_time))
        decisions += eng.advance(MONDAY + (day + 1) * DAY + 8 * HOUR)
    assert carer_notices(decisions) == []


def test_in_a_homes_first_days_hours_lying_down_after_the_night_are_told() -> None:
    """With no usual yet (its second day with the pad), two and a half hours lying down in
    the afternoon are told to carers at midnight; ninety minutes are not, nor a late
    morning in bed that goes on from the night (up at 11:30, then an hour's nap), however
    early that night began (21:30, before the night hours)."""
    (notice,) = first_week_with_an_afternoon_in_bed(150 * MIN, on_day=1)
    assert notice.at == MONDAY + 2 * DAY
    assert "lay down in bed for 2 h 30 min in the daytime" in notice.reason
    assert first_week_with_an_afternoon_in_bed(90 * MIN, on_day=1) == []
    late = 11 * HOUR + 30 * MIN
    assert first_week_with_an_afternoon_in_bed(HOUR, on_day=1, rise=late) == []
    assert first_week_with_an_afternoon_in_bed(HOUR, on_day=1, rise=late,
                                               bedtime=21 * HOUR + 30 * MIN) == []


def test_a_resident_who_always_naps_in_bed_is_told_about_on_three_days_at_most() -> None:
    """Two and a half hours on the bed every afternoon from the first day: told on the
    first three, then learned as this home's usual; not told again in its first fortnight."""
    eng = engine()
    eng.register_device(HUB, "bed-pad", "bed", "bedroom")
    decisions: list[Decision] = []
    for day in range(14):
        start = MONDAY + day * DAY
        nap = range(start + 13 * HOUR, start + 15 * HOUR + 30 * MIN)
        events = [e for e in day_events(day, 10, 1)
                  if e.event_time not in nap and e.event_time < start + 23 * HOUR]
        events += [bed(nap.start, "occupied"), bed(nap.stop, "vacant"),
                   bed(start + 23 * HOUR, "occupied"), bed(start + DAY + 6 * HOUR, "vacant")]
        decisions += eng.observe(sorted(events, key=lambda e: e.event_time))
        decisions += eng.advance(start + DAY + HOUR)
    told = [n.at for n in carer_notices(decisions)]
    assert told == [MONDAY + d * DAY for d in (1, 2, 3)]
