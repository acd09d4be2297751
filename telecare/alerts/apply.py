"""Turn detection's decisions into alert rows: open, join, group, suppress, clear.

Runs inside the caller's store transaction, so the alert change, its
escalation timer and its first messages commit with the events that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from telecare.alerts import escalation
from telecare.alerts.escalation import Escalator
from telecare.alerts.policy import PolicySet, load_policies
from telecare.detect import Cancel, Clear, Decision, Raise
from telecare.model import Alert, AlertState, AlertType, Priority
from telecare.store import Store

# Lesser alarms from one home this close together are treated as confirmed (priority 2).
GROUP_WINDOW_MS: Final = 15 * 60 * 1000
# Faults of the equipment say nothing about the person; they never confirm each other.
EQUIPMENT_TYPES: Final = frozenset({
    AlertType.HUB_SILENT, AlertType.LOW_BATTERY, AlertType.CLOCK_FAULT, AlertType.MAINS_LOST,
    AlertType.SENSOR_FAULT,
})


@dataclass
class AlertChanges:
    """What one batch did to the alert table."""

    opened: list[tuple[int, str]] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    grouped: list[int] = field(default_factory=list)
    queued: int = 0  # messages put in the outbox

    def __bool__(self) -> bool:
        return bool(self.opened or self.joined or self.cleared or self.cancelled or self.queued)


@dataclass(frozen=True)
class AlertBook:
    """The rules that turn decisions into alerts, and start their escalations."""

    escalator: Escalator = field(default_factory=lambda: Escalator(load_policies(None)))

    @classmethod
    def with_policies(cls, policies: PolicySet, public_url: str) -> AlertBook:
        """An alert book escalating under these policies."""
        return cls(Escalator(policies, public_url))

    def apply(self, store: Store, decisions: Iterable[Decision], now: int) -> AlertChanges:
        """Apply decisions in order; a repeat joins the hub's unresolved alert of its type."""
        changes = AlertChanges()
        for decision in decisions:
            existing = store.unresolved_alert(decision.hub_id, decision.type)
            if isinstance(decision, Raise):
                if existing is None:
                    self._open(store, decision, now, changes)
                else:
                    _join(store, existing, decision)
                    changes.joined.append(existing.id)
            elif existing is None:
                continue  # nothing open to clear or cancel
            elif isinstance(decision, Clear) and existing.cleared_at is None:
                store.update_alert(existing.id, {"cleared_at": decision.at})
                changes.cleared.append(existing.id)
            elif isinstance(decision, Cancel) and existing.cancelled_at is None:
                store.update_alert(existing.id, {"cancelled_at": decision.at})
                changes.cancelled.append(existing.id)
        return changes

    def advance(self, store: Store, now: int) -> int:
        """Run due escalation steps and note expired silences; return messages queued."""
        for silence in store.alerting.newly_expired_silences(now):
            store.audit(now, "system", "silence.expire", f"silence:{silence.id}",
                        f"hub={silence.hub_id or '*'} types={','.join(silence.types) or '*'}")
        return self.escalator.advance(store, now)

    def _open(self, store: Store, d: Raise, now: int, changes: AlertChanges) -> None:
        suppressed_by = d.suppressed_by or _inhibited_by(store, d) or _silenced_by(store, d, now)
        priority = int(d.priority)
        group = _group_peers(store, d) if suppressed_by is None else []
        if group:
            priority = int(Priority.CONFIRMED)
        alert_id = store.insert_alert({
            "hub_id": d.hub_id, "type": d.type.value, "priority": priority,
            "state": AlertState.OPEN.value, "raised_at": d.at, "received_at": d.received_at,
            "reason": d.reason, "device_id": d.device_id,
            "flags": d.flags + (("confirmed_by_group",) if group else ()),
            "audience": d.audience, "suppressed_by": suppressed_by,
        })
        changes.opened.append((alert_id, d.type.value))
        for peer in group:
            # the earlier alert joins the confirmed group; its own escalation gives way
            store.update_alert(peer.id, {"priority": int(Priority.CONFIRMED),
                                         "flags": (*peer.flags, f"grouped_with:{alert_id}")})
            escalation.resolved(store, peer.id, now)
            changes.grouped.append(peer.id)
        alert = store.alert(alert_id)
        assert alert is not None
        self.escalator.start(store, alert, now)


def _join(store: Store, existing: Alert, d: Raise) -> None:
    store.update_alert(existing.id, {
        "occurrences": existing.occurrences + 1,
        "last_raised_at": d.at,
        "cleared_at": None,
        "priority": min(existing.priority, int(d.priority)),
        "flags": tuple(sorted(set(existing.flags) | set(d.flags))),
    })


def _inhibited_by(store: Store, d: Raise) -> str | None:
    """A home whose hub is silent cannot report activity: its welfare alerts are suspect."""
    if d.priority != Priority.WELFARE:
        return None
    silent = store.unresolved_alert(d.hub_id, AlertType.HUB_SILENT)
    return "hub_silent" if silent is not None and silent.cleared_at is None else None


def _silenced_by(store: Store, d: Raise, now: int) -> str | None:
    """A silence in force for this hub and type, except that life safety is never silenced."""
    if d.priority == Priority.LIFE_SAFETY:
        return None
    for s in store.alerting.silences(active_at=now):
        if (s.hub_id in (None, d.hub_id)) and (not s.types or d.type.value in s.types):
            return f"silence:{s.id}"
    return None


def _group_peers(store: Store, d: Raise) -> list[Alert]:
    """Other open lesser alarms of the same home close in time, if this one is lesser too."""
    if d.priority < Priority.WELFARE or d.type in EQUIPMENT_TYPES or d.audience != "operator":
        return []
    return [
        a for a in store.alerts()
        if a.hub_id == d.hub_id and a.type != d.type and a.state == AlertState.OPEN
        and a.priority >= Priority.WELFARE and a.type not in EQUIPMENT_TYPES
        and a.suppressed_by is None and a.audience == "operator"
        and abs(a.raised_at - d.at) <= GROUP_WINDOW_MS
    ]


def apply_decisions(store: Store, decisions: Iterable[Decision], now: int = 0) -> AlertChanges:
    """Apply decisions with the built-in policies (for callers without a configured book)."""
    return AlertBook().apply(store, decisions, now)
