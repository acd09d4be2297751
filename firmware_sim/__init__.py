"""Telecare device simulator: homes, residents' days, incidents, hubs publishing or logging."""

from firmware_sim.csvlog import generate, read_event_log, write_event_log
from firmware_sim.homes import DeviceSpec, HomeSpec, Lifestyle, plan_homes, write_device_csv
from firmware_sim.hub import HubEvent, HubStream, hub_events
from firmware_sim.incidents import (
    Incident,
    IncidentKind,
    Truth,
    read_truth,
    write_truth,
    write_truth_records,
)
from firmware_sim.live import FleetOptions, SimStats, run_fleet, run_live
from firmware_sim.routine import Activity, resident_activity, resident_day, resident_days

__all__ = [
    "Activity",
    "DeviceSpec",
    "FleetOptions",
    "HomeSpec",
    "HubEvent",
    "HubStream",
    "Incident",
    "IncidentKind",
    "Lifestyle",
    "SimStats",
    "Truth",
    "generate",
    "hub_events",
    "plan_homes",
    "read_event_log",
    "read_truth",
    "resident_activity",
    "resident_day",
    "resident_days",
    "run_fleet",
    "run_live",
    "write_device_csv",
    "write_event_log",
    "write_truth",
    "write_truth_records",
]
