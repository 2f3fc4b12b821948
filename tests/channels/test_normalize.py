"""Power normalization, real/complex packing and the SNR ↔ N0 conversion."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.channels import (
    bandwidth_ratio,
    complex_to_real,
    power_normalize,
    real_to_complex,
    snr_db_to_noise_var,
)

FAST = settings(max_examples=25, deadline=None)


@FAST
@given(
    batch=st.integers(1, 6),
    k=st.integers(1, 40),
    log_scale=st.floats(-6, 6),
    power=st.floats(0.1, 10.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_power_normalize_gives_requested_power_per_sample(batch, k, log_scale, power, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, k, dtype=torch.complex128, generator=g) * 10**log_scale
    out = power_normalize(z, power)
    measured = out.abs().square().mean(dim=1)
    torch.testing.assert_close(measured, torch.full((batch,), power, dtype=torch.float64))


def test_power_normalize_per_sample_power_tensor_and_zero_input():
    z = torch.randn(3, 8, dtype=torch.complex64)
    p = torch.tensor([0.5, 1.0, 2.0])
    torch.testing.assert_close(power_normalize(z, p).abs().square().mean(1), p)
    zero = power_normalize(torch.zeros(2, 4, dtype=torch.complex64))
    assert torch.isfinite(zero.real).all() and (zero == 0).all()


def test_power_normalize_is_differentiable():
    z = torch.randn(2, 5, dtype=torch.complex64, requires_grad=True)
    power_normalize(z).real.sum().backward()
    assert z.grad is not None and torch.isfinite(torch.view_as_real(z.grad)).all()


@FAST
@given(batch=st.integers(1, 5), half=st.integers(1, 30), seed=st.integers(0, 1000))
def test_real_complex_roundtrip_pairs_consecutive_values(batch, half, seed):
    x = torch.randn(batch, 2 * half, generator=torch.Generator().manual_seed(seed))
    z = real_to_complex(x)
    assert z.shape == (batch, half) and z.dtype == torch.complex64
    torch.testing.assert_close(z.real, x[:, 0::2])
    torch.testing.assert_close(z.imag, x[:, 1::2])
    torch.testing.assert_close(complex_to_real(z), x)


def test_real_to_complex_rejects_odd_length():
    with pytest.raises(ValueError, match="even"):
        real_to_complex(torch.zeros(2, 5))


def test_bandwidth_ratio_is_symbols_over_real_values():
    assert bandwidth_ratio(256, 3 * 32 * 32) == pytest.approx(1 / 12)
    with pytest.raises(ValueError):
        bandwidth_ratio(0, 10)


def test_snr_to_noise_var_is_per_complex_symbol():
    assert float(snr_db_to_noise_var(10.0)) == pytest.approx(0.1)
    assert float(snr_db_to_noise_var(0.0, es=2.0)) == pytest.approx(2.0)
    n0 = snr_db_to_noise_var(torch.tensor([0.0, 3.0, 20.0]))
    torch.testing.assert_close(n0, torch.tensor([1.0, 10**-0.3, 0.01]))
    assert float(snr_db_to_noise_var(math.inf)) == 0.0
