"""The required results of system ``dekag`` as claims over training seeds (docs/dekag-cala.md,
"Claims and seeds").

Every claim is a statistic per seed, *paired by seed*: the methods of one seed adapt the same
base codec, and are evaluated on the same test latents with the same channel draws per (rate,
SNR), so their difference removes what the seed shares. Over N ≥ 2 seeds the verdict comes from
the two-sided 95% Student-t interval of the mean (:func:`semdistill.experiments.checks.judge`):
PASS, FAIL or INCONCLUSIVE; one seed gives a SMOKE line, placed against a reference's interval
when one is given. Everything is read from the results files :data:`FILES` (records carry their
``seed``), so a folder of several seeds' records rebuilds the table.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from semdistill.experiments.checks import Check, judge, per_seed
from semdistill.experiments.dekag.config import METHOD_LABELS, DekagConfig
from semdistill.generative.link import JPEG_QUALITY
from semdistill.results import Results
from semdistill.utils.stats import paired

#: the results files the claims read (a run's ``results/`` or a reference folder).
FILES = ("dekag-grid.json", "dekag-bytes.json")
#: the JPEG reference of the bytes claim.
JPEG_Q75 = f"edge image, JPEG q{JPEG_QUALITY}"

Records = list[dict[str, Any]]


def _mean(values: Mapping[int, float]) -> float:
    return statistics.fmean(values.values())


def _gain_claims(cfg: DekagConfig, grid: Records, ref: Any) -> list[Check]:
    """CALA − each no-alignment codec, image PSNR averaged over the rate × SNR grid, against
    ``eval.min_gain_db``; full fine-tuning's gain (the upper bound) in the line."""
    cala = per_seed(grid, cfg.seed, "psnr", method="cala")
    out = []
    for base in ("base", "base_matched"):
        b = per_seed(grid, cfg.seed, "psnr", method=base)
        check = judge(f"cala_gain_over_{base}", paired(cala, b), cfg.eval.min_gain_db, "ge",
                      f"CALA − {METHOD_LABELS[base]} image PSNR over the rate × SNR grid [dB]",
                      ref, "+.2f", {"psnr_cala": cala, f"psnr_{base}": b})
        full = paired(per_seed(grid, cfg.seed, "psnr", method="full_ft"), b)
        if check is not None and full:
            check = replace(check, measured={**check.measured, "full_ft_gain_db": full},
                            detail=f"{check.detail}; full fine-tuning (the upper bound) gains "
                                   f"{_mean(full):+.2f} dB")
        out.append(check)
    return [c for c in out if c is not None]


def _versus_claims(cfg: DekagConfig, grid: Records, ref: Any) -> list[Check]:
    """CALA − shared LoRA and CALA − VGSA > 0: over the grid, and at SNR ≤ ``eval.low_snr_db``."""
    low, out = cfg.eval.low_snr_db, []
    for other in ("shared_lora", "vgsa"):
        for suffix, keep, where in (("average", lambda r: True, "over the grid"),
                                    ("low_snr", lambda r: r["snr_db"] <= low,
                                     f"at SNR ≤ {low:g} dB")):
            diff = paired(per_seed(grid, cfg.seed, "psnr", keep, method="cala"),
                          per_seed(grid, cfg.seed, "psnr", keep, method=other))
            out.append(judge(f"cala_beats_{other}_{suffix}", diff, 0.0, "gt",
                             f"CALA − {METHOD_LABELS[other]} image PSNR {where} [dB]", ref,
                             "+.2f"))
    return [c for c in out if c is not None]


def _top(grid: Records, main_seed: int, method: str,
         order: Callable[[dict[str, Any]], Any]) -> dict[int, dict[str, Any]]:
    """``{seed: the record of ``method`` (with a consistency) that ``order`` ranks highest}``."""
    top: dict[int, dict[str, Any]] = {}
    for r in grid:
        s = r.get("seed", main_seed)
        if r["method"] == method and "consistency" in r and (s not in top
                                                              or order(r) > order(top[s])):
            top[s] = r
    return dict(sorted(top.items()))


def _best(grid: Records, main_seed: int, method: str) -> dict[int, dict[str, Any]]:
    """``{seed: the record of ``method`` with the highest consistency}``."""
    return _top(grid, main_seed, method, lambda r: r["consistency"])


