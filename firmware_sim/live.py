"""Publish simulated homes live over MQTT, in simulated time that may run faster than real."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Final
from urllib.parse import urlsplit

from firmware_sim.fleet import Fleet, FleetOptions, OnProgress, OnPublish, SimStats
from firmware_sim.homes import HomeSpec
from firmware_sim.incidents import Incident, check_incidents

_QUICK_DRAIN_S: Final = 0.5

__all__ = ["FleetOptions", "SimStats", "parse_broker_url", "run_fleet", "run_live"]


def parse_broker_url(url: str) -> tuple[str, int]:
    """Split `mqtt://host:port` (port 1883 by default) into host and port."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"broker URL must look like mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or 1883


async def run_fleet(
    broker_url: str,
    homes: Sequence[HomeSpec],
    options: FleetOptions,
    *,
    incidents: Sequence[Incident] = (),
    stop: asyncio.Event | None = None,
    max_events: int | None = None,
    on_publish: OnPublish | None = None,
    on_progress: OnProgress | None = None,
) -> SimStats:
    """Publish the homes until `stop` is set, their time is up or max_events; return stats.

    Every hub is disconnected cleanly at the end (retained `offline` first); on
    cancellation too, and the cancellation propagates.
    """
    check_incidents(homes, incidents)
    host, port = parse_broker_url(broker_url)
    fleet = Fleet(homes, host=host, port=port, options=options, incidents=incidents,
                  on_publish=on_publish, on_progress=on_progress)
    started = time.monotonic()
    try:
        await fleet.connect()
        publisher = asyncio.ensure_future(fleet.publish(max_events=max_events))
        waiter = asyncio.ensure_future((stop or asyncio.Event()).wait())
        try:
            await asyncio.wait({publisher, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (publisher, waiter):
                task.cancel()
            for task in (publisher, waiter):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await fleet.drain()
    except BaseException:
        # Cancelled or failed: say goodbye quickly rather than wait for every PUBACK.
        await fleet.close(drain_s=_QUICK_DRAIN_S)
        raise
    await fleet.close()
    return fleet.stats(time.monotonic() - started)


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
    options: FleetOptions | None = None,
) -> SimStats:
    """Publish the homes live, each hub on a connection of its own, until `stop` is set.

    `speed` accelerates simulated time (device timestamps start at the real now);
    `retransmit_s` is in real seconds, because acks cross the real network.
    Only the incidents given are injected unless `options` asks for more.
    `on_publish(topic, payload)` is called in the event loop for every publish.
    """
    if speed <= 0 or retransmit_s <= 0:
        raise ValueError("speed and retransmit_s must be > 0")
    base = options if options is not None else FleetOptions()
    merged = replace(base, seed=seed, speed=speed, retransmit_s=retransmit_s,
                     first_seq=dict(first_seq or {}))
    return await run_fleet(broker_url, homes, merged, incidents=incidents, stop=stop,
                           on_publish=on_publish)
