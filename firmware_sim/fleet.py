"""Many hubs publishing live from one event loop, in simulated time, over real MQTT connections.

Each hub either has a connection of its own (its client id, credentials and
will, as on a real estate) or shares one of a pool of connections with many
others (how one process drives 100k hubs). Hubs keep their seq, retransmit
unacknowledged alarms until the service's `ack`, hold what they make while
their link is down and send it in a burst when it is back.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from firmware_sim.homes import HomeSpec
from firmware_sim.hub import LINK_DOWN, LINK_UP, HubStream
from firmware_sim.incidents import DEFAULT_WEIGHTS, Incident, Truth
from firmware_sim.kits import CODES
from firmware_sim.network import CLEAN, HubClock, NetworkProfile, delay_s
from firmware_sim.uplinks import LiveHub, OnPublish, Uplinks

__all__ = ["Fleet", "FleetOptions", "OnProgress", "OnPublish", "SimStats"]
from firmware_sim.wire import Backlog

# Publishing and planning a resident's next day are synchronous, so give the
# loop a turn after this long: acks must be read, and a service sharing the
# loop (the demo) must not stall behind a backlog.
_TURN_BUDGET_S: Final = 0.005
_PROGRESS_EVERY_S: Final = 0.5
_DRAIN_AT_STOP_S: Final = 10.0

OnProgress = Callable[[float, int], None]


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """How a live run behaves. Times are simulated unless named real."""

    seed: int = 0
    speed: float | None = 1.0
    """Simulated seconds per real second; None publishes as fast as the broker takes it."""
    rate: float | None = None
    """Events per real second instead of a speed: simulated time runs as fast as that needs."""
    start: float | None = None
    """Simulated start (Unix seconds); the real now by default."""
    until_s: float | None = None
    """Stop after this many simulated seconds; None runs until stopped."""
    incident_rate: float = 0.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    network: NetworkProfile = CLEAN
    retransmit_s: float = 5.0
    """Real seconds between sends of an unacknowledged alarm: acks cross the real network."""
    connections: int | None = None
    """None: one connection per hub; N: a pool of N shared connections."""
    passwords: Mapping[str, str] = field(default_factory=dict)
    """Per-hub passwords (user name = hub id) for connections of their own."""
    keep_alive: int = 30
    first_seq: Mapping[str, int] = field(default_factory=dict)
    backlog: int = 200_000
    """Publishes queued across connections before producing pauses."""

    def __post_init__(self) -> None:
        if self.speed is not None and self.speed <= 0:
            raise ValueError("speed must be > 0")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be > 0")
        if self.retransmit_s <= 0:
            raise ValueError("retransmit_s must be > 0")
        if self.connections is not None and self.connections < 1:
            raise ValueError("connections must be >= 1")


@dataclass(frozen=True, slots=True)
class SimStats:
    """What one live run sent and received."""

    published: dict[str, int]
    """PUBLISH packets per channel, retransmissions and duplicates included."""
    acks_received: int
    retransmissions: int
    next_seq: dict[str, int]
    """Per hub, the seq its next event would carry: pass it as first_seq to a later run."""
    events: int = 0
    """Distinct events the hubs made."""
    duplicates: int = 0
    delayed: int = 0
    broker_acked: int = 0
    """PUBACKs from the broker."""
    sim_seconds: float = 0.0
    real_seconds: float = 0.0
    truths: tuple[Truth, ...] = ()


class Fleet:
    """The hubs of one live run and the connections they publish through."""

    def __init__(
        self,
        homes: Sequence[HomeSpec],
        *,
        host: str,
        port: int,
        options: FleetOptions,
        incidents: Sequence[Incident] = (),
        on_publish: OnPublish | None = None,
        on_progress: OnProgress | None = None,
    ) -> None:
        self.homes = homes
        self.options = options
        self.on_progress = on_progress
        self.backlog = Backlog(high=options.backlog)
        self.sim_start = options.start if options.start is not None else time.time()
        self.until = None if options.until_s is None else self.sim_start + options.until_s
        asked: dict[str, list[tuple[str, float, float | None]]] = {}
        for i in incidents:
            asked.setdefault(i.hub_id, []).append((i.kind, self.sim_start + i.at_s, i.duration_s))
        self._asked = asked
        drift = options.network.drift_ppm
        self.hubs = [
            LiveHub(k, home, options.first_seq.get(home.hub_id, 0),
                    HubClock(home.hub_id, seed=options.seed, drift_ppm=drift))
            for k, home in enumerate(homes)
        ]
        self.uplinks = Uplinks(
            self.hubs, host=host, port=port, pool=options.connections,
            passwords=options.passwords, keep_alive=options.keep_alive, backlog=self.backlog,
            on_back=self._back_up, on_publish=on_publish,
        )
        self._order = itertools.count()
        # (simulated time, tie-break, hub index): each hub's next stream item.
        self._timeline: list[tuple[float, int, int]] = []
        # (simulated time, tie-break, hub index, topic, payload, channel): held by the network.
        self._delayed: list[tuple[float, int, int, bytes, bytes, str]] = []
        # (loop time, tie-break, hub index, seq): alarms to send again unless acked.
        self._retries: list[tuple[float, int, int, int]] = []
        self._rng = random.Random(options.seed)
        self.events = self.retransmissions = self.duplicates = self.delayed = 0
        self.sim_now = self.sim_start
        self._loop_start = 0.0
        self._processed = 0

    # -- publishing ------------------------------------------------------------------------

    def _send(self, hub: LiveHub, topic: bytes, payload: bytes, channel: str) -> None:
        client = self.uplinks.client_for(hub)
        if not hub.up or client is None:
            hub.held.append((topic, payload, channel))
            return
        self.uplinks.send(client, topic, payload, channel)

    def _event(self, hub: LiveHub, at: float, code: int, value: float | None, now: float) -> None:
        seq = hub.seq
        hub.seq = seq + 1
        self.events += 1
        payload = hub.topics.payload(seq, int(hub.clock.read(at) * 1000 + 0.5), code, value)
        if CODES[code].alarm:
            topic, channel = hub.topics.alarm, "alarm"
            hub.unacked[seq] = payload
            self._arm_retry(hub, seq, now)
        else:
            topic, channel = hub.topics.event, "event"
        network = self.options.network
        if network.reorder or network.late:
            held_s = delay_s(network, self._rng)
            if held_s:
                self.delayed += 1
                entry = (at + held_s, next(self._order), hub.index, topic, payload, channel)
                heapq.heappush(self._delayed, entry)
                return
        self._send(hub, topic, payload, channel)
        if network.duplicate and self._rng.random() < network.duplicate:
            self.duplicates += 1
            self._send(hub, topic, payload, channel)

    def _arm_retry(self, hub: LiveHub, seq: int, now: float) -> None:
        entry = (now + self.options.retransmit_s, next(self._order), hub.index, seq)
        heapq.heappush(self._retries, entry)

    def _retry(self, hub: LiveHub, seq: int, now: float) -> None:
        """Send an unacknowledged alarm again, and again later, until its ack arrives."""
        payload = hub.unacked.get(seq)
        if payload is None:
            return  # acked
        self._arm_retry(hub, seq, now)
        self._resend(hub, payload)

    def _resend(self, hub: LiveHub, payload: bytes) -> None:
        client = self.uplinks.client_for(hub)
        if hub.up and client is not None:  # while down, it goes when the link is back
            self.uplinks.send(client, hub.topics.alarm, payload, "alarm")
            self.retransmissions += 1

    def _back_up(self, hub: LiveHub) -> None:
        """The link is back: send what was held (the burst), then every unacked alarm again."""
        hub.up = True
        held, hub.held = hub.held, []
        for topic, payload, channel in held:
            self._send(hub, topic, payload, channel)
        for payload in hub.unacked.values():
            self._resend(hub, payload)
        self.uplinks.flush()

    # -- the clock -------------------------------------------------------------------------

    def _due(self, sim_at: float) -> float:
        """The loop time at which something at simulated time sim_at is due."""
        options = self.options
        if options.rate is not None:
            return self._loop_start + self._processed / options.rate
        if options.speed is None:
            return -math.inf
        return self._loop_start + (sim_at - self.sim_start) / options.speed

    def _advance(self, hub: LiveHub) -> None:
        stream = hub.stream
        if stream is None:
            home = hub.home
            stream = hub.stream = HubStream(
                home, seed=self.options.seed, start=self.sim_start, until=self.until,
                incident_rate=self.options.incident_rate, weights=self.options.weights,
                asked=self._asked.get(home.hub_id, ()),
            )
        hub.item = stream.next_item()
        if hub.item is not None:
            heapq.heappush(self._timeline, (hub.item[0], next(self._order), hub.index))

    def plan_first_days(self) -> None:
        """Plan every hub's first day now (publish() otherwise does it in its turns)."""
        for hub in self.hubs:
            if hub.stream is None:
                self._advance(hub)

    def _next_sim(self) -> float | None:
        first = self._timeline[0][0] if self._timeline else None
        if self._delayed and (first is None or self._delayed[0][0] < first):
            return self._delayed[0][0]
        return first

    def _step(self, now: float) -> None:
        """Do the earliest thing in simulated time."""
        if self._delayed and (not self._timeline or self._delayed[0][0] < self._timeline[0][0]):
            at, _, index, topic, payload, channel = heapq.heappop(self._delayed)
            self.sim_now = max(self.sim_now, at)
            self._send(self.hubs[index], topic, payload, channel)
            return
        at, _, index = heapq.heappop(self._timeline)
        hub = self.hubs[index]
        item = hub.item
        self.sim_now = max(self.sim_now, at)
        if item is None:  # the hub's first day is still to plan
            self._advance(hub)
            return
        _, code, value, _ = item
        self._advance(hub)
        if code == LINK_DOWN:
            self.uplinks.link_down(hub)
        elif code == LINK_UP:
            self.uplinks.link_up(hub)
        else:
            self._processed += 1
            self._event(hub, at, code, value, now)

    async def publish(self, *, max_events: int | None = None) -> None:
        """Publish everything as it falls due, until the homes' time is up or max_events."""
        loop = asyncio.get_running_loop()
        self._loop_start = loop.time()
        # Plan hubs' first days in the loop's turns, not all before the first publish.
        for hub in self.hubs:
            if hub.stream is None:
                at = self.sim_start + hub.index % max(1, hub.home.heartbeat_s) * 0.001
                heapq.heappush(self._timeline, (at, next(self._order), hub.index))
        last_progress = 0.0
        while True:
            now = loop.time()
            while self._retries and self._retries[0][0] <= now:
                _, _, index, seq = heapq.heappop(self._retries)
                self._retry(self.hubs[index], seq, now)
            turn_end = now + _TURN_BUDGET_S
            count = 0
            while not self.backlog.full:
                sim_at = self._next_sim()
                if sim_at is None or self._due(sim_at) > now:
                    break
                if max_events is not None and self._processed >= max_events:
                    break
                self._step(now)
                count += 1
                if count % 64 == 0 and loop.time() > turn_end:
                    break
            self.uplinks.flush()
            if self.on_progress is not None and now - last_progress >= _PROGRESS_EVERY_S:
                last_progress = now
                self.on_progress(self.sim_now, self._processed)
            sim_at = self._next_sim()
            done = sim_at is None or (max_events is not None and self._processed >= max_events)
            if done:
                if self.on_progress is not None:
                    self.on_progress(self.sim_now, self._processed)
                return
            if self.backlog.full:
                await self.backlog.drained.wait()
                continue
            assert sim_at is not None
            wake = self._due(sim_at)
            if self._retries:
                wake = min(wake, self._retries[0][0])
            await asyncio.sleep(max(0.0, wake - loop.time()))

    async def connect(self) -> None:
        """Connect every hub (or the pool) and announce them online."""
        await self.uplinks.connect()

    async def drain(self, timeout_s: float = _DRAIN_AT_STOP_S) -> None:
        """Wait (up to timeout_s) until the broker has acknowledged every publish."""
        await self.uplinks.drain(timeout_s)

    async def close(self, *, drain_s: float = _DRAIN_AT_STOP_S) -> None:
        """Say every connected hub is offline, then disconnect cleanly (no will)."""
        await self.uplinks.close(drain_s)

    def stats(self, real_seconds: float) -> SimStats:
        """What the run sent and received so far."""
        truths = tuple(t for h in self.hubs if h.stream is not None for t in h.stream.truths)
        return SimStats(
            published=dict(self.uplinks.published),
            acks_received=self.uplinks.acks_received,
            retransmissions=self.retransmissions,
            next_seq={h.home.hub_id: h.seq for h in self.hubs},
            events=self.events,
            duplicates=self.duplicates,
            delayed=self.delayed,
            broker_acked=self.backlog.acked,
            sim_seconds=self.sim_now - self.sim_start,
            real_seconds=real_seconds,
            truths=truths,
        )
