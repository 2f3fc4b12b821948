"""Link (normalize → channel → CSI → equalize), equalizers, CSI and ChannelConfig."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from semdistill.channels import (
    AWGN,
    ChannelConfig,
    DispersionCorrelation,
    ExponentialCorrelation,
    Link,
    RayleighBlock,
    RayleighFlat,
    Rician,
    estimate_csi,
    get_equalizer,
    mmse_equalize,
    power_normalize,
    zf_equalize,
)

CHANNELS = {
    "awgn": AWGN,
    "rayleigh": RayleighFlat,
    "block": lambda: RayleighBlock(4),
    "block_exp": lambda: RayleighBlock(4, ExponentialCorrelation(0.9)),
    "block_disp": lambda: RayleighBlock(4, DispersionCorrelation(0.05)),
    "rician": lambda: Rician(2.0),
}


def gen(seed: int = 0, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@pytest.mark.parametrize("equalizer", ["zf", "mmse"])
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_gradients_flow_through_link(name, equalizer):
    link = Link(CHANNELS[name](), equalizer=equalizer, csi_error_var=0.01)
    z = torch.randn(4, 16, dtype=torch.complex64, requires_grad=True)
    snr = torch.tensor([0.0, 5.0, 10.0, 20.0])
    out = link(z, snr, generator=gen())
    assert out.z_hat.shape == (4, 16) and out.h.shape == (4, 16) and out.noise_var.shape == (4,)
    loss = (out.z_hat - power_normalize(z)).abs().square().mean()
    loss.backward()
    grad = torch.view_as_real(z.grad)
    assert torch.isfinite(grad).all() and float(grad.abs().sum()) > 0


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_noise_free_zf_link_returns_the_normalized_input(name):
    z = 3.0 * torch.randn(3, 8, dtype=torch.complex128)
    out = Link(CHANNELS[name](), equalizer="zf")(z, math.inf, generator=gen(1))
    torch.testing.assert_close(out.z_hat, power_normalize(z))
    assert torch.equal(out.h_hat, out.h)


def test_link_without_normalization_passes_power_through():
    z = 2.0 * torch.ones(1, 4, dtype=torch.complex64)
    out = Link("awgn", equalizer="zf", normalize=False)(z, math.inf)
    torch.testing.assert_close(out.z_hat, z)


def test_mmse_is_shrunk_zf():
    y = torch.randn(2, 5, dtype=torch.complex64)
    h = torch.randn(2, 5, dtype=torch.complex64)
    n0 = torch.tensor([0.1, 1.0])
    shrink = h.abs().square() / (h.abs().square() + n0[:, None])
    torch.testing.assert_close(mmse_equalize(y, h, n0), zf_equalize(y, h) * shrink)
    torch.testing.assert_close(get_equalizer("mmse")(y, h, n0), mmse_equalize(y, h, n0))
    torch.testing.assert_close(get_equalizer("zf")(y, h, n0), y / h)
    with pytest.raises(ValueError, match="mmse, zf"):
        get_equalizer("ml")


def test_zf_is_finite_on_a_zero_gain():
    out = zf_equalize(
        torch.ones(1, 2, dtype=torch.complex64), torch.zeros(1, 2, dtype=torch.complex64)
    )
    assert torch.isfinite(torch.view_as_real(out)).all()


def test_csi_error_has_requested_variance_and_perfect_csi_is_identity():
    h = RayleighFlat().sample_gains(4, 25_000, generator=gen(2)).contiguous()
    assert estimate_csi(h) is h
    err = estimate_csi(h, 0.1, generator=gen(3)) - h
    assert abs(float(err.abs().square().mean()) - 0.1) < 5 * 0.1 / math.sqrt(1e5)
    per_sample = estimate_csi(h, torch.tensor([0.0, 0.0, 0.5, 0.5]), generator=gen(4)) - h
    var = per_sample.abs().square().mean(1)
    assert float(var[:2].max()) == 0.0 and torch.allclose(var[2:], torch.full((2,), 0.5), rtol=0.05)
    with pytest.raises(ValueError):
        estimate_csi(h, -1.0)


def test_from_config_builds_the_configured_link():
    link = Link.from_config(
        {
            "name": "rayleigh_block",
            "num_blocks": 8,
            "correlation": "dispersion",
            "omega": 0.1,
            "equalizer": "zf",
            "csi_error_var": 0.02,
        }
    )
    assert isinstance(link.channel, RayleighBlock) and link.channel.num_blocks == 8
    assert isinstance(link.channel.correlation, DispersionCorrelation)
    assert link.channel.correlation.omega == 0.1
    assert link.equalizer_name == "zf" and link.csi_error_var == 0.02
    rician = Link.from_config(ChannelConfig(name="rician", k_factor=5.0))
    assert isinstance(rician.channel, Rician) and rician.channel.k_factor == 5.0
    default = Link.from_config(ChannelConfig())
    assert isinstance(default.channel, AWGN) and default.equalizer_name == "mmse"


@pytest.mark.parametrize(
    "bad",
    [
        {"num_blocks": 0},
        {"name": "rayleigh_block", "rho": 1.0},
        {"name": "rayleigh_block", "rho": -0.1},
        {"csi_error_var": -0.1},
        {"name": "rayleigh", "num_blocks": 4},
        {"correlation": "exponential"},
        {"equalizer": "ml"},
        {"name": "nakagami"},
        {"snr_db": 10},
    ],
)
def test_channel_config_rejects_invalid_values(bad):
    with pytest.raises(ValidationError):
        ChannelConfig(**bad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_link_runs_and_backpropagates_on_cuda(name):
    link = Link(CHANNELS[name](), csi_error_var=0.01).cuda()
    z = torch.randn(8, 32, dtype=torch.complex64, device="cuda", requires_grad=True)
    out = link(z, torch.full((8,), 10.0, device="cuda"), generator=gen(0, "cuda"))
    assert out.z_hat.device.type == "cuda" and out.noise_var.device.type == "cuda"
    out.z_hat.abs().sum().backward()
    assert z.grad is not None and torch.isfinite(torch.view_as_real(z.grad)).all()
    noiseless = Link(CHANNELS[name](), equalizer="zf").cuda()(z.detach(), math.inf)
    torch.testing.assert_close(noiseless.z_hat, power_normalize(z.detach()), atol=1e-5, rtol=1e-5)


# ---- non-finite input is an error, not a silent NaN ------------------------------------------
from semdistill.channels import get_constellation  # noqa: E402


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_symbols_propagate_through_the_link_and_stop_the_quantizer(bad):
    z = torch.ones(2, 4, dtype=torch.complex64)
    z[1, 2] = complex(bad, 0.0)
    out = Link("awgn", normalize=False)(z, 10.0, generator=torch.Generator().manual_seed(0))
    assert not torch.isfinite(torch.view_as_real(out.z_hat[1, 2])).all()  # visible, not hidden
    assert torch.isfinite(torch.view_as_real(out.z_hat[0])).all()  # other samples untouched
    with pytest.raises(ValueError, match="cannot quantize NaN"):
        get_constellation("16qam").quantize(z)


@pytest.mark.parametrize("snr", [float("nan"), float("-inf"), torch.tensor([0.0, float("nan")])])
def test_a_nan_or_minus_inf_snr_raises(snr):
    with pytest.raises(ValueError, match="snr_db must be"):
        Link("rayleigh")(torch.ones(2, 4, dtype=torch.complex64), snr)


def test_plus_inf_snr_stays_the_documented_noise_free_channel():
    z = torch.ones(2, 4, dtype=torch.complex64)
    assert torch.allclose(Link("awgn", normalize=False)(z, float("inf")).z_hat, z)


def test_csi_error_variance_and_block_count_are_checked():
    h = torch.ones(2, 4, dtype=torch.complex64)
    for bad in (-0.1, float("nan"), torch.tensor([0.1, -0.1])):
        with pytest.raises(ValueError, match="error_var must be finite and >= 0"):
            estimate_csi(h, bad)
    for bad in (2.7, True, 0):
        with pytest.raises(ValueError, match="num_blocks must be an integer"):
            RayleighBlock(bad)


@pytest.mark.parametrize("equalizer", ["mmse", "zf"])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_unit_gain_fast_path_equals_the_general_equalizer(equalizer, dtype, monkeypatch):
    """AWGN with perfect CSI skips the CSI and per-symbol equalizer work: same values as the
    general equalizer at h = 1, per-sample SNRs, gradients included."""
    import semdistill.channels.link as link_module

    def no_csi(*args, **kwargs):
        raise AssertionError("the unit-gain path draws no CSI")

    monkeypatch.setattr(link_module, "estimate_csi", no_csi)
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(6, 40, dtype=dtype, generator=gen).requires_grad_()
    snr = torch.tensor([-5.0, 0.0, 3.0, 10.0, 20.0, math.inf])
    link = Link("awgn", equalizer=equalizer)
    out = link(z, snr, generator=torch.Generator().manual_seed(9))
    general = get_equalizer(equalizer)(out.y, out.h, out.noise_var)
    assert torch.equal(out.z_hat, general)
    assert out.z_hat.dtype == dtype and torch.equal(out.h_hat, out.h)
    (g_fast,) = torch.autograd.grad(out.z_hat.abs().square().sum(), z)
    again = link(z, snr, generator=torch.Generator().manual_seed(9))
    slow = get_equalizer(equalizer)(again.y, again.h, again.noise_var)
    (g_slow,) = torch.autograd.grad(slow.abs().square().sum(), z)
    torch.testing.assert_close(g_fast, g_slow, rtol=1e-6, atol=0)


def test_unit_gain_fast_path_is_not_taken_with_a_csi_error():
    link = Link("awgn", csi_error_var=0.1)
    out = link(torch.ones(2, 64, dtype=torch.complex64), 10.0,
               generator=torch.Generator().manual_seed(0))
    assert not torch.equal(out.h_hat, out.h)
    assert AWGN.unit_gain and not RayleighBlock.unit_gain


def test_an_equalizer_without_a_unit_gain_form_takes_the_general_path(monkeypatch):
    from semdistill.channels.equalization import EQUALIZERS

    monkeypatch.setitem(EQUALIZERS._items, "mine", lambda y, h, n0: 2 * y)
    for channel in ("awgn", RayleighBlock(4)):
        out = Link(channel, equalizer="mine")(torch.ones(2, 8, dtype=torch.complex64), 10.0)
        assert torch.equal(out.z_hat, 2 * out.y)
