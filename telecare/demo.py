"""`telecare demo`: the service, simulated homes and the live queue, with no set-up.

Broker: the configured URL if something answers there, else a `mosquitto`
binary on a free port, else the embedded in-process broker. Store: SQLite in a
temporary directory, removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.live import Live

from firmware_sim.homes import plan_homes, write_device_csv
from firmware_sim.incidents import Incident, IncidentKind
from firmware_sim.live import run_live
from telecare.broker import EmbeddedBroker
from telecare.config import Settings
from telecare.console import queue_table
from telecare.ingest.mqtt import BrokerAddress
from telecare.people.crypto import FieldCipher
from telecare.people.directory import ContactSpec, Directory
from telecare.registry import import_devices
from telecare.service import Service
from telecare.store import SqliteStore

DEMO_HEARTBEAT_S: Final = 5  # grace 40 s: the silent hub shows within the first minute
PRESS_AT_S: Final = 12.0
SILENT_AT_S: Final = 8.0
FALL_AT_S: Final = 35.0


def _answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found is None and os.path.exists("/usr/sbin/mosquitto"):
        found = "/usr/sbin/mosquitto"
    return found


def _start_mosquitto(binary: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)


@contextlib.asynccontextmanager
async def demo_broker(
    url: str, workdir: Path, *, embedded: bool = False
) -> AsyncIterator[tuple[str, str]]:
    """Yield (url, description) of a broker to use, starting one if none answers."""
    if embedded:
        async with EmbeddedBroker() as broker:
            yield broker.url, f"embedded broker at {broker.url}"
        return
    address = BrokerAddress.parse(url)
    if not address.tls and _answers(address.host, address.port):
        yield url, f"broker at {url}"
        return
    binary = _mosquitto_binary()
    if binary is not None:
        port = _free_port()
        proc = _start_mosquitto(binary, port, workdir)
        try:
            deadline = time.monotonic() + 10
            while not _answers("127.0.0.1", port):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the local mosquitto did not start")
                await asyncio.sleep(0.05)
            yield f"mqtt://127.0.0.1:{port}", f"local mosquitto on port {port}"
        finally:
            proc.terminate()
            proc.wait(10)
        return
    async with EmbeddedBroker() as broker:
        yield broker.url, f"embedded broker at {broker.url}"


def run_demo(
    settings: Settings, *, homes: int = 20, seconds: float = 0, embedded_broker: bool = False
) -> int:
    """Run the demo until Ctrl-C (or for `seconds`); print the final queue."""
    console = Console()
    logging.getLogger("telecare").setLevel(logging.WARNING)  # the queue view is the output
    with tempfile.TemporaryDirectory(prefix="telecare-demo-") as tmp:
        workdir = Path(tmp)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_demo(settings, workdir, homes, seconds, console, embedded_broker))
    return 0


async def _demo(settings: Settings, workdir: Path, n_homes: int, seconds: float,
                console: Console, embedded_broker: bool) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    homes = plan_homes(n_homes, seed=7, heartbeat_s=DEMO_HEARTBEAT_S)
    http_host, http_port = settings.http_host_port
    if _answers(http_host, http_port):
        http_port = _free_port()
    incidents = [
        Incident(homes[2].hub_id, IncidentKind.PENDANT_PRESS, PRESS_AT_S),
        Incident(homes[6 % n_homes].hub_id, IncidentKind.HUB_SILENT, SILENT_AT_S),
    ]
    if any(d.type == "fall" for d in homes[4 % n_homes].devices):
        incidents.append(Incident(homes[4 % n_homes].hub_id, IncidentKind.DEVICE_FALL, FALL_AT_S))
    async with demo_broker(settings.broker_url, workdir, embedded=embedded_broker) as (
        broker_url, broker_note
    ):
        demo_settings = replace(
            settings, broker_url=broker_url, data_dir=workdir / "data",
            http_addr=f"{http_host}:{http_port}", instance=f"demo-{_free_port()}",
            session_expiry_s=0, escalation_file=str(_demo_policy(workdir)),
            sms_gateway="file", email_transport="file",
        )
        store = SqliteStore.open(demo_settings.db_path)
        csv_path = workdir / "devices.csv"
        write_device_csv(homes, csv_path)
        now = int(time.time() * 1000)
        import_devices(store, csv_path, default_tz=settings.default_tz, now=now, by="demo")
        with store.transaction():  # the demo's hubs beat every few seconds
            for home in homes:
                store.upsert_hub(home.hub_id, DEMO_HEARTBEAT_S, settings.default_tz, now)
        _demo_contacts(store, demo_settings, [h.hub_id for h in homes], now)
        service = Service(demo_settings)
        console.print(
            f"[bold]telecare demo[/]: {n_homes} simulated homes, {broker_note}, "
            f"store in {demo_settings.data_dir}, http://{http_host}:{http_port}/metrics\n"
            f"A pendant press comes at ~{PRESS_AT_S:.0f} s; hub {incidents[1].hub_id} falls "
            f"silent at ~{SILENT_AT_S:.0f} s (flagged after its {2 * DEMO_HEARTBEAT_S + 30} s "
            "grace). Try, in another terminal:\n"
            f"  TELECARE_DATA_DIR={demo_settings.data_dir} {sys.executable} -m telecare "
            "alerts ack ID --by you\n"
            "Ctrl-C stops."
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(service.run(), name="service")
                tg.create_task(_run_sim(service, broker_url, homes, incidents), name="sim")
                tg.create_task(_show(store, console, seconds), name="queue-view")
        except* _DemoOver:
            pass
        except* asyncio.CancelledError:
            pass
        finally:
            title = f"alert queue at the end ({time.strftime('%H:%M:%S')})"
            console.print(queue_table(store.alerts(), now_ms=int(time.time() * 1000),
                                      title=title))
            sent = [m for m in store.alerting.messages() if m.state == "sent"]
            console.print(f"{len(sent)} notifications sent (written to "
                          f"{demo_settings.data_dir}/sms-outbox.jsonl and email-outbox.jsonl):")
            for m in sent[-8:]:
                console.print(f"  {m.channel:<5} {m.recipient} alert #{m.alert_id} {m.kind}")
            store.close()


def _demo_policy(workdir: Path) -> Path:
    """Escalation fast enough to watch: supervisor at 20 s, carers from 40 s."""
    path = workdir / "escalation.toml"
    path.write_text(
        '[[policy]]\nname = "demo-life-safety"\npriorities = [1, 2]\nsteps = [\n'
        '  { target = "supervisor", wait_s = 20 },\n'
        '  { target = "carer", wait_s = 20, attempts = 2, retry_s = 20, require_accept = true },\n'
        ']\n[[policy]]\nname = "demo-technical"\npriorities = [3, 4]\n'
        'steps = [{ target = "supervisor", wait_s = 30, channels = ["email"] }]\n'
    )
    return path


def _demo_contacts(store: SqliteStore, settings: Settings, hubs: list[str], now: int) -> None:
    """A supervisor and two carers per home, with reserved drama numbers and example.org mail."""
    directory = Directory(store, FieldCipher.from_environment(settings.data_dir))
    with store.transaction():
        directory.add_contact(None, ContactSpec(
            role="supervisor", name="Duty supervisor", email="supervisor@centre.example",
            channels=["email"], consent=True), now=now)
        for i, hub_id in enumerate(hubs):
            directory.add_contact(hub_id, ContactSpec(
                role="carer", name="Carer A", phone=f"+44770090{i:04d}", channels=["sms"],
                consent=True), now=now)
            directory.add_contact(hub_id, ContactSpec(
                role="carer", name="Carer B", email=f"carer.b.{i}@example.org",
                channels=["email"], consent=True), now=now)


class _DemoOver(Exception):
    """The demo's time is up."""


