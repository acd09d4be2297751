"""Fixtures: a real Mosquitto per test, the service as a real process, a hub client."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from telecare.protocol import Channel, topic_for

IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def need_binary(name: str) -> str:
    """Return the path of a binary; fail under CI and skip elsewhere when it is missing."""
    path = shutil.which(name)
    if path is None and Path(f"/usr/sbin/{name}").exists():
        path = f"/usr/sbin/{name}"
    if path is None:
        message = f"{name} is not installed (apt-get install -y {name})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Broker:
    """A Mosquitto process of the test's own."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The broker's URL."""
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Start a Mosquitto on a random port with a test config; stop it afterwards."""
    binary = need_binary("mosquitto")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nmax_inflight_messages 0\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: _port_open(port), 10, "mosquitto to listen")
        yield Broker(port, process)
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class ServiceProcess:
    """`telecare serve` as a real process, plus the CLI pointed at the same store."""

    env: dict[str, str]
    http_port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> None:
        """Start the service and wait until /healthz says it is subscribed."""
        assert self.log_path is not None
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "telecare", "serve"], env=self.env, stdout=log, stderr=log
        )
        try:
            wait_until(self.healthy, 20, "service /healthz to answer 200")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; service output:\n{self.logs()[-3000:]}") from None

    def healthy(self) -> bool:
        """Tell whether /healthz answers 200."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"service exited with {self.process.returncode}: {self.logs()}")
        try:
            url = f"http://127.0.0.1:{self.http_port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the service: no cleanup, no DISCONNECT."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM the service and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
        return int(self.process.returncode)

    def logs(self) -> str:
        """The service's output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a `telecare` subcommand against the same store."""
        done = subprocess.run(
            [sys.executable, "-m", "telecare", *args],
            env=self.env, capture_output=True, text=True, timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"telecare {' '.join(args)} failed: {done.stderr}")
        return done

    def alerts(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        """The alert list as `telecare alerts list --json` prints it."""
        args = ["alerts", "list", "--json"] + (["--all"] if include_resolved else [])
        return list(json.loads(self.cli(*args).stdout))

    def metrics(self) -> str:
        """The /metrics page."""
        url = f"http://127.0.0.1:{self.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as r:
            return str(r.read().decode())


@pytest.fixture
def service_env(broker: Broker, tmp_path: Path) -> ServiceProcess:
    """A service configured for the test's broker and a fresh data dir (not started)."""
    http_port = free_port()
    env = {
        **os.environ,
        "TELECARE_BROKER_URL": broker.url,
        "TELECARE_DATA_DIR": str(tmp_path / "data"),
        "TELECARE_HTTP_ADDR": f"127.0.0.1:{http_port}",
        "TELECARE_INSTANCE": f"test{http_port}",
    }
    return ServiceProcess(env=env, http_port=http_port, log_path=tmp_path / "service.log")


@pytest.fixture
def service(service_env: ServiceProcess) -> Iterator[ServiceProcess]:
    """A running service; stopped (or killed) at the end of the test."""
    service_env.start()
    try:
        yield service_env
    finally:
        if service_env.process is not None and service_env.process.poll() is None:
            service_env.process.kill()
            service_env.process.wait(10)


@dataclass
class HubClient:
    """A hub (or an attacker) publishing to the broker with paho, MQTT 5."""

    broker: Broker
    client_id: str
    acks: list[dict[str, Any]] = field(default_factory=list)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    client: mqtt.Client | None = None

    def connect(self) -> HubClient:
        """Connect and wait for the CONNACK."""
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
        )
        connected = threading.Event()
        client.on_connect = lambda *a: connected.set()
        client.on_message = self._on_message
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        if not connected.wait(10):
            raise AssertionError("hub client could not connect")
        self.client = client
        return self

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        # paho calls this from its network thread
        with self._lock:
            self.received.append((message.topic, message.payload))
            if message.topic.endswith("/ack"):
                self.acks.append(json.loads(message.payload))

    def listen_acks(self, hub_id: str) -> None:
        """Subscribe to the hub's ack topic and wait for the SUBACK."""
        assert self.client is not None
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic_for(hub_id, Channel.ACK), qos=1)
        if not done.wait(10):
            raise AssertionError("no SUBACK")

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait until the broker has it."""
        assert self.client is not None
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)

    def close(self) -> None:
        """Disconnect cleanly."""
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


@pytest.fixture
def hub_client(broker: Broker) -> Iterator[HubClient]:
    """A connected MQTT client for publishing as hubs."""
    client = HubClient(broker, f"test-hub-{free_port()}").connect()
    try:
        yield client
    finally:
        client.close()


def event(hub: str, seq: int, device: str, type_: str, name: str, **extra: Any) -> bytes:
    """Encode a protocol v1 event payload."""
    body = {"v": 1, "hub": hub, "seq": seq, "ts": int(time.time() * 1000), "device": device,
            "type": type_, "event": name, **extra}
    return json.dumps(body).encode()
