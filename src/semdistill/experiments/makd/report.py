"""Stage 4 of the ``makd`` system: aggregation, required-results checks, plots and report.md.

Everything here is drawn from ``results/consistency.json`` and the run's validated config (the
checks' thresholds), so ``semdistill report <run>`` rebuilds it without a model
(docs/dekag-makd.md, "Running"). The sample grids are the one exception: they are drawn from
the images while the run generates them (:func:`save_subject_grid`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from semdistill.experiments.checks import REQUIRED_RESULTS, check_lines, per_seed
from semdistill.experiments.makd.claims import (
    CEILING,
    claim_budget,
    claims,
    load_records,
    steps_to_reach,
    subject_means,
)
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.readings import readings_section
from semdistill.experiments.reference import reference_for
from semdistill.experiments.registry import load_config
from semdistill.experiments.report import MarkdownReport, gain_text, positive
from semdistill.experiments.rundir import RunDir
from semdistill.figures import display_name, label, method_order, plot_metric, save_image_grid
from semdistill.results import Results

#: grid rows: key of the images → row label
GRID_ROWS = {"cloud": "cloud", "none": "edge before", "makd": "edge after (MAKD)"}


def final_means(results: Results, budget: int) -> dict[str, dict[str, float]]:
    """method → mean over subjects of each metric at ``budget`` steps."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in results.select(step=budget):
        m = out.setdefault(r["method"], {})
        for k, v in r.items():
            if isinstance(v, float) and k not in {"step"}:
                m.setdefault(k, []).append(v)
    return {m: {k: sum(v) / len(v) for k, v in d.items()} for m, d in out.items()}


def save_subject_grid(run_dir: RunDir, tag: str, images: Mapping[str, torch.Tensor]) -> str:
    """``plots/grid-<tag>.png``, rows cloud | edge before | edge after (MAKD) where present;
    returns its path relative to the run directory."""
    keys = [k for k in GRID_ROWS if k in images]
    save_image_grid(run_dir.plots / f"grid-{tag}.png", [images[k] for k in keys],
                    [GRID_ROWS[k] for k in keys])
    return f"plots/grid-{tag}.png"


