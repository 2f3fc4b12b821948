"""Closed-form uncoded error rates and a Monte-Carlo BER/SER simulator.

Theory assumes the package convention: Es = 1, ``snr_db`` = Es/N0 per complex symbol in dB,
coherent detection, Gray square QAM (binary reflected Gray code per axis). With γ = Es/N0:

- BPSK: Pb = Q(sqrt(2γ)) (Eb = Es). QPSK: Pb = Q(sqrt(γ)) (Eb = Es/2, so Q(sqrt(2 Eb/N0))).
- Square M-QAM over AWGN: the *exact* Gray BER (the expression of Cho & Yoon, IEEE Trans.
  Commun. 2002), computed here by enumerating, for each √M-PAM axis, transmitted level ×
  decision region × Hamming distance. It is a finite sum ``Σ_d w_d Q(d · sqrt(2 s² γ))`` over odd
  d, with half-spacing ``s² = 3 / (2 (M - 1))``.
- Flat Rayleigh with perfect CSI and ZF: the same sums averaged over |h|² ~ Exp(1), using
  ``E[Q(a sqrt(γX))] = (1 - sqrt(c / (1 + c))) / 2`` with ``c = a² γ / 2`` (BPSK:
  ``(1 - sqrt(γ / (1 + γ))) / 2``), and for SER
  ``E[Q²(a sqrt(γX))] = 1/4 - μ · atan(1/μ) / π`` with ``μ = sqrt(c / (1 + c))``.
  Block fading has the same per-symbol marginal, hence the same averages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch

from semdistill.channels.base import Channel
from semdistill.channels.constellations import Constellation, get_constellation, gray_code
from semdistill.channels.equalization import estimate_csi, get_equalizer
from semdistill.channels.fading import RayleighBlock
from semdistill.channels.registry import build_channel

SnrLike = float | Sequence[float] | torch.Tensor

#: (levels per axis, bits per axis) of the I and Q axes, and the squared half-spacing s².
_SQUARE = {
    "bpsk": ((2, 1), (1, 0), 1.0),
    "qpsk": ((2, 1), (2, 1), 0.5),
    "16qam": ((4, 2), (4, 2), 3 / 30),
    "64qam": ((8, 3), (8, 3), 3 / 126),
}


def qfunc(x: torch.Tensor) -> torch.Tensor:
    """Gaussian tail ``Q(x) = P(N(0,1) > x) = erfc(x / √2) / 2``."""
    return 0.5 * torch.special.erfc(x / math.sqrt(2.0))


def _gamma(snr_db: SnrLike) -> torch.Tensor:
    return torch.pow(10.0, torch.as_tensor(snr_db, dtype=torch.float64) / 10.0)


def _one_minus_mu(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(μ, 1 − μ)`` with ``μ = sqrt(c / (1 + c))``; ``1 − μ = 1 / ((1 + c)(1 + μ))`` keeps its
    digits at high SNR, where ``1 − sqrt(...)`` would cancel to 0."""
    mu = torch.sqrt(c / (1.0 + c))
    return mu, 1.0 / ((1.0 + c) * (1.0 + mu))


def _rayleigh_q(a: float, gamma: torch.Tensor) -> torch.Tensor:
    """``E[Q(a sqrt(γ X))] = (1 − μ) / 2``, X ~ Exp(1)."""
    return 0.5 * _one_minus_mu(a * a * gamma / 2.0)[1]


def _rayleigh_q2(a: float, gamma: torch.Tensor) -> torch.Tensor:
    """``E[Q(a sqrt(γ X))^2] = 1/4 − μ atan(1/μ) / π``, X ~ Exp(1).

    Evaluated without cancellation: ``atan(1/μ) = π/4 + atan(δ)`` with
    ``δ = (1 − μ) / (1 + μ)``, so the value is ``((1 − μ) π/4 − μ atan(δ)) / π``.
    """
    mu, e = _one_minus_mu(a * a * gamma / 2.0)
    return (e * (math.pi / 4.0) - mu * torch.atan(e / (1.0 + mu))) / math.pi


