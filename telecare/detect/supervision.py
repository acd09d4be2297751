"""Hub supervision: a hub whose messages stop, or whose will says offline, is silent.

Silence is judged against the watermark the caller feeds, from the later of
the hub's last message, its registration and the service's own start, so a
service outage never makes every hub look silent at once. State is one row per
hub in numpy arrays; one heap holds at most one deadline per hub, and a
heartbeat only moves a number, it never touches the heap. A backtest hands a
whole chunk of messages at once (`heard_many`): gaps longer than the grace are
found with array operations and only those few are looked at one by one.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from telecare.detect.decisions import Clear, Decision, Raise
from telecare.detect.hubindex import HubIndex, grown
from telecare.model import AlertType, Priority

GRACE_EXTRA_MS: Final = 30_000
# silences remembered per hub, for "was this hub silent at time t" (inhibition)
KEPT_SILENCES: Final = 8


def heartbeat_grace_ms(heartbeat_s: int) -> int:
    """Grace before a hub is called silent: two heartbeat intervals plus 30 s."""
    return 2 * heartbeat_s * 1000 + GRACE_EXTRA_MS


@dataclass
class HubSupervision:
    """Deadlines for every watched hub, and which hubs are silent now."""

    resumed_at: int
    index: HubIndex = field(default_factory=HubIndex)
    grace: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    watched: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    silent: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    scheduled: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # since when each silent hub is silent, and its recent silences (start, end)
    silent_since: dict[int, int] = field(default_factory=dict)
    silences: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    _heap: list[tuple[int, int]] = field(default_factory=list)

    def _row(self, hub_id: str) -> int:
        row = self.index.row(hub_id)
        self._fit()
        return row

    def _fit(self) -> None:
        n = len(self.index)
        if self.grace.shape[0] < n:
            self.grace = grown(self.grace, n)
            self.last = grown(self.last, n)
            self.watched = grown(self.watched, n, False)
            self.silent = grown(self.silent, n, False)
            self.scheduled = grown(self.scheduled, n, False)

    def watch(self, hub_id: str, heartbeat_s: int, registered_at: int) -> None:
        """Start (or re-tune) supervision of a hub."""
        row = self._row(hub_id)
        self.grace[row] = heartbeat_grace_ms(heartbeat_s)
        start = int(self.last[row]) if self.watched[row] else 0
        self.last[row] = max(start, registered_at, self.resumed_at)
        self.watched[row] = True
        self._schedule(row, force=True)

    def forget(self, hub_id: str) -> None:
        """Stop supervising a hub (its heap entry is dropped lazily)."""
        row = self.index.get(hub_id)
        if row is not None and row < self.watched.shape[0]:
            self.watched[row] = False
            self.silent[row] = False
            self.silent_since.pop(row, None)

    def resume(self, resumed_at: int) -> None:
        """The service starts again (after a restore): every hub gets a full grace from now."""
        self.resumed_at = resumed_at
        self._fit()
        n = len(self.index)
        np.maximum(self.last[:n], resumed_at, out=self.last[:n])
        self.scheduled[:n] = False
        self._heap = []
        for row in np.flatnonzero(self.watched[:n]).tolist():
            self._schedule(row)

    def mark_silent(self, hub_id: str) -> None:
        """Remember that a hub already has an open silence alert (after a restart)."""
        row = self._row(hub_id)
        self.silent[row] = True
        self.silent_since.setdefault(row, int(self.last[row]))

    def is_silent(self, hub_id: str) -> bool:
        """Tell whether the hub is silent now."""
        row = self.index.get(hub_id)
        return row is not None and row < self.silent.shape[0] and bool(self.silent[row])

    def silent_during(self, row: int, start: int, end: int) -> bool:
        """Tell whether the hub in this row was silent at any time from event time `start`
        to `end` (both included; `start == end` asks about one moment). A silence runs
        from its start up to, not including, the moment the hub was heard again."""
        since = self.silent_since.get(row)
        if since is not None and since <= end:
            return True
        return any(a <= end and b > start for a, b in self.silences.get(row, ()))

    def silent_ms(self, row: int, start: int, end: int) -> int:
        """How long the hub in this row was silent between event times `start` and `end`."""
        total = sum(max(0, min(b, end) - max(a, start)) for a, b in self.silences.get(row, ()))
        since = self.silent_since.get(row)
        if since is not None:
            total += max(0, end - max(since, start))
        return total

    def heard(self, hub_id: str, received_at: int) -> Decision | None:
        """Record a message from the hub; clear its silence if it was silent."""
        row = self.index.get(hub_id)
        if row is None or row >= self.watched.shape[0] or not self.watched[row]:
            return None
        if received_at > self.last[row]:
            self.last[row] = received_at
        self._schedule(row)
        if self.silent[row]:
            return self._end_silence(row, received_at)
        return None

    def heard_many(self, rows: np.ndarray, received: np.ndarray) -> list[Decision]:
        """Record a chunk of messages (rows and receipt times, in receipt order).

        Equivalent to calling `heard` for each message with the watermark moved to
        each message's time first: a gap longer than the grace raises silence at
        its deadline and the message that ends it clears it.
        """
        if rows.size == 0:
            return []
        self._fit()
        order = np.argsort(rows, kind="stable")
        hub = rows[order]
        at = received[order]
        first = np.flatnonzero(np.r_[True, hub[1:] != hub[:-1]])
        prev = np.empty_like(at)
        prev[1:] = at[:-1]
        prev[first] = self.last[hub[first]]
        watched = self.watched[hub]
        late = watched & (at - prev > self.grace[hub])
        firsts = hub[first]
        out: list[Decision] = []
        silent_now = firsts[self.silent[firsts] & self.watched[firsts]]
        look = np.union1d(hub[late], silent_now)
        if look.size:
            starts = dict(zip(firsts.tolist(), first.tolist(), strict=True))
            ends = np.r_[first[1:], hub.size]
            stops = dict(zip(firsts.tolist(), ends.tolist(), strict=True))
            for row in look.tolist():
                out.extend(self._walk(row, at, prev, late, starts[row], stops[row]))
        last_at = np.maximum.reduceat(at, first)
        target = self.last[firsts]
        self.last[firsts] = np.where(watched[first], np.maximum(target, last_at), target)
        for row in firsts[watched[first] & ~self.scheduled[firsts]].tolist():
            self._schedule(row)
        return out

    def _walk(
        self, row: int, at: np.ndarray, prev: np.ndarray, late: np.ndarray, lo: int, hi: int
    ) -> list[Decision]:
        out: list[Decision] = []
        grace = int(self.grace[row])
        for i in range(lo, hi):
            if late[i] and not self.silent[row]:
                deadline = int(prev[i]) + grace
                out.append(self._start_silence(row, deadline, grace))
            if self.silent[row]:
                out.append(self._end_silence(row, int(at[i])))
        return out

    def offline(self, hub_id: str, at: int) -> Decision | None:
        """The broker published the hub's will: it is silent now."""
        row = self._row(hub_id)
        if self.silent[row]:
            return None
        self.silent[row] = True
        self.silent_since[row] = at
        return _silent_alert(hub_id, at, "hub reported offline (connection lost)")

    def advance(self, watermark: int) -> list[Decision]:
        """Raise silence for every hub whose deadline has passed by the watermark."""
        decisions: list[Decision] = []
        heap = self._heap
        while heap and heap[0][0] <= watermark:
            deadline, row = heapq.heappop(heap)
            self.scheduled[row] = False
            if not self.watched[row]:
                continue
            grace = int(self.grace[row])
            actual = int(self.last[row]) + grace
            if actual > deadline:
                self._schedule(row)
            elif not self.silent[row]:
                decisions.append(self._start_silence(row, actual, grace))
        return decisions

    def _start_silence(self, row: int, at: int, grace: int) -> Raise:
        self.silent[row] = True
        self.silent_since[row] = at
        reason = f"no message from the hub for {grace // 1000} s"
        return _silent_alert(self.index.ids[row], at, reason)

    def _end_silence(self, row: int, at: int) -> Clear:
        self.silent[row] = False
        since = self.silent_since.pop(row, at)
        kept = self.silences.setdefault(row, [])
        kept.append((since, at))
        del kept[:-KEPT_SILENCES]
        return Clear(self.index.ids[row], AlertType.HUB_SILENT, at)

    def _schedule(self, row: int, *, force: bool = False) -> None:
        if force or not self.scheduled[row]:
            heapq.heappush(self._heap, (int(self.last[row] + self.grace[row]), row))
            self.scheduled[row] = True

    def row_state(self, row: int) -> dict[str, object]:
        """Return one hub's supervision state, for a checkpoint."""
        self._fit()
        return {
            "last": int(self.last[row]),
            "silent": bool(self.silent[row]),
            "since": self.silent_since.get(row),
            "silences": self.silences.get(row, []),
        }

    def restore_row(self, row: int, state: dict[str, object]) -> None:
        """Put back one hub's checkpointed supervision state."""
        self._fit()
        last = state.get("last")
        if isinstance(last, int):
            self.last[row] = max(int(self.last[row]), last)
        if state.get("silent"):
            self.silent[row] = True
            since = state.get("since")
            self.silent_since[row] = since if isinstance(since, int) else int(self.last[row])
        kept = state.get("silences")
        if isinstance(kept, list):
            self.silences[row] = [(int(a), int(b)) for a, b in kept]


def _silent_alert(hub_id: str, at: int, reason: str) -> Raise:
    return Raise(
        hub_id=hub_id,
        type=AlertType.HUB_SILENT,
        priority=Priority.TECHNICAL,
        at=at,
        received_at=at,
        reason=reason,
    )