def method_rows(final: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """One table row per method (wall time left out), with its consistency gain over no
    alignment: relative over a positive baseline, else the absolute difference."""
    none = final.get("none", {}).get("consistency")
    rows = []
    for m in sorted(final, key=method_order):
        d = final[m]
        row = {"method": display_name(m), **{k: d[k] for k in d if k not in {"seconds"}}}
        if none is not None:
            row["gain vs none"] = gain_text(d["consistency"], none)
        rows.append(row)
    return rows


def reference_text(headroom: Sequence[Mapping[str, Any]], none: float | None) -> str | None:
    """The paragraph on the reference points (None without them or without a ``none`` row)."""
    if not headroom or none is None:
        return None
    by: dict[str, list[float]] = {}
    for r in headroom:
        by.setdefault(r["reference"], []).append(r["consistency"])
    mean = {k: sum(v) / len(v) for k, v in by.items()}
    return (
        "Reference points (same pairwise protocol, mean over subjects): the cloud's own "
        f"evaluation images against themselves score {mean['cloud']:.4f} "
        f"({gain_text(mean['cloud'], none)} over no alignment); an edge that reproduced "
        "the cloud's images exactly, seen through its own VAE (encode, decode), would "
        f"score {mean[CEILING]:.4f} ({gain_text(mean[CEILING], none)}): the headroom. They are "
        "not strict bounds (a pairwise mean also rewards images close to the cloud's average "
        "one).")


def steps_rows(records: Sequence[Mapping[str, Any]], headroom: Sequence[Mapping[str, Any]],
               cfg: MAKDExperimentConfig) -> list[dict[str, Any]]:
    """Per method, the smallest budget whose subject-mean consistency reaches half the
    headroom (none + ½(ceiling − none)) and, over a positive baseline, the claimed level
    (none × (1 + min_gain))."""
    means = subject_means(records, cfg.seed)
    none = {s: v for (s, m, st), v in means.items() if m == "none" and st == max(cfg.budgets)}
    top = per_seed(headroom, cfg.seed, "consistency", reference=CEILING)
    levels = {"half the headroom": {s: none[s] + (top[s] - none[s]) / 2 for s in none if s in top}}
    if none and all(positive(v) for v in none.values()):
        levels[f"+{cfg.min_gain:.0%} over none"] = {s: v * (1 + cfg.min_gain)
                                                    for s, v in none.items()}
    reach = {name: steps_to_reach(means, level) for name, level in levels.items()}
    methods = sorted({m for r in reach.values() for m in r if m != "none"}, key=method_order)
    return [{"method": display_name(m),
             **{f"steps to {name}": ", ".join("—" if v is None else str(v)
                                             for _, v in sorted(reach[name].get(m, {}).items()))
                or "—" for name in levels}} for m in methods]


def mean_curves(records: Sequence[Mapping[str, Any]], main_seed: int, metrics: Sequence[str]
                ) -> Results:
    """Per (seed, method, step) the mean over subjects of each of ``metrics``: the curves the
    claims read (several seeds at one step are drawn as their mean and 95% interval)."""
    out = Results("makd", "subject-means")
    per = {y: subject_means(records, main_seed, y) for y in metrics}
    for seed, method, step in sorted(per["consistency"]):
        if step > 0:
            out.add(seed=seed, method=method, step=step,
                    **{y: per[y][(seed, method, step)] for y in metrics
                       if (seed, method, step) in per[y]})
    return out


def budget_rows(results: Results) -> list[dict[str, Any]]:
    """Per step budget: each method's mean consistency. No "best" column: which method leads
    is a claim, judged over seeds in the required results (``makd_above_*``)."""
    rows = []
    for step in sorted({r["step"] for r in results.records if r["step"] > 0}):
        at = {m: d["consistency"] for m, d in final_means(results, step).items()}
        rows.append({"steps": step, **{display_name(m): v for m, v in at.items()}})
    return rows


def plot_curves(results: Results, run_dir: RunDir, metrics: Sequence[str], main_seed: int
                ) -> None:
    """``plots/<metric>-vs-steps.png`` for each of ``metrics`` the records hold: the mean over
    subjects per method (over several seeds: the mean and its 95% interval)."""
    present = [y for y in metrics if any(y in r for r in results.records)]
    curves = mean_curves(results.records, main_seed, present)
    for y in present:
        plot_metric(curves, "step", y, run_dir.plots / f"{y}-vs-steps.png",
                    title=f"{label(y)} vs distillation steps (mean over subjects)")


def build_report(run_dir: RunDir) -> Path:
    """report.md from results/consistency.json and the run's config."""
    results = Results.load(run_dir.results / "consistency.json")
    _, cfg = load_config(run_dir.config_data(), source=str(run_dir.path / "config.yaml"))
    meta = results.meta
    budget = claim_budget(cfg)
    final = final_means(results, budget)
    metric_names = meta.get("embedders", ["world-encoder"])
    curves = ["consistency", *metric_names, "acc_shape", "acc_color", "acc_style"]
    plot_curves(results, run_dir, curves, cfg.seed)
    _, headroom, _ = load_records(run_dir.results)
    rep = MarkdownReport("MAKD: generation knowledge alignment (offline shapes world)")
    rep.text(f"Edge: {meta.get('edge')}. Cloud: {meta.get('cloud')}. Held-out subjects: "
             f"{', '.join(meta.get('subjects', []))}. Consistency embedders: "
             f"{', '.join(metric_names)} (``world-encoder`` is the library's shapes-world "
             f"encoder, not DINO or CLIP). Step budget per method: {budget}. "
             f"Wall time: {meta.get('seconds', 0):.0f} s.")
    rep.section(f"Held-out subjects at {budget} steps (mean over subjects)").table(
        method_rows(final))
    reference = reference_text(headroom, final.get("none", {}).get("consistency"))
    if reference:
        rep.text(reference)
    ref_checks, ref_note = reference_for(cfg)
    rep.section(REQUIRED_RESULTS).bullets(
        check_lines(claims(cfg, run_dir.results, ref_checks), empty="(no MAKD rows)"))
    if ref_note:
        rep.text(ref_note)
    by_budget = budget_rows(results)
    if len(by_budget) > 1:
        rep.section("Consistency at every step budget (mean over subjects)").table(by_budget)
        rep.section("Steps each method needs (the paper's efficiency)").text(
            "The smallest budget at which the mean over subjects reaches each level "
            "(— : none of the budgets; one entry per seed).").table(
            steps_rows(results.records, headroom, cfg))
    rep.section("Consistency and attribute accuracy vs distillation steps")
    for y in curves:
        if (run_dir.plots / f"{y}-vs-steps.png").is_file():
            rep.image(f"plots/{y}-vs-steps.png", y)
    rep.section("Samples: cloud | edge before | edge after (MAKD)")
    for g in meta.get("grids", []):
        rep.text(f"**{g['subject']}**").image(g["grid"], g["subject"])
    readings_section(rep, cfg, "makd")
    rep.section("Appendix: every record").table(
        [{**r, "method": display_name(r["method"])} for r in results.records])
    return rep.save(run_dir.report_path)
