"""The latent codec takes its link and a generator per call (no reach-in, no global RNG)."""

from __future__ import annotations

import torch

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig

CHANNEL = ChannelConfig(name="rayleigh_block", num_blocks=2, correlation="exponential", rho=0.5)


def _codec() -> LatentJSCC:
    torch.manual_seed(0)
    cfg = LatentJSCCConfig(hidden=4, width=8, k_max=16, rates=[4, 16], channel=CHANNEL)
    return LatentJSCC((4, 4, 4), cfg).eval()


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    z = torch.randn(6, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    return z, torch.tensor([0, 1, 0, 1, 0, 1]), torch.full((6,), 5.0)


@torch.no_grad()
def test_a_generator_per_call_reproduces_the_channel_draws_of_the_global_seed():
    codec, (z, r, s) = _codec(), _inputs()
    a = codec(z, r, s, generator=torch.Generator().manual_seed(7)).z_hat
    b = codec(z, r, s, generator=torch.Generator().manual_seed(7)).z_hat
    torch.manual_seed(7)
    c = codec(z, r, s).z_hat  # the global RNG, seeded the same: the same draws
    assert torch.equal(a, b) and torch.equal(a, c)
    d = codec(z, r, s, generator=torch.Generator().manual_seed(8)).z_hat
    assert not torch.equal(a, d)


@torch.no_grad()
def test_another_link_per_call_replaces_the_codecs_own_without_touching_it():
    codec, (z, r, _) = _codec(), _inputs()
    own = codec.link
    s = torch.full((6,), 60.0)
    clean = Link.from_config(ChannelConfig(name="awgn"), normalize=False)
    bad_csi = Link.from_config(ChannelConfig(name="awgn", csi_error_var=0.5), normalize=False)
    exact = codec(z, r, s, link=clean, generator=torch.Generator().manual_seed(0))
    wrong = codec(z, r, s, link=bad_csi, generator=torch.Generator().manual_seed(0))
    # at 60 dB on AWGN the receiver sees what was sent; a bad CSI estimate shows the link is used
    assert torch.allclose(exact.s_hat, exact.s_q, atol=1e-2)
    assert (wrong.s_hat - wrong.s_q).abs().max() > 0.1
    assert codec.link is own


def test_link_from_config_normalize_choice():
    x = 2.0 * torch.ones(2, 8, dtype=torch.complex64)
    g = torch.Generator().manual_seed(0)
    raw = Link.from_config(ChannelConfig(name="awgn"), normalize=False)(x, 80.0, generator=g)
    unit = Link.from_config(ChannelConfig(name="awgn"))(x, 80.0, generator=g)
    assert torch.allclose(raw.z_hat, x, atol=1e-3)
    assert torch.allclose(unit.z_hat, x / 2, atol=1e-3)
