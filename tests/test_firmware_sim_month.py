"""A generated month of 100 homes looks like real homes, and every injected incident shows."""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from firmware_sim import HomeSpec, Truth, plan_homes
from firmware_sim.day import ASLEEP, GARDEN, OUT, VISIT
from firmware_sim.hub import LINK_DOWN, LINK_UP, HubStream
from firmware_sim.kits import CODES, HEARTBEAT
from firmware_sim.timefmt import parse_ts

ZONE = "Europe/Madrid"  # an hour ahead of UTC in January: local hours are not UTC hours
TZ = ZoneInfo(ZONE)
START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
DAYS = 30
UNTIL = START + DAYS * 86400.0
SEED = 11
ACTIVITY = frozenset(
    i for i, c in enumerate(CODES) if c.device_id != "hub" and c.event != "battery"
)


@dataclass
class HomeMonth:
    """Everything one hub sent in the month, and where its resident was."""

    home: HomeSpec
    times: array[float] = field(default_factory=lambda: array("d"))
    codes: array[int] = field(default_factory=lambda: array("H"))
    values: dict[int, float] = field(default_factory=dict)
    held: set[int] = field(default_factory=set)
    segments: list[tuple[float, float, str]] = field(default_factory=list)

    def between(self, a: float, b: float) -> Iterator[tuple[float, int, int]]:
        """(time, code, index) of the items in [a, b)."""
        for k in range(bisect.bisect_left(self.times, a), bisect.bisect_left(self.times, b)):
            yield self.times[k], self.codes[k], k

    def named(self, a: float, b: float, device_id: str, event: str) -> list[float]:
        """Times in [a, b) of one device's event."""
        return [t for t, c, _ in self.between(a, b)
                if c < LINK_DOWN and (CODES[c].device_id, CODES[c].event) == (device_id, event)]


@dataclass
class Month:
    """The generated month: each home's stream and the ground truth."""

    homes: dict[str, HomeMonth]
    truths: list[Truth]

    def of(self, kind: str) -> list[tuple[HomeMonth, Truth, float, float | None]]:
        """Each incident of a kind with its home and its start and end in Unix seconds."""
        return [(self.homes[t.hub_id], t, parse_ts(t.start), parse_ts(t.end) if t.end else None)
                for t in self.truths if t.type == kind]

    def quiet_windows(self, hub_id: str) -> list[tuple[float, float]]:
        """Spans of a hub's faults that change what sensors show (noise, a dead hub)."""
        out = []
        for t in self.truths:
            if t.hub_id == hub_id and t.type in ("noisy_sensor", "hub_power_loss"):
                out.append((parse_ts(t.start), parse_ts(t.end) if t.end else math.inf))
        return out


@pytest.fixture(scope="module")
def month() -> Month:
    """A month of 100 homes with the default incident rate (about one per home-week)."""
    homes = plan_homes(100, seed=SEED, tz=ZONE)
    data: dict[str, HomeMonth] = {}
    truths: list[Truth] = []
    for home in homes:
        stream = HubStream(home, seed=SEED, start=START, until=UNTIL, incident_rate=1.0,
                           keep_segments=True)
        m = data[home.hub_id] = HomeMonth(home)
        while (item := stream.next_item()) is not None:
            at, code, value, held = item
            if value is not None:
                m.values[len(m.times)] = value
            if held is not None:
                m.held.add(len(m.times))
            m.times.append(at)
            m.codes.append(code)
        assert stream.segments is not None
        m.segments = [s for s in stream.segments if s[0] >= START and s[1] <= UNTIL]
        truths.extend(stream.truths)
    return Month(data, truths)


def local_hour(at: float) -> int:
    """The residents' local hour at a Unix time."""
    return datetime.fromtimestamp(at, TZ).hour


def overlaps(a: float, b: float, spans: list[tuple[float, float]]) -> bool:
    """Tell whether [a, b] meets any span."""
    return any(s <= b and a <= e for s, e in spans)


