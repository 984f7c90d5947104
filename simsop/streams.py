"""Named random streams: one independent numpy ``Generator`` per random source.

A stream is derived without state from ``(seed, replication, source name)`` as
``SeedSequence(seed, spawn_key=(replication, h(name)))`` where ``h`` is a stable 64-bit hash of the name.
So the draws of a source depend only on those three values: not on the policy, not on the order in which
events happen, not on which other sources exist, and not on the process that runs the replication.
That is what makes common random numbers work.
"""

from __future__ import annotations

import hashlib

import numpy as np


def name_key(name: str) -> int:
    """A stable (process-independent, unlike ``hash``) 63-bit integer for a source name."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big") >> 1


class Streams:
    """The random streams of one replication.

    Args:
        seed: the experiment's seed (a non-negative integer).
        replication: the replication index; replication ``i`` of two policies sees the same draws.
    """

    def __init__(self, seed: int, replication: int) -> None:
        if seed < 0 or replication < 0:
            raise ValueError(f"seed and replication must be >= 0 (got {seed}, {replication})")
        self.seed = seed
        self.replication = replication
        self._cache: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(self.replication, name_key(name)))

    def rng(self, name: str) -> np.random.Generator:
        """The generator of source ``name``; asking twice returns the same (advancing) generator."""
        g = self._cache.get(name)
        if g is None:
            g = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._cache[name] = g
        return g

    def fresh(self, name: str) -> np.random.Generator:
        """A new generator of source ``name`` at its first draw, independent of earlier use."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
