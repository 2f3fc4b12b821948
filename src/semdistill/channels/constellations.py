"""Gray-labelled constellations (BPSK, QPSK, 16-QAM, 64-QAM) with unit average energy.

Points are stored so that **the point index is its bit label** read MSB first:
``points[i]`` carries the bits ``bits[i] = binary(i)``. For square QAM the first half of the
bits selects the in-phase level and the second half the quadrature level, each through a binary
reflected Gray code, so nearest neighbours differ in exactly one bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from semdistill.errors import NonFiniteSymbols
from semdistill.registry import Registry


def gray_code(n: int) -> int:
    """Binary reflected Gray code of ``n``."""
    return n ^ (n >> 1)


def int_to_bits(values: torch.Tensor, num_bits: int) -> torch.Tensor:
    """Integers ``(...)`` → bits ``(..., num_bits)`` (int64, MSB first)."""
    shifts = torch.arange(num_bits - 1, -1, -1, device=values.device)
    return (values.unsqueeze(-1) >> shifts) & 1


def bits_to_int(bits: torch.Tensor) -> torch.Tensor:
    """Bits ``(..., m)`` (MSB first, any integer/bool dtype) → integers ``(...)`` (int64)."""
    m = bits.shape[-1]
    weights = 2 ** torch.arange(m - 1, -1, -1, device=bits.device)
    return (bits.long() * weights).sum(dim=-1)


class Constellation(nn.Module):
    """A labelled constellation with hard/soft quantization, bit mapping and hard demapping.

    Attributes:
        name: registry name (``"16qam"``...).
        points: ``(M,)`` complex64 buffer, unit average energy; ``points[i]`` has label ``i``.
        bits: ``(M, m)`` int64 buffer, ``bits[i]`` = the m-bit label of ``points[i]`` (MSB first).
        bits_per_symbol: m = log2 M.

    Args:
        name: a name for messages and plots.
        points: ``(M,)`` complex points, M a power of two; rescaled to unit average energy.
        lattice: optional ``(levels_i, levels_q, label_grid)`` describing a rectangular lattice
            (``levels_*`` ascending, ``label_grid[p_i, p_q]`` the label at that position): it
            enables O(1) per-symbol nearest-point search instead of an M-way argmin.
    """

    points: torch.Tensor
    bits: torch.Tensor

    def __init__(
        self,
        name: str,
        points: torch.Tensor,
        lattice: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        m_points = points.numel()
        m = int(round(math.log2(m_points)))
        if m_points < 2 or 2**m != m_points:
            raise ValueError(f"a constellation needs 2^m >= 2 points, got {m_points}")
        pts = points.to(torch.complex128).reshape(-1)
        scale = pts.abs().square().mean().sqrt()
        self.name = name
        self.bits_per_symbol = m
        self.register_buffer("points", (pts / scale).to(torch.complex64), persistent=False)
        self.register_buffer("bits", int_to_bits(torch.arange(m_points), m), persistent=False)
        self._lattice = lattice is not None
        if lattice is not None:
            levels_i, levels_q, grid = lattice
            self.register_buffer("levels_i", (levels_i / scale).float(), persistent=False)
            self.register_buffer("levels_q", (levels_q / scale).float(), persistent=False)
            self.register_buffer("label_grid", grid.long(), persistent=False)

    @property
    def num_points(self) -> int:
        """M, the number of points."""
        return self.points.numel()

    def extra_repr(self) -> str:
        return f"name={self.name!r}, M={self.num_points}"

    def nearest_index(self, z: torch.Tensor) -> torch.Tensor:
        """Index (= integer label) of the nearest point: complex ``(B, K)`` → int64 ``(B, K)``.

        Non-finite symbols have no nearest point: a ``ValueError`` (see docs/channels.md). The
        check is data-dependent, so a graph being exported (``torch.export``, ONNX) leaves it
        out: an exported transmitter maps non-finite symbols to an edge point.
        """
        if not torch.compiler.is_exporting() and not bool(torch.isfinite(torch.view_as_real(z) if z.is_complex() else z).all()):
            raise NonFiniteSymbols("cannot quantize NaN or infinite symbols: the transmitter "
                                   "diverged (try a lower train.lr; checkpoints are kept)")
        if self._lattice:
            pi = self._nearest_level(z.real, self.levels_i.to(z.device))
            pq = self._nearest_level(z.imag, self.levels_q.to(z.device))
            return self.label_grid.to(z.device)[pi, pq]
        pts = self.points.to(device=z.device, dtype=z.dtype)
        return (z.unsqueeze(-1) - pts).abs().argmin(dim=-1)

    @staticmethod
    def _nearest_level(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        """Nearest of equally spaced ascending ``levels`` (L,) for real ``x`` → int64 position."""
        n = levels.numel()
        if n == 1:
            return torch.zeros(x.shape, dtype=torch.long, device=x.device)
        step = levels[1] - levels[0]
        pos = torch.round((x.detach().to(levels.dtype) - levels[0]) / step)
        return pos.clamp_(0, n - 1).long()

    def quantize(
        self, z: torch.Tensor, mode: str = "hard", temperature: float = 0.1
    ) -> torch.Tensor:
        """Map complex symbols ``(B, K)`` onto the constellation.

        ``mode="hard"``: nearest point, with a straight-through gradient (``z + (q - z).detach()``:
        the forward value is the point, the gradient w.r.t. ``z`` is the identity).
        ``mode="soft"``: ``sum_i softmax(-|z - c_i|^2 / temperature)_i c_i``, a differentiable
        relaxation that tends to the hard point as ``temperature`` → 0 (temperature is in units of
        symbol energy, Es = 1; the 64-QAM squared minimum distance is ≈ 0.095).
        """
        if mode == "hard":
            q = self.points.to(device=z.device, dtype=z.dtype)[self.nearest_index(z)]
            return z + (q - z).detach()
        if mode == "soft":
            if temperature <= 0:
                raise ValueError(f"temperature must be > 0, got {temperature}")
            pts = self.points.to(device=z.device, dtype=z.dtype)
            d2 = (z.unsqueeze(-1) - pts).abs().square()
            w = torch.softmax(-d2 / temperature, dim=-1).to(z.dtype)
            return (w * pts).sum(dim=-1)
        raise ValueError(f"unknown quantization mode {mode!r}; valid: hard, soft")

    def map_bits(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``(B, K*m)`` (0/1, MSB first per symbol) → complex64 symbols ``(B, K)``."""
        m = self.bits_per_symbol
        if bits.shape[-1] % m:
            raise ValueError(f"{bits.shape[-1]} bits is not a multiple of {m} bits per symbol")
        labels = bits_to_int(bits.reshape(*bits.shape[:-1], -1, m))
        return self.points.to(bits.device)[labels]

    def demap(self, y: torch.Tensor) -> torch.Tensor:
        """Hard demapping: complex ``(B, K)`` → bits ``(B, K*m)`` (int64) of the nearest points."""
        b = int_to_bits(self.nearest_index(y), self.bits_per_symbol)
        return b.reshape(*y.shape[:-1], -1)