def test_incidents_come_at_about_one_per_home_week_and_every_kind_occurs(month: Month) -> None:
    """The ground truth holds 100 x 30 / 7 incidents give or take a quarter, of all ten kinds."""
    expected = 100 * DAYS / 7
    assert 0.75 * expected < len(month.truths) < 1.25 * expected
    assert {t.type for t in month.truths} == {
        "pendant_press", "device_fall", "silent_collapse", "night_exit_no_return",
        "night_exit_return", "hub_power_loss", "hub_offline", "illness", "low_battery",
        "noisy_sensor",
    }
    assert all(START <= parse_ts(t.start) < UNTIL for t in month.truths)


def test_night_time_activity_is_far_below_daytime(month: Month) -> None:
    """Local 01-05 sees under a fifth of 09-21's activity per hour, and not nothing."""
    per_hour: Counter[int] = Counter()
    for hub_id, m in month.homes.items():
        noisy = month.quiet_windows(hub_id)
        for at, code, _ in m.between(START, UNTIL):
            if code in ACTIVITY and not overlaps(at, at, noisy):
                per_hour[local_hour(at)] += 1
    night = sum(per_hour[h] for h in range(1, 5)) / 4
    day = sum(per_hour[h] for h in range(9, 21)) / 12
    assert 0 < night < 0.2 * day


def test_every_away_period_is_bracketed_by_front_door_events_with_nothing_inside(
    month: Month,
) -> None:
    """The door opens as the resident leaves and closes behind them back in; silence between."""
    checked = 0
    for hub_id, m in month.homes.items():
        faults = month.quiet_windows(hub_id)
        for a, b, state in m.segments:
            if state != OUT or overlaps(a, b, faults):
                continue
            checked += 1
            doors = [(t, CODES[c].event) for t, c, _ in m.between(a, b + 0.001)
                     if c < LINK_DOWN and CODES[c].device_id == "door-front"]
            assert doors and doors[0] == (a, "open") and doors[-1] == (b, "closed"), (
                hub_id, m.home.kit, datetime.fromtimestamp(a, TZ), b - a, doors,
                [t for t in month.truths if t.hub_id == hub_id])
            left, back = doors[1][0], doors[-2][0]  # closed behind them; opened on return
            inside = [CODES[c] for t, c, _ in m.between(left + 0.001, back) if c in ACTIVITY]
            assert not inside, (hub_id, a, inside[:3])
    assert checked > 500


def test_toilet_visits_at_night_are_present_but_rare(month: Month) -> None:
    """Flushes between local midnight and 05:00 average under one a night; three are unusual."""
    ill: dict[str, list[tuple[float, float]]] = {}
    for _, t, s, e in month.of("illness"):
        ill.setdefault(t.hub_id, []).append((s, e or math.inf))
    nights: list[int] = []
    first = datetime.fromtimestamp(START, TZ).toordinal() + 1
    for hub_id, m in month.homes.items():
        if not m.home.has("toilet-flush"):
            continue
        per_night: Counter[int] = Counter()
        for at in m.named(START, UNTIL, "toilet-flush", "active"):
            if local_hour(at) < 5:
                per_night[datetime.fromtimestamp(at, TZ).toordinal()] += 1
        for day in range(first, first + DAYS - 1):
            three = datetime.fromordinal(day).replace(hour=3, tzinfo=TZ).timestamp()
            if not any(s <= three < e for s, e in ill.get(hub_id, [])):
                nights.append(per_night[day])
    mean = sum(nights) / len(nights)
    assert 0.1 < mean < 1.0
    assert sum(n >= 3 for n in nights) < 0.05 * len(nights)


