"""Prometheus metrics. Labels carry reasons and alert types only, never a hub or person."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


@dataclass
class Metrics:
    """The service's counters, in a registry of their own (one per service instance)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_ingested = Counter(
            "telecare_events_ingested", "Unique events stored (alarms and heartbeats included)",
            registry=r,
        )
        self.events_duplicate = Counter(
            "telecare_events_duplicate", "Events whose (hub, seq) was seen before", registry=r
        )
        self.events_rejected = Counter(
            "telecare_events_rejected", "Messages dead-lettered, by reason", ["reason"], registry=r
        )
        self.events_misrouted = Counter(
            "telecare_events_misrouted", "Alarm events that arrived on the event channel",
            registry=r,
        )
        self.alerts_raised = Counter(
            "telecare_alerts_raised", "Alerts opened, by type", ["type"], registry=r
        )
        self.alarm_acks = Counter(
            "telecare_alarm_acks", "Acks published to hubs for stored alarm events", registry=r
        )
        self.batch_size = Gauge(
            "telecare_ingest_last_batch_size", "Messages in the last committed batch", registry=r
        )

    def render(self) -> bytes:
        """Return the text exposition format."""
        return generate_latest(self.registry)
