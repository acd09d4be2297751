"""Ingest hot path: drain a QoS 1 backlog through the service, beside native Mosquitto.

    python benchmarks/ingest.py [--messages 200000] [--hubs 1000]

Both runs use one fresh Mosquitto of the benchmark's own, in the same run:
1. baseline: `mosquitto_sub` (C, libmosquitto) drains the backlog from a
   persistent session;
2. the service (`telecare serve`, a real process with its SQLite store,
   synchronous=FULL, PUBACK after commit) drains the same size of backlog of
   valid protocol events from `--hubs` registered hubs.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import mqtt5
from own_broker import free_port, own_mosquitto, port_open

from telecare.protocol import Channel, topic_for


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)



async def publish_backlog(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish QoS 1 messages as fast as the broker takes them, pipelined on one socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(mqtt5.ConnectPacket("bench-pub", clean_start=True, keep_alive=60).write())
    acked = 0
    buffer = bytearray()
    window = 1000

    async def read_acks(upto: int) -> None:
        nonlocal acked, buffer
        while acked < upto:
            buffer += await reader.read(65536)
            view = memoryview(buffer)
            offset = 0
            while True:
                try:
                    packet, size = mqtt5.read(view[offset:])
                except IndexError:
                    break
                offset += size
                if isinstance(packet, mqtt5.PubAckPacket):
                    acked += 1
            view.release()
            del buffer[:offset]

    await read_acks(0)
    for start in range(0, len(messages), window):
        chunk = messages[start:start + window]
        writer.write(b"".join(
            mqtt5.PublishPacket(t, p, qos=mqtt5.QoS.AT_LEAST_ONCE,
                                packet_id=(start + i) % 65535 + 1).write()
            for i, (t, p) in enumerate(chunk)
        ))
        await writer.drain()
        await read_acks(start + len(chunk) - window // 2 if start else 0)
    await read_acks(len(messages))
    writer.write(mqtt5.DisconnectPacket().write())
    writer.close()


def baseline(port: int, n: int) -> float:
    """Seconds for mosquitto_sub to drain n queued QoS 1 messages."""
    sub = ["mosquitto_sub", "-p", str(port), "-V", "mqttv5", "-q", "1", "-c", "-i", "bench-sub",
           "-x", "86400", "-t", "bench/#"]
    subprocess.run([*sub, "-W", "1"], capture_output=True)  # create the session, then leave
    payload = json.dumps({"v": 1, "hub": "H-00000", "seq": 0, "ts": 0, "device": "pir-1",
                          "type": "motion", "event": "active"}).encode()
    asyncio.run(publish_backlog(port, [("bench/x", payload)] * n))
    start = time.perf_counter()
    subprocess.run([*sub, "-C", str(n)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def ingested(http_port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=1) as r:
            text = r.read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("telecare_events_ingested_total "):
            return float(line.split()[1])
    return 0.0


def service_run(port: int, n: int, hubs: int, workdir: Path) -> tuple[float, float]:
    """(seconds from process start, seconds from first stored event) to store n events."""
    http_port = free_port()
    env = {**os.environ, "TELECARE_BROKER_URL": f"mqtt://127.0.0.1:{port}",
           "TELECARE_DATA_DIR": str(workdir / "data"),
           "TELECARE_HTTP_ADDR": f"127.0.0.1:{http_port}",
           "TELECARE_INSTANCE": "bench"}
    csv = workdir / "devices.csv"
    csv.write_text("hub_id,device_id,type,location\n" + "".join(
        f"H-{h:05d},pir-1,motion,hall\n" for h in range(hubs)))
    subprocess.run([sys.executable, "-m", "telecare", "device", "import", str(csv)], env=env,
                   check=True, capture_output=True)
    cmd = [sys.executable, "-m", "telecare", "serve"]
    log = (workdir / "service.log").open("ab")
    first = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    wait_for(lambda: port_open(http_port), 20, "the service")
    time.sleep(1.0)  # sessions subscribed: the broker now queues for them
    first.terminate()
    first.wait(20)
    now = int(time.time() * 1000)
    messages = []
    for i in range(n):
        hub = f"H-{i % hubs:05d}"
        body = {"v": 1, "hub": hub, "seq": i // hubs, "ts": now + i, "device": "pir-1",
                "type": "motion", "event": "active"}
        messages.append((topic_for(hub, Channel.EVENT), json.dumps(body).encode()))
    asyncio.run(publish_backlog(port, messages))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: ingested(http_port) > 0, 60, "the first event")
        first_at = time.perf_counter()
        wait_for(lambda: ingested(http_port) >= n, 600, "the backlog to drain")
        end = time.perf_counter()
    finally:
        proc.terminate()
        proc.wait(20)
    return end - start, end - first_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--hubs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, own_mosquitto(Path(tmp)) as port:
        base = baseline(port, args.messages)
        total, drain = service_run(port, args.messages, args.hubs, Path(tmp))
    n = args.messages
    print(f"| backlog of {n:,} QoS 1 events | seconds | msg/s |")
    print("|---|---:|---:|")
    print(f"| `mosquitto_sub` (native baseline, same broker, same run) | {base:.2f} "
          f"| {n / base:,.0f} |")
    print(f"| `telecare serve`: validate, dedup, store (SQLite FULL), detect, PUBACK after commit "
          f"| {drain:.2f} | {n / drain:,.0f} |")
    print(f"| the same, counted from process start | {total:.2f} | {n / total:,.0f} |")


if __name__ == "__main__":
    main()