def pam_bit_error_terms(levels: int) -> tuple[Fraction, dict[int, Fraction]]:
    """Exact mean bit error probability of Gray L-PAM as ``const + Σ_d w_d Q(d · s / σ)``.

    Levels ``(2p - L + 1) s`` carry the label ``gray(p)``; decisions at the midpoints. Returns
    ``(const, {d: w_d})`` with d odd ≥ 1, averaged over levels and the log2 L bits (const is 0
    for a valid PAM; it is returned so callers can check).
    """
    bits = levels.bit_length() - 1
    const = Fraction(0)
    weights: dict[int, Fraction] = {}
    norm = Fraction(1, levels * bits)

    def add_tail(coef: Fraction, d: float) -> None:
        """Accumulate ``coef · P(n > d·s)`` (d = ±inf or an odd integer)."""
        nonlocal const
        if d == -math.inf:
            const += coef
        elif d == math.inf:
            return
        elif d >= 0:
            weights[int(d)] = weights.get(int(d), Fraction(0)) + coef
        else:  # P(n > -|d| s) = 1 - Q(|d| s / σ)
            const += coef
            weights[int(-d)] = weights.get(int(-d), Fraction(0)) - coef

    for p in range(levels):
        for r in range(levels):
            if r == p:
                continue
            errors = bin(gray_code(p) ^ gray_code(r)).count("1")
            coef = norm * errors
            # region r spans thresholds r and r+1, at distance (2(t - p) - 1) s from level p
            lower = -math.inf if r == 0 else 2 * (r - p) - 1
            upper = math.inf if r == levels - 1 else 2 * (r + 1 - p) - 1
            add_tail(coef, lower)
            add_tail(-coef, upper)
    return const, {d: w for d, w in sorted(weights.items()) if w != 0}


def _spec(constellation: str | Constellation) -> tuple[tuple[int, int], tuple[int, int], float]:
    name = constellation.name if isinstance(constellation, Constellation) else constellation
    key = name.lower().replace("-", "")
    if key not in _SQUARE:
        raise ValueError(f"no closed form for {name!r}; valid: {', '.join(_SQUARE)}")
    return _SQUARE[key]


def _ber_sum(constellation: str | Constellation, snr_db: SnrLike, fading: bool) -> torch.Tensor:
    axis_i, axis_q, s2 = _spec(constellation)
    gamma = _gamma(snr_db)
    total_bits = axis_i[1] + axis_q[1]
    out = torch.zeros_like(gamma)
    for levels, bits in (axis_i, axis_q):
        if bits == 0:
            continue
        const, weights = pam_bit_error_terms(levels)
        axis = torch.full_like(gamma, float(const))
        for d, w in weights.items():
            a = d * math.sqrt(2.0 * s2)
            q = _rayleigh_q(a, gamma) if fading else qfunc(a * torch.sqrt(gamma))
            axis = axis + float(w) * q
        out = out + axis * bits / total_bits
    return out


def _ser(constellation: str | Constellation, snr_db: SnrLike, fading: bool) -> torch.Tensor:
    axis_i, axis_q, s2 = _spec(constellation)
    gamma = _gamma(snr_db)
    a = math.sqrt(2.0 * s2)
    ks = [2.0 * (1.0 - 1.0 / levels) for levels, _ in (axis_i, axis_q) if levels > 1]
    if not fading:
        q = qfunc(a * torch.sqrt(gamma))
        # 1 − Π(1 − k Q) as −expm1(Σ log1p(−k Q)): no cancellation when Q is tiny
        return -torch.expm1(sum(torch.log1p(-k * q) for k in ks))
    q1, q2 = _rayleigh_q(a, gamma), _rayleigh_q2(a, gamma)
    if len(ks) == 1:
        return ks[0] * q1
    k1, k2 = ks  # 1 - (1 - k1 Q)(1 - k2 Q), averaged: both axes share the gain
    return (k1 + k2) * q1 - k1 * k2 * q2


def _fading(channel: str) -> bool:
    if channel == "awgn":
        return False
    if channel in ("rayleigh", "rayleigh_block"):
        return True
    raise ValueError(
        f"no closed form for channel {channel!r}; valid: awgn, rayleigh, rayleigh_block"
    )


def ber_awgn(constellation: str | Constellation, snr_db: SnrLike) -> torch.Tensor:
    """Exact uncoded Gray BER over AWGN; float64 tensor shaped like ``snr_db`` (Es/N0 dB)."""
    return _ber_sum(constellation, snr_db, fading=False)


def ber_rayleigh(constellation: str | Constellation, snr_db: SnrLike) -> torch.Tensor:
    """Exact uncoded Gray BER over flat Rayleigh (E|h|² = 1), perfect CSI, ZF/coherent."""
    return _ber_sum(constellation, snr_db, fading=True)


