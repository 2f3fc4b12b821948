"""The statistics of the claims: the 95% t-interval, the verdict from it, pairing by seed."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.utils.stats import holds, interval_verdict, paired, position, t_interval

finite = st.floats(-1e3, 1e3, allow_nan=False)
samples = st.lists(finite, min_size=2, max_size=12)
relations = st.sampled_from(["ge", "gt", "le", "lt"])


@given(samples)
def test_the_interval_contains_the_mean(values):
    lo, mean, hi = t_interval(values)
    assert lo - 1e-9 <= mean <= hi + 1e-9


@given(st.lists(finite, min_size=2, max_size=6).filter(lambda v: max(v) - min(v) > 1e-3))
def test_the_interval_shrinks_with_more_seeds(values):
    """The same values seen twice as often: the same mean, a strictly narrower interval."""
    lo1, m1, hi1 = t_interval(values)
    lo2, m2, hi2 = t_interval(values * 2)
    assert m2 == pytest.approx(m1) and hi2 - lo2 < hi1 - lo1


@settings(max_examples=200)
@given(finite, finite, finite, finite, relations)
def test_the_verdict_is_monotone_in_the_threshold(a, b, t1, t2, relation):
    """Moving the threshold against the claim never turns FAIL/INCONCLUSIVE into PASS."""
    lo, hi = min(a, b), max(a, b)
    order = {"PASS": 2, "INCONCLUSIVE": 1, "FAIL": 0}
    easy, hard = sorted((t1, t2)) if relation in ("ge", "gt") else sorted((t1, t2))[::-1]
    assert order[interval_verdict(lo, hi, easy, relation)] >= order[
        interval_verdict(lo, hi, hard, relation)]


def test_verdicts_at_the_threshold():
    assert interval_verdict(0.0, 0.2, 0.0, "ge") == "PASS"  # the bound may touch it (≥)
    assert interval_verdict(0.0, 0.2, 0.0, "gt") == "INCONCLUSIVE"
    assert interval_verdict(-0.3, -0.1, 0.0, "gt") == "FAIL"
    assert interval_verdict(0.1, 0.3, 1 / 3, "le") == "PASS"
    assert interval_verdict(0.2, 0.5, 1 / 3, "le") == "INCONCLUSIVE"
    assert interval_verdict(0.4, 0.5, 1 / 3, "le") == "FAIL"
    assert holds(1.0, 1.0, "ge") and not holds(1.0, 1.0, "lt")


def test_pairing_keeps_only_the_seeds_both_have_in_seed_order():
    a, b = {3: 0.9, 0: 0.8, 1: 0.7}, {1: 0.5, 0: 0.6, 7: 0.1}
    assert paired(a, b) == pytest.approx({0: 0.2, 1: 0.2})
    assert list(paired(a, b)) == [0, 1]
    assert paired({0: 1.0}, {0: 4.0}, operator.truediv) == {0: 0.25}
    assert [position(v, 0.0, 1.0) for v in (-0.1, 0.5, 1.5)] == ["below", "inside", "above"]


@given(samples)
def test_the_interval_matches_scipy(values):
    stats = pytest.importorskip("scipy.stats")
    if max(values) - min(values) < 1e-6:
        return  # scipy's interval of a constant sample is (nan, nan)
    lo, mean, hi = t_interval(values)
    slo, shi = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    assert (lo + hi) / 2 == pytest.approx((slo + shi) / 2, abs=1e-9)
    assert hi - lo == pytest.approx(shi - slo, rel=1e-4)  # t975's table: 4 decimals