async def _run_sim(service: Service, broker_url: str, homes: list, incidents: list) -> None:  # type: ignore[type-arg]
    await service.wait_ready()  # hubs start once the service listens, as on a real estate
    await run_live(broker_url, homes, incidents=incidents, seed=7)


async def _show(store: SqliteStore, console: Console, seconds: float) -> None:
    started = time.monotonic()
    interactive = console.is_terminal
    seen: set[tuple[int, int, bool]] = set()
    with Live(console=console, refresh_per_second=4, transient=False) if interactive \
            else contextlib.nullcontext() as live:
        while True:
            alerts = await asyncio.to_thread(store.alerts)
            now = int(time.time() * 1000)
            elapsed = time.monotonic() - started
            if live is not None:
                live.update(queue_table(alerts, now_ms=now, title=f"live alert queue, "
                                        f"{elapsed:.0f} s"))
            else:
                for a in alerts:
                    key = (a.id, a.occurrences, a.cleared_at is not None)
                    if key not in seen:
                        seen.add(key)
                        state = "cleared" if a.cleared_at else a.state
                        console.print(f"[{elapsed:5.1f} s] #{a.id} P{a.priority} {a.type} "
                                      f"{a.hub_id} {state}: {a.reason}")
            if seconds and elapsed >= seconds:
                raise _DemoOver
            await asyncio.sleep(0.25)
