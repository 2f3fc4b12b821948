"""The channel interface: ``forward(x (B, K) complex, snr_db) -> ChannelOutput``."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import nn

from semdistill.channels.normalize import (
    broadcast_snr,
    complex_dtype_to_real,
    snr_db_to_noise_var,
)


@dataclass
class ChannelOutput:
    """What a channel returns.

    Attributes:
        y: received symbols ``(B, K)`` complex, ``y = h * x + n``.
        h: per-symbol complex gain ``(B, K)`` (ones for AWGN; may be a broadcast view).
        noise_var: N0 per complex symbol ``(B,)`` (real, N0/2 per real dimension).
    """

    y: torch.Tensor
    h: torch.Tensor
    noise_var: torch.Tensor


def complex_normal(
    shape: tuple[int, ...],
    std: torch.Tensor | float,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``CN(0, std^2)`` samples of ``shape`` (complex ``dtype``), one ``randn`` call, no copy.

    ``std`` is the complex standard deviation (``E|n|^2 = std^2``), a float or a tensor that
    broadcasts against ``shape`` (e.g. ``(B, 1)``); each real dimension gets ``std^2 / 2``.
    """
    real = complex_dtype_to_real(dtype)
    n = torch.randn((*shape, 2), dtype=real, device=device, generator=generator)
    if isinstance(std, torch.Tensor):
        n.mul_((std.to(real) * math.sqrt(0.5)).unsqueeze(-1))
    else:
        n.mul_(std * math.sqrt(0.5))
    return torch.view_as_complex(n)


class Channel(nn.Module, ABC):
    """Base class of all channels.

    Subclasses implement :meth:`sample_gains`; ``forward`` adds complex AWGN with
    ``N0 = 10^(-snr_db/10)`` per complex symbol, i.e. it assumes Es = 1: normalize the power of
    ``x`` first (:func:`~semdistill.channels.power_normalize`, which :class:`Link` does).
    ``snr_db = inf`` gives a noise-free channel.

    ``unit_gain`` is true for a channel whose gain is identically 1 (``sample_gains`` always
    returns None): a :class:`~semdistill.channels.Link` then skips CSI and per-symbol
    equalization work with identical outputs.
    """

    unit_gain: bool = False

    @abstractmethod
    def sample_gains(
        self,
        batch: int,
        num_symbols: int,
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor | None:
        """Per-symbol gains ``(B, K)`` complex with E|h|^2 = 1, or None for a unit gain."""
        ...

    def forward(
        self,
        x: torch.Tensor,
        snr_db: float | torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> ChannelOutput:
        """Pass symbols through the channel.

        Args:
            x: transmitted symbols ``(B, K)``, complex64/complex128, Es = 1 assumed.
            snr_db: Es/N0 in dB, a float (whole batch) or a ``(B,)`` tensor (per sample).
            generator: optional RNG on ``x.device`` for reproducible draws.

        Returns:
            :class:`ChannelOutput` with ``y = h x + n`` ``(B, K)``, ``h`` ``(B, K)`` and
            ``noise_var`` ``(B,)``. Differentiable w.r.t. ``x``.
        """
        if not x.is_complex() or x.dim() != 2:
            raise ValueError(f"expected complex symbols (B, K), got {x.dtype} {tuple(x.shape)}")
        batch, k = x.shape
        real = complex_dtype_to_real(x.dtype)
        snr = broadcast_snr(snr_db, batch, x.device, real)
        noise_var = snr_db_to_noise_var(snr)
        h = self.sample_gains(batch, k, device=x.device, dtype=x.dtype, generator=generator)
        noise = complex_normal(
            (batch, k), noise_var.sqrt().unsqueeze(-1), x.dtype, x.device, generator
        )
        if h is None:
            y = noise.add_(x)
            h = torch.ones((), dtype=x.dtype, device=x.device).expand(batch, k)
        else:
            y = torch.addcmul(noise, h, x)
        return ChannelOutput(y=y, h=h, noise_var=noise_var)
