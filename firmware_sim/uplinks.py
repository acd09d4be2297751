"""How live hubs reach the broker: a connection each, or a shared pool; statuses, acks, returns.

A hub with a connection of its own connects with its id as client id and user
name, its password if given, and a will that says `offline` (retained). Pooled
hubs share a few connections, and one more reads every hub's acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final

import msgspec

from firmware_sim.homes import HomeSpec
from firmware_sim.hub import HubStream
from firmware_sim.link import OFFLINE, ONLINE, HubTopics
from firmware_sim.network import HubClock
from firmware_sim.wire import Backlog, MqttClient, MqttError
from telecare.protocol import AckPayload, subscription_filter

_CONNECTS_AT_ONCE: Final = 200
_FAILURES: Final = (OSError, MqttError, TimeoutError, ConnectionError)

OnPublish = Callable[[str, bytes], None]


def channel_of_topic(topic: bytes) -> str:
    """The channel a topic ends with."""
    return topic.rsplit(b"/", 1)[1].decode()


class LiveHub:
    """One hub's live state: its seq, its unacknowledged alarms, what it holds while down."""

    __slots__ = ("client", "clock", "held", "home", "index", "item", "seq", "stream", "topics",
                 "unacked", "up")

    def __init__(self, index: int, home: HomeSpec, first_seq: int, clock: HubClock) -> None:
        self.index = index
        self.home = home
        self.topics = HubTopics(home.hub_id)
        self.stream: HubStream | None = None
        self.item: tuple[float, int, float | None, float | None] | None = None
        self.seq = first_seq
        self.unacked: dict[int, bytes] = {}
        self.up = True
        self.held: list[tuple[bytes, bytes, str]] = []
        self.client: MqttClient | None = None
        self.clock = clock


