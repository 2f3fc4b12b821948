"""Power normalization, real ↔ complex packing, SNR ↔ noise variance.

All functions follow the package convention (see :mod:`semdistill.channels`): complex baseband,
Es = 1 per complex symbol after normalization, SNR = Es/N0 per complex symbol in dB.
"""

from __future__ import annotations

import torch

#: floor on the measured power before dividing, so an all-zero input stays finite (and zero).
POWER_EPS = 1e-20

_COMPLEX_TO_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}


def power_normalize(z: torch.Tensor, power: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Scale each sample so its mean energy per complex symbol is ``power``.

    Args:
        z: complex symbols ``(B, K)`` (any trailing shape ``(B, ...)`` works; the mean is taken
            over every dimension but the first). Real tensors are accepted too and normalized
            per real value.
        power: target mean ``|z|^2`` per symbol (Es), a float or a ``(B,)`` tensor.

    Returns:
        ``(B, K)`` tensor, same dtype, with ``mean_k |z[b, k]|^2 == power[b]``. Differentiable;
        the measured power is floored at 1e-20, so an all-zero sample stays zero.
    """
    if z.dim() < 2:
        raise ValueError(f"expected a batch (B, K, ...), got shape {tuple(z.shape)}")
    dims = tuple(range(1, z.dim()))
    energy = (z.real.square() + z.imag.square()) if z.is_complex() else z.square()
    mean = energy.mean(dim=dims, keepdim=True)
    p = torch.as_tensor(power, dtype=mean.dtype, device=mean.device)
    if p.dim() == 1:
        p = p.reshape(-1, *([1] * (z.dim() - 1)))
    return z * (torch.rsqrt(mean.clamp_min(POWER_EPS)) * torch.sqrt(p))


def real_to_complex(x: torch.Tensor) -> torch.Tensor:
    """Pack consecutive real values into complex symbols: ``z[..., i] = x[..., 2i] + j x[..., 2i+1]``.

    Args:
        x: real ``(B, N)`` (or ``(..., N)``) with N even. float16/bfloat16 are upcast to float32.

    Returns:
        complex ``(B, N // 2)`` (complex64 for float32 input, complex128 for float64).
        Differentiable; the inverse is :func:`complex_to_real`.
    """
    if x.is_complex():
        raise TypeError("real_to_complex expects a real tensor")
    n = x.shape[-1]
    if n % 2:
        raise ValueError(f"the last dimension must be even to pair values, got {n}")
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return torch.view_as_complex(x.reshape(*x.shape[:-1], n // 2, 2).contiguous())


def complex_to_real(z: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`real_to_complex`: complex ``(B, K)`` → real ``(B, 2K)``, interleaved re/im."""
    if not z.is_complex():
        raise TypeError("complex_to_real expects a complex tensor")
    r = torch.view_as_real(z.resolve_conj())
    return r.reshape(*z.shape[:-1], 2 * z.shape[-1])


def bandwidth_ratio(num_symbols: int, num_source_values: int) -> float:
    """Bandwidth ratio K / n: complex channel uses per real source value (e.g. 1/6 for JSCC)."""
    if num_symbols <= 0 or num_source_values <= 0:
        raise ValueError("num_symbols and num_source_values must be positive")
    return num_symbols / num_source_values


def snr_db_to_noise_var(snr_db: float | torch.Tensor, es: float = 1.0) -> torch.Tensor:
    """Noise variance N0 per complex symbol from SNR = Es/N0 in dB: ``N0 = es * 10^(-snr/10)``.

    Args:
        snr_db: SNR in dB, a float or a tensor of any shape (typically ``(B,)``).
        es: symbol energy Es (1 after :func:`power_normalize`).

    Returns:
        N0 with the shape of ``snr_db``; float32 for python numbers, otherwise the input's
        floating dtype. Each real dimension carries N0 / 2.
    """
    snr = torch.as_tensor(snr_db)
    if not snr.is_floating_point():
        snr = snr.to(torch.get_default_dtype())
    return es * torch.pow(10.0, -snr / 10.0)


def complex_dtype_to_real(dtype: torch.dtype) -> torch.dtype:
    """complex64 → float32, complex128 → float64."""
    try:
        return _COMPLEX_TO_REAL[dtype]
    except KeyError:
        raise TypeError(f"expected complex64 or complex128 symbols, got {dtype}") from None


def broadcast_snr(
    snr_db: float | torch.Tensor, batch: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """SNR in dB as a ``(B,)`` tensor: a float or 0-d tensor is repeated, a ``(B,)`` one checked.

    NaN or −inf dB is a ``ValueError`` (+inf dB is allowed: a noise-free channel).
    """
    snr = torch.as_tensor(snr_db, device=device, dtype=dtype)
    if bool((torch.isnan(snr) | (snr == -torch.inf)).any()):
        raise ValueError("snr_db must be a number of dB or +inf (noise-free); got NaN or -inf")
    if snr.dim() == 0:
        return snr.expand(batch)
    snr = snr.reshape(-1)
    if snr.numel() != batch:
        raise ValueError(f"snr_db has {snr.numel()} values for a batch of {batch}")
    return snr
