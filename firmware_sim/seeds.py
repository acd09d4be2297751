"""Seeded random streams, one per home and purpose, so that nothing depends on run order."""

from __future__ import annotations

import hashlib
import random
import zlib

import numpy as np


def home_rng(seed: int, hub_id: str, *stream: int) -> np.random.Generator:
    """Return the generator for one home and one stream (habits, a given day, batteries...)."""
    # Keyed by hub id rather than position, so a home's days do not change when
    # more homes are simulated or the homes are listed in another order.
    return np.random.default_rng([seed, zlib.crc32(hub_id.encode()), *stream])


def home_random(seed: int, hub_id: str, *stream: int) -> random.Random:
    """Return a fast scalar generator for one home and one stream (a day, its incidents...)."""
    # random.Random draws scalars several times faster than numpy's Generator,
    # and a resident's day is thousands of scalar draws: 100k homes need that.
    key = "|".join((str(seed), hub_id, *map(str, stream))).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))
