"""The store's tables (SQLite dialect; the PostgreSQL backend mirrors them)."""

from typing import Final

SCHEMA_VERSION: Final = 1

DDL: Final = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hubs (
    hub_id TEXT PRIMARY KEY,
    heartbeat_s INTEGER NOT NULL,
    tz TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    seq_epoch INTEGER NOT NULL DEFAULT 0,
    online INTEGER,
    status_at INTEGER
);
CREATE TABLE IF NOT EXISTS devices (
    hub_id TEXT NOT NULL REFERENCES hubs(hub_id),
    device_id TEXT NOT NULL,
    type TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (hub_id, device_id)
);
CREATE TABLE IF NOT EXISTS seq_windows (
    hub_id TEXT PRIMARY KEY,
    seq_epoch INTEGER NOT NULL,
    high INTEGER NOT NULL,
    seen BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    hub_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    value TEXT,
    battery REAL,
    ts INTEGER NOT NULL,
    event_time INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    channel TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (hub_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    hub_id TEXT,
    seq INTEGER,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters(reason);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    hub_id TEXT NOT NULL,
    type TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 1,
    device_id TEXT,
    last_raised_at INTEGER,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    resolved_at INTEGER,
    resolved_by TEXT,
    outcome TEXT,
    cleared_at INTEGER,
    cancelled_at INTEGER,
    flags TEXT NOT NULL DEFAULT '',
    audience TEXT NOT NULL DEFAULT 'operator',
    suppressed_by TEXT
);
-- at most one unresolved alert per (hub, type): a repeat joins it
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open
    ON alerts(hub_id, type) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state, priority, raised_at);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
-- per-home detection rules (HubSettings as JSON), kept with the hub
CREATE TABLE IF NOT EXISTS hub_settings (
    hub_id TEXT PRIMARY KEY REFERENCES hubs(hub_id),
    settings TEXT NOT NULL
);
-- detection engine state, one row per home (and one for the engine), so a restart
-- neither forgets a pending timer nor re-raises an old alert
CREATE TABLE IF NOT EXISTS detector_checkpoints (
    key TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    state BLOB NOT NULL
);
"""
