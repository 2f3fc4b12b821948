"""System ``makd``: generation knowledge alignment (G-KA) of the edge LDM to the cloud.

One ``semdistill run configs/dekag/makd-shapes.yaml`` does, in its run directory, for each
held-out subject (a shape × color the edge never saw, drawn by the cloud in its own style); see
docs/dekag-makd.md:

1. :mod:`~semdistill.experiments.makd.data`: the cloud renders the subject's training and
   evaluation prompts (teacher and reference images, intended attributes, reference points);
2. :mod:`~semdistill.experiments.makd.train`: for each method (none, metaword, lora, makd) and
   step budget, a fresh copy of the edge is aligned with :func:`semdistill.generative.makd.align`
   (equal budgets);
3. :mod:`~semdistill.experiments.makd.evaluate`: the edge draws the evaluation prompts;
   consistency (DreamBooth pairwise-mean cosine per embedder) and attribute accuracy are
   recorded;
4. :mod:`~semdistill.experiments.makd.report`: ``results/consistency.json``, ``plots/*.png``,
   sample grids (cloud | edge before | edge after), the MAKD deliverables and ``report.md`` with
   the required-results checks.

The config is :class:`~semdistill.experiments.makd.config.MAKDExperimentConfig`.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from semdistill.experiments.checks import verdicts
from semdistill.experiments.makd.claims import CEILING, claim_budget, claims
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.makd.data import subject_data, subject_name
from semdistill.experiments.makd.evaluate import add_records, evaluate_edge, record
from semdistill.experiments.makd.reference import SPEC as REFERENCE_SPEC
from semdistill.experiments.makd.report import build_report, final_means, save_subject_grid
from semdistill.experiments.makd.train import align_edge, method_budgets, save_deliverable
from semdistill.experiments.registry import register_experiment
from semdistill.experiments.rundir import RunDir
from semdistill.generative.edge import EdgeLDM, load_edge, require_image_size
from semdistill.generative.pretrain_edge import require_held_out
from semdistill.metrics.complexity import count_parameters
from semdistill.metrics.consistency import ConsistencyScorer, consistency_scorer
from semdistill.metrics.world_encoder import load_world_encoder
from semdistill.results import Results

__all__ = ["REFERENCE_SPEC", "MAKDExperimentConfig", "build_report", "claims", "run",
           "run_subject"]


def run_subject(cfg: MAKDExperimentConfig, run_dir: RunDir, subject: dict[str, str],
                scorer: ConsistencyScorer, encoder: Any, results: Results,
                base_edge: EdgeLDM, headroom: Results) -> dict[str, Any]:
    """All methods × budgets for one subject; appends records (the reference points to
    ``headroom``), returns its ``meta["grids"]`` entry (grid path, subject, reference points).

    ``base_edge`` is the unaligned edge, never modified here (each method loads its own copy).
    """
    data = subject_data(cfg, subject, scorer, base_edge)
    for point, value in data.ceilings.items():
        headroom.add(seed=cfg.seed, subject=data.name, reference=point, consistency=value)
    grids: dict[str, torch.Tensor] = {"cloud": data.reference[: cfg.grid_images]}
    for method in cfg.methods:
        for steps in method_budgets(method, cfg.budgets):
            edge, deliverable, seconds = align_edge(cfg, run_dir, data, method, steps)
            images, scores = evaluate_edge(edge, data, method, cfg.makd, scorer, encoder)
            add_records(results, record(cfg.seed, data.name, method, steps, scores, seconds,
                                        deliverable),
                        cfg.budgets)
            if steps == max(cfg.budgets) or method == "none":
                grids[method] = images[: cfg.grid_images]
                if deliverable.num_params:
                    save_deliverable(run_dir, data.tag, method, deliverable, edge)
    return {"grid": save_subject_grid(run_dir, data.tag, grids), "subject": data.name,
            "ceilings": data.ceilings}


@register_experiment("makd", MAKDExperimentConfig, report=build_report)
def run(cfg: MAKDExperimentConfig, run_dir: RunDir) -> dict[str, Any]:
    """Ablations × budgets × held-out subjects → results, plots, grids, report."""
    t0 = time.perf_counter()
    base_edge = load_edge(cfg.edge)
    require_image_size(base_edge, cfg.cloud.image_size)
    require_held_out(base_edge, {f"subjects[{i}]": s for i, s in enumerate(cfg.subjects)})
    encoder = load_world_encoder(cfg.metrics.world_encoder, device=cfg.edge.device)
    scorer = consistency_scorer(cfg.metrics, device=cfg.edge.device)  # the config requires one
    results = Results("makd", "consistency")
    headroom = Results("makd", "headroom")
    grids = [run_subject(cfg, run_dir, s, scorer, encoder, results, base_edge, headroom)
             for s in cfg.subjects]
    headroom.meta = {"ceiling": CEILING, "edge": cfg.edge.model or "shipped"}
    headroom.save(run_dir.results / "headroom.json")
    unet_params = count_parameters(base_edge.unet)
    makd_rows = [r for r in results.records if r["method"] == "makd" and "params" in r]
    frac = max((r["params"] for r in makd_rows), default=0) / unet_params
    results.meta = {
        "edge": cfg.edge.model or "shipped (semdistill/assets/edge)",
        "cloud": f"{cfg.cloud.kind}:{cfg.cloud.style if cfg.cloud.kind == 'shapes' else cfg.cloud.model}",
        "subjects": [subject_name(s) for s in cfg.subjects], "embedders": cfg.metrics.embedders,
        "grids": grids, "unet_params": unet_params, "deliverable_fraction": frac,
        "deliverable_bytes": max((r["bytes"] for r in makd_rows), default=0),
        "min_gain": cfg.min_gain, "seconds": time.perf_counter() - t0,
    }
    results.save(run_dir.results / "consistency.json")
    run_dir.update_info(wall_seconds_before_report=time.perf_counter() - t0,
                        device=cfg.edge.device)
    build_report(run_dir)
    final = final_means(results, claim_budget(cfg))
    summary: dict[str, Any] = {f"consistency[{m}]": round(d["consistency"], 4)
                               for m, d in final.items()}
    summary.update(verdicts(claims(cfg, run_dir.results)))
    summary["deliverable_fraction"] = round(frac, 5)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary
