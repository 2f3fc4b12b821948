"""Seeded stratified orders: every prefix within quota, seeded, and a partitioning hold-out."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.data.split import HOLDOUT_FRACTION, holdout_split, stratified_order

labels_strategy = st.lists(st.integers(0, 6), min_size=1, max_size=120)


@settings(max_examples=60, deadline=None)
@given(labels=labels_strategy, seed=st.integers(0, 2**32 - 1))
def test_every_prefix_of_the_order_is_within_quota(labels, seed):
    """After k items, class c holds floor or ceil of k·n_c/N (|count − k·n_c/N| < 1)."""
    y = np.asarray(labels)
    order = stratified_order(y, seed)
    assert sorted(order.tolist()) == list(range(len(y)))  # a permutation
    classes, counts = np.unique(y, return_counts=True)
    cum = np.zeros(len(classes))
    for k, i in enumerate(order, 1):
        cum[np.searchsorted(classes, y[i])] += 1
        assert np.all(np.abs(cum - k * counts / len(y)) < 1)


@settings(max_examples=30, deadline=None)
@given(labels=labels_strategy, seed=st.integers(0, 1000), size=st.integers(0, 200))
def test_a_sized_order_is_the_prefix_of_the_full_one_and_seeded(labels, seed, size):
    full = stratified_order(labels, seed)
    part = stratified_order(labels, seed, size)
    assert part.tolist() == full[:size].tolist()
    assert stratified_order(labels, seed).tolist() == full.tolist()


def test_other_seeds_give_other_orders_with_the_same_class_counts():
    y = np.repeat([0, 1, 2], [30, 20, 10])
    a, b = stratified_order(y, 0, 12), stratified_order(y, 1, 12)
    assert a.tolist() != b.tolist()
    assert np.bincount(y[a]).tolist() == np.bincount(y[b]).tolist() == [6, 4, 2]


@settings(max_examples=40, deadline=None)
@given(labels=labels_strategy, seed=st.integers(0, 1000))
def test_holdout_partitions_and_holds_out_each_class_within_quota(labels, seed):
    y = np.asarray(labels)
    keep, held = holdout_split(y, seed)
    assert sorted(keep.tolist() + held.tolist()) == list(range(len(y)))
    assert len(held) == round(HOLDOUT_FRACTION * len(y))
    for c in np.unique(y):
        n_c, h_c = int((y == c).sum()), int((y[held] == c).sum())
        assert abs(h_c - len(held) * n_c / len(y)) < 1
