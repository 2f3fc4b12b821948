"""The one shape of a required-result check, shared by every system's report.

A :class:`Check` is measured, never asserted: its figures come from a run's results files and
its threshold from the run's config, and the report prints each as one line. A check over
several training seeds carries the 95% t-interval of its statistic (the per-seed paired
difference or ratio) and a verdict from it (PASS, FAIL or INCONCLUSIVE); a check of one seed
is a SMOKE line, placed against a reference interval when one is given (:func:`judge`, in every
system). A property of the config, not of a seed, is a plain PASS/FAIL :class:`Check`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from semdistill.utils.stats import Relation, holds, interval_verdict, position, t_interval

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE", "SMOKE"]


@dataclass(frozen=True)
class Check:
    """One required result.

    Attributes:
        name: a stable identifier (``prestored_time_le_third_of_online``).
        passed: whether the measured figures meet the threshold (for an interval check: whether
            the whole interval does; None when it straddles the threshold).
        measured: the figures the verdict is computed from (name → value).
        threshold: the config value the figures are held to (None when the claim is a
            comparison between methods, e.g. ``a > b``).
        detail: the sentence the report prints after the verdict.
        outcome: the verdict when it is not plain PASS/FAIL from ``passed``: ``INCONCLUSIVE``,
            or ``SMOKE`` (one seed; ``passed`` is then the single-seed figure's result).
        interval: ``(low, mean, high)`` of the statistic's 95% t-interval over the seeds.
        per_seed: the statistic of each seed (seed → value).
    """

    name: str
    passed: bool | None
    measured: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    detail: str = ""
    outcome: Verdict | None = None
    interval: tuple[float, float, float] | None = None
    per_seed: Mapping[int, float] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return self.outcome or ("PASS" if self.passed else "FAIL")

    def line(self) -> str:
        """The report's bullet: ``**PASS** name: detail``."""
        return f"**{self.verdict}** {self.name}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "verdict": self.verdict, "pass": self.passed,
                "measured": dict(self.measured), "threshold": self.threshold,
                "interval": list(self.interval) if self.interval else None,
                "per_seed": {str(k): v for k, v in self.per_seed.items()},
                "detail": self.detail}


#: the heading of every report's checks. A check over several training seeds is a verdict from
#: the 95% t-interval of a per-seed paired statistic; a check of one seed is a smoke result that
#: the run reproduces, not a verdict between methods.
REQUIRED_RESULTS = ("Required results (measured: a verdict from a 95% t-interval over seeds, "
                    "paired by seed; a single seed is a smoke check, not a verdict)")


def check_lines(checks: Iterable[Check], empty: str = "(not enough methods were run to check)"
                ) -> list[str]:
    """Report bullets for ``checks`` (one line each), or ``[empty]`` when there are none."""
    return [c.line() for c in checks] or [empty]


def verdicts(checks: Iterable[Check]) -> dict[str, str]:
    """``{name: "PASS" | "FAIL" | "INCONCLUSIVE" | "SMOKE"}``: the run summary the CLI prints."""
    return {c.name: c.verdict for c in checks}


_SYMBOL = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
#: what an interval is over, as every report states it.
OVER = "t-interval over {n} seeds, paired by seed"


def per_seed(records: Iterable[Mapping[str, Any]], main_seed: int, key: str = "accuracy",
             keep: Callable[[Mapping[str, Any]], bool] | None = None, **where: Any
             ) -> dict[int, float]:
    """``{seed: mean of record[key]}`` over the records matching ``where`` and ``keep`` that
    carry ``key`` (one record per seed: its value); a record made before seeds were recorded
    belongs to ``main_seed``. Seeds in increasing order."""
    groups: dict[int, list[float]] = defaultdict(list)
    for r in records:
        if (all(r.get(k) == v for k, v in where.items()) and (keep is None or keep(r))
                and r.get(key) is not None):
            groups[r.get("seed", main_seed)].append(r[key])
    return {s: statistics.fmean(v) for s, v in sorted(groups.items())}


def judge(name: str, values: Mapping[int, float], threshold: float, relation: Relation,
          what: str, reference: Mapping[str, Check] | None = None, fmt: str = "+.4f",
          measured: Mapping[str, Any] | None = None) -> Check | None:
    """The check of claim ``statistic (relation) threshold`` from its per-seed ``values``.

    ``what`` names the statistic (``prestored − online accuracy``); ``reference`` maps check
    names to a reference run's checks, used to place a single seed. None without values.
    """
    if not values:
        return None
    lo, mean, hi = t_interval(list(values.values()))
    n, req = len(values), f"required {_SYMBOL[relation]} {threshold:{fmt}}"
    seeds = ", ".join(f"s{s} {v:{fmt}}" for s, v in values.items())
    common = {"name": name, "threshold": threshold, "per_seed": dict(values),
              "interval": (lo, mean, hi), "measured": {**(measured or {}), "mean": mean, "n": n}}
    if n >= 2:
        outcome = interval_verdict(lo, hi, threshold, relation)
        return Check(passed={"PASS": True, "FAIL": False}.get(outcome), outcome=outcome,
                     detail=f"{what} {mean:{fmt}}, 95% interval [{lo:{fmt}}, {hi:{fmt}}] "
                            f"({OVER.format(n=n)}; per seed {seeds}); {req}", **common)
    ok = holds(mean, threshold, relation)
    ref = (reference or {}).get(name)
    where = ""
    if ref is not None and ref.interval is not None and len(ref.per_seed) >= 2:
        rlo, _, rhi = ref.interval
        where = (f"; {position(mean, rlo, rhi)} the reference 95% interval [{rlo:{fmt}}, "
                 f"{rhi:{fmt}}] over {len(ref.per_seed)} seeds (reference verdict "
                 f"{ref.verdict})")
    return Check(passed=ok, outcome="SMOKE",
                 detail=f"{what} {mean:{fmt}} (single seed s{next(iter(values))}, would "
                        f"{'pass' if ok else 'fail'}: {req}){where}", **common)