class Uplinks:
    """The connections of one live run. `on_back(hub)` runs when a hub's link is back."""

    def __init__(
        self,
        hubs: Sequence[LiveHub],
        *,
        host: str,
        port: int,
        pool: int | None,
        passwords: Mapping[str, str],
        keep_alive: int,
        backlog: Backlog,
        on_back: Callable[[LiveHub], None],
        on_publish: OnPublish | None = None,
    ) -> None:
        self.hubs = hubs
        self.host, self.port = host, port
        self.pool_size = pool
        self.passwords = passwords
        self.keep_alive = keep_alive
        self.backlog = backlog
        self.on_back = on_back
        self.on_publish = on_publish
        self.published: Counter[str] = Counter()
        self.acks_received = 0
        self._by_id = {hub.home.hub_id: hub for hub in hubs}
        self._pool: list[MqttClient] = []
        self._acks: MqttClient | None = None
        self._tag = f"firmware-sim-{os.getpid()}-{int(time.time()) % 100000}"
        self._dirty: set[MqttClient] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- publishing ------------------------------------------------------------------------

    def client_for(self, hub: LiveHub) -> MqttClient | None:
        """The connection a hub publishes through (None while its own is down)."""
        if self.pool_size is None:
            return hub.client
        return self._pool[hub.index % len(self._pool)] if self._pool else None

    def send(self, client: MqttClient, topic: bytes, payload: bytes, channel: str, *,
             retain: bool = False) -> None:
        """Publish at QoS 1 through a connection (written at the next flush)."""
        client.publish(topic, payload, retain=retain)
        self._dirty.add(client)
        self.published[channel] += 1
        if self.on_publish is not None:
            self.on_publish(topic.decode(), payload)

    def flush(self) -> None:
        """Write what every connection has to send."""
        for client in self._dirty:
            client.flush()
        self._dirty.clear()

    # -- connecting ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect every hub (or the pool), announce them online, and wait until done."""
        if self.pool_size is None:
            gate = asyncio.Semaphore(_CONNECTS_AT_ONCE)

            async def one(hub: LiveHub) -> None:
                async with gate:
                    await self._connect_hub(hub)

            try:
                async with asyncio.TaskGroup() as tg:
                    for hub in self.hubs:
                        tg.create_task(one(hub), name=f"connect-{hub.home.hub_id}")
            except* _FAILURES as group:
                waiting = [h.home.hub_id for h in self.hubs if h.client is None]
                raise ConnectionError(
                    f"{len(waiting)} hubs did not connect ({group.exceptions[0]}): {waiting[:5]}"
                ) from None
            return
        for k in range(self.pool_size):
            self._pool.append(await self._connect_shared(k))
        self._acks = await self._connect_shared(-1)
        for hub in self.hubs:
            self.send(self._pool[hub.index % len(self._pool)], hub.topics.status, ONLINE,
                      "status", retain=True)
            if self.backlog.full:
                self.flush()
                await self.backlog.drained.wait()
        self.flush()

    async def _connect_hub(self, hub: LiveHub) -> None:
        hub_id = hub.home.hub_id
        client = MqttClient(
            hub_id, backlog=self.backlog, username=hub_id, password=self.passwords.get(hub_id),
            keep_alive=self.keep_alive, will=(hub.topics.status, OFFLINE),
            on_message=lambda _topic, payload: self._acked(hub, payload),
            on_lost=lambda lost: self._hub_lost(hub, lost),
        )
        await client.connect(self.host, self.port)
        await client.subscribe(hub.topics.ack.decode())
        hub.client = client
        self.send(client, hub.topics.status, ONLINE, "status", retain=True)
        client.flush()

    async def _connect_shared(self, k: int) -> MqttClient:
        """Connect pool connection k (-1: the one that reads every hub's acks)."""
        name = f"{self._tag}-{k}" if k >= 0 else f"{self._tag}-acks"
        client = MqttClient(name, backlog=self.backlog, keep_alive=self.keep_alive,
                            on_message=self._pooled_ack if k < 0 else None,
                            on_lost=lambda lost: self._shared_lost(k, lost))
        await client.connect(self.host, self.port)
        if k < 0:
            await client.subscribe(subscription_filter("ack"))
        return client

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        # Kept, and cancelled and awaited by close(): no task outlives the run.
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- a hub's link going and coming back ------------------------------------------------

    def link_down(self, hub: LiveHub) -> None:
        """The hub's link drops: its connection dies without a word, so its will fires."""
        hub.up = False
        if self.pool_size is None:
            client, hub.client = hub.client, None
            if client is not None:
                client.abort()  # no DISCONNECT: the broker publishes the hub's will
                hub.held[:0] = [(t, p, channel_of_topic(t)) for t, p, _ in client.unsent()]
        else:
            # A shared connection cannot die for one hub: say what its will would have.
            client = self._pool[hub.index % len(self._pool)]
            self.send(client, hub.topics.status, OFFLINE, "status", retain=True)

    def link_up(self, hub: LiveHub) -> None:
        """The hub's link is back: connect again (or say online), then on_back(hub)."""
        if self.pool_size is None:
            self._spawn(self._reconnect(hub), f"reconnect-{hub.home.hub_id}")
            return
        client = self._pool[hub.index % len(self._pool)]
        self.send(client, hub.topics.status, ONLINE, "status", retain=True)
        self.on_back(hub)

    async def _reconnect(self, hub: LiveHub, *, backoff_s: float = 0.0) -> None:
        delay = backoff_s
        while not self._stopping:
            if delay:
                await asyncio.sleep(delay)
            try:
                await self._connect_hub(hub)
            except _FAILURES:
                delay = min(max(delay * 2, 0.5), 30.0)
                continue
            self.on_back(hub)
            return

    def _hub_lost(self, hub: LiveHub, lost: MqttClient) -> None:
        if hub.client is lost and hub.up and not self._stopping:
            # The broker dropped us (not a simulated fault): come back, like a real hub.
            hub.client = None
            hub.up = False
            hub.held[:0] = [(t, p, channel_of_topic(t)) for t, p, _ in lost.unsent()]
            self._spawn(self._reconnect(hub, backoff_s=1.0), f"reconnect-{hub.home.hub_id}")

    def _shared_lost(self, k: int, lost: MqttClient) -> None:
        current = self._acks if k < 0 else self._pool[k]
        if current is lost and not self._stopping:
            self._spawn(self._reconnect_shared(k, lost), f"reconnect-pool-{k}")

    async def _reconnect_shared(self, k: int, lost: MqttClient) -> None:
        # Meanwhile hubs keep publishing into the lost connection's queues; what
        # the broker never acknowledged goes again on the new one.
        delay = 1.0
        while not self._stopping:
            await asyncio.sleep(delay)
            try:
                client = await self._connect_shared(k)
            except _FAILURES:
                delay = min(delay * 2, 30.0)
                continue
            if k < 0:
                self._acks = client
                return
            self._pool[k] = client
            for topic, payload, retain in lost.unsent():
                client.publish(topic, payload, retain=retain)
            client.flush()
            return

    # -- acks ------------------------------------------------------------------------------

    def _acked(self, hub: LiveHub, payload: bytes) -> None:
        try:
            ack = msgspec.json.decode(payload, type=AckPayload)
        except msgspec.DecodeError:
            return
        self.acks_received += 1
        hub.unacked.pop(ack.seq, None)

    def _pooled_ack(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        hub = self._by_id.get(parts[3]) if len(parts) == 5 else None
        if hub is not None:
            self._acked(hub, payload)

    # -- the end ---------------------------------------------------------------------------

    async def drain(self, timeout_s: float) -> None:
        """Wait (up to timeout_s) until the broker has acknowledged every publish."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.backlog.settled.wait(), timeout_s)

    async def close(self, drain_s: float) -> None:
        """Say every connected hub is offline, then disconnect cleanly (no will).

        Raises the first error a reconnecting hub met, once all is closed.
        """
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, Exception)]
        for hub in self.hubs:
            client = self.client_for(hub)
            if client is not None and not client.closed and hub.up:
                self.send(client, hub.topics.status, OFFLINE, "status", retain=True)
        self.flush()
        await self.drain(drain_s)
        clients = [*self._pool, *([self._acks] if self._acks else []),
                   *(h.client for h in self.hubs if h.client is not None)]
        for client in clients:
            client.disconnect()
        if errors:
            raise errors[0]
