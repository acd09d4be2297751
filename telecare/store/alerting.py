"""Escalation timers, the notification outbox, acceptances and silences, as rows.

Timers are data: an escalation's next step is a `next_at` column with an
index, so a restart resumes every one of them where it was.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

import msgspec

ALERTING_DDL: Final = """
CREATE TABLE IF NOT EXISTS escalations (
    alert_id INTEGER PRIMARY KEY REFERENCES alerts(id),
    policy TEXT NOT NULL,
    state TEXT NOT NULL,
    round INTEGER NOT NULL DEFAULT 0,
    step INTEGER NOT NULL DEFAULT 0,
    contact INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 1,
    next_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations(next_at) WHERE next_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    step INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    provider_ref TEXT,
    last_error TEXT,
    fallback_of INTEGER,
    token TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, due_at);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_token ON outbox(token) WHERE token IS NOT NULL;
CREATE TABLE IF NOT EXISTS acceptances (
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    contact_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (alert_id, contact_id)
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY,
    hub_id TEXT,
    types TEXT NOT NULL DEFAULT '',
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    ended_at INTEGER,
    expiry_audited INTEGER NOT NULL DEFAULT 0
);
"""


class Escalation(msgspec.Struct, frozen=True):
    """Where one alert's escalation stands."""

    alert_id: int
    policy: str
    state: str
    round: int
    step: int
    contact: int
    attempt: int
    next_at: int | None


class OutboxRow(msgspec.Struct, frozen=True):
    """One message to one recipient over one channel, with its idempotency key."""

    id: int
    key: str
    alert_id: int
    step: int
    recipient: str
    channel: str
    attempt: int
    kind: str
    subject: str
    body: str
    state: str
    created_at: int
    due_at: int
    tries: int
    sent_at: int | None
    provider_ref: str | None
    last_error: str | None
    fallback_of: int | None
    token: str | None


class Silence(msgspec.Struct, frozen=True):
    """A maintenance window or absence: matching alerts are stored but suppressed."""

    id: int
    hub_id: str | None
    types: tuple[str, ...]
    starts_at: int
    ends_at: int
    reason: str
    created_by: str
    ended_at: int | None


_ESC_COLS: Final = "alert_id, policy, state, round, step, contact, attempt, next_at"
_OUT_COLS: Final = (
    "id, key, alert_id, step, recipient, channel, attempt, kind, subject, body, state, "
    "created_at, due_at, tries, sent_at, provider_ref, last_error, fallback_of, token"
)
_SIL_COLS: Final = "id, hub_id, types, starts_at, ends_at, reason, created_by, ended_at"