def _best_channel(grid: Records, main_seed: int, method: str) -> dict[int, float]:
    """``{seed: consistency of ``method`` at the best channel condition}``: the most symbols,
    then the highest SNR of the grid."""
    top = _top(grid, main_seed, method, lambda r: (r["symbols"], r["snr_db"]))
    return {s: r["consistency"] for s, r in top.items()}


def _bytes_claim(cfg: DekagConfig, grid: Records, refs: Records, ref: Any) -> list[Check]:
    """CALA's best consistency − JPEG q75's (of the edge image) ≥ 0 per seed, with fewer bytes
    per image than JPEG in every seed; full fine-tuning's figure and CALA's at the best channel
    condition (a fixed condition: the best of the grid is a maximum of noisy figures, and
    consistency is not monotone in SNR, docs/dekag-cala.md) in the line."""
    best = _best(grid, cfg.seed, "cala")
    jc = per_seed(refs, cfg.seed, "consistency", reference=JPEG_Q75)
    jb = per_seed(refs, cfg.seed, "bytes", reference=JPEG_Q75)
    diff = paired({s: r["consistency"] for s, r in best.items()}, jc)
    check = judge(f"cala_bytes_vs_edge_image_jpeg_q{JPEG_QUALITY}", diff, 0.0, "ge",
                  f"CALA's best consistency − JPEG q{JPEG_QUALITY}'s (edge image)", ref, "+.4f",
                  {"bytes": {s: best[s]["bytes"] for s in diff}, "jpeg_bytes": jb,
                   "jpeg_consistency": jc})
    if check is None:
        return []
    fewer = all(best[s]["bytes"] < jb[s] for s in diff)
    sent = ", ".join(f"s{s} {best[s]['bytes']:.1f} (K_r={best[s]['symbols']}, "
                     f"{best[s]['snr_db']:g} dB)" for s in diff)
    detail = (f"{check.detail}; bytes per image at CALA's best: {sent} vs JPEG "
              f"{_mean({s: jb[s] for s in diff}):.1f}: {'fewer' if fewer else 'NOT fewer'}")
    full = paired({s: r["consistency"] for s, r in _best(grid, cfg.seed, "full_ft").items()},
                  jc)
    if full:
        detail += f"; full fine-tuning's best − JPEG's {_mean(full):+.4f}"
    fixed = paired(_best_channel(grid, cfg.seed, "cala"), jc)
    if fixed:
        detail += f"; CALA at the best channel condition − JPEG's {_mean(fixed):+.4f}"
    if not fewer:
        return [replace(check, passed=False, detail=detail,
                        outcome="SMOKE" if check.outcome == "SMOKE" else "FAIL")]
    return [replace(check, detail=detail)]


def fraction_claim(meta: Mapping[str, Any], max_fraction: float) -> list[Check]:
    """CALA's trainable fraction of the codec ≤ ``max_fraction``: a property of the config
    (the grid's ``meta["trainable"]``), not a seed statistic."""
    frac = meta.get("trainable", {}).get("cala", {}).get("fraction")
    if frac is None:
        return []
    return [Check("cala_trainable_fraction", frac <= max_fraction, {"fraction": frac},
                  max_fraction, f"CALA trains {frac:.2%} of the codec's parameters (required "
                                f"≤ {max_fraction:.0%}; a property of the config)")]


def claims_of(cfg: DekagConfig, grid: Results, refs: Results,
              reference: Mapping[str, Check] | None = None) -> list[Check]:
    """Every claim measurable from a grid and its references, with ``cfg``'s thresholds."""
    out = _gain_claims(cfg, grid.records, reference)
    out += _versus_claims(cfg, grid.records, reference)
    out += _bytes_claim(cfg, grid.records, refs.records, reference)
    return out + fraction_claim(grid.meta, cfg.eval.max_fraction)


def claims(cfg: DekagConfig, folder: Path, reference: Mapping[str, Check] | None = None
           ) -> list[Check]:
    """Every claim measurable from the results files :data:`FILES` in ``folder`` (a run's
    ``results/`` or a reference folder; records of one or several seeds), with ``cfg``'s
    thresholds; single seeds placed against ``reference`` (check name → check)."""
    grid, refs = (Results.load(folder / f) if (folder / f).is_file() else Results("dekag", f)
                  for f in FILES)
    return claims_of(cfg, grid, refs, reference)
