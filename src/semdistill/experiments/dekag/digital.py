"""Stage 4b of ``dekag``: the edge image sent digitally against the latent codec (and CALA) at
the same channel uses (docs/digital.md).

The first ``eval.digital.images`` held-out edge images (the aligned edge's VAE decode of the
sent latent: the image the codec's PSNR is measured against) are sent with an image codec +
5G LDPC + QAM over the codec's own channel (fading blocks, correlation, equalizer) at each SNR
and channel-use budget (multiples of the codec's K_r symbols per image at every rate). Scored
like the codec: PSNR and SSIM against that image, consistency to the cloud's images; an image
that does not arrive is the mean of the sent images. Writes ``results/digital.json``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semdistill.digital import envelope, sweep
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.experiments.digital import RESULTS, digital_section
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.generative.edge import load_edge
from semdistill.metrics.consistency import consistency_scorer
from semdistill.metrics.image import psnr, ssim
from semdistill.results import Results

RULE = ("per configuration (codec, code rate, modulation) each image at the highest quality "
        "whose coded channel uses fit the budget; the envelope is the configuration with the "
        "best mean PSNR at each (SNR, budget)")


@torch.no_grad()
def run_digital(cfg: DekagConfig, run_dir: RunDir, base: nn.Module,
                data: Mapping[str, Any]) -> Path | None:
    """The sweep and envelope over the codec's channel; ``None`` when switched off."""
    d = cfg.eval.digital
    if not d.enabled:
        return None
    t0 = time.perf_counter()
    n = min(d.images, len(data["test"]))
    ref = load_edge(cfg.edge).decode_latents(data["test"][:n]).cpu()
    cloud = data["cloud_test"][:n]
    scorer = consistency_scorer(cfg.metrics, cfg.edge.device)

    def score(received: torch.Tensor) -> dict[str, float]:
        out = {"psnr": float(psnr(received, ref).mean()),
               "ssim": float(ssim(received, ref).mean())}
        return out | (scorer.score(received, cloud) if scorer is not None else {})

    snr = list(d.snr_db or cfg.eval.snr_db)
    rates = list(base.rates)
    budgets = d.native_budgets(rates)
    channel = cfg.codec.channel
    recs = sweep(ref, d, channel, snr, budgets, score, ref.mean(0), cfg.seed)
    res = Results("dekag", "digital")
    for r in recs + envelope(recs, snr, budgets, "psnr"):
        res.add(channel=channel.name, **r)
    res.meta = {
        **d.model_dump(mode="json", include={"codecs", "code_rates", "modulations",
                                             "block_length", "iterations"}),
        "images": n, "budgets": budgets, "native_budgets": rates,
        "fallback": "the mean of the sent edge images", "rule": RULE,
        "seconds": time.perf_counter() - t0,
        "notes": [f"channel: {channel.describe()}, one frame of `channel uses` symbols per "
                  "image, as "
                  "the codec's K_r symbols; the latent codec's figures are over all "
                  f"{len(data['test'])} test prompts, the prompt bytes not counted"]}
    return res.save(run_dir.results / RESULTS)


def report_digital(rep: MarkdownReport, run_dir: RunDir, grid: Results) -> None:
    """The digital section of ``report.md``, next to CALA (the base codec without CALA)."""
    method = "cala" if grid.select(method="cala") else "base"
    metrics = [m for m in ("psnr", "ssim", "consistency") if grid.records
               and m in grid.records[0]]
    semantic = [{"method": method, "channel": r["channel"],
                 "budget": r["symbols"], "snr_db": r["snr_db"], **{m: r[m] for m in metrics}}
                for r in grid.select(method=method)]
    digital_section(rep, run_dir, metrics, semantic)
