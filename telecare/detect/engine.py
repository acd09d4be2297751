"""The detection engine: events and a watermark in, decisions out. Pure.

The live service feeds it wall-clock ticks as the watermark; a backtest feeds
it the log's latest time. Nothing here reads a clock or touches I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from telecare.detect.condition import DeviceConditions
from telecare.detect.decisions import Decision
from telecare.detect.immediate import immediate
from telecare.detect.supervision import HubSupervision
from telecare.model import Event


@dataclass
class Engine:
    """Runs every detector over a stream of events in event time."""

    supervision: HubSupervision
    conditions: DeviceConditions = field(default_factory=DeviceConditions)

    @classmethod
    def starting_at(cls, resumed_at: int) -> Engine:
        """Make an engine for a service (or backtest) that starts at `resumed_at`."""
        return cls(supervision=HubSupervision(resumed_at=resumed_at))

    def observe(self, events: Iterable[Event]) -> list[Decision]:
        """Take a batch of accepted events; return what they call for, in order."""
        out: list[Decision] = []
        for event in events:
            cleared = self.supervision.heard(event.hub_id, event.received_at)
            if cleared is not None:
                out.append(cleared)
            decision = immediate(event)
            if decision is not None:
                out.append(decision)
            out.extend(self.conditions.observe(event))
        return out

    def hub_online(self, hub_id: str, at: int) -> list[Decision]:
        """The hub's status says online: it has been heard."""
        cleared = self.supervision.heard(hub_id, at)
        return [cleared] if cleared is not None else []

    def hub_offline(self, hub_id: str, at: int) -> list[Decision]:
        """The hub's will says offline: it is silent now."""
        raised = self.supervision.offline(hub_id, at)
        return [raised] if raised is not None else []

    def advance(self, watermark: int) -> list[Decision]:
        """Move event time to the watermark; return the timers that expired."""
        return self.supervision.advance(watermark)
