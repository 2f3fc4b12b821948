"""The required results of system ``makd`` as claims over seeds (docs/dekag-makd.md, "Claims
and seeds").

A run is one seed (``--set seed=k`` changes the cloud's teacher images, the evaluation seeds and
every training draw); a reference folder merges several runs, each record carrying its ``seed``.
Every claim is a statistic of one seed, *the mean over the held-out subjects*, paired by seed:
within a seed every method is aligned to the same teacher images and drawn from the same
evaluation seeds. Over N ≥ 2 seeds :func:`~semdistill.experiments.checks.judge` gives the verdict
from the 95% t-interval of that statistic; one seed gives a SMOKE line, placed against a reference
interval when one is given.

- ``headroom``: the cloud's evaluation images seen through the edge's VAE (encode, decode) against
  the unaligned edge, relative (≥ ``min_headroom``): how much alignment could gain at most on this
  scenario, measured before any method.
- ``makd_gain_vs_none``: MAKD's relative consistency gain over no alignment (≥ ``min_gain``) at
  the claims' budget (``claim_budget``, default the largest).
- ``headroom_absolute``, ``makd_gain_vs_none_absolute``: the same as differences (> 0), which
  stay defined when the unaligned edge scores below zero (the centered judge puts unrelated
  images near 0, and images of another shape in another style below it); the second also states
  the share of the headroom MAKD closes.
- ``makd_above_lora``, ``makd_above_metaword``: MAKD − each single-stage method (> 0), same budget.
- ``deliverable_fraction``: a property of the method, not of a seed (a plain check).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from semdistill.experiments.checks import Check, judge, per_seed
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.report import relative_gain
from semdistill.results import Results

#: the results files the claims read (every one a results-schema file with a ``seed`` per record).
FILES = ("consistency.json", "headroom.json")
#: the reference point that bounds what alignment can reach (docs/dekag-makd.md, "Headroom").
CEILING = "cloud_through_edge_vae"


def seed_of(record: Mapping[str, Any], main_seed: int) -> int:
    """The record's seed (a record made before seeds were recorded belongs to ``main_seed``)."""
    return int(record.get("seed", main_seed))


def subject_means(records: Sequence[Mapping[str, Any]], main_seed: int, key: str = "consistency"
                  ) -> dict[tuple[int, str, int], float]:
    """``{(seed, method, step): mean over subjects of record[key]}``."""
    acc: dict[tuple[int, str, int], list[float]] = defaultdict(list)
    for r in records:
        if r.get(key) is not None:
            acc[(seed_of(r, main_seed), r["method"], int(r["step"]))].append(float(r[key]))
    return {k: statistics.fmean(v) for k, v in acc.items()}


def claim_budget(cfg: MAKDExperimentConfig) -> int:
    """The step budget the claims compare methods at."""
    return cfg.claim_budget if cfg.claim_budget is not None else max(cfg.budgets)


def gain_check(name: str, a: Mapping[int, float], b: Mapping[int, float], threshold: float,
               what: str, reference: Mapping[str, Check] | None) -> Check | None:
    """Claim ``a/b − 1 ≥ threshold`` per seed. A relative gain is stated only over a positive
    ``b``: if any seed's is not (a pairwise cosine mean can be negative), the check fails with
    the absolute difference instead of a meaningless percentage."""
    gain = {s: relative_gain(a[s], b[s]) for s in a if s in b}
    if any(g is None for g in gain.values()):
        ma, mb = (statistics.fmean(x[s] for s in gain) for x in (a, b))
        return Check(name, False, {"gain": None, "a": ma, "b": mb}, threshold,
                     f"{what}: {ma:.4f} vs {mb:.4f} ({ma - mb:+.4f}): no relative gain over a "
                     f"baseline that is not positive (required ≥ {threshold:.0%})")
    return judge(name, gain, threshold, "ge", f"{what}, relative", reference, fmt="+.1%")