def ser_awgn(constellation: str | Constellation, snr_db: SnrLike) -> torch.Tensor:
    """Exact symbol error rate over AWGN: ``1 - Π_axes (1 - 2(1 - 1/L) Q(s sqrt(2γ)))``."""
    return _ser(constellation, snr_db, fading=False)


def ser_rayleigh(constellation: str | Constellation, snr_db: SnrLike) -> torch.Tensor:
    """Exact symbol error rate over flat Rayleigh, perfect CSI, ZF/coherent."""
    return _ser(constellation, snr_db, fading=True)


def theoretical_ber(
    constellation: str | Constellation, channel: str, snr_db: SnrLike
) -> torch.Tensor:
    """Closed-form BER for ``channel`` in ``"awgn"``, ``"rayleigh"``, ``"rayleigh_block"``."""
    return _ber_sum(constellation, snr_db, fading=_fading(channel))


def theoretical_ser(
    constellation: str | Constellation, channel: str, snr_db: SnrLike
) -> torch.Tensor:
    """Closed-form SER for ``channel`` in ``"awgn"``, ``"rayleigh"``, ``"rayleigh_block"``."""
    return _ser(constellation, snr_db, fading=_fading(channel))


@dataclass
class BerResult:
    """Monte-Carlo outcome; ``float(result)`` is the BER."""

    ber: float
    ser: float
    num_bits: int
    num_bit_errors: int
    num_symbols: int
    num_symbol_errors: int

    def __float__(self) -> float:
        return self.ber


@torch.no_grad()
def simulate_ber(
    constellation: str | Constellation,
    channel: str | Channel,
    snr_db: float,
    num_bits: int,
    equalizer: str = "zf",
    generator: torch.Generator | None = None,
    *,
    csi_error_var: float = 0.0,
    symbols_per_row: int | None = None,
    device: torch.device | str | None = None,
    chunk_symbols: int = 1 << 20,
) -> BerResult:
    """Monte-Carlo uncoded BER/SER: random bits → map → channel → CSI → equalize → hard demap.

    Args:
        constellation: name or :class:`Constellation` (unit energy, so Es = 1 exactly).
        channel: name (``"awgn"``, ``"rayleigh"``, ...) or a :class:`Channel`.
        snr_db: Es/N0 in dB.
        num_bits: bits to simulate (rounded up to whole symbols and rows).
        equalizer: ``"zf"`` (matches the theory) or ``"mmse"``.
        generator: RNG on ``device`` (reproducible runs).
        csi_error_var: CSI error variance (0 = perfect CSI).
        symbols_per_row: K of the ``(B, K)`` batches; default 1 for flat channels, so every
            symbol sees an independent gain, and J for block fading.
        device: where to simulate; defaults to the generator's device, else CPU.
        chunk_symbols: symbols per batch (bounds memory).
    """
    const = get_constellation(constellation) if isinstance(constellation, str) else constellation
    chan = build_channel(channel) if isinstance(channel, str) else channel
    dev = torch.device(device if device is not None else (generator.device if generator else "cpu"))
    const = const.to(dev)
    equalize = get_equalizer(equalizer)
    m = const.bits_per_symbol
    if symbols_per_row is None:
        symbols_per_row = chan.num_blocks if isinstance(chan, RayleighBlock) else 1
    k = symbols_per_row
    total_rows = math.ceil(math.ceil(num_bits / m) / k)
    rows_per_chunk = max(1, chunk_symbols // k)
    bit_errors = symbol_errors = 0
    done = 0
    while done < total_rows:
        rows = min(rows_per_chunk, total_rows - done)
        bits = torch.randint(0, 2, (rows, k * m), device=dev, generator=generator)
        x = const.map_bits(bits)
        out = chan(x, snr_db, generator=generator)
        h_hat = estimate_csi(out.h, csi_error_var, generator=generator)
        z = equalize(out.y, h_hat, out.noise_var)
        wrong = const.demap(z) != bits
        bit_errors += int(wrong.sum())
        symbol_errors += int(wrong.reshape(rows, k, m).any(dim=-1).sum())
        done += rows
    n_sym = total_rows * k
    return BerResult(
        ber=bit_errors / (n_sym * m),
        ser=symbol_errors / n_sym,
        num_bits=n_sym * m,
        num_bit_errors=bit_errors,
        num_symbols=n_sym,
        num_symbol_errors=symbol_errors,
    )
