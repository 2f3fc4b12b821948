"""Image and latent quality: PSNR and SSIM (pure functions, per sample).

Images are ``(B, 3, H, W)`` floats in [0, 1]. Every function returns one value per sample
``(B,)`` so callers can average over any grouping they like.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: floor on the MSE so identical inputs give a finite PSNR (100 dB at peak 1).
MSE_FLOOR = 1e-10
#: the PSNR of identical images [dB] at peak 1 (the MSE floor): reports print it as "lossless".
LOSSLESS_PSNR_DB = -10.0 * math.log10(MSE_FLOOR)


def mse_per_sample(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample over all but the first dimension: ``(B, ...)`` → ``(B,)``."""
    if x.shape != y.shape:
        raise ValueError(f"shape mismatch: {tuple(x.shape)} vs {tuple(y.shape)}")
    return (x.float() - y.float()).square().flatten(1).mean(dim=1)


def psnr(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """PSNR in dB per sample: ``10 log10(data_range² / MSE)``, ``(B, ...)`` → ``(B,)``.

    For images in [0, 1] (the default) ``data_range`` is 1.
    """
    return 10.0 * torch.log10(data_range**2 / mse_per_sample(x, ref).clamp_min(MSE_FLOOR))


def latent_psnr(z_hat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """PSNR of latents in dB per sample, with the peak = each reference sample's range.

    ``10 log10((max z_b − min z_b)² / MSE_b)``: latents have no fixed range, so the reference
    latent's own dynamic range plays the role of the image's 1.0. ``(B, C, h, w)`` → ``(B,)``.
    """
    flat = z.float().flatten(1)
    peak = (flat.max(dim=1).values - flat.min(dim=1).values).clamp_min(1e-6)
    return 10.0 * torch.log10(peak.square() / mse_per_sample(z_hat, z).clamp_min(MSE_FLOOR))


def _gaussian_window(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-x.square() / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0, window: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM per sample (Wang et al. 2004): Gaussian window, per channel, mean over the map.

    ``(B, C, H, W)`` → ``(B,)``. The window shrinks to the image size for small images; only
    fully covered ("valid") positions are averaged. Identical inputs give exactly 1.
    """
    if x.shape != ref.shape or x.dim() != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors, got {tuple(x.shape)}, "
                         f"{tuple(ref.shape)}")
    c = x.shape[1]
    size = min(window, x.shape[-1], x.shape[-2])
    g = _gaussian_window(size, sigma, x.device)
    kh = g.reshape(1, 1, size, 1).repeat(c, 1, 1, 1)
    kw = g.reshape(1, 1, 1, size).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, kh, groups=c), kw, groups=c)

    x, ref = x.float(), ref.float()
    mu_x, mu_y = blur(x), blur(ref)
    sxx = blur(x * x) - mu_x.square()
    syy = blur(ref * ref) - mu_y.square()
    sxy = blur(x * ref) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x.square() + mu_y.square() + c1) * (sxx + syy + c2)
    return (num / den).flatten(1).mean(dim=1)
