"""AWGN and flat / block / correlated Rayleigh and Rician fading channels."""

from __future__ import annotations

import math

import torch

from semdistill.channels.base import Channel, complex_normal
from semdistill.channels.correlation import BlockCorrelation, make_correlation


class AWGN(Channel):
    """Additive white Gaussian noise: ``y = x + n``, ``n ~ CN(0, N0)``, ``h = 1``."""

    unit_gain = True

    def sample_gains(
        self,
        batch: int,
        num_symbols: int,
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
    ) -> None:
        return None


class RayleighBlock(Channel):
    """Block fading: the K symbols of a sample form J contiguous blocks, one gain per block.

    Symbol ``k`` belongs to block ``floor(k · J / K)``: blocks have exactly K/J symbols when J
    divides K, otherwise ⌊K/J⌋ or ⌈K/J⌉ (K ≥ J is required). The block gains of a sample are
    ``h = sqrt(K_r/(K_r+1)) + sqrt(1/(K_r+1)) · L g`` with ``g ~ CN(0, I_J)``, ``L`` the
    Cholesky factor of the correlation ``C`` (identity when ``correlation`` is None) and ``K_r``
    the Rician factor (0: Rayleigh). Gains are independent across samples.

    Args:
        num_blocks: J ≥ 1 (1 = flat fading: one gain per sample).
        correlation: None (independent blocks), a :class:`BlockCorrelation`, or ``"none"``,
            ``"exponential"`` / ``"dispersion"`` with their default parameters.
        k_factor: Rician K factor (linear power ratio LOS / scattered), 0 for Rayleigh.
    """

    def __init__(
        self,
        num_blocks: int = 1,
        correlation: BlockCorrelation | str | None = None,
        k_factor: float = 0.0,
    ) -> None:
        super().__init__()
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 1:
            raise ValueError(f"num_blocks must be an integer >= 1, got {num_blocks!r}")
        if k_factor < 0:
            raise ValueError(f"k_factor must be >= 0, got {k_factor}")
        self.num_blocks = int(num_blocks)
        self.correlation = make_correlation(correlation)
        self.k_factor = float(k_factor)
        self._index_cache: dict[tuple[int, str], torch.Tensor] = {}

    def extra_repr(self) -> str:
        return f"num_blocks={self.num_blocks}, correlation={self.correlation}, k_factor={self.k_factor}"

    def block_index(self, num_symbols: int, device: torch.device | str) -> torch.Tensor:
        """Block of each symbol ``(K,)`` int64: ``floor(k · J / K)`` (cached per K, device)."""
        if num_symbols < self.num_blocks:
            raise ValueError(f"{num_symbols} symbols cannot fill {self.num_blocks} blocks")
        key = (num_symbols, str(device))
        idx = self._index_cache.get(key)
        if idx is None:
            idx = torch.arange(num_symbols, device=device) * self.num_blocks // num_symbols
            self._index_cache[key] = idx
        return idx

    def sample_block_gains(
        self,
        batch: int,
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Block gains ``(B, J)`` complex, ``E[h h^H] = C`` (Rayleigh) and E|h_j|^2 = 1."""
        g = complex_normal((batch, self.num_blocks), 1.0, dtype, torch.device(device), generator)
        if self.correlation is not None and self.num_blocks > 1:
            lower = self.correlation.cholesky(self.num_blocks, device, dtype)
            g = g @ lower.transpose(0, 1)  # row b: (L g_b)^T
        if self.k_factor > 0:
            los = math.sqrt(self.k_factor / (self.k_factor + 1.0))
            g = g.mul_(math.sqrt(1.0 / (self.k_factor + 1.0))).add_(los)
        return g

    def sample_gains(
        self,
        batch: int,
        num_symbols: int,
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        h = self.sample_block_gains(batch, device=device, dtype=dtype, generator=generator)
        if self.num_blocks == 1:
            return h.expand(batch, num_symbols)
        if num_symbols % self.num_blocks == 0:
            per = num_symbols // self.num_blocks
            return h.unsqueeze(-1).expand(batch, self.num_blocks, per).reshape(batch, num_symbols)
        return h[:, self.block_index(num_symbols, h.device)]


class RayleighFlat(RayleighBlock):
    """Flat Rayleigh fading: one gain ``h ~ CN(0, 1)`` per sample for all K symbols."""

    def __init__(self) -> None:
        super().__init__(num_blocks=1)


class Rician(RayleighBlock):
    """Rician fading ``h = sqrt(K/(K+1)) + sqrt(1/(K+1)) · CN(0, 1)`` (LOS phase 0), E|h|^2 = 1.

    Flat by default; ``num_blocks`` / ``correlation`` act on the scattered part as in
    :class:`RayleighBlock`.
    """

    def __init__(
        self,
        k_factor: float = 1.0,
        num_blocks: int = 1,
        correlation: BlockCorrelation | str | None = None,
    ) -> None:
        super().__init__(num_blocks=num_blocks, correlation=correlation, k_factor=k_factor)
