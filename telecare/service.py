"""The running service: one task group owns the broker sessions, the batch
consumers, the watermark ticks and the HTTP server.

Alarms arrive on a connection of their own, so a press never queues behind a
burst of telemetry in the socket or the broker. All store work runs in one
worker thread (see pipeline.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Final, Protocol, TypeVar

from telecare.alerts import lifecycle
from telecare.alerts.apply import AlertBook
from telecare.alerts.channels.configure import build_channels
from telecare.alerts.policy import load_policies
from telecare.alerts.sender import OutboxSender
from telecare.config import Settings
from telecare.detect import Engine
from telecare.http import make_app, make_server
from telecare.ingest.mqtt import BrokerAddress, MqttSession
from telecare.metrics import Metrics
from telecare.people.crypto import FieldCipher
from telecare.people.directory import Directory
from telecare.pipeline import Pipeline
from telecare.protocol import Channel, encode_ack, subscription_filter, topic_for
from telecare.store import SqliteStore

log = logging.getLogger(__name__)

TICK_S: Final = 1.0
STORE_RETRY_S: Final = 1.0
T = TypeVar("T")


def now_ms() -> int:
    """The wall clock in epoch milliseconds: the live watermark."""
    return int(time.time() * 1000)


@dataclass
class Service:
    """The telecare service for one instance; `await service.run()` until cancelled."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    on_change: Callable[[], None] | None = None
    _sessions: list[MqttSession] = field(default_factory=list)
    _started: asyncio.Event = field(default_factory=asyncio.Event)
    _sender: OutboxSender = field(init=False)

    def ready(self) -> bool:
        """True once every broker session is subscribed."""
        return bool(self._sessions) and all(s.subscribed for s in self._sessions)

    async def wait_ready(self) -> None:
        """Wait until the service has subscribed for the first time."""
        await self._started.wait()

    async def run(self) -> None:
        """Run until cancelled; stop cleanly, leaving the broker sessions to queue for us."""
        policies = load_policies(self.settings.escalation_file)  # a bad file stops us here
        channels = build_channels(self.settings)
        store = SqliteStore.open(self.settings.db_path)
        cipher = FieldCipher.from_environment(self.settings.data_dir)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telecare-store")
        book = AlertBook.with_policies(policies, self.settings.accept_base_url)
        pipeline = Pipeline(store, Engine.starting_at(now_ms()), self.metrics, book)
        loop = asyncio.get_running_loop()

        async def in_worker(fn: Callable[[], T]) -> T:
            return await loop.run_in_executor(executor, fn)

        self._sender = OutboxSender(Directory(store, cipher), channels, in_worker, now_ms)
        try:
            await in_worker(pipeline.start)
            await self._serve(pipeline, in_worker)
        finally:
            # a clean stop keeps the detectors' pending timers; blocking is fine here
            try:
                executor.submit(pipeline.checkpoint, now_ms()).result(timeout=30)
            except Exception:
                log.exception("could not checkpoint the detectors on stop")
            executor.shutdown(wait=True)
            store.close()

    async def _serve(self, pipeline: Pipeline, in_worker: Worker) -> None:
        address = BrokerAddress.parse(self.settings.broker_url)
        prefix = f"telecare-{self.settings.instance}"
        alarm = MqttSession(
            address=address,
            client_id=f"{prefix}-alarm",
            filters=[subscription_filter(Channel.ALARM)],
            session_expiry_s=self.settings.session_expiry_s,
        )
        events = MqttSession(
            address=address,
            client_id=f"{prefix}-event",
            filters=[subscription_filter(Channel.EVENT), subscription_filter(Channel.STATUS)],
            session_expiry_s=self.settings.session_expiry_s,
        )
        self._sessions = [alarm, events]
        host, port = self.settings.http_host_port
        async def accept(token: str) -> str:
            alert = await in_worker(partial(lifecycle.accept, pipeline.store, token, now=now_ms()))
            self._changed()
            return f"alert {alert.id}"

        server = make_server(make_app(self.metrics, self.ready, accept), host, port)
        async with alarm, events, asyncio.TaskGroup() as tg:
            tg.create_task(self._consume(alarm, alarm, pipeline, in_worker), name="ingest-alarm")
            tg.create_task(self._consume(events, alarm, pipeline, in_worker), name="ingest-event")
            tg.create_task(self._tick(pipeline, in_worker), name="watermark-ticks")
            tg.create_task(server.serve(), name="http")
            tg.create_task(self._sender.run(), name="outbox-sender")
            await alarm.wait_subscribed()
            await events.wait_subscribed()
            self._started.set()

    async def _consume(
        self, session: MqttSession, acks: MqttSession, pipeline: Pipeline, in_worker: Worker
    ) -> None:
        while True:
            delivery = await session.next_delivery()
            messages = delivery.messages
            while True:
                try:
                    result = await in_worker(partial(pipeline.process, messages))
                    break
                except Exception:
                    # nothing was committed and nothing is acked: retry the same batch
                    log.exception("storing a batch failed; retrying in %.0f s", STORE_RETRY_S)
                    await asyncio.sleep(STORE_RETRY_S)
            for hub_id, seq in result.acks:
                acks.publish(topic_for(hub_id, Channel.ACK), encode_ack(seq))
            self.metrics.alarm_acks.inc(len(result.acks))
            session.acknowledge(delivery)
            if result.alerts:
                self._changed()

    async def _tick(self, pipeline: Pipeline, in_worker: Worker) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                changes = await in_worker(partial(pipeline.tick, now_ms()))
            except Exception:
                log.exception("watermark tick failed; trying again next tick")
                continue
            if changes:
                self._changed()

    def _changed(self) -> None:
        self._sender.wake.set()
        if self.on_change is not None:
            self.on_change()


class Worker(Protocol):
    """Runs a callable in the store's worker thread."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]:
        """Run `fn` in the worker thread."""
        ...
