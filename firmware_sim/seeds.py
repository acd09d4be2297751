"""Seeded random streams, one per home and purpose, so that nothing depends on run order."""

from __future__ import annotations

import zlib

import numpy as np


def home_rng(seed: int, hub_id: str, *stream: int) -> np.random.Generator:
    """Return the generator for one home and one stream (habits, a given day, batteries...)."""
    # Keyed by hub id rather than position, so a home's days do not change when
    # more homes are simulated or the homes are listed in another order.
    return np.random.default_rng([seed, zlib.crc32(hub_id.encode()), *stream])
