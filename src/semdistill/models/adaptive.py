"""The channel-adaptive module Φ_θ: SNR-conditioned per-channel weights, X = w ⊙ X0.

Design §5.4 / paper notes §3.2: pool the encoder features, concatenate the normalized SNR, a
2-layer MLP and a sigmoid give one weight per feature channel. Optionally channels whose weight
falls below ``drop_threshold`` are not transmitted (zeroed: variable rate). Disabled (the
non-adaptive baseline) it returns w = 1 and X = X0, with everything else unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


def normalize_snr(snr_db: torch.Tensor, center: float = 7.5, scale: float = 12.5) -> torch.Tensor:
    """Map SNR in dB to roughly [-1, 1] over the default −5…20 dB range: (s − center) / scale."""
    return (snr_db - center) / scale


class ChannelAdaptiveModule(nn.Module):
    """``forward(x0 (B,C,H,W), snr_db (B,) dB) -> (x (B,C,H,W), w (B,C) in (0,1))``.

    Args:
        channels: C, the number of feature channels.
        hidden: width of the MLP's hidden layer.
        enabled: False gives the non-adaptive baseline (w = 1, no parameters used).
        drop_threshold: τ; channels with w < τ are zeroed (0 disables dropping).
        rescale: apply w / RMS(w) (per sample, over channels) instead of w, so that Φ only
            moves energy between channels and never lowers the total (``w`` returned unchanged).
        snr_center, snr_scale: SNR normalization in dB.
    """

    def __init__(self, channels: int, hidden: int = 32, *, enabled: bool = True,
                 drop_threshold: float = 0.0, rescale: bool = False, snr_center: float = 7.5,
                 snr_scale: float = 12.5) -> None:
        super().__init__()
        self.channels, self.enabled, self.rescale = channels, enabled, rescale
        self.drop_threshold = float(drop_threshold)
        self.snr_center, self.snr_scale = snr_center, snr_scale
        self.mlp = nn.Sequential(nn.Linear(channels + 1, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, channels))
        if not enabled:
            self.mlp.requires_grad_(False)

    def weights(self, x0: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Per-channel weights ``(B, C)`` in (0, 1) (ones when disabled)."""
        b = x0.shape[0]
        if not self.enabled:
            return torch.ones(b, self.channels, device=x0.device, dtype=x0.dtype)
        pooled = x0.mean(dim=tuple(range(2, x0.dim())))
        s = normalize_snr(snr_db.to(x0.dtype).reshape(b, 1), self.snr_center, self.snr_scale)
        return torch.sigmoid(self.mlp(torch.cat([pooled, s], dim=1)))

    def forward(self, x0: torch.Tensor, snr_db: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.weights(x0, snr_db)
        if self.enabled and self.drop_threshold > 0:
            w = w * (w >= self.drop_threshold).to(w.dtype)
        gain = w
        if self.enabled and self.rescale:
            gain = w * torch.rsqrt(w.square().mean(dim=1, keepdim=True).clamp_min(1e-12))
        shape = (*w.shape, *([1] * (x0.dim() - 2)))
        return x0 * gain.reshape(shape), w

    def active_fraction(self, w: torch.Tensor) -> torch.Tensor:
        """Fraction of channels actually transmitted per sample ``(B,)``."""
        if not self.enabled or self.drop_threshold <= 0:
            return torch.ones(w.shape[0], device=w.device)
        return (w >= self.drop_threshold).float().mean(dim=1)
