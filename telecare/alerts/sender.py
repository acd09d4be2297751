"""The outbox sender: delivers due messages, records each result, retries, falls back.

A message is marked sent only after its channel accepted it, in a transaction
of its own; a crash in between sends it again with the same idempotency key,
which is the only duplicate this design allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Final, TypeVar

from telecare.alerts.channels import Channel, Outgoing, PermanentError, RetryableError
from telecare.people.directory import Directory
from telecare.store.alerting import OutboxRow

log = logging.getLogger(__name__)

BATCH: Final = 50
POLL_S: Final = 0.25
MAX_TRIES: Final = 12
BACKOFF_FIRST_S: Final = 2.0
BACKOFF_MAX_S: Final = 300.0
T = TypeVar("T")
Worker = Callable[[Callable[[], T]], Awaitable[T]]


def backoff_ms(tries: int) -> int:
    """Wait before try number `tries + 1`: doubling from 2 s, at most 5 min."""
    return int(min(BACKOFF_FIRST_S * 2 ** max(tries - 1, 0), BACKOFF_MAX_S) * 1000)


@dataclass
class OutboxSender:
    """Polls the outbox and sends; all store work goes through the store's worker."""

    directory: Directory
    channels: Mapping[str, Channel]
    in_worker: Worker  # type: ignore[type-arg]
    clock: Callable[[], int]
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _in_flight: set[int] = field(default_factory=set)

    async def run(self) -> None:
        """Send until cancelled."""
        while True:
            rows: list[tuple[OutboxRow, str | None, int]] = await self.in_worker(self._claim)
            if rows:
                await asyncio.gather(*(self._deliver(row, to, prio) for row, to, prio in rows))
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL_S)

    def _claim(self) -> list[tuple[OutboxRow, str | None, int]]:
        """Due messages with their decrypted address (None: the contact has gone)."""
        store = self.directory.store
        out = []
        for row in store.alerting.due_messages(self.clock(), BATCH):
            if row.id in self._in_flight:
                continue
            contact = self.directory.contact(row.recipient)
            alert = store.alert(row.alert_id)
            to = contact.address_for(row.channel) if contact else None
            out.append((row, to or None, alert.priority if alert else 5))
            self._in_flight.add(row.id)
        return out

    async def _deliver(self, row: OutboxRow, to: str | None, priority: int) -> None:
        try:
            if to is None:
                raise PermanentError(f"no {row.channel} address for {row.recipient}")
            channel = self.channels.get(row.channel)
            if channel is None:
                raise PermanentError(f"no {row.channel} channel configured")
            ref = await channel.send(Outgoing(row.key, to, row.subject, row.body))
        except RetryableError as exc:
            await self.in_worker(partial(self._failed, row, str(exc), priority, retry=True))
        except PermanentError as exc:
            await self.in_worker(partial(self._failed, row, str(exc), priority, retry=False))
        except Exception as exc:  # a fault of ours: keep the message, try again later
            log.exception("sending outbox message %s failed", row.id)
            await self.in_worker(partial(self._failed, row, repr(exc), priority, retry=True))
        else:
            await self.in_worker(partial(self._sent, row, ref))
        finally:
            self._in_flight.discard(row.id)

    def _sent(self, row: OutboxRow, ref: str) -> None:
        store = self.directory.store
        with store.transaction():
            store.alerting.update_message(row.id, {
                "state": "sent", "sent_at": self.clock(), "provider_ref": ref,
                "tries": row.tries + 1,
            })

    def _failed(self, row: OutboxRow, error: str, priority: int, *, retry: bool) -> None:
        store = self.directory.store
        now = self.clock()
        tries = row.tries + 1
        give_up = not retry or tries >= MAX_TRIES
        log.warning("message %s via %s failed (try %d): %s", row.id, row.channel, tries, error)
        with store.transaction():
            store.alerting.update_message(row.id, {
                "state": "failed" if give_up else "pending", "tries": tries,
                "last_error": error[:500], "due_at": now + backoff_ms(tries),
            })
            if priority == 1 and row.fallback_of is None and row.tries == 0:
                self._fall_back(row, now)

    def _fall_back(self, row: OutboxRow, now: int) -> None:
        """Life safety: on the first failure, also send over the contact's next channel."""
        store = self.directory.store
        contact = store.people.contact(row.recipient)
        if contact is None:
            return
        channels = [c for c in contact[4].split(",") if c and c != row.channel]
        if not channels:
            return
        channel = channels[0]
        key = row.key.rsplit(":", 2)[0] + f":{channel}:{row.attempt}"
        store.alerting.enqueue({
            "key": key, "alert_id": row.alert_id, "step": row.step, "recipient": row.recipient,
            "channel": channel, "attempt": row.attempt, "kind": row.kind, "subject": row.subject,
            "body": row.body, "state": "pending", "created_at": now, "due_at": now,
            "fallback_of": row.id, "token": None,
        })
        store.audit(now, "sender", "outbox.fallback", f"alert:{row.alert_id}",
                    f"message {row.id} {row.channel} -> {channel}")
