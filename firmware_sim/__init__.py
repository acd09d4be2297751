"""Telecare device simulator: homes, residents' days, hubs publishing live or to an event log."""

from firmware_sim.csvlog import generate, write_event_log
from firmware_sim.homes import DeviceSpec, HomeSpec, plan_homes, write_device_csv
from firmware_sim.hub import HubEvent, hub_events
from firmware_sim.incidents import Incident, IncidentKind, write_truth
from firmware_sim.live import SimStats, run_live
from firmware_sim.routine import Activity, resident_activity, resident_day

__all__ = [
    "Activity",
    "DeviceSpec",
    "HomeSpec",
    "HubEvent",
    "Incident",
    "IncidentKind",
    "SimStats",
    "generate",
    "hub_events",
    "plan_homes",
    "resident_activity",
    "resident_day",
    "run_live",
    "write_device_csv",
    "write_event_log",
    "write_truth",
]
