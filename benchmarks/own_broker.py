"""A Mosquitto of the benchmark's own on a free port, configured for throughput."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

THROUGHPUT_CONF = "persistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def own_mosquitto(workdir: Path, extra: str = "") -> Iterator[int]:
    """Start Mosquitto with the throughput settings (plus `extra` lines); yield its port."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{THROUGHPUT_CONF}{extra}")
    broker = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            if time.monotonic() > deadline or broker.poll() is not None:
                raise SystemExit("mosquitto did not start")
            time.sleep(0.01)
        yield port
    finally:
        broker.terminate()
        broker.wait(10)
