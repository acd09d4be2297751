"""Residents' and contacts' rows: ids and routing in the clear, personal fields sealed."""

from __future__ import annotations

import sqlite3
from typing import Final

from telecare.store.base import ContactRow

PEOPLE_DDL: Final = """
CREATE TABLE IF NOT EXISTS residents (
    resident_id TEXT PRIMARY KEY,
    hub_id TEXT NOT NULL UNIQUE REFERENCES hubs(hub_id),
    sealed BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts (
    contact_id TEXT PRIMARY KEY,
    hub_id TEXT REFERENCES hubs(hub_id),
    role TEXT NOT NULL,
    position INTEGER NOT NULL,
    channels TEXT NOT NULL,
    hours TEXT NOT NULL DEFAULT '',
    consent INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_hub ON contacts(hub_id, position);
"""



class SqlitePeople:
    """Sealed resident and contact records."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def put_resident(self, resident_id: str, hub_id: str, sealed: bytes, now: int) -> None:
        """Insert or replace the resident of a hub."""
        self._conn.execute(
            "INSERT INTO residents(resident_id, hub_id, sealed, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(resident_id) DO UPDATE SET hub_id=excluded.hub_id, "
            "sealed=excluded.sealed, updated_at=excluded.updated_at",
            (resident_id, hub_id, sealed, now),
        )

    def resident(self, hub_id: str) -> tuple[str, bytes] | None:
        """Return (resident_id, sealed) for a hub's resident."""
        row = self._conn.execute(
            "SELECT resident_id, sealed FROM residents WHERE hub_id = ?", (hub_id,)
        ).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def put_contact(self, row: ContactRow, now: int) -> None:
        """Insert or replace a contact."""
        self._conn.execute(
            "INSERT INTO contacts(contact_id, hub_id, role, position, channels, hours, consent, "
            "sealed, updated_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(contact_id) DO UPDATE SET "
            "hub_id=excluded.hub_id, role=excluded.role, position=excluded.position, "
            "channels=excluded.channels, hours=excluded.hours, consent=excluded.consent, "
            "sealed=excluded.sealed, updated_at=excluded.updated_at",
            (*row, now),
        )

    def contacts(self, hub_id: str | None) -> list[ContactRow]:
        """Return a hub's contacts (or, for None, the centre's staff) in order."""
        where = "hub_id IS NULL" if hub_id is None else "hub_id = ?"
        args: tuple[str, ...] = () if hub_id is None else (hub_id,)
        rows = self._conn.execute(
            "SELECT contact_id, hub_id, role, position, channels, hours, consent, sealed "
            f"FROM contacts WHERE {where} ORDER BY position, contact_id",
            args,
        ).fetchall()
        return [(r[0], r[1], r[2], int(r[3]), r[4], r[5], int(r[6]), bytes(r[7])) for r in rows]

    def contact(self, contact_id: str) -> ContactRow | None:
        """Return one contact row."""
        r = self._conn.execute(
            "SELECT contact_id, hub_id, role, position, channels, hours, consent, sealed "
            "FROM contacts WHERE contact_id = ?",
            (contact_id,),
        ).fetchone()
        return (r[0], r[1], r[2], int(r[3]), r[4], r[5], int(r[6]), bytes(r[7])) if r else None

    def next_id(self, prefix: str) -> str:
        """A fresh opaque id such as C-000012 (never derived from personal data)."""
        table = "residents" if prefix == "R" else "contacts"
        column = "resident_id" if prefix == "R" else "contact_id"
        row = self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        n = int(row[0]) + 1
        while self._conn.execute(
            f"SELECT 1 FROM {table} WHERE {column} = ?", (f"{prefix}-{n:06d}",)
        ).fetchone():
            n += 1
        return f"{prefix}-{n:06d}"
