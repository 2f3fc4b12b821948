"""Cross-check of our noise and fading statistics against Sionna 2.x (``sionna.phy.channel``)."""

from __future__ import annotations

import math

import pytest
import torch

from semdistill.channels import AWGN, RayleighBlock

sionna = pytest.importorskip("sionna")
stats = pytest.importorskip("scipy.stats")

from sionna.phy import config as sionna_config  # noqa: E402
from sionna.phy.channel import AWGN as SionnaAWGN  # noqa: E402
from sionna.phy.channel import RayleighBlockFading  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_sionna():
    sionna_config.seed = 1234


def test_awgn_noise_matches_sionna_at_the_same_no():
    no = torch.tensor([0.05, 0.3, 1.0, 2.0])  # N0 per complex symbol, one per sample
    k = 30_000
    x = torch.zeros(4, k, dtype=torch.complex64)
    theirs = SionnaAWGN(device="cpu")(x, no)  # `no` (B,) broadcasts over the last axis
    snr_db = -10 * torch.log10(no)
    ours = AWGN()(x, snr_db, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(ours.noise_var, no)
    for b in range(4):
        for part in (torch.real, torch.imag):
            a, s = part(ours.y[b]), part(theirs[b])
            # same variance (no/2 per real dimension) within 5 sigma of the difference
            sigma = (float(no[b]) / 2) * math.sqrt(2 / k) * math.sqrt(2)
            assert abs(float(a.var() - s.var())) < 5 * sigma
            assert abs(float(a.var()) - float(no[b]) / 2) < 5 * sigma
            assert stats.ks_2samp(a.numpy(), s.numpy()).pvalue > 1e-4


def test_block_fading_matches_sionna_rayleigh_block_fading():
    n, steps = 20_000, 4
    h_sionna, tau = RayleighBlockFading(1, 1, 1, 1, device="cpu")(
        batch_size=n, num_time_steps=steps
    )
    h_sionna = h_sionna.reshape(n, steps)
    assert torch.equal(h_sionna, h_sionna[:, :1].expand(n, steps))  # one gain per block
    ours = RayleighBlock(num_blocks=4).sample_gains(
        n, 4 * steps, generator=torch.Generator().manual_seed(6)
    )
    ours_blocks = ours.reshape(n, 4, steps)
    assert torch.equal(ours_blocks, ours_blocks[..., :1].expand(n, 4, steps))
    g_ours, g_theirs = ours_blocks[..., 0].reshape(-1), h_sionna[:, 0]
    # E|h|^2 = 1 for both (Var |h|^2 = 1)
    for g in (g_ours, g_theirs):
        assert abs(float(g.abs().square().mean()) - 1.0) < 5 / math.sqrt(g.numel())
        assert abs(float(g.real.var()) - 0.5) < 5 * 0.5 * math.sqrt(2 / g.numel())
    # same distribution of |h|^2 (exponential) and of the phase (uniform)
    assert (
        stats.ks_2samp(g_ours.abs().square().numpy(), g_theirs.abs().square().numpy()).pvalue > 1e-4
    )
    assert stats.ks_2samp(g_ours.angle().numpy(), g_theirs.angle().numpy()).pvalue > 1e-4
    assert stats.kstest(g_theirs.abs().square().numpy(), "expon").pvalue > 1e-4
