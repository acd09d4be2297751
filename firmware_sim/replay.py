"""Replay a recorded event-log CSV over MQTT, at a chosen speed or as fast as possible."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from firmware_sim.csvlog import LogRow, read_event_log
from firmware_sim.link import HubTopics
from firmware_sim.live import parse_broker_url
from firmware_sim.wire import Backlog, MqttClient
from telecare.protocol import PROTOCOL_VERSION, is_alarm

_TURN_BUDGET_S: Final = 0.005
_DRAIN_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class ReplayStats:
    """What a replay sent."""

    rows: int
    per_hub: dict[str, int]
    published: dict[str, int]
    broker_acked: int
    real_seconds: float
    next_seq: dict[str, int]


def replay_payload(row: LogRow, seq: int) -> bytes:
    """Encode one log row as the protocol's payload, device time kept."""
    body: dict[str, object] = {
        "v": PROTOCOL_VERSION, "hub": row.hub_id, "seq": seq, "ts": round(row.at * 1000),
        "device": row.device_id, "type": row.type, "event": row.event,
    }
    if row.value is not None:
        body["value"] = row.value
    return msgspec.json.encode(body)


async def replay_rows(
    rows: Iterable[LogRow],
    broker_url: str,
    *,
    speed: float | None = None,
    connections: int = 4,
    first_seq: Mapping[str, int] | None = None,
    on_progress: Callable[[float, int], None] | None = None,
) -> ReplayStats:
    """Publish rows at `speed` times the log's pace (None: as fast as the broker takes them).

    Rows without a seq are numbered per hub from first_seq (0 by default). Each
    hub always uses the same connection, so its events reach the broker in order.
    """
    if speed is not None and speed <= 0:
        raise ValueError("speed must be > 0, or None for as fast as possible")
    host, port = parse_broker_url(broker_url)
    backlog = Backlog()
    tag = f"firmware-sim-replay-{os.getpid()}-{int(time.time()) % 100000}"
    pool = [MqttClient(f"{tag}-{k}", backlog=backlog) for k in range(max(1, connections))]
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    seqs: dict[str, int] = dict(first_seq or {})
    topics: dict[str, HubTopics] = {}
    per_hub: Counter[str] = Counter()
    published: Counter[str] = Counter()
    count = 0
    try:
        for client in pool:
            await client.connect(host, port)
        loop_start = loop.time()
        first_at: float | None = None
        turn_end = loop_start + _TURN_BUDGET_S
        for row in rows:
            if first_at is None:
                first_at = row.at
            if speed is not None:
                wait = loop_start + (row.at - first_at) / speed - loop.time()
                if wait > 0:
                    _flush(pool)
                    await asyncio.sleep(wait)
            hub = topics.get(row.hub_id)
            if hub is None:
                hub = topics[row.hub_id] = HubTopics(row.hub_id)
            seq = row.seq if row.seq is not None else seqs.get(row.hub_id, 0)
            seqs[row.hub_id] = seq + 1
            alarm = is_alarm(row.type, row.event)
            client = pool[zlib.crc32(row.hub_id.encode()) % len(pool)]
            client.publish(hub.alarm if alarm else hub.event, replay_payload(row, seq))
            published["alarm" if alarm else "event"] += 1
            per_hub[row.hub_id] += 1
            count += 1
            if count % 256 == 0 and (backlog.full or loop.time() > turn_end):
                _flush(pool)
                if on_progress is not None:
                    on_progress(float(count), count)
                await backlog.drained.wait()
                await asyncio.sleep(0)
                turn_end = loop.time() + _TURN_BUDGET_S
        _flush(pool)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(backlog.settled.wait(), _DRAIN_S)
        if on_progress is not None:
            on_progress(float(count), count)
    finally:
        for client in pool:
            client.disconnect()
    return ReplayStats(count, dict(per_hub), dict(published), backlog.acked,
                       time.monotonic() - started, seqs)


def _flush(pool: list[MqttClient]) -> None:
    for client in pool:
        client.flush()


async def replay(
    path: str | Path,
    broker_url: str,
    *,
    speed: float | None = None,
    connections: int = 4,
    first_seq: Mapping[str, int] | None = None,
    on_progress: Callable[[float, int], None] | None = None,
) -> ReplayStats:
    """Replay an event-log CSV file over MQTT (see replay_rows)."""
    return await replay_rows(read_event_log(path), broker_url, speed=speed,
                             connections=connections, first_seq=first_seq,
                             on_progress=on_progress)
