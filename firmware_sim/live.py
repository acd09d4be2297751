"""Publish simulated homes live over MQTT, in simulated time that may run faster than real."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from firmware_sim.homes import HomeSpec
from firmware_sim.hub import HubEvent, hub_events
from firmware_sim.incidents import Incident, IncidentKind, check_incidents, incident_event
from firmware_sim.link import HubLink, OnPublish
from telecare.protocol import Channel

CONNECT_TIMEOUT_S: Final = 10.0
# Publishing and planning a resident's next day (about 2 ms) are synchronous, so
# give the loop a turn after this long: a backlog (local midnight for many homes,
# a high speed) must not stall the service that shares the loop.
_TURN_BUDGET_S: Final = 0.005


@dataclass(frozen=True, slots=True)
class SimStats:
    """What one live run sent and received."""

    published: dict[str, int]
    """PUBLISH packets per channel, retransmissions included."""
    acks_received: int
    retransmissions: int
    next_seq: dict[str, int]
    """Per hub, the seq its next event would carry: pass it as first_seq to a later run."""


def parse_broker_url(url: str) -> tuple[str, int]:
    """Split `mqtt://host:port` (port 1883 by default) into host and port."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"broker URL must look like mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or 1883


class _Schedule:
    """Every hub's next event, the injected incidents and the due retransmissions, by time."""

    def __init__(
        self,
        homes: Sequence[HomeSpec],
        links: Sequence[HubLink],
        incidents: Sequence[Incident],
        *,
        seed: int,
        speed: float,
        retransmit_s: float,
        on_publish: OnPublish | None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._homes = homes
        self._links = links
        self._speed = speed
        self._retransmit_s = retransmit_s
        self._on_publish = on_publish
        # Simulated time starts at the real now and runs `speed` times faster.
        self._sim_start = time.time()
        self._loop_start = self._loop.time()
        self.published: Counter[str] = Counter()
        self.retransmissions = 0
        self._order = itertools.count()
        self._streams: list[Iterator[HubEvent]] = [
            hub_events(home, seed=seed, start=self._sim_start) for home in homes
        ]
        index = {home.hub_id: i for i, home in enumerate(homes)}
        # (simulated time, tie-break, hub index, next event, an incident, or None for
        # "plan this hub's first day": done in the run loop's turns, not all at once here)
        self._timeline: list[tuple[float, int, int, HubEvent | Incident | None]] = [
            (self._sim_start, next(self._order), i, None) for i in range(len(homes))
        ]
        for incident in incidents:
            entry = (self._sim_start + incident.at_s, next(self._order), index[incident.hub_id])
            heapq.heappush(self._timeline, (*entry, incident))
        # (loop time, tie-break, hub index, seq): alarms to send again unless acked.
        self._retransmits: list[tuple[float, int, int, int]] = []

    def _push_next(self, i: int) -> None:
        event = next(self._streams[i])
        heapq.heappush(self._timeline, (event.at, next(self._order), i, event))

    def _loop_time_of(self, sim_at: float) -> float:
        return self._loop_start + (sim_at - self._sim_start) / self._speed

    def _next_due(self) -> float:
        due = self._loop_time_of(self._timeline[0][0]) if self._timeline else float("inf")
        if self._retransmits:
            due = min(due, self._retransmits[0][0])
        return due

    async def run(self, tg: asyncio.TaskGroup) -> None:
        """Publish everything when it falls due, until cancelled."""
        while True:
            delay = self._next_due() - self._loop.time()
            if delay > 0:
                # Only this task adds work, so nothing can fall due earlier meanwhile.
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)
            now = self._loop.time()
            while self._loop.time() - now < _TURN_BUDGET_S:
                if self._retransmits and self._retransmits[0][0] <= now:
                    _, _, i, seq = heapq.heappop(self._retransmits)
                    self._retransmit(i, seq, now)
                elif self._timeline and self._loop_time_of(self._timeline[0][0]) <= now:
                    _, _, i, item = heapq.heappop(self._timeline)
                    if item is None:
                        self._push_next(i)
                    elif isinstance(item, Incident):
                        self._inject(i, item, tg, now)
                    else:
                        self._push_next(i)
                        self._publish(i, item, now)
                else:
                    break

    def _publish(self, i: int, event: HubEvent, now: float) -> None:
        link = self._links[i]
        if not link.publishing:
            return
        sent = link.publish(event)
        self.published[sent.channel] += 1
        if sent.channel is Channel.ALARM:
            entry = (now + self._retransmit_s, next(self._order), i, sent.seq)
            heapq.heappush(self._retransmits, entry)
        if self._on_publish is not None:
            self._on_publish(sent.topic, sent.payload)

    def _retransmit(self, i: int, seq: int, now: float) -> None:
        sent = self._links[i].retransmit(seq)
        if sent is None:
            return
        self.published[Channel.ALARM] += 1
        self.retransmissions += 1
        heapq.heappush(self._retransmits, (now + self._retransmit_s, next(self._order), i, seq))
        if self._on_publish is not None:
            self._on_publish(*sent)

    def _inject(self, i: int, incident: Incident, tg: asyncio.TaskGroup, now: float) -> None:
        link = self._links[i]
        event = incident_event(self._homes[i], incident, self._sim_start + incident.at_s)
        if event is not None:
            self._publish(i, event, now)
        elif incident.kind in (IncidentKind.HUB_SILENT, IncidentKind.HUB_OFFLINE):
            link.publishing = False
        if incident.kind == IncidentKind.HUB_OFFLINE and not link.dropped:
            link.dropped = True
            tg.create_task(asyncio.to_thread(link.drop), name=f"drop-{link.hub_id}")


