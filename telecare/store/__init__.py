"""Durable state: registry, events, dead letters, alerts and audit.

SQLite is the embedded default; a PostgreSQL backend fills the same seam.
"""

from telecare.store.base import DeadLetterRow, Store
from telecare.store.sqlite import SqliteStore, StoreError

__all__ = ["DeadLetterRow", "SqliteStore", "Store", "StoreError"]
