"""The denoising objective shared by edge pre-training and MAKD distillation."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def eps_loss(unet: nn.Module, cond: torch.Tensor, z0: torch.Tensor, scheduler: Any,
             timesteps: torch.Tensor | None = None, noise: torch.Tensor | None = None
             ) -> torch.Tensor:
    """E‖ε − ε_θ(√ᾱ_t z0 + √(1−ᾱ_t) ε, c, t)‖² for (B, C, h, w) latents and (B, L, D) context."""
    n = scheduler.config.num_train_timesteps
    t = timesteps if timesteps is not None else torch.randint(0, n, (len(z0),), device=z0.device)
    eps = noise if noise is not None else torch.randn_like(z0)
    noisy = scheduler.add_noise(z0, eps, t)
    return nn.functional.mse_loss(unet(noisy, t, encoder_hidden_states=cond).sample, eps)
