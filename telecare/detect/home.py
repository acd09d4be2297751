"""One home's presence, inactivity, night exit and door left open, as a cursor.

A `Home` loads one row of the `AmbientDetectors` arrays into attributes, applies
the home's events in event-time order, fires its timers as they fall due (the
day's and night's end in `daily`), and writes the row back with `save`.

Presence is inferred from the front door, the activity after it and the bed pad:

- HOME: signs of life inside; inactivity is judged against the learned threshold
  (the hour's, or the last sensor's when shorter; `stillness.py`).
- DOOR: an exit door was passed after signs of life inside, and nothing inside
  has moved since it closed. The resident has probably gone out (or let a
  visitor out): no inactivity alarm. The next passage of an exit door, with
  nothing inside in between, is taken as the resident coming back: HOME again,
  and the inactivity timer runs from the door (a collapse just inside the door
  is still found, even in a home whose only sensors are door contacts).
- ASLEEP: the bed pad says occupied and nothing else has moved since. The pad's
  "vacant" alone does not end it: a pressure mat loses the sleeper who rolls off
  it, and one that comes back "occupied" was never left. The next sign of life
  elsewhere (or the exit door) shows the resident up, from the pad's vacant on.

Within HOME, a resident is *seated* while a chair pad's "occupied" is the last sign
of life: in the chair, not on the floor (`stillness.limit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telecare.detect import daily, faults, rising, stillness
from telecare.detect.columns import (
    ASLEEP,
    BED_MAX_MS,
    DOOR,
    DOOR_SETTLE_MS,
    F_BED_REST_TODAY,
    F_BED_TODAY,
    HOME,
    NONE,
    PASSAGE_MS,
    UP_TRIP_MS,
    VISIT_GAP_MS,
    clock_text,
    hours_text,
)
from telecare.detect.decisions import Clear, Decision, Raise
from telecare.detect.localtime import DAY_MS, HOUR_MS, MINUTE_MS, in_window
from telecare.model import AlertType, Priority

if TYPE_CHECKING:
    from telecare.detect.ambient import AmbientDetectors


class Home:
    """One home's row, loaded into attributes while its events are applied."""

    def __init__(self, det: AmbientDetectors, row: int) -> None:
        self.det = det
        self.row = row
        self.out: list[Decision] = []
        (
            self.presence, self.last_act, self.door_t, self.door_closed, self.bed_t, self.since,
            self.inact_dl, self.inact_alerted, self.exit_dl, self.exit_alerted, self.open_dl,
            self.open_alerted, self.day_dl, self.night_dl, self.first_seen, self.visits,
            self.last_toilet, self.held_streak, self.nights_seen, self.days_seen, self.ring0,
            self.ring1, self.active, self.last_ctx, self.bed_days, self.up_at, self.rose,
            self.rise_days, self.vacant_at, self.pads_in, self.pad_missed, self.seated_at,
        ) = det.ints[row].tolist()
        self.ctx = 0  # the context of the event being applied
        (
            clock, self.night_start, self.night_end, self.night_exit, self.return_ms,
            self.open_ms, self.inactivity, self.routine, _fallback, self.out_of_bed_ms,
            self.not_up, self.up_by, self.not_back_ms,
        ) = det.rules[row].tolist()
        self.clock = det.clocks[clock]
        self.thr: list[int] = det.thresholds[row].tolist()
        self.ctx_thr: list[int] = det.ctx_thr[row].tolist()
        self.floor: list[bool] = det.night_floor[row].tolist()
        self.floor_start = (self.night_start - 60) % 1440
        self.today: list[float] = det.today_count[row].tolist()
        self.home_ms: list[float] = det.today_home_ms[row].tolist()
        self.devices: list[list[int]] = det.devices[row].tolist()
        self.faulty = faults.any_faulty(self)  # a device's events are left out now

    def save(self) -> None:
        """Write the row back to the arrays."""
        det, row = self.det, self.row
        det.ints[row] = (
            self.presence, self.last_act, self.door_t, self.door_closed, self.bed_t, self.since,
            self.inact_dl, self.inact_alerted, self.exit_dl, self.exit_alerted, self.open_dl,
            self.open_alerted, self.day_dl, self.night_dl, self.first_seen, self.visits,
            self.last_toilet, self.held_streak, self.nights_seen, self.days_seen, self.ring0,
            self.ring1, self.active, self.last_ctx, self.bed_days, self.up_at, self.rose,
            self.rise_days, self.vacant_at, self.pads_in, self.pad_missed, self.seated_at,
        )
        det.today_count[row] = self.today
        det.today_home_ms[row] = self.home_ms
        det.devices[row] = self.devices

    def next_deadline(self) -> int:
        """The earliest of the home's timers."""
        if not self.active:
            return NONE
        return int(min(self.inact_dl, self.day_dl, self.night_dl, self.exit_dl, self.open_dl))

    def activate(self, t: int) -> None:
        """First event of a home: start its day and night timers."""
        self.active = 1
        self.first_seen = t
        self.since = t
        self.day_dl = self.clock.next_local(t, 0)
        self.night_dl = self.clock.next_local(t, self.night_end)

    # events ---------------------------------------------------------------------

    def activity(self, t: int, toilet: bool, late: bool, bedroom: bool = False) -> None:
        """Someone moved inside (`bedroom`: seen by a motion sensor in a bedroom)."""
        local = self.clock.local(t)
        if bedroom and self.presence == ASLEEP and not self.vacant_at:
            # the pad says occupied: a bedroom's PIR sees the sleeper turn over
            self.today[(local // HOUR_MS) % 24] += 1
            self.touch(t)
            return
        if self.vacant_at:
            self.confirm_up(t)
        if toilet and in_window((local // MINUTE_MS) % 1440, self.night_start, self.night_end):
            if t - self.last_toilet > VISIT_GAP_MS:
                self.visits += 1
            self.last_toilet = t
        presence = self.presence
        if presence == HOME:
            if not late and t - self.last_act >= rising.NIGHT_STILL_MS:
                self.woke(t)
            stillness.gap_end(self, t, late)
        elif presence == DOOR:
            if not ((self.door_closed and t > self.door_t) or t - self.door_t > DOOR_SETTLE_MS):
                self.touch(t)
                return  # maybe the resident on the way out
            self.become(HOME, t)
            self.returned(t)
        else:  # ASLEEP or UNKNOWN: up now; the silent stretch before is not a daytime gap
            if presence == ASLEEP:
                self.up_at = t  # the pad did not say vacant, but the resident is up
            self.become(HOME, t)
            self.clear_inactivity(t)
        if t >= self.last_act:
            hour = (local // HOUR_MS) % 24
            self.last_act = t
            self.last_ctx = self.ctx
            self.today[hour] += 1
            if self.inactivity:
                self.inact_dl = t + stillness.limit(self, (local // MINUTE_MS) % 1440)
            return
        self.today[(local // HOUR_MS) % 24] += 1
        self.set_inactivity()

    def exit_door(self, t: int, opened: bool, late: bool) -> None:
        """The front (or back) door opened or closed."""
        if self.vacant_at:
            self.confirm_up(t)
        same_passage = self.door_t > 0 and t - self.door_t <= PASSAGE_MS
        self.door_t = t
        self.door_closed = 0 if opened else 1
        if opened:
            if self.open_ms and self.open_dl == NONE and not self.open_alerted:
                self.open_dl = t + self.open_ms
        else:
            self.open_dl = NONE
            if self.open_alerted:
                self.open_alerted = 0
                self.out.append(Clear(self.hub_id, AlertType.DOOR_LEFT_OPEN, t))
        if same_passage:
            if self.presence == HOME:
                self.touch(t)
                self.set_inactivity()
            return
        if self.presence == DOOR:
            # out, and now the door again with nothing inside in between: back home
            self.become(HOME, t)
            self.returned(t)
            self.touch(t)
            self.set_inactivity()
            return
        if self.presence == HOME:
            if not late and t - self.last_act >= rising.NIGHT_STILL_MS:
                self.woke(t)
            stillness.gap_end(self, t, late)
        else:
            self.clear_inactivity(t)
        self.become(DOOR, t)
        self.touch(t)
        self.set_inactivity()
        if (self.night_exit and self.exit_dl == NONE and not self.exit_alerted
                and in_window(self.clock.minute_of_day(t), self.night_start, self.night_end)):
            self.exit_dl = t + self.return_ms

    def bed_in(self, t: int, late: bool) -> None:
        """The bed pad says occupied. Already in bed (the pad lost the sleeper for a
        while, or a second pad of the same bed), the stay goes on from when it began."""
        self.today[self.clock.hour(t)] += 1
        self.vacant_at = 0
        self.pads_in |= 1 << (self.ctx >> 1)
        if self.presence == HOME:
            stillness.gap_end(self, t, late)
        elif self.presence == DOOR:
            self.returned(t)
        if self.presence != ASLEEP:
            self.become(ASLEEP, t)
            self.bed_t = t
        self.touch(t)
        self.set_inactivity()

    def bed_out(self, t: int) -> None:
        """The bed pad says vacant. In bed, that alone is held until another sign of life
        shows the resident up (`confirm_up`); otherwise the resident is up now."""
        self.today[self.clock.hour(t)] += 1
        self.pads_in &= ~(1 << (self.ctx >> 1))
        if self.presence == ASLEEP:
            if not self.pads_in:  # (else another pad of the bed still holds the sleeper)
                self.vacant_at = t
            self.touch(t)
            self.set_inactivity()
            return
        if self.presence == HOME:
            # vacant, but the resident was taken to be up: the pad missed the going to bed
            self.pad_missed = t
        self.got_up(t)

    def confirm_up(self, t: int) -> None:
        """A sign of life other than the pad at `t`: if the pad said vacant since the
        resident went to bed, the resident got up then (applied now as if the vacant had
        been taken at once: its time is the rising, and the gap since it is learned; an
        alert raised meanwhile is cleared at `t`, when the resident was seen)."""
        if self.vacant_at and self.presence == ASLEEP:
            self.got_up(self.vacant_at, seen=t)
        self.vacant_at = 0

    def got_up(self, t: int, seen: int | None = None) -> None:
        """Out of bed at `t` (shown by a sign of life at `seen`, by default `t`)."""
        self.up_at = t
        rising.got_up(self, t)
        if self.presence == DOOR:
            self.returned(t)
        self.clear_inactivity(t if seen is None else seen)
        self.become(HOME, t)
        self.touch(t)
        self.set_inactivity()

    def woke(self, t: int) -> None:
        """A sign of life at home at `t` ending a still spell of NIGHT_STILL_MS or more
        (the callers check its length): in a home without a bed pad, when the spell began
        in the night floor's hours, the resident getting up (the last such each morning
        is the day's rising, as the pad's last vacant is)."""
        last = self.last_act
        if not self.bed_t and last > 0 and self.floor[self.clock.hour(last)]:
            self.up_at = t
            rising.got_up(self, t)

    def not_up_due(self) -> int:
        """A home without a bed pad, still since a last sign of life in the night floor's
        hours that was the day's end (at least DAY_UP_MS after getting up) or a trip in
        the night (at most UP_TRIP_MS after getting up, hours before the usual rising):
        when the resident is due up (rising.py), or NONE. Not once the resident is up
        for the day (an early riser still in the chair after breakfast is judged by the
        hour's threshold)."""
        if self.bed_t:
            return NONE
        since_up = self.last_act - self.up_at
        if since_up >= rising.DAY_UP_MS or (
                since_up <= UP_TRIP_MS and rising.in_the_night(self, self.up_at)):
            return rising.deadline(self, self.last_act)
        return NONE

    # state changes --------------------------------------------------------------

    def become(self, presence: int, t: int) -> None:
        """Change presence, first booking the time at home so far to today's hours."""
        if presence != self.presence:
            self.account(t)
            self.presence = presence
            if presence != ASLEEP:
                self.pads_in = 0

    def account(self, t: int) -> None:
        """Book [since, t) to today's at-home hours if the resident was at home, less any
        time the hub was silent (what it did not hear is neither activity expected nor time
        in bed: a power cut past the battery leaves the pad "occupied" until it is back)."""
        since = self.since
        if self.presence in (HOME, ASLEEP) and t > since:
            clock = self.clock
            in_bed = self.presence == ASLEEP
            # a stay begun the same day, after the night hours, is lying down (not the night's
            # sleep run late, however early it began)
            bed_local = clock.local(self.bed_t)
            rest_day = (bed_local // DAY_MS if in_bed and
                        (bed_local // MINUTE_MS) % 1440 >= self.night_end else -1)
            silent_ms = self.det.silent_ms
            unheard = silent_ms if silent_ms is not None and silent_ms(self.row, since, t) else None
            while since < t:
                local = clock.local(since)
                end = min(t, since + HOUR_MS - local % HOUR_MS)
                hour = (local // HOUR_MS) % 24
                span = end - since - (unheard(self.row, since, end) if unheard else 0)
                self.home_ms[hour] += span
                if in_bed and not self.floor[hour]:
                    self.det.floats[self.row, F_BED_TODAY] += span
                    if local // DAY_MS == rest_day:
                        self.det.floats[self.row, F_BED_REST_TODAY] += span
                since = end
        self.since = max(self.since, t)

    def touch(self, t: int) -> None:
        """A sign of life at `t` (which may be older than the last one)."""
        if t >= self.last_act:
            self.last_act = t
            self.last_ctx = self.ctx

    def clear_inactivity(self, t: int) -> None:
        """A sign of life ends an inactivity alert that was raised."""
        if self.inact_alerted:
            self.inact_alerted = 0
            self.out.append(Clear(self.hub_id, AlertType.INACTIVITY, t))

    def returned(self, t: int) -> None:
        """Activity inside after an exit door: the resident is in (came back, or never left).
        A night exit or a "not back" raised meanwhile is cleared."""
        self.clear_inactivity(t)
        self.exit_dl = NONE
        if self.exit_alerted:
            self.exit_alerted = 0
            self.out.append(Clear(self.hub_id, AlertType.NIGHT_EXIT, t))

    def set_inactivity(self) -> None:
        """Set the inactivity deadline for the present state."""
        if not self.inactivity:
            self.inact_dl = NONE
        elif self.presence == HOME:
            minute = self.clock.minute_of_day(self.last_act)
            self.inact_dl = self.last_act + stillness.limit(self, minute)
        elif self.presence == ASLEEP:
            deadline = min(self.bed_t + BED_MAX_MS, rising.deadline(self, self.bed_t))
            if self.vacant_at:
                # the pad alone says up: raised once overdue both in bed and up
                minute = self.clock.minute_of_day(self.vacant_at)
                up = self.vacant_at + stillness.limit(self, minute)
                deadline = max(deadline, up)
            self.inact_dl = deadline
        elif self.presence == DOOR and self.not_back_ms:
            self.inact_dl = self.last_act + self.not_back_ms  # out by the door: not back
        else:
            self.inact_dl = NONE

    # timers -----------------------------------------------------------------------

    def fire_until(self, limit: int) -> None:
        """Fire, in time order, every timer due at or before `limit`."""
        while True:
            due = min(self.inact_dl, self.day_dl, self.night_dl, self.exit_dl, self.open_dl)
            if due > limit:
                return
            if self.inact_dl == due:
                self.inact_dl = NONE
                self.fire_inactivity(due)
            elif self.exit_dl == due:
                self.exit_dl = NONE
                self.exit_alerted = 1
                minutes = self.return_ms // MINUTE_MS
                self.raise_(AlertType.NIGHT_EXIT, Priority.WELFARE, due,
                            f"exit door opened at night; no activity inside for {minutes} min")
            elif self.open_dl == due:
                self.open_dl = NONE
                self.open_alerted = 1
                minutes = self.open_ms // MINUTE_MS
                self.raise_(AlertType.DOOR_LEFT_OPEN, Priority.TECHNICAL, due,
                            f"exit door open for {minutes} min")
            elif self.night_dl == due:
                daily.end_night(self, due)
            else:
                daily.end_day(self, due)

    def fire_inactivity(self, at: int) -> None:
        """The inactivity timer expired."""
        if self.inact_alerted:
            return
        if self.presence == DOOR and self.exit_alerted:
            return  # the night exit raised stands for it until the resident is seen inside
        self.inact_alerted = 1
        if self.presence == DOOR:
            door = clock_text(self.clock.minute_of_day(self.last_act))
            reason = (f"out by the exit door at {door} local and no sign of life since "
                      f"({hours_text(at - self.last_act)}): not back, or at home and still")
        elif self.presence == ASLEEP and self.vacant_at:
            local = self.clock.minute_of_day(self.vacant_at)
            reason = (f"bed pad vacant since {clock_text(local)} local and no "
                      f"sign of life elsewhere since (gone to bed {hours_text(at - self.bed_t)}"
                      " ago)")
        elif self.presence == ASLEEP and at < self.bed_t + BED_MAX_MS:
            reason = rising.reason(self, at)
        elif self.presence == ASLEEP:
            reason = f"in bed and still for {hours_text(at - self.bed_t)}"
        else:
            reason = stillness.inactivity_reason(self, at)
        self.raise_(AlertType.INACTIVITY, Priority.WELFARE, at, reason)

    def raise_(self, type_: AlertType, priority: Priority, at: int, reason: str,
               audience: str = "operator", device_id: str | None = None) -> None:
        """Append a raise, marked suppressed if the hub was silent at that time."""
        silent = self.det.silent_during
        suppressed = "hub_silent" if silent is not None and silent(self.row, at, at) else None
        self.out.append(Raise(hub_id=self.hub_id, type=type_, priority=priority, at=at,
                              received_at=at, reason=reason, audience=audience,
                              suppressed_by=suppressed, device_id=device_id))

    @property
    def hub_id(self) -> str:
        """The home's hub id."""
        return self.det.hub_ids[self.row]
