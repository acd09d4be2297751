"""""What people do to an alert: acknowledge it, resolve it with an outcome code, accept it.

Reopen rules: a resolved alert is never reopened; the same condition raised
again afterwards opens a new alert. An acknowledged alert stays acknowledged
when the condition repeats (the repeat is counted on it) and is re-escalated
to a supervisor if it is left unresolved too long (the policy says how long).
"""

from __future__ import annotations

from telecare.alerts import escalation
from telecare.model import Alert, AlertState, Outcome
from telecare.store import Store, StoreError


def acknowledge(store: Store, alert_id: int, *, by: str, now: int, note: str = "") -> Alert:
    """Acknowledge an open alert: a person has it in hand. Audited."""
    _check_actor(by)
    with store.transaction():
        alert = _get(store, alert_id)
        if alert.state != AlertState.OPEN:
            raise StoreError(f"alert {alert_id} is {alert.state}, not open")
        store.update_alert(
            alert_id,
            {"state": AlertState.ACKNOWLEDGED.value, "acknowledged_at": now, "acknowledged_by": by},
        )
        store.audit(now, by, "alert.acknowledge", f"alert:{alert_id}", note)
        escalation.acknowledged(store, alert_id, now)
        return _get(store, alert_id)


def resolve(store: Store, alert_id: int, *, by: str, outcome: str, now: int) -> Alert:
    """Resolve an open or acknowledged alert with an outcome code. Audited."""
    _check_actor(by)
    try:
        code = Outcome(outcome)
    except ValueError:
        codes = ", ".join(o.value for o in Outcome)
        raise StoreError(f"unknown outcome {outcome!r}; use one of: {codes}") from None
    with store.transaction():
        alert = _get(store, alert_id)
        if alert.state == AlertState.RESOLVED:
            raise StoreError(f"alert {alert_id} is already resolved")
        changes: dict[str, object] = {
            "state": AlertState.RESOLVED.value,
            "resolved_at": now,
            "resolved_by": by,
            "outcome": code.value,
        }
        store.update_alert(alert_id, changes)
        store.audit(now, by, "alert.resolve", f"alert:{alert_id}", code.value)
        escalation.resolved(store, alert_id, now)
        return _get(store, alert_id)


def accept(store: Store, token: str, *, now: int, via: str = "link") -> Alert:
    """A contact accepted through the link in their message: they are going. Audited.

    The alert counts as acknowledged by that contact, which stops its escalation.
    """
    with store.transaction():
        message = store.alerting.message_by_token(token)
        if message is None:
            raise StoreError("this link is not valid")
        alert = _get(store, message.alert_id)
        if alert.state == AlertState.RESOLVED:
            raise StoreError(f"alert {alert.id} is already resolved; thank you")
        first = store.alerting.accept(alert.id, message.recipient, now, via)
        if first:
            store.audit(now, f"contact:{message.recipient}", "alert.accept",
                        f"alert:{alert.id}", via)
        if alert.state == AlertState.OPEN:
            store.update_alert(alert.id, {
                "state": AlertState.ACKNOWLEDGED.value, "acknowledged_at": now,
                "acknowledged_by": f"contact:{message.recipient}",
            })
            escalation.acknowledged(store, alert.id, now)
        return _get(store, alert.id)


def _get(store: Store, alert_id: int) -> Alert:
    alert = store.alert(alert_id)
    if alert is None:
        raise StoreError(f"no alert {alert_id}")
    return alert


def _check_actor(by: str) -> None:
    if not by.strip():
        raise StoreError("say who acts (--by NAME)")
