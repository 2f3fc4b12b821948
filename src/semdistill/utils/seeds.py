"""Seed derivation: one run seed → independent streams for data order, views, prompts, channels.

Every derived seed in the library is ``seed · 1_000_003 + offset`` (a prime stride, so the
offsets of one seed never reach the next seed's), optionally folded into a generator's range.
Changing this arithmetic changes every documented figure: keep it.
"""

from __future__ import annotations

SEED_STRIDE = 1_000_003


def derive_seed(seed: int, offset: int = 0, modulo: int | None = None) -> int:
    """``seed · 1_000_003 + offset`` (then ``% modulo`` when given)."""
    out = seed * SEED_STRIDE + offset
    return out % modulo if modulo else out


def derive_seeds(seed: int, offset: int, n: int) -> list[int]:
    """``n`` consecutive derived seeds: ``derive_seed(seed, offset + i)`` for i < n."""
    return [derive_seed(seed, offset + i) for i in range(n)]
