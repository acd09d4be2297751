"""Simulator: events/s it sustains into Mosquitto for 100k homes, beside native mosquitto_pub.

    python benchmarks/simulator.py [--homes 100000] [--events 2000000] [--connections 8]

Everything runs against one fresh Mosquitto of the benchmark's own, in the same run:
1. baseline: `mosquitto_pub -l -q 1` (C, libmosquitto) publishing the same number of
   QoS 1 messages of the simulator's payloads, read from a file;
2. the simulator: `--homes` homes multiplexed over a pool of `--connections`, at full
   speed, counted until the broker has acknowledged every event, after planning every
   home's first day (timed on its own);
3. a few thousand hubs with a connection each (will, ack subscription), as on an estate;
4. a target rate, to show the pacing holds it.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from own_broker import own_mosquitto

from firmware_sim.fleet import Fleet, FleetOptions
from firmware_sim.homes import plan_homes
from firmware_sim.hub import LINK_DOWN, HubStream
from firmware_sim.link import HubTopics


def sample_payloads(n: int) -> list[bytes]:
    """Real simulator payloads (a mix of heartbeats and activity), cycled to n."""
    home = plan_homes(1, seed=1)[0]
    stream = HubStream(home, seed=1, start=1767600000.0)
    topics = HubTopics("H-100000")
    sample = []
    for seq in range(2000):
        item = stream.next_item()
        assert item is not None
        if item[1] < LINK_DOWN:
            sample.append(topics.payload(seq, int(item[0] * 1000), item[1], item[2]))
    return list(itertools.islice(itertools.cycle(sample), n))


def mosquitto_pub(port: int, lines: Path) -> float:
    """Seconds for mosquitto_pub to publish every line of a file at QoS 1."""
    start = time.perf_counter()
    with lines.open("rb") as stdin:
        subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-t",
                        "telecare/v1/00/H-bench/event", "-l", "-i", "bench-pub"],
                       stdin=stdin, check=True)
    return time.perf_counter() - start


async def pooled(port: int, homes: int, events: int, connections: int) -> tuple[float, float]:
    """(seconds to plan every home's first day, seconds to publish and have acked `events`)."""
    fleet = Fleet(plan_homes(homes, seed=1), host="127.0.0.1", port=port,
                  options=FleetOptions(seed=1, speed=None, connections=connections,
                                       incident_rate=1.0))
    await fleet.connect()
    await fleet.drain(60.0)  # every hub's retained `online`
    start = time.perf_counter()
    fleet.plan_first_days()
    planned = time.perf_counter()
    await fleet.publish(max_events=events)
    await fleet.drain(120.0)
    done = time.perf_counter()
    if fleet.backlog.outstanding:
        raise SystemExit(f"{fleet.backlog.outstanding} publishes never acknowledged")
    await fleet.close()
    return planned - start, done - planned


async def per_hub(port: int, homes: int, events: int) -> tuple[float, float]:
    """(seconds to connect every hub on its own connection, seconds for `events`)."""
    fleet = Fleet(plan_homes(homes, seed=2), host="127.0.0.1", port=port,
                  options=FleetOptions(seed=2, speed=None, incident_rate=1.0))
    start = time.perf_counter()
    await fleet.connect()
    fleet.plan_first_days()
    connected = time.perf_counter()
    await fleet.publish(max_events=events)
    await fleet.drain(120.0)
    done = time.perf_counter()
    await fleet.close()
    return connected - start, done - connected


async def paced(port: int, homes: int, rate: float, seconds: float) -> float:
    """Events per second achieved when asked for `rate`."""
    fleet = Fleet(plan_homes(homes, seed=3), host="127.0.0.1", port=port,
                  options=FleetOptions(seed=3, rate=rate, connections=4))
    await fleet.connect()
    fleet.plan_first_days()
    start = time.perf_counter()
    await fleet.publish(max_events=int(rate * seconds))
    await fleet.drain(60.0)
    took = time.perf_counter() - start
    await fleet.close()
    return fleet.events / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--per-hub-homes", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=20_000.0)
    args = parser.parse_args()
    n = args.events
    with tempfile.TemporaryDirectory() as tmp, own_mosquitto(Path(tmp)) as port:
        lines = Path(tmp) / "lines.txt"
        payloads = sample_payloads(n)
        lines.write_bytes(b"\n".join(payloads) + b"\n")
        size = sum(map(len, payloads)) / n
        native = mosquitto_pub(port, lines)
        plan_s, pool_s = asyncio.run(pooled(port, args.homes, n, args.connections))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        hub_n = n // 4
        connect_s, hub_s = asyncio.run(per_hub(port, args.per_hub_homes, hub_n))
        achieved = asyncio.run(paced(port, args.homes // 10, args.rate, 30.0))
    c = args.connections
    print(f"| {n:,} QoS 1 events into Mosquitto (payloads ~{size:.0f} B) | seconds | events/s |")
    print("|---|---:|---:|")
    print(f"| `mosquitto_pub -l -q 1` (native baseline, same broker, same run) "
          f"| {native:.2f} | {n / native:,.0f} |")
    print(f"| simulator, {args.homes:,} homes over {c} connections, full speed, until the broker "
          f"acked all | {pool_s:.2f} | {n / pool_s:,.0f} |")
    print(f"| the same, counting the planning of every home's first day ({plan_s:.1f} s) "
          f"| {plan_s + pool_s:.2f} | {n / (plan_s + pool_s):,.0f} |")
    print(f"| simulator, {args.per_hub_homes:,} homes with a connection each ({hub_n:,} events; "
          f"connecting and planning took {connect_s:.1f} s) | {hub_s:.2f} | "
          f"{hub_n / hub_s:,.0f} |")
    print(f"| simulator, {args.homes // 10:,} homes asked for {args.rate:,.0f} events/s for 30 s "
          f"| 30 | {achieved:,.0f} |")
    print(f"\nPeak memory of the simulator process with {args.homes:,} homes: {peak_mb:,.0f} MB.")


if __name__ == "__main__":
    main()
