"""`derived.VERSION` names the derivation of thresholds from learned histograms.

A restart takes back the thresholds kept in the checkpoint when the version they were
derived under is this engine's (`derived.py`). A change to what the derivation gives
for the same histograms must therefore change `VERSION`, or an upgrade would keep the
old thresholds until each home's next midnight. This test holds the derivation's
output on a fixed set of homes to the digest recorded for the current version.
"""

from __future__ import annotations

import hashlib

import numpy as np

from telecare.detect import Engine, derived, learning, stillness
from telecare.detect.columns import F_EFF_DAYS, I_ACTIVE, I_BED_T, NONE, fallback_thresholds
from telecare.model import HubSettings

# VERSION -> the digest of what it derives for `_homes`; on a change to the derivation,
# change VERSION and add its digest here (the old versions' stay, for the record)
DIGESTS = {1: "97fe0fc54aca0586"}
HOMES = 16


def _homes() -> Engine:
    """Sixteen homes with plausible learned histograms: from a day and a half to a month
    of history, two sets of night hours, half of them with a bed pad, a few sensor
    contexts each."""
    rng = np.random.default_rng(20261208)
    engine = Engine.starting_at(0)
    night = (HubSettings(), HubSettings(night_start="21:00", night_end="06:30"))
    for i in range(HOMES):
        engine.configure(f"H-d-{i}", tz="UTC", settings=night[i % 2])
    det = engine.ambient
    edges = learning.EDGES_MIN
    for row in range(HOMES):
        days = float(rng.choice([1.5, 3.0, 6.0, 10.0, 20.0, 30.0]))
        det.ints[row, I_ACTIVE] = 1
        det.ints[row, I_BED_T] = row % 3 != 0
        det.floats[row, F_EFF_DAYS] = days
        for hour in range(24):
            daytime = 8 <= hour < 21
            per_day = rng.uniform(2.0, 8.0) if daytime else rng.uniform(0.0, 0.6)
            gaps = rng.exponential(rng.uniform(4.0, 20.0), size=round(per_day * days))
            gaps += rng.binomial(1, 0.03, size=gaps.size) * rng.uniform(30.0, 150.0, gaps.size)
            bins = np.clip(np.searchsorted(edges, gaps) - 1, 0, learning.BINS - 1)
            det.gap_hist[row, hour] = np.bincount(bins, minlength=learning.BINS)
            det.gap_days[row, hour] = days
        # days that end at 17-19 in a quarter of the homes (sensors that miss the evening)
        det.day_ends[row, (17 if row % 4 == 1 else 20) + row % 3] = 0.8 * days
        for context in range(4):
            gaps = rng.exponential(rng.uniform(10.0, 60.0), size=int(rng.integers(20, 600)))
            bins = np.clip(np.searchsorted(edges, gaps) - 1, 0, learning.BINS - 1)
            det.ctx_hist[row, context] = np.bincount(bins, minlength=learning.BINS)
    return engine


def _digest(engine: Engine) -> str:
    det = engine.ambient
    for row in range(HOMES):
        stillness.recompute_thresholds(det._load(row))
    digest = hashlib.sha256()
    for array in (det.thresholds, det.fallback, det.learned, det.ctx_thr):
        digest.update(np.ascontiguousarray(array[:HOMES]).tobytes())
    return digest.hexdigest()[:16]


def test_the_homes_cover_what_the_derivation_decides() -> None:
    """(The digest means something: hours learned and not, sensor contexts learned and
    not, the learning-home limits and fixed timers moved by an early evening.)"""
    engine = _homes()
    _digest(engine)
    det = engine.ambient
    assert 0.2 < det.learned[:HOMES].mean() < 0.9
    ctx_learned = det.ctx_thr[:HOMES, :4] != NONE
    assert 0 < ctx_learned.sum() < ctx_learned.size
    fallback = np.asarray([fallback_thresholds(HubSettings()) if row % 2 == 0 else
                           fallback_thresholds(HubSettings(night_start="21:00",
                                                           night_end="06:30"))
                           for row in range(HOMES)])
    assert (det.fallback[:HOMES] != fallback).any()  # an evening learned as the day's end
    unlearned = ~det.learned[:HOMES]
    assert (det.thresholds[:HOMES][unlearned] != det.fallback[:HOMES][unlearned]).any()


def test_the_derivation_is_the_one_its_version_names() -> None:
    digest = _digest(_homes())
    assert DIGESTS.get(derived.VERSION) == digest, (
        f"the thresholds derived from the same histograms changed (digest {digest}): "
        "change derived.VERSION and record its digest in DIGESTS")
