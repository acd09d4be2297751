"""Hub supervision: a hub whose messages stop, or whose will says offline, is silent.

Silence is judged against the watermark the caller feeds, from the later of
the hub's last message, its registration and the service's own start, so a
service outage never makes every hub look silent at once. One heap holds one
deadline per hub; a heartbeat only moves a number, it never touches the heap.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from telecare.detect.decisions import Clear, Decision, Raise
from telecare.model import AlertType, Priority

GRACE_EXTRA_MS = 30_000


def heartbeat_grace_ms(heartbeat_s: int) -> int:
    """Grace before a hub is called silent: two heartbeat intervals plus 30 s."""
    return 2 * heartbeat_s * 1000 + GRACE_EXTRA_MS


@dataclass
class HubSupervision:
    """Deadlines for every watched hub, and which hubs are silent now."""

    resumed_at: int
    _grace: dict[str, int] = field(default_factory=dict)
    _last: dict[str, int] = field(default_factory=dict)
    _heap: list[tuple[int, str]] = field(default_factory=list)
    _scheduled: set[str] = field(default_factory=set)
    _silent: set[str] = field(default_factory=set)

    def watch(self, hub_id: str, heartbeat_s: int, registered_at: int) -> None:
        """Start (or re-tune) supervision of a hub."""
        self._grace[hub_id] = heartbeat_grace_ms(heartbeat_s)
        self._last[hub_id] = max(self._last.get(hub_id, 0), registered_at, self.resumed_at)
        self._schedule(hub_id, force=True)

    def forget(self, hub_id: str) -> None:
        """Stop supervising a hub (its heap entry is dropped lazily)."""
        self._grace.pop(hub_id, None)
        self._last.pop(hub_id, None)
        self._silent.discard(hub_id)

    def mark_silent(self, hub_id: str) -> None:
        """Remember that a hub already has an open silence alert (after a restart)."""
        self._silent.add(hub_id)

    def is_silent(self, hub_id: str) -> bool:
        """Tell whether the hub is silent now."""
        return hub_id in self._silent

    def heard(self, hub_id: str, received_at: int) -> Decision | None:
        """Record a message from the hub; clear its silence if it was silent."""
        if hub_id not in self._grace:
            return None
        if received_at > self._last[hub_id]:
            self._last[hub_id] = received_at
        self._schedule(hub_id)
        if hub_id in self._silent:
            self._silent.discard(hub_id)
            return Clear(hub_id, AlertType.HUB_SILENT, received_at)
        return None

    def offline(self, hub_id: str, at: int) -> Decision | None:
        """The broker published the hub's will: it is silent now."""
        if hub_id in self._silent:
            return None
        self._silent.add(hub_id)
        return _silent_alert(hub_id, at, "hub reported offline (connection lost)")

    def advance(self, watermark: int) -> list[Decision]:
        """Raise silence for every hub whose deadline has passed by the watermark."""
        decisions: list[Decision] = []
        while self._heap and self._heap[0][0] <= watermark:
            deadline, hub_id = heapq.heappop(self._heap)
            self._scheduled.discard(hub_id)
            grace = self._grace.get(hub_id)
            if grace is None:
                continue
            actual = self._last[hub_id] + grace
            if actual > deadline:
                self._schedule(hub_id)
            elif hub_id not in self._silent:
                self._silent.add(hub_id)
                seconds = grace // 1000
                decisions.append(
                    _silent_alert(hub_id, actual, f"no message from the hub for {seconds} s")
                )
        return decisions

    def _schedule(self, hub_id: str, *, force: bool = False) -> None:
        if force or hub_id not in self._scheduled:
            heapq.heappush(self._heap, (self._last[hub_id] + self._grace[hub_id], hub_id))
            self._scheduled.add(hub_id)


def _silent_alert(hub_id: str, at: int, reason: str) -> Raise:
    return Raise(
        hub_id=hub_id,
        type=AlertType.HUB_SILENT,
        priority=Priority.TECHNICAL,
        at=at,
        received_at=at,
        reason=reason,
    )
