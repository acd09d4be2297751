"""A home's derived thresholds, kept in its checkpoint so that a restart need not derive
them again.

`stillness.recompute_thresholds` derives a home's hourly and per-sensor thresholds, and
its fixed timers' evening, from what it has learned: at each local midnight, and when
its night hours or fixed timer change. That takes about 1 ms a home, which for a large
estate held a restart's start-up for minutes while alarms waited. The checkpoint keeps
what was derived (800 bytes a home, beside its 17 KB of histograms) with the settings
it was derived under; a restored home whose settings are still those takes them back
as they were, as if the service had not stopped. One whose settings changed meanwhile
is derived again.

`VERSION` names the derivation: change it with any change to what `recompute_thresholds`
gives for the same histograms, and a restart after the upgrade derives every home anew
(until then, until each home's next midnight, the old thresholds would hold).
`tests/test_detect_derived.py` holds the derivation on a fixed set of homes to the digest
recorded for the version, so such a change fails there until the version is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from telecare.detect import learning
from telecare.detect.columns import R_FALLBACK_MS, R_NIGHT_END, R_NIGHT_START

if TYPE_CHECKING:
    from telecare.detect.ambient import AmbientDetectors

VERSION: Final = 1


def settings_key(det: AmbientDetectors, row: int) -> tuple[int, int, int, int]:
    """What a home's derivation depends on beyond what it learned: its night hours and
    fixed timer (the night floor's hours follow the night hours)."""
    rules = det.rules[row]
    return (VERSION, int(rules[R_NIGHT_START]), int(rules[R_NIGHT_END]),
            int(rules[R_FALLBACK_MS]))


@dataclass(frozen=True)
class SavedThresholds:
    """One home's thresholds as derived before a checkpoint, and under which settings."""

    key: tuple[int, ...]
    thresholds: np.ndarray
    fallback: np.ndarray
    learned: np.ndarray
    ctx_thr: np.ndarray

    @classmethod
    def of(cls, det: AmbientDetectors, row: int) -> SavedThresholds:
        return cls(settings_key(det, row), det.thresholds[row], det.fallback[row],
                   det.learned[row], det.ctx_thr[row])

    def encode(self) -> dict[str, Any]:
        return {
            "key": list(self.key),
            "thresholds": self.thresholds.astype(np.int64).tobytes(),
            "fallback": self.fallback.astype(np.int64).tobytes(),
            "learned": self.learned.astype(np.bool_).tobytes(),
            "ctx_thr": self.ctx_thr.astype(np.int64).tobytes(),
        }

    @classmethod
    def decode(cls, state: dict[str, Any] | None) -> SavedThresholds | None:
        """The saved thresholds, or None where there are none or their shape is not this
        engine's (a checkpoint from before, or from an engine with other contexts)."""
        if not state:
            return None
        saved = cls(
            tuple(int(k) for k in state["key"]),
            np.frombuffer(state["thresholds"], np.int64),
            np.frombuffer(state["fallback"], np.int64),
            np.frombuffer(state["learned"], np.bool_),
            np.frombuffer(state["ctx_thr"], np.int64),
        )
        shapes = (saved.thresholds.size, saved.fallback.size, saved.learned.size,
                  saved.ctx_thr.size)
        return saved if shapes == (24, 24, 24, learning.CONTEXTS) else None

    def put_back(self, det: AmbientDetectors, row: int) -> bool:
        """Put the thresholds back in the home's row if it still has the settings they
        were derived under; say whether it had."""
        if self.key != settings_key(det, row):
            return False
        det.thresholds[row] = self.thresholds
        det.fallback[row] = self.fallback
        det.learned[row] = self.learned
        det.ctx_thr[row] = self.ctx_thr
        return True
