"""Alert rules on a real SQLite file: grouping, inhibition, re-escalation (plain data in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from telecare.alerts import lifecycle
from telecare.alerts.apply import AlertBook
from telecare.detect import Raise
from telecare.model import AlertType, Priority
from telecare.store import SqliteStore
from telecare.store.base import ContactRow

T0 = 1_800_000_000_000
HUB = "H-book-1"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore.open(tmp_path / "t.db")
    with s.transaction():
        s.upsert_hub(HUB, 60, "UTC", T0)
        row: ContactRow = ("C-000001", None, "supervisor", 1, "email", "", 1, b"sealed")
        s.people.put_contact(row, T0)
    return s


def raise_(kind: AlertType, at: int, priority: Priority = Priority.WELFARE) -> Raise:
    return Raise(HUB, kind, priority, at, at, f"{kind} test")


def test_two_lesser_alarms_from_one_home_close_together_are_confirmed_at_priority_two(
    store: SqliteStore,
) -> None:
    """Night exit then inactivity 10 min later: both become priority 2, grouped."""
    book = AlertBook()
    with store.transaction():
        book.apply(store, [raise_(AlertType.NIGHT_EXIT, T0)], T0)
        book.apply(store, [raise_(AlertType.INACTIVITY, T0 + 600_000)], T0 + 600_000)
    first, second = sorted(store.alerts(), key=lambda a: a.id)
    assert (first.priority, second.priority) == (2, 2)
    assert "confirmed_by_group" in second.flags and f"grouped_with:{second.id}" in first.flags


def test_lesser_alarms_far_apart_or_equipment_faults_are_not_grouped(store: SqliteStore) -> None:
    """An hour apart stays priority 3; a low battery, a power cut or a faulty sensor never
    confirms anything."""
    book = AlertBook()
    with store.transaction():
        book.apply(store, [raise_(AlertType.NIGHT_EXIT, T0)], T0)
        for n, fault in enumerate((AlertType.LOW_BATTERY, AlertType.MAINS_LOST,
                                   AlertType.SENSOR_FAULT)):
            at = T0 + 1000 * (n + 1)
            book.apply(store, [raise_(fault, at, Priority.TECHNICAL)], at)
        book.apply(store, [raise_(AlertType.INACTIVITY, T0 + 3_600_000)], T0 + 3_600_000)
    assert sorted(a.priority for a in store.alerts()) == [3, 3, 4, 4, 4]


def test_welfare_alerts_of_a_home_whose_hub_is_silent_are_suppressed_visibly(
    store: SqliteStore,
) -> None:
    """Inhibition: stored and listed with suppressed_by, never escalated."""
    book = AlertBook()
    with store.transaction():
        book.apply(store, [raise_(AlertType.HUB_SILENT, T0, Priority.TECHNICAL)], T0)
        book.apply(store, [raise_(AlertType.INACTIVITY, T0 + 1000)], T0 + 1000)
    inactivity = store.unresolved_alert(HUB, AlertType.INACTIVITY)
    assert inactivity is not None and inactivity.suppressed_by == "hub_silent"
    esc = store.alerting.escalation(inactivity.id)
    assert esc is not None and esc.state == "suppressed" and esc.next_at is None


def test_an_acknowledged_alert_left_unresolved_is_re_escalated_to_the_supervisor(
    store: SqliteStore,
) -> None:
    """Life safety policy: 30 min after the ack, a supervisor is told; again 30 min later."""
    book = AlertBook()
    with store.transaction():
        book.apply(store, [raise_(AlertType.PENDANT_PRESS, T0, Priority.LIFE_SAFETY)], T0)
    (alert,) = store.alerts()
    lifecycle.acknowledge(store, alert.id, by="op-1", now=T0 + 30_000)
    with store.transaction():
        assert book.advance(store, T0 + 30_000 + 1_799_000) == 0
        assert book.advance(store, T0 + 30_000 + 1_800_000) == 1
        assert book.advance(store, T0 + 30_000 + 3_600_000) == 1
    kinds = [(m.kind, m.recipient) for m in store.alerting.messages(alert.id)]
    assert kinds == [("reescalation", "C-000001"), ("reescalation", "C-000001")]
    lifecycle.resolve(store, alert.id, by="op-1", outcome="resident_ok", now=T0 + 3_700_000)
    with store.transaction():
        assert book.advance(store, T0 + 10 * 3_600_000) == 0
