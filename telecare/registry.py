"""Installers' work: registering hubs and devices, one at a time or in bulk."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from telecare.config import check_tz
from telecare.model import DEFAULT_HEARTBEAT_S, Device, Hub
from telecare.protocol import EVENTS_BY_TYPE, HUB_DEVICE, is_valid_hub_id
from telecare.store import Store, StoreError

DEVICE_TYPES: Final = frozenset(EVENTS_BY_TYPE) - {HUB_DEVICE}
IMPORT_COLUMNS: Final = ("hub_id", "device_id", "type", "location")
MIN_HEARTBEAT_S: Final = 1


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What a bulk import registered."""

    hubs_added: int
    devices: int


def check_hub(hub_id: str, heartbeat_s: int) -> None:
    """Raise StoreError unless the hub id and heartbeat interval are acceptable."""
    if not is_valid_hub_id(hub_id):
        raise StoreError(f"hub id {hub_id!r} must be 1-64 characters of A-Z a-z 0-9 _ -")
    if heartbeat_s < MIN_HEARTBEAT_S:
        raise StoreError(f"heartbeat interval must be at least {MIN_HEARTBEAT_S} s")


def check_device(device: Device) -> None:
    """Raise StoreError unless the device's id and type are acceptable."""
    if not device.device_id or len(device.device_id) > 64 or not device.device_id.isprintable():
        raise StoreError(f"device id {device.device_id!r} must be 1-64 printable characters")
    if device.device_id == HUB_DEVICE:
        raise StoreError("device id 'hub' is reserved for the hub's own events")
    if device.type not in DEVICE_TYPES:
        known = ", ".join(sorted(DEVICE_TYPES))
        raise StoreError(f"device type {device.type!r} is not one of {known}")


def add_hub(
    store: Store, hub_id: str, *, heartbeat_s: int, tz: str, now: int, by: str
) -> Hub:
    """Register (or re-tune) a hub. Audited."""
    check_hub(hub_id, heartbeat_s)
    try:
        check_tz(tz)
    except Exception as exc:
        raise StoreError(str(exc)) from exc
    with store.transaction():
        hub = store.upsert_hub(hub_id, heartbeat_s, tz, now)
        store.audit(now, by, "hub.add", f"hub:{hub_id}", f"heartbeat_s={heartbeat_s} tz={tz}")
    return hub


def add_device(store: Store, device: Device, *, now: int, by: str) -> None:
    """Register a device on a registered hub. Audited."""
    check_device(device)
    with store.transaction():
        store.upsert_device(device, now)
        store.audit(now, by, "device.add", f"hub:{device.hub_id}", f"device={device.device_id}")


def reset_seq(store: Store, hub_id: str, *, now: int, by: str) -> None:
    """Let a replaced or factory-reset hub count `seq` from 0 again. Audited."""
    with store.transaction():
        store.reset_seq(hub_id)
        store.audit(now, by, "hub.reset_seq", f"hub:{hub_id}")


def import_devices(
    store: Store, path: Path, *, default_tz: str, now: int, by: str
) -> ImportReport:
    """Register hubs and devices from a CSV; every row is checked before any is written."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = set(IMPORT_COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise StoreError(f"{path}: missing columns {', '.join(sorted(missing))}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    devices: list[Device] = []
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        device = Device(
            hub_id=(row["hub_id"] or "").strip(),
            device_id=(row["device_id"] or "").strip(),
            type=(row["type"] or "").strip(),
            location=(row["location"] or "").strip(),
        )
        try:
            check_hub(device.hub_id, DEFAULT_HEARTBEAT_S)
            check_device(device)
        except StoreError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        devices.append(device)
    if problems:
        shown = "\n".join(problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise StoreError(f"{path}: nothing imported, {len(problems)} bad rows:\n{shown}{more}")
    hubs_added = 0
    with store.transaction():
        for hub_id in sorted({d.hub_id for d in devices}):
            if store.hub(hub_id) is None:
                store.upsert_hub(hub_id, DEFAULT_HEARTBEAT_S, default_tz, now)
                hubs_added += 1
        for device in devices:
            store.upsert_device(device, now)
        store.audit(now, by, "device.import", str(path.name), f"{len(devices)} devices")
    return ImportReport(hubs_added=hubs_added, devices=len(devices))
