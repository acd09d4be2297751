"""A sensor context's own threshold: fitted from its hundredth gap, on its own gaps alone."""

from __future__ import annotations

import numpy as np

from telecare.detect import learning


def _gaps(n: int, mean_min: float, seed: int) -> np.ndarray:
    """A [BINS] histogram of n gaps, exponential past 5 min."""
    rng = np.random.default_rng(seed)
    row = np.zeros(learning.BINS)
    for gap in 5.0 + rng.exponential(mean_min, n):
        row[learning.gap_bin(int(gap * learning.MINUTE_MS))] += 1.0
    return row


def _fit_alone(row: np.ndarray, days: float) -> float:
    threshold, _, _ = learning.tail_thresholds(
        row[np.newaxis], days, learning.CONTEXT_FALSE_PER_DAY, top_k=True,
        confidence=learning.CONTEXT_CONFIDENCE)
    return float(threshold[0])


def test_a_context_is_learned_from_its_hundredth_gap_by_its_own_tail() -> None:
    counts = np.zeros((learning.CONTEXTS, learning.BINS))
    counts[0] = _gaps(100, 8.0, seed=1)  # after the hall PIR: minutes
    counts[1] = _gaps(100, 8.0, seed=2) * 0.999  # decayed just below a hundred gaps
    counts[7] = _gaps(140, 40.0, seed=3)  # after the lounge PIR: longer
    threshold, learned = learning.context_thresholds_min(counts, 10.0)
    assert learned.tolist() == [i in (0, 7) for i in range(learning.CONTEXTS)]
    assert threshold[0] == _fit_alone(counts[0], 10.0)
    assert threshold[7] == _fit_alone(counts[7], 10.0)
    assert threshold[0] < threshold[7]
    # the same gaps seen over too few days teach nothing yet
    assert not learning.context_thresholds_min(counts, learning.MIN_CONTEXT_DAYS - 0.1)[1].any()
