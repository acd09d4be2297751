"""Walking an alert's escalation: durable timers in the store, messages into the outbox.

Everything here runs inside the caller's store transaction, so an alert
change and the messages it causes commit together (the transactional
outbox). Routing reads only the clear-text parts of contacts (role, order,
channels, hours, consent); addresses are decrypted by the sender, at send time.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from telecare.alerts.messages import compose
from telecare.alerts.policy import EscalationPolicy, PolicySet, Step, from_snapshot, snapshot
from telecare.model import Alert, AlertState
from telecare.store import Store
from telecare.store.alerting import Escalation
from telecare.store.base import ContactRow

log = logging.getLogger(__name__)

ACTIVE: Final = "active"
ACKNOWLEDGED: Final = "acknowledged"
STOPPED: Final = "stopped"
EXHAUSTED: Final = "exhausted"
SUPPRESSED: Final = "suppressed"


@dataclass(frozen=True, slots=True)
class Escalator:
    """Starts, advances and stops escalations under a set of policies."""

    policies: PolicySet
    public_url: str = ""

    def start(self, store: Store, alert: Alert, now: int) -> None:
        """Snapshot the matching policy into a new escalation (none for a suppressed alert)."""
        policy = self.policies.choose(alert.type, alert.priority, alert.audience)
        if policy is None:
            return
        state = SUPPRESSED if alert.suppressed_by else ACTIVE
        next_at = None if alert.suppressed_by else now + policy.steps[0].wait_s * 1000
        store.alerting.put_escalation(
            Escalation(alert.id, snapshot(policy), state, 0, 0, 0, 1, next_at), now
        )

    def advance(self, store: Store, now: int) -> int:
        """Carry out every escalation step that is due; return how many messages were queued."""
        queued = 0
        for esc in store.alerting.due_escalations(now):
            alert = store.alert(esc.alert_id)
            if alert is None or alert.state == AlertState.RESOLVED:
                resolved(store, esc.alert_id, now)
                continue
            if esc.state == ACKNOWLEDGED:
                queued += self._reescalate(store, alert, esc, now)
            elif esc.state == ACTIVE:
                queued += self._step(store, alert, esc, now)
        return queued

    # internals -----------------------------------------------------------------

    def _reescalate(self, store: Store, alert: Alert, esc: Escalation, now: int) -> int:
        policy = from_snapshot(esc.policy)
        minutes = policy.reescalate_after_s // 60
        queued = 0
        for contact in _eligible(store, None, "supervisor", alert, now):
            queued += self._enqueue(store, alert, contact, Step("supervisor", 0), esc, now,
                                    kind="reescalation", minutes=minutes)
        store.alerting.put_escalation(
            Escalation(alert.id, esc.policy, ACKNOWLEDGED, esc.round + 1, esc.step, esc.contact,
                       esc.attempt, now + policy.reescalate_after_s * 1000), now)
        return queued

    def _step(self, store: Store, alert: Alert, esc: Escalation, now: int) -> int:
        policy = from_snapshot(esc.policy)
        step = policy.steps[esc.step]
        hub = None if step.target == "supervisor" else alert.hub_id
        contacts = _eligible(store, hub, step.target, alert, now)
        queued = 0
        if esc.contact < len(contacts):
            kind = "accept_request" if step.require_accept else "notice"
            queued = self._enqueue(store, alert, contacts[esc.contact], step, esc, now, kind=kind)
        else:
            store.audit(now, "escalation", "escalation.no_contact", f"alert:{alert.id}",
                        f"step {esc.step + 1}: no reachable {step.target}")
        store.alerting.put_escalation(_next(policy, esc, len(contacts), now), now)
        return queued

    def _enqueue(self, store: Store, alert: Alert, contact: ContactRow, step: Step,
                 esc: Escalation, now: int, *, kind: str, minutes: int = 0) -> int:
        contact_id, _, role, _, channels, _, _, _ = contact
        usable = [c for c in channels.split(",") if c and (not step.channels or c in step.channels)]
        if not usable:
            return 0
        channel = usable[0]
        token = secrets.token_urlsafe(16) if kind == "accept_request" else None
        url = f"{self.public_url.rstrip('/')}/accept/{token}" if token else None
        subject, body = compose(alert, kind=kind, role=role, accept_url=url,
                                reescalation_minutes=minutes)
        step_no = esc.round * 100 + esc.step
        key = f"{alert.id}:{step_no}:{contact_id}:{channel}:{esc.attempt}"
        if kind == "reescalation":
            key = f"{alert.id}:re{esc.round}:{contact_id}:{channel}:1"
        added = store.alerting.enqueue({
            "key": key, "alert_id": alert.id, "step": step_no, "recipient": contact_id,
            "channel": channel, "attempt": esc.attempt, "kind": kind, "subject": subject,
            "body": body, "state": "pending", "created_at": now, "due_at": now, "token": token,
        })
        return 1 if added else 0


def acknowledged(store: Store, alert_id: int, now: int) -> None:
    """Stop escalating; watch for the alert being left unresolved too long."""
    esc = store.alerting.escalation(alert_id)
    if esc is None or esc.state in (STOPPED, SUPPRESSED):
        return
    policy = from_snapshot(esc.policy)
    watch = now + policy.reescalate_after_s * 1000
    store.alerting.put_escalation(
        Escalation(alert_id, esc.policy, ACKNOWLEDGED, esc.round, esc.step, esc.contact,
                   esc.attempt, watch), now)
    store.alerting.cancel_pending(alert_id)

def resolved(store: Store, alert_id: int, now: int) -> None:
    """The alert is closed: nothing more is sent for it."""
    esc = store.alerting.escalation(alert_id)
    if esc is None:
        return
    store.alerting.put_escalation(
        Escalation(alert_id, esc.policy, STOPPED, esc.round, esc.step, esc.contact,
                   esc.attempt, None), now)
    store.alerting.cancel_pending(alert_id)


def _next(policy: EscalationPolicy, esc: Escalation, n_contacts: int, now: int) -> Escalation:
    """The pointer after this action: next attempt, next contact, next step, next round."""
    step = policy.steps[esc.step]
    if esc.contact < n_contacts and esc.attempt < step.attempts:
        retry_at = now + step.retry_s * 1000
        return _at(esc, esc.round, esc.step, esc.contact, esc.attempt + 1, retry_at)
    if esc.contact + 1 < n_contacts:
        return _at(esc, esc.round, esc.step, esc.contact + 1, 1, now + step.retry_s * 1000)
    if esc.step + 1 < len(policy.steps):
        wait = policy.steps[esc.step + 1].wait_s * 1000
        return _at(esc, esc.round, esc.step + 1, 0, 1, now + wait)
    if esc.round < policy.repeat:
        return _at(esc, esc.round + 1, 0, 0, 1, now + policy.steps[0].wait_s * 1000)
    return Escalation(esc.alert_id, esc.policy, EXHAUSTED, esc.round, esc.step, esc.contact,
                      esc.attempt, None)


def _at(esc: Escalation, rnd: int, step: int, contact: int, attempt: int,
        next_at: int) -> Escalation:
    return Escalation(esc.alert_id, esc.policy, ACTIVE, rnd, step, contact, attempt, next_at)


def _eligible(store: Store, hub_id: str | None, role: str, alert: Alert,
              now: int) -> list[ContactRow]:
    """Contacts of a role who consented and whose hours include now (home's local time)."""
    hub = store.hub(alert.hub_id)
    zone = ZoneInfo(hub.tz if hub else "UTC")
    local = datetime.fromtimestamp(now / 1000, tz=zone).strftime("%H:%M")
    out = []
    for row in store.people.contacts(hub_id):
        _, _, contact_role, _, _, hours, consent, _ = row
        if contact_role == role and consent and _within(hours, local):
            out.append(row)
    return out


def _within(hours: str, local: str) -> bool:
    if not hours:
        return True
    start, end = hours.split("-")
    return start <= local < end if start <= end else (local >= start or local < end)
