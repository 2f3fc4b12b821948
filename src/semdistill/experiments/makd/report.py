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

from semdistill.experiments.checks import REQUIRED_RESULTS, Check, check_lines, single_seed
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.readings import readings_section
from semdistill.experiments.registry import load_config
from semdistill.experiments.report import MarkdownReport, gain_text, relative_gain
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


def largest_budget(results: Results) -> int:
    """The largest step budget of the records (0 when there are none)."""
    return max((r["step"] for r in results.records), default=0)


def required_checks(results: Results, cfg: MAKDExperimentConfig) -> list[Check]:
    """MAKD's gain over no alignment (≥ ``min_gain``), MAKD above each single-stage method, and
    the deliverable's share of the edge UNet's parameters (< ``max_deliverable_fraction``)."""
    final = final_means(results, largest_budget(results))
    checks = []
    none = final.get("none", {}).get("consistency")
    if none is not None and "makd" in final:
        makd = final["makd"]["consistency"]
        gain = relative_gain(makd, none)
        checks.append(single_seed(Check(
            "makd_gain_vs_none", gain is not None and gain >= cfg.min_gain,
            {"gain": gain, "makd": makd, "none": none}, cfg.min_gain,
            f"MAKD consistency gain over no alignment: {gain:+.1%} "
            f"(required ≥ {cfg.min_gain:.0%})" if gain is not None else
            f"MAKD consistency {makd:.4f} vs no alignment {none:.4f} ({makd - none:+.4f}): no "
            f"relative gain over a baseline that is not positive (required ≥ "
            f"{cfg.min_gain:.0%})")))
        for other in ("lora", "metaword"):
            if other in final:
                value = final[other]["consistency"]
                checks.append(single_seed(Check(f"makd_above_{other}", makd > value,
                                                {"makd": makd, other: value}, None,
                                                f"MAKD {makd:.4f} vs {other}-only {value:.4f}")))
    frac = results.meta.get("deliverable_fraction")
    if frac is not None:
        limit = cfg.max_deliverable_fraction
        size = results.meta.get("deliverable_bytes")
        checks.append(Check(
            "deliverable_fraction", frac < limit,
            {"deliverable_fraction": frac, "deliverable_bytes": size}, limit,
            f"deliverable = {frac:.3%} of the edge UNet parameters ({size} bytes; "
            f"required < {limit * 100:g}%)"))
    return checks


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


def reference_text(meta: Mapping[str, Any], none: float | None) -> str | None:
    """The paragraph on the reference points (None without them or without a ``none`` row)."""
    ceilings = [g["ceilings"] for g in meta.get("grids", []) if "ceilings" in g]
    if not ceilings or none is None:
        return None
    mean = {k: sum(c[k] for c in ceilings) / len(ceilings) for k in ceilings[0]}
    return (
        "Reference points (same pairwise protocol, mean over subjects): the cloud's own "
        f"evaluation images against themselves score {mean['cloud']:.4f} "
        f"({gain_text(mean['cloud'], none)} over no alignment); an edge that reproduced "
        "the cloud's images exactly, seen through its own VAE (encode, decode), would "
        f"score {mean['cloud_through_edge_vae']:.4f} "
        f"({gain_text(mean['cloud_through_edge_vae'], none)}). They are not strict bounds "
        "(a pairwise mean also rewards images close to the cloud's average one).")


def budget_rows(results: Results) -> list[dict[str, Any]]:
    """Per step budget: each method's consistency and the best method."""
    rows = []
    for step in sorted({r["step"] for r in results.records if r["step"] > 0}):
        at = {m: d["consistency"] for m, d in final_means(results, step).items()}
        rows.append({"steps": step, **{display_name(m): v for m, v in at.items()},
                     "best": display_name(max(at, key=at.__getitem__))})
    return rows


def plot_curves(results: Results, run_dir: RunDir, metrics: Sequence[str]) -> None:
    """``plots/<metric>-vs-steps.png`` for each of ``metrics`` the records hold."""
    for y in metrics:
        if any(y in r for r in results.records):
            plot_metric(results, "step", y, run_dir.plots / f"{y}-vs-steps.png",
                        title=f"{label(y)} vs distillation steps (line style: subject)",
                        group_by=("method", "subject"))


def build_report(run_dir: RunDir) -> Path:
    """report.md from results/consistency.json and the run's config."""
    results = Results.load(run_dir.results / "consistency.json")
    _, cfg = load_config(run_dir.config_data(), source=str(run_dir.path / "config.yaml"))
    meta = results.meta
    budget = largest_budget(results)
    final = final_means(results, budget)
    metric_names = meta.get("embedders", ["world-encoder"])
    curves = ["consistency", *metric_names, "acc_shape", "acc_color", "acc_style"]
    plot_curves(results, run_dir, curves)
    rep = MarkdownReport("MAKD: generation knowledge alignment (offline shapes world)")
    rep.text(f"Edge: {meta.get('edge')}. Cloud: {meta.get('cloud')}. Held-out subjects: "
             f"{', '.join(meta.get('subjects', []))}. Consistency embedders: "
             f"{', '.join(metric_names)} (``world-encoder`` is the library's shapes-world "
             f"encoder, not DINO or CLIP). Step budget per method: {budget}. "
             f"Wall time: {meta.get('seconds', 0):.0f} s.")
    rep.section(f"Held-out subjects at {budget} steps (mean over subjects)").table(
        method_rows(final))
    reference = reference_text(meta, final.get("none", {}).get("consistency"))
    if reference:
        rep.text(reference)
    rep.section(REQUIRED_RESULTS).bullets(
        check_lines(required_checks(results, cfg), empty="(no MAKD rows)"))
    by_budget = budget_rows(results)
    if len(by_budget) > 1:
        rep.section("Consistency at every step budget (mean over subjects)").table(by_budget)
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