def test_workers_are_out_all_weekday_and_home_more_at_weekends(month: Month) -> None:
    """Residents who work spend most of 11:00-15:00 out on weekdays, far less at weekends."""
    out_share: dict[bool, list[float]] = {True: [], False: []}
    for m in month.homes.values():
        if m.home.lifestyle != "worker":
            continue
        outs = [(a, b) for a, b, s in m.segments if s == OUT]
        for k in range(DAYS):
            day = datetime.fromtimestamp(START + k * 86400.0 + 43200.0, TZ)
            lo = day.replace(hour=11, minute=0).timestamp()
            hi = day.replace(hour=15, minute=0).timestamp()
            covered = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in outs)
            out_share[day.weekday() >= 5].append(covered / (hi - lo))
    weekday, weekend = (sum(v) / len(v) for v in (out_share[False], out_share[True]))
    assert weekday > 0.8 and weekend < 0.5


def test_sparse_homes_report_only_door_and_usage_contacts(month: Month) -> None:
    """A sparse home's stream holds contacts, the hub's own events and battery reports only."""
    sparse = [m for m in month.homes.values() if m.home.kit == "sparse"]
    assert sparse
    for m in sparse:
        types = {CODES[c].type for c in set(m.codes) if c < LINK_DOWN}
        assert types <= {"door", "usage", "hub"}, types


def test_a_silent_collapse_is_followed_by_nothing_but_heartbeats_until_found(
    month: Month,
) -> None:
    """The last activity is at start, the resident was home and awake, then only the hub speaks."""
    collapses = month.of("silent_collapse")
    assert len(collapses) > 20
    for m, truth, start, end in collapses:
        assert end is not None
        collapsed = parse_ts(str(truth.params["collapsed_at"]))
        assert start <= collapsed < end
        assert not any(a <= collapsed < b for a, b, s in m.segments if s in
                       (ASLEEP, OUT, VISIT, GARDEN)), truth
        assert [c for t, c, _ in m.between(start, start + 1) if c in ACTIVITY], truth
        after = [CODES[c] for t, c, _ in m.between(start + 1, end) if c < LINK_DOWN]
        assert all(c.device_id == "hub" or c.event == "battery" for c in after), (truth, after[:3])
        assert any(c == HEARTBEAT for _, c, _ in m.between(start + 1, end)) or end - start < 120
        assert m.named(end, end + 1, "door-front", "open") or not m.home.has("door-front")
        assert [c for _, c, _ in m.between(end + 1, end + 7200) if c in ACTIVITY]


def test_night_exits_open_the_front_door_at_night_and_without_return_nothing_follows(
    month: Month,
) -> None:
    """The front door opens at start in the night; unreturned, nothing inside until end."""
    for kind in ("night_exit_return", "night_exit_no_return"):
        exits = month.of(kind)
        assert len(exits) > 5
        for m, truth, start, end in exits:
            assert end is not None and local_hour(start) < 6
            assert m.named(start, start + 1, "door-front", "open"), truth
            assert m.named(end, end + 1, "door-front", "open"), truth
            if kind == "night_exit_return":
                assert end - start < 3600
                continue
            assert end - start >= 3600
            inside = [CODES[c] for _, c, _ in m.between(start + 20, end) if c in ACTIVITY]
            assert not inside, (truth, inside[:3])


def test_presses_and_falls_are_alarms_at_start_and_a_fall_leaves_the_resident_still(
    month: Month,
) -> None:
    """Each press or fall is in the stream at its start (cancel at end); a fall is still."""
    for kind, device, alarm in (("pendant_press", "pendant", "press"),
                                ("device_fall", "fall-detector", "fall")):
        incidents = month.of(kind)
        assert incidents
        for m, truth, start, end in incidents:
            assert m.named(start, start + 1, device, alarm), truth
            if truth.params["cancelled"]:
                assert end is not None and m.named(end, end + 1, device, "cancel"), truth
            elif kind == "device_fall":
                assert end is not None
                after = [CODES[c] for _, c, _ in m.between(start + 1, end) if c in ACTIVITY]
                assert not after, (truth, after[:3])
        per_hub = Counter(t.hub_id for _, t, _, _ in incidents)
        for hub_id, m in month.homes.items():
            assert len(m.named(START, UNTIL, device, alarm)) == per_hub[hub_id]