def _absolute(name: str, a: Mapping[int, float], b: Mapping[int, float], what: str,
              reference: Mapping[str, Check] | None,
              ceiling: Mapping[int, float] | None = None) -> Check | None:
    """Claim ``a − b > 0`` per seed: defined whatever the sign of ``b`` (a relative gain is not,
    see :func:`gain_check`). With ``ceiling``, the detail also states the share of the headroom
    ``(a − b) / (ceiling − b)`` that ``a`` closes (mean over seeds)."""
    diff = {s: a[s] - b[s] for s in a if s in b}
    check = judge(name, diff, 0.0, "gt", what, reference)
    if check is None or not ceiling:
        return check
    share = {s: diff[s] / (ceiling[s] - b[s]) for s in diff
             if s in ceiling and ceiling[s] > b[s]}
    if not share:
        return check
    mean = statistics.fmean(share.values())
    return replace(check, measured={**check.measured, "headroom_share": share},
                   detail=f"{check.detail}; it closes {mean:.0%} of the headroom (ceiling − no "
                          f"alignment; mean over seeds {sorted(share)})")


def _at(means: Mapping[tuple[int, str, int], float], method: str, step: int) -> dict[int, float]:
    return {s: v for (s, m, st), v in sorted(means.items()) if m == method and st == step}


def load_records(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(consistency records, headroom records, consistency meta) of a run's results folder or a
    reference folder. A run made before the headroom file existed gives its main seed's
    reference points from the meta."""
    res = Results.load(folder / "consistency.json")
    path = folder / "headroom.json"
    if path.is_file():
        headroom = Results.load(path).records
    else:
        headroom = [{"subject": g["subject"], "reference": k, "consistency": v}
                    for g in res.meta.get("grids", []) for k, v in g.get("ceilings", {}).items()]
    return res.records, headroom, res.meta


def claims(cfg: MAKDExperimentConfig, folder: Path,
           reference: Mapping[str, Check] | None = None) -> list[Check]:
    """The required-results checks from the results files in ``folder`` (any number of seeds)."""
    records, headroom, meta = load_records(folder)
    means = subject_means(records, cfg.seed)
    budget = claim_budget(cfg)
    none = _at(means, "none", budget)
    out: list[Check | None] = []
    ceiling = per_seed(headroom, cfg.seed, "consistency", reference=CEILING)
    out.append(gain_check("headroom", ceiling, none, cfg.min_headroom,
                          "the cloud's images through the edge VAE vs the unaligned edge",
                          reference))
    makd = _at(means, "makd", budget)
    out.append(gain_check("makd_gain_vs_none", makd, none, cfg.min_gain,
                          f"MAKD vs no alignment at {budget} steps", reference))
    out.append(_absolute("headroom_absolute", ceiling, none, "the cloud's images through the "
                         "edge VAE − the unaligned edge", reference))
    out.append(_absolute("makd_gain_vs_none_absolute", makd, none, f"MAKD − no alignment at "
                         f"{budget} steps", reference, ceiling))
    for other in ("lora", "metaword"):
        value = _at(means, other, budget)
        diff = {s: makd[s] - value[s] for s in makd if s in value}
        out.append(judge(f"makd_above_{other}", diff, 0.0, "gt",
                         f"MAKD − {other}-only consistency at {budget} steps", reference))
    frac = meta.get("deliverable_fraction")
    if frac is not None:
        limit, size = cfg.max_deliverable_fraction, meta.get("deliverable_bytes")
        out.append(Check("deliverable_fraction", frac < limit,
                         {"deliverable_fraction": frac, "deliverable_bytes": size}, limit,
                         f"deliverable = {frac:.3%} of the edge UNet parameters ({size} bytes; "
                         f"required < {limit * 100:g}%)"))
    return [c for c in out if c is not None]


def steps_to_reach(means: Mapping[tuple[int, str, int], float], level: Mapping[int, float]
                   ) -> dict[str, dict[int, int | None]]:
    """``{method: {seed: the smallest budget whose consistency ≥ level[seed]}}`` (None: none of
    the budgets): the paper's efficiency, how many distillation steps each method needs."""
    out: dict[str, dict[int, int | None]] = defaultdict(dict)
    for (seed, method, step), v in sorted(means.items(), key=lambda kv: kv[0][2]):
        if step == 0 or seed not in level:
            continue
        if out[method].get(seed) is None and v >= level[seed]:
            out[method][seed] = step
        else:
            out[method].setdefault(seed, None)
    return dict(out)
