"""Seed derivation: the arithmetic every documented figure depends on, pinned."""

from __future__ import annotations

from semdistill.utils.seeds import SEED_STRIDE, derive_seed, derive_seeds


def test_derive_seed_is_seed_times_the_prime_stride_plus_offset():
    assert SEED_STRIDE == 1_000_003
    assert derive_seed(0, 17) == 17
    assert derive_seed(3, 17) == 3 * 1_000_003 + 17
    assert derive_seed(2, 7_000_000, modulo=2**62) == (2 * 1_000_003 + 7_000_000) % 2**62


def test_derived_seeds_are_consecutive_and_seeds_do_not_overlap_below_the_stride():
    assert derive_seeds(1, 400_000, 3) == [1_400_003, 1_400_004, 1_400_005]
    a = set(derive_seeds(0, 0, 1_000))
    b = set(derive_seeds(1, 0, 1_000))
    assert not a & b


def test_modulo_folds_large_seeds_into_the_generator_range():
    big = derive_seed(2**62, 5, modulo=2**63)
    assert 0 <= big < 2**63