def test_illness_brings_less_daytime_activity_and_more_night_toilet_visits(
    month: Month,
) -> None:
    """Across illnesses, days are quieter and nights busier than the same homes' other days."""
    rates = {True: Counter[str](), False: Counter[str]()}
    for m, truth, start, end in month.of("illness"):
        assert end is not None and int(truth.params["days"]) >= 3
        faults = month.quiet_windows(m.home.hub_id)
        for k in range(DAYS):
            day0 = START + k * 86400.0
            if overlaps(day0, day0 + 86400.0, faults):
                continue
            unwell = start <= day0 < end
            for at, c, _ in m.between(day0, day0 + 86400.0):
                hour = local_hour(at)
                if c in ACTIVITY and 9 <= hour < 21:
                    rates[unwell]["day"] += 1
                if c < LINK_DOWN and CODES[c].device_id == "toilet-flush" and hour < 5:
                    rates[unwell]["night_flush"] += 1
            rates[unwell]["days"] += 1
    ill, well = rates[True], rates[False]
    assert ill["days"] > 20 and well["days"] > 20
    assert ill["day"] / ill["days"] < 0.85 * well["day"] / well["days"]
    assert ill["night_flush"] / ill["days"] > 1.5 * well["night_flush"] / well["days"]


def test_hub_faults_show_as_mains_events_dead_time_and_missing_heartbeats(month: Month) -> None:
    """Power loss: mains_lost at start, silence once the backup is flat, mains_restored at end.
    Offline: the link drops at start, no heartbeats until it is back, and what was made waits."""
    for m, truth, start, end in month.of("hub_power_loss"):
        assert m.named(start, start + 1, "hub", "mains_lost"), truth
        assert end is not None and m.named(end, end + 1, "hub", "mains_restored"), truth
        dead = truth.params["dead_from"]
        if dead is not None:
            dead_from = parse_ts(str(dead))
            codes = [c for _, c, _ in m.between(dead_from + 1, end - 1)]
            assert codes == [LINK_UP] or codes == [], (truth, codes[:5])
    offline = month.of("hub_offline")
    assert offline
    for m, truth, start, end in offline:
        assert end is not None
        items = list(m.between(start, end + 1))
        assert items[0][1] == LINK_DOWN and items[-1][1] == LINK_UP, truth
        assert HEARTBEAT not in {c for _, c, _ in items}
        assert all(k in m.held for _, c, k in items[1:-1]), truth


def test_batteries_run_low_only_in_low_battery_incidents_and_noisy_sensors_are_noisy(
    month: Month,
) -> None:
    """A low battery reports under 20% from start until changed at end, never otherwise; a noisy
    sensor fires at least ten times an hour, a stuck PIR about every minute."""
    low: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _, t, s, e in month.of("low_battery"):
        low.setdefault((t.hub_id, str(t.params["device_id"])), []).append((s, e or math.inf))
    assert low
    for hub_id, m in month.homes.items():
        for k, level in m.values.items():
            spec = CODES[m.codes[k]]
            if spec.event != "battery" or spec.device_id == "hub":
                continue
            windows = low.get((hub_id, spec.device_id), [])
            inside = any(a <= m.times[k] < b for a, b in windows)
            assert (level < 0.2) == inside, (hub_id, spec.device_id, level, windows)
    for m, truth, start, end in month.of("noisy_sensor"):
        assert end is not None
        device = str(truth.params["device_id"])
        times = [t for t, c, _ in m.between(start, end) if CODES[c].device_id == device
                 and CODES[c].event != "battery"]
        assert times[0] == start and len(times) > 10 * (end - start) / 3600, truth
        if truth.params["mode"] == "stuck":
            assert max(b - a for a, b in itertools.pairwise(times)) <= 75.0