async def _wait_connected(links: Sequence[HubLink]) -> None:
    """Wait until every hub is connected, or raise ConnectionError after CONNECT_TIMEOUT_S."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            for link in links:
                await link.connected.wait()
    except TimeoutError:
        waiting = [link.hub_id for link in links if not link.connected.is_set()]
        raise ConnectionError(f"{len(waiting)} hubs did not connect: {waiting[:5]}") from None


def _start_networks(links: Sequence[HubLink]) -> None:
    for link in links:
        link.start()


def _stop_networks(links: Sequence[HubLink]) -> None:
    for link in links:
        if not link.dropped:
            link.stop_network()


async def run_live(
    broker_url: str,
    homes: Sequence[HomeSpec],
    *,
    incidents: Sequence[Incident] = (),
    speed: float = 1.0,
    seed: int = 0,
    retransmit_s: float = 5.0,
    stop: asyncio.Event | None = None,
    on_publish: OnPublish | None = None,
    first_seq: Mapping[str, int] | None = None,
) -> SimStats:
    """Publish the homes live until `stop` is set, then disconnect every hub and return stats.

    `speed` accelerates simulated time (device timestamps start at the real now);
    `retransmit_s` is in real seconds, because acks cross the real network.
    On cancellation the hubs are disconnected and the cancellation propagates.
    `on_publish(topic, payload)` is called in the event loop for every publish.
    """
    if speed <= 0 or retransmit_s <= 0:
        raise ValueError("speed and retransmit_s must be > 0")
    check_incidents(homes, incidents)
    host, port = parse_broker_url(broker_url)
    loop = asyncio.get_running_loop()
    stop = stop if stop is not None else asyncio.Event()
    first = first_seq or {}
    links = [
        HubLink(
            home,
            host=host,
            port=port,
            loop=loop,
            first_seq=first.get(home.hub_id, 0),
            on_publish=on_publish,
        )
        for home in homes
    ]
    schedule: _Schedule | None = None
    try:
        # Starting a thread per hub adds up; keep it off the loop.
        await asyncio.to_thread(_start_networks, links)
        await _wait_connected(links)
        schedule = _Schedule(
            homes,
            links,
            incidents,
            seed=seed,
            speed=speed,
            retransmit_s=retransmit_s,
            on_publish=on_publish,
        )
        async with asyncio.TaskGroup() as tg:
            publisher = tg.create_task(schedule.run(tg), name="firmware-sim-publisher")
            await stop.wait()
            publisher.cancel()
    finally:
        for link in links:
            link.disconnect()
        # loop_stop joins paho's threads: do it off the loop, which must not block.
        await asyncio.to_thread(_stop_networks, links)
    assert schedule is not None  # the try returned normally, so it was built
    published = Counter({Channel.STATUS.value: sum(link.status_published for link in links)})
    published.update({str(channel): n for channel, n in schedule.published.items()})
    return SimStats(
        published=dict(published),
        acks_received=sum(link.acks_received for link in links),
        retransmissions=schedule.retransmissions,
        next_seq={link.hub_id: link.next_seq for link in links},
    )
