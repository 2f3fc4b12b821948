"""Channels: the noise convention, fading statistics, block layout, correlation, ZF inversion."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.channels import (
    AWGN,
    DispersionCorrelation,
    ExponentialCorrelation,
    RayleighBlock,
    RayleighFlat,
    Rician,
    build_channel,
    channel_names,
    zf_equalize,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


ALL_CHANNELS = {
    "awgn": lambda: AWGN(),
    "rayleigh": lambda: RayleighFlat(),
    "block": lambda: RayleighBlock(4),
    "block_exp": lambda: RayleighBlock(4, ExponentialCorrelation(0.9)),
    "block_disp": lambda: RayleighBlock(4, DispersionCorrelation(0.2)),
    "rician": lambda: Rician(3.0),
}


def test_noise_is_n0_per_complex_symbol_split_equally_per_real_dimension():
    snr = torch.tensor([-3.0, 0.0, 10.0])
    k = 40_000
    out = AWGN()(torch.zeros(3, k, dtype=torch.complex64), snr, generator=gen(1))
    n0 = 10 ** (-snr / 10)
    torch.testing.assert_close(out.noise_var, n0)
    tol = 5 * math.sqrt(2 / k)  # relative std of a variance estimate from k Gaussian samples
    var_re, var_im = out.y.real.var(dim=1), out.y.imag.var(dim=1)
    assert torch.allclose(var_re / (n0 / 2), torch.ones(3), atol=tol, rtol=0)
    assert torch.allclose(var_im / (n0 / 2), torch.ones(3), atol=tol, rtol=0)
    assert torch.allclose(out.y.abs().square().mean(1) / n0, torch.ones(3), atol=tol, rtol=0)
    corr = (out.y.real * out.y.imag).mean(1) / (n0 / 2)
    assert corr.abs().max() < 5 / math.sqrt(k)
    assert torch.equal(out.h, torch.ones(3, k, dtype=torch.complex64))


def test_infinite_snr_is_noise_free_and_float_snr_broadcasts():
    x = torch.randn(2, 8, dtype=torch.complex64)
    out = RayleighFlat()(x, math.inf, generator=gen())
    torch.testing.assert_close(out.y, out.h * x)
    assert out.noise_var.shape == (2,) and (out.noise_var == 0).all()
    with pytest.raises(ValueError, match="batch"):
        AWGN()(x, torch.zeros(3))


@pytest.mark.parametrize("name", ["rayleigh", "block", "block_exp", "block_disp", "rician"])
def test_gains_have_unit_mean_power(name):
    n = 50_000
    h = ALL_CHANNELS[name]().sample_gains(n, 4, generator=gen(2))
    p = h.abs().square()
    # Var |h|^2 <= 1 for Rayleigh (Exp(1)) and smaller for Rician
    assert abs(float(p.mean()) - 1.0) < 5 / math.sqrt(n)


def test_rayleigh_power_is_exponential_and_rician_has_los_mean():
    stats = pytest.importorskip("scipy.stats")
    h = RayleighFlat().sample_gains(20_000, 1, generator=gen(3)).reshape(-1)
    assert stats.kstest(h.abs().square().numpy(), "expon").pvalue > 1e-3
    hr = Rician(4.0).sample_gains(40_000, 1, generator=gen(4)).reshape(-1)
    assert abs(complex(hr.mean()) - math.sqrt(4 / 5)) < 5 * math.sqrt(0.2 / 40_000)


@pytest.mark.parametrize(
    "corr",
    [
        ExponentialCorrelation(0.8),
        DispersionCorrelation(0.1),
        DispersionCorrelation(0.03, spacing=4.0),
    ],
)
def test_empirical_block_covariance_matches_model(corr):
    j, n = 8, 60_000
    chan = RayleighBlock(j, corr)
    h = chan.sample_block_gains(n, dtype=torch.complex128, generator=gen(5))
    emp = (h.T @ h.conj()) / n  # E[h_j' conj(h_j)]
    target = corr.matrix(j)
    # each entry is a mean of n products with variance <= 1 (unit-power Gaussian gains)
    assert float((emp - target).abs().max()) < 5 / math.sqrt(n)
    assert float((emp - target).abs().max()) < 0.5 * float((target - torch.eye(j)).abs().max())


def test_block_gains_are_independent_without_correlation():
    h = RayleighBlock(6).sample_block_gains(40_000, dtype=torch.complex128, generator=gen(6))
    emp = h.T @ h.conj() / 40_000
    assert float((emp - torch.eye(6)).abs().max()) < 5 / math.sqrt(40_000)


@pytest.mark.parametrize("omega", [0.0, 0.05, 0.5, 5.0])
def test_dispersion_covariance_is_hermitian_psd_with_unit_diagonal(omega):
    c = DispersionCorrelation(omega).matrix(32)
    torch.testing.assert_close(c, c.mH)
    torch.testing.assert_close(c.diagonal().real, torch.ones(32, dtype=torch.float64))
    assert float(torch.linalg.eigvalsh(c).min()) > -1e-10
    lower = DispersionCorrelation(omega).cholesky(32, dtype=torch.complex128)
    torch.testing.assert_close(lower @ lower.mH, c, atol=1e-6, rtol=0)


def test_exponential_covariance_formula_and_cholesky_cache():
    corr = ExponentialCorrelation(0.5)
    c = corr.matrix(4).real
    assert float(c[0, 3]) == pytest.approx(0.125) and float(c[2, 1]) == pytest.approx(0.5)
    assert corr.cholesky(4) is corr.cholesky(4)
    assert corr.cholesky(4, dtype=torch.complex128) is not corr.cholesky(4)
    with pytest.raises(ValueError):
        ExponentialCorrelation(1.0)


@pytest.mark.parametrize(("k", "j"), [(12, 4), (10, 4), (7, 7)])
def test_block_layout_is_contiguous_and_balanced(k, j):
    chan = RayleighBlock(j)
    h = chan.sample_gains(3, k, generator=gen(7))
    idx = chan.block_index(k, "cpu")
    assert idx.tolist() == sorted(idx.tolist()) and set(idx.tolist()) == set(range(j))
    sizes = torch.bincount(idx)
    assert int(sizes.max() - sizes.min()) <= (0 if k % j == 0 else 1)
    for b in range(j):
        block = h[:, idx == b]
        torch.testing.assert_close(block, block[:, :1].expand_as(block))
    assert (h[:, 0] != h[:, -1]).all()  # distinct blocks get distinct gains
    with pytest.raises(ValueError):
        chan.sample_gains(1, j - 1)


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(sorted(ALL_CHANNELS)),
    batch=st.integers(1, 4),
    per_block=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_zf_inverts_noiseless_channel(name, batch, per_block, seed):
    chan = ALL_CHANNELS[name]()
    x = torch.randn(batch, 4 * per_block, dtype=torch.complex128, generator=gen(seed))
    out = chan(x, math.inf, generator=gen(seed + 1))
    torch.testing.assert_close(zf_equalize(out.y, out.h), x)


def test_per_sample_snr_sets_per_sample_noise():
    snr = torch.tensor([0.0, 30.0])
    out = RayleighFlat()(torch.zeros(2, 20_000, dtype=torch.complex64), snr, generator=gen(8))
    ratio = out.y.abs().square().mean(1) / out.noise_var
    assert torch.allclose(ratio, torch.ones(2), atol=0.05)


def test_generator_makes_draws_reproducible():
    x = torch.randn(2, 16, dtype=torch.complex64)
    a = RayleighBlock(4, "exponential")(x, 5.0, generator=gen(9))
    b = RayleighBlock(4, "exponential")(x, 5.0, generator=gen(9))
    assert torch.equal(a.y, b.y) and torch.equal(a.h, b.h)


def test_build_channel_registry():
    assert set(channel_names()) == {"awgn", "rayleigh", "rayleigh_block", "rician"}
    chan = build_channel("rayleigh_block", num_blocks=8, correlation="dispersion", omega=0.2)
    assert isinstance(chan, RayleighBlock) and chan.num_blocks == 8
    assert isinstance(chan.correlation, DispersionCorrelation) and chan.correlation.omega == 0.2
    assert isinstance(build_channel("rician", k_factor=2.0), Rician)
    with pytest.raises(ValueError, match="valid: awgn"):
        build_channel("nakagami")
    with pytest.raises(ValueError, match="bad arguments"):
        build_channel("awgn", num_blocks=3)
