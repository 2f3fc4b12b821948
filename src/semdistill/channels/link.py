"""``Link``: power normalization → channel → CSI estimate → equalization, in one module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from semdistill.channels.base import Channel
from semdistill.channels.config import ChannelConfig
from semdistill.channels.equalization import (
    UNIT_GAIN_EQUALIZERS,
    estimate_csi,
    get_equalizer,
    get_unit_gain_equalizer,
)
from semdistill.channels.normalize import power_normalize
from semdistill.channels.registry import build_channel


@dataclass
class LinkOutput:
    """What a :class:`Link` returns.

    Attributes:
        z_hat: equalized symbols ``(B, K)`` complex (an estimate of the *normalized* input).
        h: true per-symbol gains ``(B, K)``.
        noise_var: N0 per complex symbol ``(B,)``.
        h_hat: the receiver's CSI ``(B, K)`` (``h`` itself with perfect CSI).
        y: received symbols before equalization ``(B, K)``.
    """

    z_hat: torch.Tensor
    h: torch.Tensor
    noise_var: torch.Tensor
    h_hat: torch.Tensor
    y: torch.Tensor


class Link(nn.Module):
    """The physical layer both systems use.

    ``forward(z, snr_db)``: ``x = power_normalize(z)`` (Es = 1 per sample, if ``normalize``) →
    ``y = h x + n`` (``channel``) → ``h_hat = h + e`` (``csi_error_var``) → equalizer.

    Args:
        channel: a :class:`Channel` or a registry name (``"awgn"``, ``"rayleigh"``...).
        equalizer: ``"mmse"`` (default) or ``"zf"``.
        csi_error_var: CSI error variance per complex gain (0 = perfect CSI).
        normalize: normalize each sample to unit mean power before the channel.
    """

    def __init__(
        self,
        channel: Channel | str,
        equalizer: str = "mmse",
        csi_error_var: float = 0.0,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if csi_error_var < 0:
            raise ValueError(f"csi_error_var must be >= 0, got {csi_error_var}")
        self.channel = build_channel(channel) if isinstance(channel, str) else channel
        self.equalizer_name = equalizer
        self._equalize = get_equalizer(equalizer)
        # an equalizer registered without a unit-gain form takes the general path everywhere
        self._equalize_unit_gain = (get_unit_gain_equalizer(equalizer)
                                    if equalizer in UNIT_GAIN_EQUALIZERS else None)
        self.csi_error_var = float(csi_error_var)
        self.normalize = normalize

    @classmethod
    def from_config(cls, cfg: ChannelConfig | dict[str, Any], normalize: bool = True) -> Link:
        """Build from a :class:`ChannelConfig` (or a dict validated as one).

        ``normalize=False`` is for transmitters that constrain their own power (the task
        student's power constraint, the latent codec's normalization before quantization):
        their symbols are sent as they are.
        """
        if not isinstance(cfg, ChannelConfig):
            cfg = ChannelConfig.model_validate(cfg)
        channel = build_channel(cfg.name, **cfg.channel_kwargs())
        return cls(channel, equalizer=cfg.equalizer, csi_error_var=cfg.csi_error_var,
                   normalize=normalize)

    def extra_repr(self) -> str:
        return (
            f"equalizer={self.equalizer_name!r}, csi_error_var={self.csi_error_var}, "
            f"normalize={self.normalize}"
        )

    def forward(
        self,
        z: torch.Tensor,
        snr_db: float | torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> LinkOutput:
        """Transmit complex symbols ``z`` ``(B, K)`` at Es/N0 = ``snr_db`` (float or ``(B,)`` dB).

        Differentiable w.r.t. ``z``. Returns :class:`LinkOutput`. Non-finite symbols propagate
        (a diverged transmitter shows as a non-finite loss, which stops training); a NaN or
        −inf dB SNR raises ``ValueError``. A unit-gain channel (AWGN) with perfect CSI takes a
        fast path: no CSI draw, no per-symbol equalizer arithmetic, the same values.
        """
        x = power_normalize(z) if self.normalize else z
        out = self.channel(x, snr_db, generator=generator)
        if (self.channel.unit_gain and self.csi_error_var == 0
                and self._equalize_unit_gain is not None):
            z_hat = self._equalize_unit_gain(out.y, out.noise_var)
            return LinkOutput(z_hat=z_hat, h=out.h, noise_var=out.noise_var, h_hat=out.h, y=out.y)
        h_hat = estimate_csi(out.h, self.csi_error_var, generator=generator)
        z_hat = self._equalize(out.y, h_hat, out.noise_var)
        return LinkOutput(z_hat=z_hat, h=out.h, noise_var=out.noise_var, h_hat=h_hat, y=out.y)
