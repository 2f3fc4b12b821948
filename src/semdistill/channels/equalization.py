"""Channel state information (perfect or noisy) and per-symbol ZF / MMSE equalization."""

from __future__ import annotations

from collections.abc import Callable

import torch

from semdistill.channels.base import complex_normal
from semdistill.registry import Registry

#: floor on |h_hat|^2 in ZF so a zero gain gives a large but finite output.
ZF_EPS = 1e-12

Equalizer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
EQUALIZERS: Registry[Equalizer] = Registry("equalizer")
#: the same equalizers where h = 1 and the CSI is perfect: ``(y (B, K), noise_var (B,)) -> (B, K)``.
UnitGainEqualizer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
UNIT_GAIN_EQUALIZERS: Registry[UnitGainEqualizer] = Registry("unit-gain equalizer")


def estimate_csi(
    h: torch.Tensor,
    error_var: float | torch.Tensor = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Receiver's estimate ``h_hat = h + e`` with ``e ~ CN(0, error_var)`` i.i.d. per symbol.

    Args:
        h: true gains ``(B, K)`` complex.
        error_var: estimation error variance per complex gain (float or ``(B,)``); 0 → ``h``
            itself (perfect CSI).
        generator: optional RNG on ``h.device``.

    Returns:
        ``h_hat`` ``(B, K)``.
    """
    if not isinstance(error_var, torch.Tensor):
        if not error_var >= 0 or error_var == float("inf"):  # also NaN
            raise ValueError(f"error_var must be finite and >= 0, got {error_var}")
        if error_var == 0:
            return h
        std: torch.Tensor | float = error_var**0.5
    else:
        if bool((~torch.isfinite(error_var) | (error_var < 0)).any()):
            raise ValueError("error_var must be finite and >= 0 per sample")
        std = error_var.to(h.real.dtype).sqrt()
        if std.dim() == 1:
            std = std.unsqueeze(-1)
    return h + complex_normal(tuple(h.shape), std, h.dtype, h.device, generator)


def zf_equalize(y: torch.Tensor, h_hat: torch.Tensor) -> torch.Tensor:
    """Zero forcing ``y / h_hat`` per symbol, ``(B, K)`` → ``(B, K)`` (computed as
    ``conj(h) y / max(|h|^2, 1e-12)``; unbiased, noise enhanced by 1/|h|^2)."""
    power = (h_hat.real.square() + h_hat.imag.square()).clamp_min(ZF_EPS)
    return h_hat.conj() * y * power.reciprocal()


def mmse_equalize(
    y: torch.Tensor, h_hat: torch.Tensor, noise_var: float | torch.Tensor
) -> torch.Tensor:
    """Scalar linear MMSE per symbol: ``conj(h) y / (|h|^2 + N0)``.

    Args:
        y: received ``(B, K)``; h_hat: gains ``(B, K)``; noise_var: N0 (float or ``(B,)``).

    Returns:
        ``(B, K)``. The estimate is biased towards 0 (gain ``|h|^2/(|h|^2+N0)`` < 1): feed a
        hard QAM detector with ZF, or rescale, when amplitude levels matter.
    """
    n0 = torch.as_tensor(noise_var, dtype=y.real.dtype, device=y.device)
    if n0.dim() == 1:
        n0 = n0.unsqueeze(-1)
    power = h_hat.real.square() + h_hat.imag.square()
    return h_hat.conj() * y * (power + n0).reciprocal()


@EQUALIZERS.register("zf")
def _zf(y: torch.Tensor, h_hat: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
    return zf_equalize(y, h_hat)


EQUALIZERS.register("mmse", mmse_equalize)


@UNIT_GAIN_EQUALIZERS.register("zf")
def _zf_unit_gain(y: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
    return y


@UNIT_GAIN_EQUALIZERS.register("mmse")
def _mmse_unit_gain(y: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
    # conj(1) y / (1 + N0), as one real scale per sample: the values of mmse_equalize at h = 1
    scale = (noise_var.to(y.real.dtype) + 1.0).reciprocal()
    return torch.view_as_complex(torch.view_as_real(y) * scale.reshape(-1, 1, 1))


def get_equalizer(name: str) -> Equalizer:
    """``"zf"`` or ``"mmse"`` → a function ``(y (B,K), h_hat (B,K), noise_var (B,)) -> (B,K)``.

    Raises:
        ValueError: unknown name.
    """
    if name not in EQUALIZERS:
        raise ValueError(f"unknown equalizer {name!r}; valid: {', '.join(EQUALIZERS.names())}")
    return EQUALIZERS.get(name)


def get_unit_gain_equalizer(name: str) -> UnitGainEqualizer:
    """The form of equalizer ``name`` for a unit-gain channel with perfect CSI (``h = h_hat = 1``):
    ``(y (B, K), noise_var (B,)) -> (B, K)``, equal in value to ``get_equalizer(name)(y, 1, N0)``
    with no per-symbol CSI arithmetic (ZF is the identity, MMSE one real scale per sample)."""
    get_equalizer(name)  # the same error for an unknown name
    return UNIT_GAIN_EQUALIZERS.get(name)
