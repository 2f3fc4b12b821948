"""Training of a latent JSCC codec (or an adapted copy of it) through the shared Trainer.

The condition of each training sample, a rate index and an SNR in dB, comes from a callable:
one fixed condition (the base codec of docs/dekag-cala.md) or :func:`random_conditions` (the
adaptation methods, a random rate and SNR per sample).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semdistill.config import SNRRange, TrainConfig
from semdistill.engine import Trainer, batch_indices
from semdistill.models.latent_jscc import LatentJSCCConfig, jscc_loss

#: ``(batch size, device) -> (rate index (B,), SNR dB (B,))``: the training condition.
Condition = Callable[[int, torch.device], tuple[torch.Tensor, torch.Tensor]]


def random_conditions(b: int, num_rates: int, snr: SNRRange, device: torch.device
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """A training condition per sample: rate index ``(b,)`` uniform, SNR ``(b,)`` dB uniform."""
    r = torch.randint(0, num_rates, (b,), device=device)
    s = torch.rand(b, device=device) * (snr.high - snr.low) + snr.low
    return r, s


def train_codec(model: nn.Module, latents: torch.Tensor, train: TrainConfig,
                checkpoint_dir: str | Path, tag: str, seed: int, codec: LatentJSCCConfig,
                condition: Condition, fingerprint: str,
                log: Callable[..., None] | None = None) -> dict[str, Any]:
    """Train ``model``'s trainable parameters on ``latents`` ``(N, C, h, w)`` with ``jscc_loss``.

    Checkpoints go to ``checkpoint_dir`` (a finished stage leaves ``final/`` there and is
    skipped, weights reloaded, on the next call); ``log(step, tag, **metrics)`` receives the
    logged losses. Returns ``{"seconds", "steps", "skipped", "final_<loss term>"...}`` and
    leaves ``model`` in eval mode.
    """
    trainer = Trainer({"codec": model}, train, checkpoint_dir, seed=seed, tag=tag,
                      fingerprint=fingerprint, log=log)

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(step, len(latents), train.batch_size, seed, trainer.rank,
                            trainer.world_size)
        return {"z": latents[idx]}

    def step_fn(mods: Mapping[str, nn.Module], batch: dict[str, torch.Tensor]
                ) -> dict[str, torch.Tensor]:
        z = batch["z"]
        r, s = condition(z.shape[0], z.device)
        out = mods["codec"](z, r, s)
        return jscc_loss(z, out.z_hat, out.s, out.s_q, out.mask, codec.beta, codec.distortion)

    summary = trainer.fit(batch_fn, step_fn)
    model.eval()
    return {"seconds": summary.seconds, "steps": summary.steps, "skipped": summary.skipped,
            **{f"final_{k}": v for k, v in summary.last.items()}}
