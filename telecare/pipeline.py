"""One batch, one transaction: validate -> store -> detect -> alerts -> commit.

Synchronous on purpose: the service runs it in a single worker thread, so the
registry caches, replay windows and detector state have one owner, and the
event loop never waits on an fsync. What a batch returns (acks to publish,
PUBACKs to send) is only acted on after its commit.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import msgspec

from telecare.alerts.apply import AlertBook, AlertChanges
from telecare.detect import Decision, Engine
from telecare.ingest.seqwindow import SeqWindow
from telecare.ingest.validate import (
    Duplicate,
    RawMessage,
    Rejected,
    RejectReason,
    StatusChange,
    Verdict,
    classify,
)
from telecare.metrics import Metrics
from telecare.model import AlertType, Device, Event, Hub, HubSettings
from telecare.protocol import Channel
from telecare.store import DeadLetterRow, Store

log = logging.getLogger(__name__)

MAX_DEAD_LETTER_BYTES: Final = 1024 * 1024
# detector state is checkpointed every this many ticks, and in the same transaction as
# any alert a tick raises (so a restart never raises it again)
CHECKPOINT_EVERY_TICKS: Final = 60
# homes whose timers one tick runs, at most (earliest first): at a local midnight every
# home in the zone ends its day (about 1 ms each: learning, thresholds, the day's tests),
# and alarms wait for the tick in progress; the rest run on the next ticks
TIMER_HOMES_PER_TICK: Final = 1000


@dataclass
class BatchResult:
    """What a committed batch asks the caller to do next."""

    acks: list[tuple[str, int]] = field(default_factory=list)
    alerts: AlertChanges = field(default_factory=AlertChanges)


class Pipeline:
    """Owns the registry caches, replay windows and the detection engine."""

    def __init__(
        self, store: Store, engine: Engine, metrics: Metrics, book: AlertBook | None = None
    ) -> None:
        self.store = store
        self.book = book if book is not None else AlertBook()
        self.engine = engine
        self.metrics = metrics
        self._hubs: dict[str, Hub] = {}
        self._devices: dict[tuple[str, str], Device | None] = {}
        self._windows: dict[str, SeqWindow] = {}
        self._touched: set[str] = set()
        self._registry_version = -1
        self._settings: dict[str, HubSettings] = {}
        self._ticks = 0

    # Registry protocol for validation -------------------------------------------

    def hub(self, hub_id: str) -> Hub | None:
        """Return a registered hub from the cache."""
        return self._hubs.get(hub_id)

    def device(self, hub_id: str, device_id: str) -> Device | None:
        """Return a registered device, caching the answer until the registry changes."""
        key = (hub_id, device_id)
        if key not in self._devices:
            self._devices[key] = self.store.device(hub_id, device_id)
        return self._devices[key]

    def window(self, hub_id: str) -> SeqWindow:
        """Return the hub's replay window, loading it from the store on first use."""
        window = self._windows.get(hub_id)
        if window is None:
            hub = self._hubs[hub_id]
            stored = self.store.load_window(hub_id, hub.seq_epoch)
            window = SeqWindow.restore(*stored) if stored else SeqWindow()
            self._windows[hub_id] = window
        self._touched.add(hub_id)
        return window

    # lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Restore detector state, load the registry and which hubs have a silence alert."""
        self.engine.restore(self.store.load_checkpoints(), derive=False)
        self._refresh_registry()  # configures every home: its thresholds put back or derived
        self.engine.derive_restored()  # and those of homes no longer in the registry
        for hub_id in self.store.open_alert_hubs(AlertType.HUB_SILENT):
            self.engine.supervision.mark_silent(hub_id)

    def process(self, messages: list[RawMessage]) -> BatchResult:
        """Validate, store and detect one batch in one transaction."""
        result = BatchResult()
        events: list[Event] = []
        dead: list[DeadLetterRow] = []
        reasons: Counter[str] = Counter()
        duplicates = 0
        decisions: list[Decision] = []
        try:
            with self.store.transaction():
                self._refresh_registry()
                for msg in messages:
                    verdict = _classify_safely(msg, self)
                    if isinstance(verdict, Event):
                        events.append(verdict)
                        if verdict.channel == Channel.ALARM:
                            result.acks.append((verdict.hub_id, verdict.seq))
                    elif isinstance(verdict, Duplicate):
                        duplicates += 1
                        if verdict.channel == Channel.ALARM:
                            result.acks.append((verdict.hub_id, verdict.seq))
                    elif isinstance(verdict, StatusChange):
                        decisions.extend(self._status(verdict))
                    else:
                        dead.append(_dead_letter_row(verdict))
                        reasons[verdict.reason] += 1
                self.store.insert_events(events)
                self.store.insert_dead_letters(dead)
                decisions.extend(self.engine.observe(events))
                now = max((m.received_at for m in messages), default=0)
                result.alerts = self.book.apply(self.store, decisions, now)
                self._save_windows()
        except Exception:
            self._recover()
            raise
        self._count(events, duplicates, reasons, result)
        return result

    def tick(self, watermark: int) -> AlertChanges:
        """Advance event time to the watermark and apply the timers that expired."""
        try:
            with self.store.transaction():
                self._refresh_registry()
                decisions = self.engine.advance(watermark, TIMER_HOMES_PER_TICK)
                changes = self.book.apply(self.store, decisions, watermark)
                self._ticks += 1
                # and once a midnight's worth of homes have learned (their learned
                # state is large: written a tick's homes at a time, not all at once)
                if (decisions or self._ticks % CHECKPOINT_EVERY_TICKS == 0
                        or self.engine.unsaved_learning >= TIMER_HOMES_PER_TICK):
                    self._save_checkpoint(watermark)
                changes.queued = self.book.advance(self.store, watermark)
        except Exception:
            self._recover()
            raise
        for _, alert_type in changes.opened:
            self.metrics.alerts_raised.labels(alert_type).inc()
        return changes

    def checkpoint(self, at: int) -> None:
        """Save the detector state that changed since the last checkpoint (on a clean stop)."""
        with self.store.transaction():
            self._save_checkpoint(at)

    # internals -------------------------------------------------------------------

    def _save_checkpoint(self, at: int) -> None:
        self.store.save_checkpoints((key, at, blob) for key, blob in self.engine.checkpoint())

    def _status(self, status: StatusChange) -> list[Decision]:
        self.store.set_hub_status(status.hub_id, status.online, status.received_at)
        if status.online:
            return self.engine.hub_online(status.hub_id, status.received_at)
        if status.retained:
            # an offline stored before we (re)subscribed: the hub still gets its grace from
            # our start to be heard, as after any outage of ours (supervision times it)
            return []
        return self.engine.hub_offline(status.hub_id, status.received_at)

    def _refresh_registry(self) -> None:
        version = self.store.registry_version()
        if version == self._registry_version:
            return
        hubs = {hub.hub_id: hub for hub in self.store.hubs()}
        settings = _hub_settings(self.store.hub_settings())
        for hub_id, hub in hubs.items():
            old = self._hubs.get(hub_id)
            if old is None or old.seq_epoch != hub.seq_epoch:
                self._windows.pop(hub_id, None)  # reset-seq: start a fresh window
            if old != hub:
                self.engine.supervision.watch(hub_id, hub.heartbeat_s, hub.registered_at)
            rules = settings.get(hub_id, HubSettings())
            if old is None or old.tz != hub.tz or self._settings.get(hub_id) != rules:
                self.engine.configure(hub_id, tz=hub.tz, settings=rules)
        for device in self.store.all_devices():
            self.engine.register_device(device.hub_id, device.device_id, device.type,
                                        device.location)
        self._settings = settings
        for hub_id in set(self._hubs) - set(hubs):
            self.engine.supervision.forget(hub_id)
        self._hubs = hubs
        self._devices.clear()
        self._registry_version = version

    def _save_windows(self) -> None:
        rows = [
            (hub_id, self._hubs[hub_id].seq_epoch, w.high, w.to_bytes())
            for hub_id in self._touched
            if (w := self._windows.get(hub_id)) is not None and w.high >= 0
        ]
        self.store.save_windows(rows)
        self._touched.clear()

    def _recover(self) -> None:
        """After a failed transaction, drop what memory holds beyond the store."""
        log.exception("batch transaction failed; reloading state from the store")
        self._windows.clear()
        self._touched.clear()
        self._registry_version = -1
        self._hubs = {}
        self.engine = Engine.starting_at(self.engine.supervision.resumed_at)
        self.start()

    def _count(
        self, events: list[Event], duplicates: int, reasons: Counter[str], result: BatchResult
    ) -> None:
        m = self.metrics
        m.events_ingested.inc(len(events))
        m.events_duplicate.inc(duplicates)
        m.events_misrouted.inc(sum(1 for e in events if e.misrouted))
        for reason, count in reasons.items():
            m.events_rejected.labels(reason).inc(count)
        for _, alert_type in result.alerts.opened:
            m.alerts_raised.labels(alert_type).inc()
        m.batch_size.set(len(events) + duplicates + sum(reasons.values()))


def _hub_settings(stored: dict[str, str]) -> dict[str, HubSettings]:
    out = {}
    for hub_id, text in stored.items():
        try:
            out[hub_id] = msgspec.json.decode(text, type=HubSettings)
        except msgspec.DecodeError:
            log.exception("hub %s has unreadable detection settings; using defaults", hub_id)
    return out


def _classify_safely(msg: RawMessage, registry: Pipeline) -> Verdict:
    # a fault in our own code must cost one dead letter, never the consumer
    try:
        return classify(msg, registry)
    except Exception as exc:
        log.exception("validation failed on a message; dead-lettered")
        return Rejected(RejectReason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", msg)


def _dead_letter_row(r: Rejected) -> DeadLetterRow:
    payload = r.message.payload
    detail = r.detail
    if len(payload) > MAX_DEAD_LETTER_BYTES:
        detail = f"{detail} (payload of {len(payload)} bytes kept to its first 1 MiB)"
        payload = payload[:MAX_DEAD_LETTER_BYTES]
    return (r.message.received_at, r.message.topic, r.reason.value, detail, r.hub_id, r.seq,
            payload)