CONSTELLATIONS: Registry[Callable[[], Constellation]] = Registry("constellation")


def _square_qam(name: str, m: int) -> Constellation:
    """Gray square QAM with 2^m points (m even), or BPSK for m = 1."""
    if m == 1:
        levels_i, levels_q = torch.tensor([-1.0, 1.0], dtype=torch.float64), torch.zeros(1)
        bits_i, bits_q = 1, 0
    else:
        bits_i = bits_q = m // 2
        n = 2**bits_i
        levels_i = levels_q = torch.arange(-(n - 1), n, 2, dtype=torch.float64)
    n_i, n_q = levels_i.numel(), levels_q.numel()
    points = torch.empty(2**m, dtype=torch.complex128)
    grid = torch.empty(n_i, n_q, dtype=torch.long)
    for pi in range(n_i):  # tables of at most 64 entries, built once
        for pq in range(n_q):
            label = (gray_code(pi) << bits_q) | gray_code(pq)
            points[label] = complex(levels_i[pi], levels_q[pq])
            grid[pi, pq] = label
    return Constellation(name, points, lattice=(levels_i, levels_q.to(torch.float64), grid))


@CONSTELLATIONS.register("bpsk")
def bpsk() -> Constellation:
    """BPSK: {-1, +1}; bit 0 → -1."""
    return _square_qam("bpsk", 1)


@CONSTELLATIONS.register("qpsk")
def qpsk() -> Constellation:
    """QPSK (= 4-QAM): (±1 ± j)/√2, first bit on I, second on Q."""
    return _square_qam("qpsk", 2)


@CONSTELLATIONS.register("16qam")
def qam16() -> Constellation:
    """16-QAM, Gray, levels {±1, ±3}/√10."""
    return _square_qam("16qam", 4)


@CONSTELLATIONS.register("64qam")
def qam64() -> Constellation:
    """64-QAM, Gray, levels {±1, ±3, ±5, ±7}/√42."""
    return _square_qam("64qam", 6)


def get_constellation(name: str) -> Constellation:
    """A new :class:`Constellation` by name (``"bpsk"``, ``"qpsk"``, ``"16qam"``, ``"64qam"``).

    Raises:
        ValueError: unknown name (the message lists the valid names).
    """
    key = name.lower().replace("-", "")
    if key not in CONSTELLATIONS:
        raise ValueError(
            f"unknown constellation {name!r}; valid: {', '.join(CONSTELLATIONS.names())}"
        )
    return CONSTELLATIONS.get(key)()


def constellation_names() -> list[str]:
    """Registered constellation names."""
    return CONSTELLATIONS.names()
