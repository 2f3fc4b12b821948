"""What limits the latent JSCC codec's consistency to the cloud: a diagnostic on a dekag run.

    .venv/bin/python benchmarks/codec_ceiling.py runs/<dekag run> [--steps 4000] [--threads 1]

Uses the run's config and its cached latents (``data/datasets.safetensors``; built first if
missing). Two parts, printed as Markdown tables for docs/dekag-cala.md:

1. Consistency of the edge VAE's decode of the aligned test latents after a known latent error:
   white Gaussian noise of several standard deviations, and a 2× average-pool blur.
2. The run's codec architecture trained from scratch on the aligned training latents (the
   shared Trainer, the run's adapter learning rate) in three ways: alone at the best condition
   (highest rate, 20 dB), on a random condition per sample with the ``mse`` distortion, and the
   same with ``log_mse``. For each: latent/image PSNR and consistency at the best condition, and
   the mean and worst latent PSNR over the run's rate × SNR grid.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from semdistill.config import TrainConfig
from semdistill.distill.codec import random_conditions, train_codec
from semdistill.experiments.dekag import DekagConfig, build_datasets
from semdistill.experiments.registry import load_config_file
from semdistill.experiments.rundir import RunDir
from semdistill.generative.edge import load_edge
from semdistill.metrics.consistency import consistency_scorer
from semdistill.metrics.image import latent_psnr, psnr
from semdistill.models.latent_jscc import LatentJSCC

BEST_SNR_DB = 20.0


def perturbations(z: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """Known latent errors: white noise of std 0.1 … 0.5 and a 2× average-pool blur."""
    g = torch.Generator().manual_seed(seed)
    out = {f"white noise, std {s:g}": z + s * torch.randn(z.shape, generator=g)
           for s in (0.1, 0.3, 0.5)}
    out["2× average-pool blur"] = F.interpolate(F.avg_pool2d(z, 2), size=z.shape[-2:],
                                               mode="bilinear")
    return out


@torch.no_grad()
def grid_latent_psnr(codec: LatentJSCC, z: torch.Tensor, snr_db: list[float]) -> list[float]:
    """Mean latent PSNR of ``z`` through ``codec`` at every (rate, SNR), common seeds."""
    out = []
    for r in range(codec.num_rates):
        for s in snr_db:
            torch.manual_seed(2)
            zh = codec(z, torch.full((len(z),), r), torch.full((len(z),), float(s))).z_hat
            out.append(float(latent_psnr(zh, z).mean()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a dekag run directory")
    ap.add_argument("--steps", type=int, default=4000, help="training steps of each codec")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, cfg = load_config_file(args.run / "config.yaml")
    if not isinstance(cfg, DekagConfig):
        raise SystemExit(f"{args.run} is not a dekag run (system: {cfg.system})")
    data = build_datasets(cfg, RunDir.open(args.run))
    edge, scorer = load_edge(cfg.edge), consistency_scorer(cfg.metrics, cfg.edge.device)
    if scorer is None:
        raise SystemExit("the run's config names no consistency embedder (metrics.embedders)")
    z, cloud = data["test"], data["cloud_test"]
    ref = edge.decode_latents(z).cpu()

    print("| latent error | latent PSNR [dB] | image PSNR [dB] | consistency |\n|---|---:|---:|---:|")
    rows = {"none (error-free)": z, **perturbations(z, cfg.seed)}
    for name, zz in rows.items():
        img = edge.decode_latents(zz).cpu()
        lat = float(latent_psnr(zz, z).mean()) if zz is not z else float("inf")
        print(f"| {name} | {lat:.2f} | {float(psnr(img, ref).mean()):.2f} "
              f"| {scorer.score(img, cloud)['consistency']:.3f} |")

    latent_shape = tuple(z.shape[1:])
    top = LatentJSCC(latent_shape, cfg.codec).num_rates - 1
    train = TrainConfig(steps=args.steps, batch_size=cfg.adapt_train.batch_size,
                        lr=cfg.adapt_train.lr, log_every=args.steps, checkpoint_every=args.steps)
    snr = cfg.adapters.snr
    ways = {
        "alone at the best condition": ("mse", lambda b, dev: (
            torch.full((b,), top, device=dev), torch.full((b,), BEST_SNR_DB, device=dev))),
        "random conditions, mse": ("mse", lambda b, dev: random_conditions(b, top + 1, snr, dev)),
        "random conditions, log_mse": ("log_mse",
                                       lambda b, dev: random_conditions(b, top + 1, snr, dev)),
    }
    print(f"\n{len(data['train'])} aligned training latents, {args.steps} steps, best condition = "
          f"(K_r = {cfg.codec.rates[-1]}, {BEST_SNR_DB:g} dB)\n")
    print("| codec | latent PSNR | image PSNR | consistency | grid mean latent PSNR "
          "| grid worst | train latent PSNR | seconds |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = RunDir.create(tmp, cfg, "ceiling")
        for name, (distortion, condition) in ways.items():
            codec_cfg = cfg.codec.model_copy(update={"distortion": distortion})
            torch.manual_seed(cfg.seed)
            codec = LatentJSCC(latent_shape, codec_cfg)
            t0 = time.perf_counter()
            train_codec(codec, data["train"], train, run_dir.checkpoints / name, name, cfg.seed,
                        codec_cfg, condition, name, run_dir.log_metrics)
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                torch.manual_seed(1)
                best = codec(z, torch.full((len(z),), top), torch.full((len(z),), BEST_SNR_DB))
                img = edge.decode_latents(best.z_hat).cpu()
                zt = data["train"][: len(z)]
                torch.manual_seed(1)
                zt_hat = codec(zt, torch.full((len(zt),), top),
                               torch.full((len(zt),), BEST_SNR_DB)).z_hat
            grid = grid_latent_psnr(codec, z, list(cfg.eval.snr_db))
            print(f"| {name} | {float(latent_psnr(best.z_hat, z).mean()):.2f} "
                  f"| {float(psnr(img, ref).mean()):.2f} "
                  f"| {scorer.score(img, cloud)['consistency']:.3f} "
                  f"| {sum(grid) / len(grid):.2f} | {min(grid):.2f} "
                  f"| {float(latent_psnr(zt_hat, zt).mean()):.2f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
