"""System ``dekag``: transmission alignment (CALA) and the cloud → edge → user link of DeKA-g.

One ``semdistill run configs/dekag/shapes.yaml`` does, in its run directory (docs/dekag-cala.md):

1. :mod:`.data`: the cloud (shapes renderer) draws a held-out subject; the *unaligned* edge LDM
   generates latents for general world prompts; the edge is then MAKD-aligned to the subject
   (a deliverable file, or a short distillation run here) and generates the subject's latents;
2. :mod:`.train`: the base latent JSCC codec is trained as ``baselines.base`` states (default:
   a nominal AWGN link, highest rate, 10 dB, unaligned latents): the no-alignment baseline;
3. :mod:`.train`: shared LoRA, VGSA, CALA and full fine-tuning
   (:mod:`semdistill.models.adapters`) adapt the frozen base codec on the aligned latents with a
   random (rate, SNR) per sample, all with the same training budget; ``baselines.matched``
   trains a second no-alignment codec (``base_matched``: the actual channel);
4. :mod:`.evaluate` and :mod:`.bytes`: every method over rates × SNR on held-out prompts
   (common channel draws): latent and image PSNR, SSIM, consistency of the user's images to the
   cloud's images, and the bytes per image against PNG and JPEG (q75, and a quality sweep);
5. :mod:`.report`: ``results/*.json``, plots, sample grids and ``report.md`` with the
   required-results checks.

``semdistill eval RUN`` re-evaluates a finished run (:func:`evaluate`): it only loads the
trained codecs and the cached datasets, and refuses a run that lacks either.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from semdistill.channels import Link
from semdistill.experiments.checks import verdicts
from semdistill.experiments.dekag.claims import FILES, claims, claims_of
from semdistill.experiments.dekag.config import (
    METHOD_LABELS,
    AlignmentSpec,
    DataSpec,
    DekagConfig,
    EvalSpec,
)
from semdistill.experiments.dekag.data import build_datasets, require_datasets
from semdistill.experiments.dekag.deploy import deploy_parts
from semdistill.experiments.dekag.digital import run_digital
from semdistill.experiments.dekag.evaluate import (
    evaluate_models,
    grid_meta,
    merge_check,
    with_channel,
)
from semdistill.experiments.dekag.reference import SPEC as REFERENCE_SPEC
from semdistill.experiments.dekag.report import build_report, mean_of, plot_evaluation
from semdistill.experiments.dekag.train import (
    codec_fingerprint,
    load_trained_all,
    stage_tags,
    train_all,
)
from semdistill.experiments.registry import register_experiment
from semdistill.experiments.rundir import RunDir
from semdistill.models.cala import CALAModel
from semdistill.results import Results


def _evaluate_into(cfg: DekagConfig, run_dir: RunDir, models: Mapping[str, nn.Module],
                   data: Mapping[str, Any], snr_list: list[float], channel: str,
                   extra_meta: Mapping[str, Any], link: Link | None = None
                   ) -> tuple[Results, Results]:
    """Evaluate, plot, and attach the metadata; returns (grid, references), not yet saved."""
    ev = evaluate_models(cfg, models, data, snr_list, channel, link)
    figures = plot_evaluation(cfg, run_dir, ev, models, data, snr_list)
    ev.grid.meta = grid_meta(cfg, models, data, channel, figures, extra_meta)
    return ev.grid, ev.refs


def run(cfg: DekagConfig, run_dir: RunDir) -> dict[str, Any]:
    """Data → base codec → adapters (equal budgets) → grid evaluation → report."""
    t0 = time.perf_counter()
    data = build_datasets(cfg, run_dir)
    models, counts, info = train_all(cfg, run_dir, data)
    mc = None
    if isinstance(models.get("cala"), CALAModel):
        mc = merge_check(models["cala"], data["test"][:32], models["base"].num_rates, cfg.seed)
    extra = {"trainable": counts, "train": info, "merge_check": mc,
             "data_seconds": data.get("data_seconds")}
    grid, refs = _evaluate_into(cfg, run_dir, models, data, list(cfg.eval.snr_db),
                                cfg.codec.channel.name, extra)
    grid.meta["seconds"] = time.perf_counter() - t0
    grid.save(run_dir.results / "dekag-grid.json")
    refs.save(run_dir.results / "dekag-bytes.json")
    run_digital(cfg, run_dir, models["base"], data)
    run_dir.update_info(wall_seconds_before_report=time.perf_counter() - t0,
                        device=cfg.edge.device)
    build_report(run_dir)
    avg = {m: round(mean_of(grid.select(method=m), "psnr"), 3) for m in models}
    summary: dict[str, Any] = {f"psnr[{m}]": v for m, v in avg.items()}
    if "cala" in avg:
        summary["cala_gain_db"] = round(avg["cala"] - avg["base"], 3)
        if "base_matched" in avg:
            summary["cala_gain_over_matched_db"] = round(avg["cala"] - avg["base_matched"], 3)
        summary["cala_fraction"] = round(counts["cala"]["fraction"], 5)
    summary.update(verdicts(claims_of(cfg, grid, refs)))  # one seed: SMOKE lines
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary


def evaluate(cfg: DekagConfig, run_dir: RunDir, snr_db: list[float] | None = None,
             channel: str | None = None) -> Path:
    """Re-evaluate a finished run on other SNRs and/or another channel (trained weights reused).

    Never trains and never generates data: a missing ``checkpoints/<stage>/final`` or data
    cache is refused in one line. Writes ``results/dekag-grid-<channel>.json`` and its sample
    grids, then rebuilds ``report.md`` and every plot (the new grid's named ``*-<channel>``),
    and returns its path.
    """
    run_dir.require_finished(stage_tags(cfg))
    data = require_datasets(run_dir)
    models, counts, info = load_trained_all(cfg, run_dir, data)
    name = channel or cfg.codec.channel.name
    cfg = with_channel(cfg, name)
    link = Link.from_config(cfg.codec.channel, normalize=False)  # the trained weights, sent over it
    grid, _ = _evaluate_into(cfg, run_dir, models, data, list(snr_db or cfg.eval.snr_db),
                             name, {"trainable": counts, "train": info}, link)
    path = grid.save(run_dir.results / f"dekag-grid-{name}.json")
    build_report(run_dir)
    return path


register_experiment("dekag", DekagConfig, evaluate=evaluate, report=build_report,
                   parts=deploy_parts)(run)

__all__ = [
    "METHOD_LABELS",
    "REFERENCE_SPEC",
    "AlignmentSpec",
    "DataSpec",
    "DekagConfig",
    "EvalSpec",
    "build_datasets",
    "FILES",
    "build_report",
    "claims",
    "codec_fingerprint",
    "evaluate",
    "run",
]