class SqliteAlerting:
    """Escalations, outbox, acceptances and silences in the store's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # escalations --------------------------------------------------------------

    def put_escalation(self, e: Escalation, now: int) -> None:
        """Insert or replace an alert's escalation state."""
        self._conn.execute(
            f"INSERT OR REPLACE INTO escalations ({_ESC_COLS}, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (*msgspec.structs.astuple(e), now),
        )

    def escalation(self, alert_id: int) -> Escalation | None:
        """Return an alert's escalation state."""
        row = self._conn.execute(
            f"SELECT {_ESC_COLS} FROM escalations WHERE alert_id = ?", (alert_id,)
        ).fetchone()
        return Escalation(*row) if row else None

    def due_escalations(self, now: int, limit: int = 500) -> list[Escalation]:
        """Escalations whose next step is due."""
        rows = self._conn.execute(
            f"SELECT {_ESC_COLS} FROM escalations WHERE next_at IS NOT NULL AND next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            (now, limit),
        ).fetchall()
        return [Escalation(*r) for r in rows]

    # outbox -------------------------------------------------------------------

    def enqueue(self, values: dict[str, Any]) -> int | None:
        """Add a message; a key already present is ignored (returns None)."""
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self._conn.execute(
            f"INSERT OR IGNORE INTO outbox ({columns}) VALUES ({marks})", tuple(values.values())
        )
        return cur.lastrowid if cur.rowcount else None

    def due_messages(self, now: int, limit: int) -> list[OutboxRow]:
        """Pending messages whose time has come, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_OUT_COLS} FROM outbox WHERE state = 'pending' AND due_at <= ? "
            "ORDER BY due_at, id LIMIT ?",
            (now, limit),
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def message(self, message_id: int) -> OutboxRow | None:
        """Return one outbox row."""
        row = self._conn.execute(
            f"SELECT {_OUT_COLS} FROM outbox WHERE id = ?", (message_id,)
        ).fetchone()
        return OutboxRow(*row) if row else None

    def messages(self, alert_id: int | None = None) -> list[OutboxRow]:
        """Every outbox row (of one alert), oldest first."""
        where, args = ("WHERE alert_id = ?", (alert_id,)) if alert_id is not None else ("", ())
        rows = self._conn.execute(
            f"SELECT {_OUT_COLS} FROM outbox {where} ORDER BY id", args
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def message_by_token(self, token: str) -> OutboxRow | None:
        """Return the message an accept link was sent in."""
        row = self._conn.execute(
            f"SELECT {_OUT_COLS} FROM outbox WHERE token = ?", (token,)
        ).fetchone()
        return OutboxRow(*row) if row else None

    def update_message(self, message_id: int, changes: dict[str, Any]) -> None:
        """Change some fields of an outbox row."""
        assignments = ", ".join(f"{k} = ?" for k in changes)
        self._conn.execute(
            f"UPDATE outbox SET {assignments} WHERE id = ?", (*changes.values(), message_id)
        )

    def cancel_pending(self, alert_id: int) -> int:
        """Cancel an alert's messages that have not gone out; return how many."""
        cur = self._conn.execute(
            "UPDATE outbox SET state = 'cancelled' WHERE alert_id = ? AND state = 'pending'",
            (alert_id,),
        )
        return cur.rowcount

    # acceptances --------------------------------------------------------------

    def accept(self, alert_id: int, contact_id: str, at: int, via: str) -> bool:
        """Record that a contact accepted; False if they already had."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO acceptances(alert_id, contact_id, at, via) VALUES (?,?,?,?)",
            (alert_id, contact_id, at, via),
        )
        return cur.rowcount == 1

    # silences -----------------------------------------------------------------

    def add_silence(self, hub_id: str | None, types: tuple[str, ...], starts_at: int,
                    ends_at: int, reason: str, by: str) -> int:
        """Create a silence; return its id."""
        cur = self._conn.execute(
            "INSERT INTO silences(hub_id, types, starts_at, ends_at, reason, created_by) "
            "VALUES (?,?,?,?,?,?)",
            (hub_id, ",".join(types), starts_at, ends_at, reason, by),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def end_silence(self, silence_id: int, at: int) -> bool:
        """End a silence early; False if there is no such active silence."""
        cur = self._conn.execute(
            "UPDATE silences SET ended_at = ? WHERE id = ? AND ended_at IS NULL AND ends_at > ?",
            (at, silence_id, at),
        )
        return cur.rowcount == 1

    def silences(self, *, active_at: int | None = None) -> list[Silence]:
        """All silences, or those in force at a time."""
        where, args = "", ()
        if active_at is not None:
            where = ("WHERE starts_at <= ? AND ends_at > ? AND "
                     "(ended_at IS NULL OR ended_at > ?)")
            args = (active_at, active_at, active_at)  # type: ignore[assignment]
        rows = self._conn.execute(
            f"SELECT {_SIL_COLS} FROM silences {where} ORDER BY id", args
        ).fetchall()
        return [_silence(r) for r in rows]

    def newly_expired_silences(self, now: int) -> list[Silence]:
        """Silences that ran out and have not yet been written to the audit log."""
        rows = self._conn.execute(
            f"SELECT {_SIL_COLS} FROM silences WHERE expiry_audited = 0 AND ended_at IS NULL "
            "AND ends_at <= ?",
            (now,),
        ).fetchall()
        self._conn.execute(
            "UPDATE silences SET expiry_audited = 1 WHERE expiry_audited = 0 AND "
            "ended_at IS NULL AND ends_at <= ?",
            (now,),
        )
        return [_silence(r) for r in rows]


def _silence(row: tuple[Any, ...]) -> Silence:
    values = list(row)
    values[2] = tuple(t for t in str(values[2]).split(",") if t)
    return Silence(*values)
