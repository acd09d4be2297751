"""Per-hub replay window over `seq` (PROTOCOL.md, "seq: dedup, order and replay")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

WINDOW: Final = 1024
MAX_JUMP: Final = 1_000_000
_MASK: Final = (1 << WINDOW) - 1


class SeqVerdict(Enum):
    """What the window says about one `seq`."""

    NEW = "new"
    DUPLICATE = "duplicate"
    STALE = "stale"
    JUMP = "seq_jump"


@dataclass(slots=True)
class SeqWindow:
    """The highest `seq` seen and which of the 1024 below it were seen.

    Bit i of `seen` stands for `high - 1 - i`. `high` is -1 before any event.
    """

    high: int = -1
    seen: int = 0

    def check(self, seq: int) -> SeqVerdict:
        """Classify `seq` without changing the window."""
        if self.high < 0 or seq > self.high:
            if self.high >= 0 and seq - self.high > MAX_JUMP:
                return SeqVerdict.JUMP
            return SeqVerdict.NEW
        if seq == self.high:
            return SeqVerdict.DUPLICATE
        offset = self.high - 1 - seq
        if offset >= WINDOW:
            return SeqVerdict.STALE
        return SeqVerdict.DUPLICATE if self.seen >> offset & 1 else SeqVerdict.NEW

    def mark(self, seq: int) -> None:
        """Record `seq` as seen (call only after `check` said NEW)."""
        if seq > self.high:
            if self.high >= 0:
                shift = seq - self.high
                # the old high becomes bit shift-1; everything else moves up with it
                self.seen = ((self.seen << shift) | (1 << (shift - 1))) & _MASK
            self.high = seq
        else:
            self.seen |= 1 << (self.high - 1 - seq)

    def to_bytes(self) -> bytes:
        """Serialise the seen-bitmap for the store."""
        return self.seen.to_bytes(WINDOW // 8, "little")

    @classmethod
    def restore(cls, high: int, seen: bytes) -> SeqWindow:
        """Rebuild a window from what the store kept."""
        return cls(high=high, seen=int.from_bytes(seen, "little"))
