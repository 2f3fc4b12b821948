"""Covariance models for the J block gains of a block-fading channel, with cached Cholesky factors.

A correlation model gives a Hermitian positive semi-definite ``(J, J)`` covariance ``C`` with
unit diagonal (times ``power``). Block gains are sampled as ``h = L g`` with ``L L^H = C`` the
Cholesky factor and ``g ~ CN(0, I)``, so ``E[h h^H] = C`` and ``E|h_j|^2 = C[j, j]``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch

#: relative diagonal loading added before the Cholesky factorization (C + jitter·tr(C)/J · I).
CHOLESKY_JITTER = 1e-9


class BlockCorrelation(ABC):
    """Base class: subclasses implement :meth:`matrix`; :meth:`cholesky` caches the factor."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str, torch.dtype], torch.Tensor] = {}

    @abstractmethod
    def matrix(self, num_blocks: int) -> torch.Tensor:
        """Covariance ``C`` ``(J, J)`` complex128 on the CPU (Hermitian PSD)."""
        ...

    def cholesky(
        self,
        num_blocks: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.complex64,
    ) -> torch.Tensor:
        """Lower-triangular ``L`` ``(J, J)`` with ``L L^H = C`` (+ tiny jitter), cached per
        ``(J, device, dtype)``. Factorized in float64 on the CPU, then cast and moved."""
        key = (num_blocks, str(torch.device(device)), dtype)
        factor = self._cache.get(key)
        if factor is None:
            c = self.matrix(num_blocks).to(torch.complex128)
            if not torch.allclose(c, c.mH, atol=1e-12):
                raise ValueError(f"{self!r}: covariance is not Hermitian")
            scale = c.diagonal().real.mean().item()
            eye = torch.eye(num_blocks, dtype=c.dtype)
            jitter = CHOLESKY_JITTER * scale
            for _ in range(8):
                lower, info = torch.linalg.cholesky_ex(c + jitter * eye)
                if info.item() == 0:
                    break
                jitter *= 100.0
            else:
                raise ValueError(f"{self!r}: covariance is not positive semi-definite")
            factor = lower.to(device=device, dtype=dtype)
            self._cache[key] = factor
        return factor


class ExponentialCorrelation(BlockCorrelation):
    """``C[j', j] = power · rho^|j' - j|`` (real, Toeplitz; a Gauss–Markov process in time).

    Args:
        rho: correlation between adjacent blocks, 0 ≤ rho < 1.
        power: P_h = E|h|^2 of every block (1 by convention).
    """

    def __init__(self, rho: float, power: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"rho must satisfy 0 <= rho < 1, got {rho}")
        if power <= 0:
            raise ValueError(f"power must be > 0, got {power}")
        self.rho = float(rho)
        self.power = float(power)

    def matrix(self, num_blocks: int) -> torch.Tensor:
        j = torch.arange(num_blocks, dtype=torch.float64)
        lag = (j[:, None] - j[None, :]).abs()
        return (self.power * torch.pow(torch.tensor(self.rho, dtype=torch.float64), lag)).to(
            torch.complex128
        )

    def __repr__(self) -> str:
        return f"ExponentialCorrelation(rho={self.rho}, power={self.power})"


class DispersionCorrelation(BlockCorrelation):
    """Frequency correlation of a channel with an exponential power-delay profile:

    ``C[j', j] = power / (1 + 2πi · Δ[j', j] · omega)``,  ``Δ[j', j] = (j' - j) · spacing``.

    ``omega`` is the RMS delay spread and ``spacing`` the frequency separation of adjacent blocks
    (their product is what matters, e.g. ω in units of 1/spacing). ``C`` is Hermitian
    (``C[j, j'] = conj(C[j', j])``) and positive semi-definite: ``1/(1 + i a Δ)`` is the Fourier
    transform of the density ``e^{-t}``, t ≥ 0 (Bochner).

    Args:
        omega: delay spread ω ≥ 0 (ω = 0 gives fully correlated blocks).
        spacing: block spacing in the same (inverse) units, > 0.
        power: P_h = E|h|^2 of every block (1 by convention).
    """

    def __init__(self, omega: float, spacing: float = 1.0, power: float = 1.0) -> None:
        super().__init__()
        if omega < 0:
            raise ValueError(f"omega must be >= 0, got {omega}")
        if spacing <= 0 or power <= 0:
            raise ValueError("spacing and power must be > 0")
        self.omega = float(omega)
        self.spacing = float(spacing)
        self.power = float(power)

    def matrix(self, num_blocks: int) -> torch.Tensor:
        j = torch.arange(num_blocks, dtype=torch.float64)
        delta = (j[:, None] - j[None, :]) * self.spacing
        denom = torch.complex(torch.ones_like(delta), 2.0 * math.pi * delta * self.omega)
        return self.power / denom

    def __repr__(self) -> str:
        return (
            f"DispersionCorrelation(omega={self.omega}, spacing={self.spacing}, power={self.power})"
        )


def make_correlation(
    kind: str | BlockCorrelation | None,
    rho: float = 0.9,
    omega: float = 0.05,
    spacing: float = 1.0,
) -> BlockCorrelation | None:
    """``"none"``/None → None (independent blocks), ``"exponential"`` → ExponentialCorrelation(rho),
    ``"dispersion"`` → DispersionCorrelation(omega, spacing); an instance is returned as is."""
    if kind is None or isinstance(kind, BlockCorrelation):
        return kind
    if kind == "none":
        return None
    if kind == "exponential":
        return ExponentialCorrelation(rho)
    if kind == "dispersion":
        return DispersionCorrelation(omega, spacing)
    raise ValueError(f"unknown correlation {kind!r}; valid: none, exponential, dispersion")
