"""Press-to-ack latency under telemetry load, beside a plain two-hop MQTT echo.

    python benchmarks/alarm_latency.py [--presses 100] [--load 2000]

One fresh Mosquitto of the benchmark's own. A background publisher keeps
`--load` events/s of telemetry flowing from 200 hubs. Then:
1. baseline: a client publishes, a paho echo client republishes, the client
   receives (two broker hops, no storage), `--presses` times;
2. the service: a hub publishes a pendant press on `alarm`; the time until
   the hub receives its `ack`, which the service sends only after the event
   and the alert are committed (SQLite, synchronous=FULL).
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
from own_broker import free_port, own_mosquitto
from paho.mqtt.enums import CallbackAPIVersion

from telecare.protocol import Channel, topic_for

HUBS = 200



def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name,
                    protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def body(hub: str, seq: int, device: str, type_: str, event: str) -> bytes:
    return json.dumps({"v": 1, "hub": hub, "seq": seq, "ts": int(time.time() * 1000),
                       "device": device, "type": type_, "event": event}).encode()


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], ordered[-1])


def wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def echo_baseline(port: int, n: int) -> list[float]:
    echo = client(port, "bench-echo")
    echo.on_message = lambda c, u, m: c.publish("bench/back", m.payload, qos=1)
    echo.subscribe("bench/out", qos=1)
    got = threading.Event()
    probe = client(port, "bench-probe")
    probe.on_message = lambda c, u, m: got.set()
    probe.subscribe("bench/back", qos=1)
    time.sleep(0.5)
    out = []
    for i in range(n):
        got.clear()
        start = time.perf_counter()
        probe.publish("bench/out", str(i), qos=1)
        if got.wait(5):
            out.append(time.perf_counter() - start)
        time.sleep(0.05)
    echo.loop_stop()
    probe.loop_stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--load", type=int, default=2000, help="telemetry events/s")
    parser.add_argument("--nodelay", action="store_true",
                        help="broker sets TCP_NODELAY (mosquitto set_tcp_nodelay true)")
    args = parser.parse_args()
    nodelay = "set_tcp_nodelay true\n" if args.nodelay else ""
    with tempfile.TemporaryDirectory() as tmp, own_mosquitto(Path(tmp), nodelay) as port:
        work = Path(tmp)
        http_port = free_port()
        env = {**os.environ, "TELECARE_BROKER_URL": f"mqtt://127.0.0.1:{port}",
               "TELECARE_DATA_DIR": str(work / "data"),
               "TELECARE_HTTP_ADDR": f"127.0.0.1:{http_port}", "TELECARE_INSTANCE": "bench"}
        csv = work / "devices.csv"
        csv.write_text("hub_id,device_id,type,location\n" + "".join(
            f"H-{h:04d},pendant-1,pendant,\nH-{h:04d},pir-1,motion,hall\n" for h in range(HUBS)))
        subprocess.run([sys.executable, "-m", "telecare", "device", "import", str(csv)],
                       env=env, check=True, capture_output=True)
        service = subprocess.Popen([sys.executable, "-m", "telecare", "serve"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop = threading.Event()
        try:
            wait(lambda: _healthy(http_port), 30)
            load = client(port, "bench-load")
            seqs = dict.fromkeys((f"H-{h:04d}" for h in range(HUBS)), 0)
            lock = threading.Lock()

            def next_seq(hub: str) -> int:  # one counter per hub, as a real hub keeps
                with lock:
                    seqs[hub] += 1
                    return seqs[hub]

            def telemetry() -> None:
                seq = 0
                while not stop.is_set():
                    tick = time.perf_counter()
                    for _ in range(args.load // 10):
                        hub = f"H-{seq % HUBS:04d}"
                        load.publish(topic_for(hub, Channel.EVENT),
                                     body(hub, next_seq(hub), "pir-1", "motion", "active"),
                                     qos=1)
                        seq += 1
                    time.sleep(max(0.0, 0.1 - (time.perf_counter() - tick)))

            threading.Thread(target=telemetry, daemon=True).start()
            time.sleep(1.0)
            baseline = echo_baseline(port, args.presses)
            hubc = client(port, "bench-hub")
            acked: dict[str, float] = {}
            hubc.on_message = lambda c, u, m: acked.setdefault(m.topic.split("/")[3],
                                                                time.perf_counter())
            hubc.subscribe("telecare/v1/+/+/ack", qos=1)
            time.sleep(0.5)
            service_lat = []
            for i in range(args.presses):
                hub = f"H-{i % HUBS:04d}"
                acked.pop(hub, None)
                start = time.perf_counter()
                hubc.publish(topic_for(hub, Channel.ALARM),
                             body(hub, next_seq(hub), "pendant-1", "pendant", "press"), qos=1)
                if wait(lambda h=hub: h in acked, 10):  # type: ignore[misc]
                    service_lat.append(acked[hub] - start)
                time.sleep(0.05)
            ingested = _metric(http_port, "telecare_events_ingested_total ")
        finally:
            stop.set()
            service.terminate()
            service.wait(20)
    b50, b95, bmax = percentiles(baseline)
    s50, s95, smax = percentiles(service_lat)
    nagle = "TCP_NODELAY" if args.nodelay else "broker default (Nagle on)"
    print(f"| {args.presses} presses, {args.load} telemetry events/s, {nagle} | median ms | p95 ms "
          "| max ms |")
    print("|---|---:|---:|---:|")
    print(f"| baseline: publish -> echo client -> back (2 broker hops) | {b50 * 1000:.1f} | "
          f"{b95 * 1000:.1f} | {bmax * 1000:.1f} |")
    print(f"| press -> service stores event + alert (fsync) -> `ack` back | {s50 * 1000:.1f} | "
          f"{s95 * 1000:.1f} | {smax * 1000:.1f} |")
    print(f"\n{len(service_lat)}/{args.presses} presses acked; {ingested:.0f} events ingested")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _metric(port: int, prefix: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(prefix):
                return float(line.split()[1])
    return 0.0


if __name__ == "__main__":
    main()
