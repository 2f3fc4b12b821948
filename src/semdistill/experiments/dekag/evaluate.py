"""Stage 4 of ``dekag``: every method over the rate × SNR grid (docs/dekag-cala.md, Metrics).

Each record holds its training ``seed`` (``cfg.seed``), the latent PSNR / MSE against the sent latent, image PSNR / SSIM against the
aligned edge's own image (VAE decode of the sent latent), the consistency of the user's images
to the cloud's images and the bytes per image (prompt + K_r symbols). Every method sees the same
channel draws at a condition: one ``torch.Generator`` seeded per (rate, SNR), no global RNG.
Plots are drawn by :mod:`.report`, the results' metadata is assembled by :func:`grid_meta`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.experiments.dekag.bytes import reference_records
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.generative.edge import EdgeLDM, load_edge
from semdistill.generative.link import GenerativeLink, link_bytes
from semdistill.metrics.complexity import count_parameters
from semdistill.metrics.consistency import ConsistencyScorer, consistency_scorer
from semdistill.metrics.image import latent_psnr, psnr, ssim
from semdistill.models.cala import CALAModel
from semdistill.results import Results
from semdistill.utils.seeds import derive_seed


@dataclass
class Evaluation:
    """What one grid evaluation produced: the records and what the plots need.

    ``samples`` maps ``"<method>|<rate index>|<snr:g>"`` to the first ``eval.grid_images`` user
    images ``(n, 3, H, W)`` in [0, 1].
    """

    grid: Results
    refs: Results
    samples: dict[str, torch.Tensor]
    edge: EdgeLDM


def grid_seed(seed: int, rate: int, snr: float) -> int:
    """The channel-draw seed of condition (rate index, SNR dB): the same for every method."""
    return derive_seed(seed, rate * 10_007 + int(round(snr * 100)) + 7_000_000, modulo=2**62)


@torch.no_grad()
def evaluate_grid(models: Mapping[str, nn.Module], edge: EdgeLDM, data: Mapping[str, Any],
                  cfg: DekagConfig, scorer: ConsistencyScorer | None, snr_list: list[float],
                  results: Results, channel: str, link: Link | None = None
                  ) -> dict[str, torch.Tensor]:
    """Every method × rate × SNR on the test latents; appends records, returns sample images.

    ``data``: ``test`` latents ``(N, C, h, w)``, ``cloud_test`` images ``(N, 3, H, W)``,
    ``test_prompts`` (N strings). ``link`` is the physical layer (default: each codec's own).
    """
    z, cloud = data["test"], data["cloud_test"]
    ref_img = edge.decode_latents(z).cpu()
    base = models["base"]
    samples: dict[str, torch.Tensor] = {}
    bs = cfg.eval.batch_size
    prompts = data["test_prompts"]
    for r, k in enumerate(base.rates):
        nbytes = sum(link_bytes(p, k, base.bits_per_symbol) for p in prompts) / len(prompts)
        for snr in snr_list:
            for name, model in models.items():
                g = torch.Generator(device=z.device).manual_seed(grid_seed(cfg.seed, r, snr))
                gen_link = GenerativeLink(edge, model, base.rates, base.bits_per_symbol)
                zh = torch.cat([gen_link.send_latents(z[i : i + bs], r, snr, link, g)
                                for i in range(0, len(z), bs)])
                img = edge.decode_latents(zh).cpu()
                rec = {"method": name, "seed": cfg.seed, "channel": channel, "rate": r,
                       "symbols": k,
                       "snr_db": float(snr), "bytes": nbytes,
                       "latent_psnr": float(latent_psnr(zh, z).mean()),
                       "latent_mse": float((zh - z).square().mean()),
                       "psnr": float(psnr(img, ref_img).mean()),
                       "ssim": float(ssim(img, ref_img).mean())}
                if scorer is not None:
                    rec.update(scorer.score(img, cloud))
                results.add(**rec)
                samples[f"{name}|{r}|{snr:g}"] = img[: cfg.eval.grid_images]
    return samples


def evaluate_models(cfg: DekagConfig, models: Mapping[str, nn.Module], data: Mapping[str, Any],
                    snr_list: list[float], channel: str, link: Link | None = None
                    ) -> Evaluation:
    """The grid (``dekag-grid``) and the image-codec references (``dekag-bytes``), no meta."""
    edge = load_edge(cfg.edge)
    scorer = consistency_scorer(cfg.metrics, cfg.edge.device)
    grid = Results("dekag", "dekag-grid")
    samples = evaluate_grid(models, edge, data, cfg, scorer, snr_list, grid, channel, link)
    refs = Results("dekag", "dekag-bytes")
    reference_records(edge, data, scorer, refs, cfg.eval.jpeg_qualities, cfg.seed)
    return Evaluation(grid, refs, samples, edge)


@torch.no_grad()
def merge_check(model: CALAModel, z: torch.Tensor, rates: int, seed: int) -> float:
    """Max |merged − gated| latent output for ``z`` ``(B, C, h, w)`` over two fixed conditions
    (lowest rate at 0 dB, highest at 15 dB), with the same channel draws."""
    worst = 0.0
    for r, snr in ((0, 0.0), (rates - 1, 15.0)):
        b = z.shape[0]
        rr, ss = torch.full((b,), r), torch.full((b,), snr)
        gated = model(z, rr, ss, generator=torch.Generator(device=z.device).manual_seed(seed)).z_hat
        model.merge(r, snr)
        merged = model(z, rr, ss, generator=torch.Generator(device=z.device).manual_seed(seed)).z_hat
        model.unmerge()
        worst = max(worst, float((gated - merged).abs().max()))
    return worst


def with_channel(cfg: DekagConfig, name: str) -> DekagConfig:
    """``cfg`` with the codec's channel switched to ``name`` (AWGN and Rayleigh: one block)."""
    if name == cfg.codec.channel.name:
        return cfg
    upd: dict[str, Any] = {"name": name}
    if name in ("awgn", "rayleigh"):
        upd.update(num_blocks=1, correlation="none")
    ch = ChannelConfig.model_validate({**cfg.codec.channel.model_dump(), **upd})
    return cfg.model_copy(update={"codec": cfg.codec.model_copy(update={"channel": ch})})


def grid_meta(cfg: DekagConfig, models: Mapping[str, nn.Module], data: Mapping[str, Any],
              channel: str, figures: Mapping[str, Any], extra: Mapping[str, Any]
              ) -> dict[str, Any]:
    """The grid's ``meta``: setting, channel (key and description), thresholds, ``figures``
    (``grids``: the sample grids' paths relative to the run) and ``extra`` (trainable counts,
    training)."""
    base = models["base"]
    ch = cfg.codec.channel
    return {
        "edge": cfg.edge.model or "shipped (semdistill/assets/edge)",
        "cloud": f"{cfg.cloud.kind}:{cfg.cloud.style}", "subject": cfg.data.subject,
        "alignment": data.get("deliverable"), "codec_params": count_parameters(base),
        "k_max": base.k_max, "rates": base.rates, "constellation": cfg.codec.constellation,
        "channel": channel, "channel_text": ch.describe(),
        "embedders": cfg.metrics.embedders, "low_snr_db": cfg.eval.low_snr_db,
        "min_gain_db": cfg.eval.min_gain_db, "max_fraction": cfg.eval.max_fraction,
        "grids": figures["grids"], **extra,
    }
