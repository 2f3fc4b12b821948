"""Seeded, stratified orders of labelled samples (pure functions of the labels and a seed).

:func:`stratified_order` returns sample indices in an order whose *every prefix* is stratified:
after ``k`` items, class ``c`` (``n_c`` of the ``N`` samples) holds ``floor`` or ``ceil`` of
``k · n_c / N`` of them. The order is the quota method of apportionment (Balinski and Young,
1975), which is house-monotone and stays within quota at every size: the next item goes to the
class with the largest ``n_c / (taken_c + 1)`` among those still below their upper quota
``taken_c < k · n_c / N``; equal priorities are broken by a seeded draw. Within a class, items
come in a seeded random order. So ``order[:m]`` is a stratified subset of size ``m``, and the
first ``n`` items of that subset (a training fraction) are stratified too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: share of every class that a seeded held-out split keeps for testing (the common 80/20 split)
HOLDOUT_FRACTION = 0.2


def stratified_order(labels: Sequence[int] | np.ndarray, seed: int,
                     size: int | None = None) -> np.ndarray:
    """The first ``size`` (default: all) positions of ``labels`` in a stratified seeded order.

    Args:
        labels: ``(N,)`` integer class of each sample.
        seed: any int ≥ 0; the same (labels, seed) always gives the same order.
        size: how many positions to return (capped at ``N``).

    Returns ``(min(size, N),)`` int64 positions into ``labels``, without repeats.
    """
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    n = len(y)
    size = n if size is None else max(0, min(int(size), n))
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    pools = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(counts))]
    tie = rng.random(len(counts))
    taken = np.zeros(len(counts), dtype=np.int64)
    out = np.empty(size, dtype=np.int64)
    for k in range(1, size + 1):
        priority = np.where(taken * n < k * counts, counts / (taken + 1), -1.0)
        best = np.flatnonzero(priority == priority.max())
        c = best[np.argmax(tie[best])]
        out[k - 1] = pools[c][taken[c]]
        taken[c] += 1
    return out


def holdout_split(labels: Sequence[int] | np.ndarray, seed: int,
                  fraction: float = HOLDOUT_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """A seeded stratified (train, held-out) split of ``labels``' positions.

    The held-out part is the first ``round(fraction · N)`` of :func:`stratified_order`, so each
    class gives ``floor`` or ``ceil`` of ``fraction · n_c`` samples; the rest (in index order) is
    the training part. Returns two int64 position arrays that partition ``range(N)``.
    """
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    held = stratified_order(y, seed, round(fraction * len(y)))
    keep = np.ones(len(y), dtype=bool)
    keep[held] = False
    return np.flatnonzero(keep), np.sort(held)
