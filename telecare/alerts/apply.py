"""Turn detection's decisions into alert rows: open, join, clear, note a cancel.

Runs inside the caller's store transaction, so the alert change commits with
the events that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from telecare.detect import Cancel, Clear, Decision, Raise
from telecare.model import AlertState
from telecare.store import Store


@dataclass
class AlertChanges:
    """What one batch did to the alert table."""

    opened: list[tuple[int, str]] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.opened or self.joined or self.cleared or self.cancelled)


def apply_decisions(store: Store, decisions: Iterable[Decision]) -> AlertChanges:
    """Apply decisions in order; a repeat joins the hub's unresolved alert of its type."""
    changes = AlertChanges()
    for decision in decisions:
        existing = store.unresolved_alert(decision.hub_id, decision.type)
        if isinstance(decision, Raise):
            if existing is None:
                alert_id = store.insert_alert(
                    {
                        "hub_id": decision.hub_id,
                        "type": decision.type.value,
                        "priority": int(decision.priority),
                        "state": AlertState.OPEN.value,
                        "raised_at": decision.at,
                        "received_at": decision.received_at,
                        "reason": decision.reason,
                        "device_id": decision.device_id,
                        "flags": decision.flags,
                        "audience": decision.audience,
                        "suppressed_by": decision.suppressed_by,
                    }
                )
                changes.opened.append((alert_id, decision.type.value))
            else:
                store.update_alert(
                    existing.id,
                    {
                        "occurrences": existing.occurrences + 1,
                        "last_raised_at": decision.at,
                        "cleared_at": None,
                        "priority": min(existing.priority, int(decision.priority)),
                        "flags": tuple(sorted(set(existing.flags) | set(decision.flags))),
                    },
                )
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
