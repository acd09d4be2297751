"""SQLite (WAL, synchronous=FULL): the embedded default store.

One writer at a time: the service holds a connection in one worker thread and
the CLI opens its own; SQLite's write lock and `busy_timeout` let both work on
the same file while `serve` runs. Every write goes through `transaction()`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import msgspec

from telecare.model import Alert, Device, Event, Hub
from telecare.store.alerting import ALERTING_DDL, SqliteAlerting
from telecare.store.base import DeadLetterRow
from telecare.store.people import PEOPLE_DDL, SqlitePeople
from telecare.store.schema import DDL, SCHEMA_VERSION

BUSY_TIMEOUT_MS: Final = 10_000
_ALERT_COLUMNS: Final = (
    "id, hub_id, type, priority, state, raised_at, received_at, reason, occurrences, device_id, "
    "last_raised_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, outcome, "
    "cleared_at, cancelled_at, flags, audience, suppressed_by"
)
_ALERT_FIELDS: Final = tuple(c.strip() for c in _ALERT_COLUMNS.split(","))
_EVENT_INSERT: Final = (
    "INSERT OR IGNORE INTO events (hub_id, seq, device_id, type, event, value, battery, ts, "
    "event_time, received_at, channel, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


class StoreError(Exception):
    """A store operation was refused (unknown id, wrong state, bad input)."""




class SqliteStore:
    """Registry, events, dead letters, alerts and audit in one SQLite file."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.people = SqlitePeople(conn)
        self.alerting = SqliteAlerting(conn)

    @classmethod
    def open(cls, path: Path | str) -> SqliteStore:
        """Open (creating if needed) the store at `path`."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, which is what PUBACK-after-commit promises
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        store = cls(conn)
        with store.transaction():
            for statement in ";".join((DDL, PEOPLE_DDL, ALERTING_DDL)).split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('registry_version', 0)")
        return store

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block as one write transaction: all of it commits, or none."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # registry -----------------------------------------------------------------

    def registry_version(self) -> int:
        """A number that changes whenever a hub or device is added or changed."""
        row = self._conn.execute("SELECT value FROM meta WHERE key='registry_version'").fetchone()
        return int(row[0])

    def _bump_registry(self) -> None:
        self._conn.execute("UPDATE meta SET value = value + 1 WHERE key='registry_version'")

    def upsert_hub(self, hub_id: str, heartbeat_s: int, tz: str, now: int) -> Hub:
        """Register a hub, or change its heartbeat interval and time zone."""
        self._conn.execute(
            "INSERT INTO hubs(hub_id, heartbeat_s, tz, registered_at) VALUES (?,?,?,?) "
            "ON CONFLICT(hub_id) DO UPDATE SET heartbeat_s=excluded.heartbeat_s, tz=excluded.tz",
            (hub_id, heartbeat_s, tz, now),
        )
        self._bump_registry()
        hub = self.hub(hub_id)
        assert hub is not None
        return hub

    def upsert_device(self, device: Device, now: int) -> None:
        """Register a device on a hub, or change its type and location."""
        if self.hub(device.hub_id) is None:
            raise StoreError(f"hub {device.hub_id} is not registered")
        self._conn.execute(
            "INSERT INTO devices(hub_id, device_id, type, location, registered_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT(hub_id, device_id) DO UPDATE SET "
            "type=excluded.type, location=excluded.location",
            (device.hub_id, device.device_id, device.type, device.location, now),
        )
        self._bump_registry()

    def reset_seq(self, hub_id: str) -> None:
        """Forget the hub's replay window so that its `seq` may start again from 0."""
        cur = self._conn.execute(
            "UPDATE hubs SET seq_epoch = seq_epoch + 1 WHERE hub_id = ?", (hub_id,)
        )
        if cur.rowcount == 0:
            raise StoreError(f"hub {hub_id} is not registered")
        self._conn.execute("DELETE FROM seq_windows WHERE hub_id = ?", (hub_id,))
        self._bump_registry()

    def hub(self, hub_id: str) -> Hub | None:
        """Return one registered hub."""
        row = self._conn.execute(
            "SELECT hub_id, heartbeat_s, tz, registered_at, seq_epoch FROM hubs WHERE hub_id = ?",
            (hub_id,),
        ).fetchone()
        return Hub(*row) if row else None

    def hubs(self) -> list[Hub]:
        """Return every registered hub."""
        rows = self._conn.execute(
            "SELECT hub_id, heartbeat_s, tz, registered_at, seq_epoch FROM hubs ORDER BY hub_id"
        ).fetchall()
        return [Hub(*row) for row in rows]

    def device(self, hub_id: str, device_id: str) -> Device | None:
        """Return one registered device."""
        row = self._conn.execute(
            "SELECT hub_id, device_id, type, location FROM devices "
            "WHERE hub_id = ? AND device_id = ?",
            (hub_id, device_id),
        ).fetchone()
        return Device(*row) if row else None

    def devices(self, hub_id: str) -> list[Device]:
        """Return the devices registered on a hub."""
        rows = self._conn.execute(
            "SELECT hub_id, device_id, type, location FROM devices WHERE hub_id = ? "
            "ORDER BY device_id",
            (hub_id,),
        ).fetchall()
        return [Device(*row) for row in rows]

    def set_hub_status(self, hub_id: str, online: bool, at: int) -> None:
        """Record the hub's last `status` message."""
        self._conn.execute(
            "UPDATE hubs SET online = ?, status_at = ? WHERE hub_id = ?", (int(online), at, hub_id)
        )

    # replay windows -----------------------------------------------------------

    def load_window(self, hub_id: str, seq_epoch: int) -> tuple[int, bytes] | None:
        """Return the stored (high, seen) of a hub's replay window for this epoch."""
        row = self._conn.execute(
            "SELECT high, seen FROM seq_windows WHERE hub_id = ? AND seq_epoch = ?",
            (hub_id, seq_epoch),
        ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def save_windows(self, rows: Iterable[tuple[str, int, int, bytes]]) -> None:
        """Store (hub_id, seq_epoch, high, seen) for every window a batch moved."""
        self._conn.executemany(
            "INSERT INTO seq_windows(hub_id, seq_epoch, high, seen) VALUES (?,?,?,?) "
            "ON CONFLICT(hub_id) DO UPDATE SET seq_epoch=excluded.seq_epoch, "
            "high=excluded.high, seen=excluded.seen",
            rows,
        )

    # events and dead letters ----------------------------------------------------

    def insert_events(self, events: Sequence[Event]) -> None:
        """Store accepted events (a repeat of (hub, seq) is ignored)."""
        self._conn.executemany(_EVENT_INSERT, [_event_row(e) for e in events])

    def insert_dead_letters(self, rows: Sequence[DeadLetterRow]) -> None:
        """Store rejected messages: (received_at, topic, reason, detail, hub, seq, payload)."""
        self._conn.executemany(
            "INSERT INTO dead_letters(received_at, topic, reason, detail, hub_id, seq, payload) "
            "VALUES (?,?,?,?,?,?,?)",
            rows,
        )

    def count_events(self, hub_id: str | None = None) -> int:
        """Count stored events, for one hub or all."""
        if hub_id is None:
            return int(self._conn.execute("SELECT count(*) FROM events").fetchone()[0])
        row = self._conn.execute("SELECT count(*) FROM events WHERE hub_id = ?", (hub_id,))
        return int(row.fetchone()[0])

    def events(self, hub_id: str) -> list[tuple[int, str, str, str]]:
        """Return (seq, device, type, event) of a hub's stored events in seq order."""
        rows = self._conn.execute(
            "SELECT seq, device_id, type, event FROM events WHERE hub_id = ? ORDER BY seq",
            (hub_id,),
        ).fetchall()
        return [(int(r[0]), r[1], r[2], r[3]) for r in rows]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Return every dead letter, oldest first."""
        rows = self._conn.execute(
            "SELECT id, received_at, topic, reason, detail, hub_id, seq, length(payload) "
            "FROM dead_letters ORDER BY id"
        ).fetchall()
        keys = ("id", "received_at", "topic", "reason", "detail", "hub_id", "seq", "size")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # alerts -------------------------------------------------------------------

    def unresolved_alert(self, hub_id: str, alert_type: str) -> Alert | None:
        """Return the hub's open or acknowledged alert of this type, if any."""
        row = self._conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE hub_id = ? AND type = ? "
            "AND state != 'resolved'",
            (hub_id, alert_type),
        ).fetchone()
        return _alert(row) if row else None

    def insert_alert(self, values: dict[str, Any]) -> int:
        """Insert a new alert; return its id."""
        values = {**values, "flags": ",".join(values.get("flags", ()))}
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self._conn.execute(
            f"INSERT INTO alerts ({columns}) VALUES ({marks})", tuple(values.values())
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_alert(self, alert_id: int, changes: dict[str, Any]) -> None:
        """Change some fields of an alert."""
        if "flags" in changes:
            changes = {**changes, "flags": ",".join(changes["flags"])}
        assignments = ", ".join(f"{key} = ?" for key in changes)
        self._conn.execute(
            f"UPDATE alerts SET {assignments} WHERE id = ?", (*changes.values(), alert_id)
        )

    def alert(self, alert_id: int) -> Alert | None:
        """Return one alert."""
        row = self._conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)
        ).fetchone()
        return _alert(row) if row else None

    def alerts(self, *, include_resolved: bool = False) -> list[Alert]:
        """Return alerts in queue order: priority, then oldest first."""
        where = "" if include_resolved else "WHERE state != 'resolved'"
        rows = self._conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} ORDER BY priority, raised_at, id"
        ).fetchall()
        return [_alert(row) for row in rows]

    def open_alert_hubs(self, alert_type: str) -> list[str]:
        """Hubs with an unresolved, uncleared alert of this type (restored on start)."""
        rows = self._conn.execute(
            "SELECT hub_id FROM alerts WHERE type = ? AND state != 'resolved' "
            "AND cleared_at IS NULL",
            (alert_type,),
        ).fetchall()
        return [r[0] for r in rows]

    # audit --------------------------------------------------------------------

    def audit(self, at: int, actor: str, action: str, subject: str, detail: str = "") -> None:
        """Append one line to the audit log."""
        self._conn.execute(
            "INSERT INTO audit(at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
            (at, actor, action, subject, detail),
        )

    # detection settings and checkpoints ----------------------------------------

    def all_devices(self) -> list[Device]:
        """Return every registered device of every hub."""
        rows = self._conn.execute(
            "SELECT hub_id, device_id, type, location FROM devices ORDER BY hub_id, device_id"
        ).fetchall()
        return [Device(*row) for row in rows]

    def set_hub_settings(self, hub_id: str, settings_json: str) -> None:
        """Store a hub's detection rules (JSON of HubSettings)."""
        if self.hub(hub_id) is None:
            raise StoreError(f"hub {hub_id} is not registered")
        self._conn.execute(
            "INSERT INTO hub_settings(hub_id, settings) VALUES (?, ?) "
            "ON CONFLICT(hub_id) DO UPDATE SET settings=excluded.settings",
            (hub_id, settings_json),
        )
        self._bump_registry()

    def hub_settings(self) -> dict[str, str]:
        """Return every hub's stored detection rules (JSON), by hub id."""
        rows = self._conn.execute("SELECT hub_id, settings FROM hub_settings").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def save_checkpoints(self, rows: Iterable[tuple[str, int, bytes]]) -> None:
        """Store (key, at, state) rows of detector state, replacing older ones."""
        self._conn.executemany(
            "INSERT INTO detector_checkpoints(key, at, state) VALUES (?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET at=excluded.at, state=excluded.state",
            rows,
        )

    def load_checkpoints(self) -> list[tuple[str, bytes]]:
        """Return every stored (key, state) row of detector state."""
        rows = self._conn.execute("SELECT key, state FROM detector_checkpoints").fetchall()
        return [(str(r[0]), bytes(r[1])) for r in rows]

    def audit_log(self) -> list[tuple[int, str, str, str, str]]:
        """Return the audit log, oldest first."""
        rows = self._conn.execute(
            "SELECT at, actor, action, subject, detail FROM audit ORDER BY id"
        ).fetchall()
        return [tuple(r) for r in rows]


def _event_row(e: Event) -> tuple[Any, ...]:
    value = None if e.value is None else msgspec.json.encode(e.value).decode()
    flags = ",".join(e.flags())
    return (e.hub_id, e.seq, e.device_id, e.type, e.event, value, e.battery, e.ts,
            e.event_time, e.received_at, e.channel, flags)


def _alert(row: Sequence[Any]) -> Alert:
    fields: dict[str, Any] = dict(zip(_ALERT_FIELDS, row, strict=True))
    fields["flags"] = tuple(f for f in str(fields["flags"]).split(",") if f)
    return Alert(**fields)


__all__ = ["SqliteStore", "StoreError"]
