"""Confidence intervals for a mean over a few seeds or rounds (no SciPy at run time), and the
verdict of a claim from such an interval. Pure functions."""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

#: two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30 (beyond: Cornish–Fisher).
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
_Z975 = 1.959963984540054


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` ≥ 1 degrees of freedom (error < 1e-4).

    A table for df ≤ 30; above, the Cornish–Fisher expansion around the normal quantile.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be ≥ 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def t_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(low, mean, high) of the two-sided 95% t-interval of the mean of ``values``.

    One value gives a point (low = mean = high); an empty sequence is an error.
    """
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    half = t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean - half, mean, mean + half


#: how a claim relates its statistic to a threshold: ``ge`` (≥), ``gt`` (>), ``le`` (≤), ``lt`` (<).
Relation = Literal["ge", "gt", "le", "lt"]
_HOLDS: dict[str, Callable[[float, float], bool]] = {
    "ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}


def holds(value: float, threshold: float, relation: Relation) -> bool:
    """Whether ``value`` (relation) ``threshold``, e.g. ``holds(0.2, 0, "gt")``."""
    return _HOLDS[relation](value, threshold)


def interval_verdict(low: float, high: float, threshold: float, relation: Relation) -> str:
    """``PASS`` when every value of ``[low, high]`` satisfies the claim, ``FAIL`` when none
    does, ``INCONCLUSIVE`` when the interval straddles ``threshold``."""
    if holds(low, threshold, relation) and holds(high, threshold, relation):
        return "PASS"
    if not (holds(low, threshold, relation) or holds(high, threshold, relation)):
        return "FAIL"
    return "INCONCLUSIVE"


def paired(a: Mapping[int, float], b: Mapping[int, float],
           op: Callable[[float, float], float] = operator.sub) -> dict[int, float]:
    """``{seed: op(a[seed], b[seed])}`` over the seeds both have, in seed order."""
    return {s: op(a[s], b[s]) for s in sorted(a.keys() & b.keys())}


def position(value: float, low: float, high: float) -> str:
    """Where ``value`` falls against ``[low, high]``: ``inside``, ``below`` or ``above``."""
    return "below" if value < low else "above" if value > high else "inside"
