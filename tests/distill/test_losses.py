"""IB loss terms: the closed-form Gaussian KL against Monte Carlo, soft CE, weighted terms."""

from __future__ import annotations

import math

import pytest
import torch

from semdistill.data import UNLABELLED
from semdistill.distill import (
    WeightedTerms,
    channel_rate,
    cross_entropy,
    gaussian_channel_kl,
    soft_cross_entropy,
)


def _cn_logpdf(y, mean, var):
    """log CN(y; mean, var·I) summed over symbols: −k log(πσ²) − |y−μ|²/σ²."""
    k = y.shape[-1]
    return -k * math.log(math.pi * var) - (y - mean).abs().square().sum(-1) / var


@pytest.mark.parametrize("n0,prior", [(0.1, 1.1), (1.0, 2.0), (0.5, 0.7)])
def test_closed_form_kl_matches_monte_carlo(n0, prior):
    g = torch.Generator().manual_seed(0)
    k = 6
    mu = torch.complex(torch.randn(1, k, generator=g, dtype=torch.float64),
                       torch.randn(1, k, generator=g, dtype=torch.float64)) * 0.6
    m = 200_000
    noise = torch.complex(torch.randn(m, k, generator=g, dtype=torch.float64),
                          torch.randn(m, k, generator=g, dtype=torch.float64)) * math.sqrt(n0 / 2)
    y = mu + noise
    samples = _cn_logpdf(y, mu, n0) - _cn_logpdf(y, torch.zeros_like(mu), prior)
    mc, se = samples.mean().item(), samples.std().item() / math.sqrt(m)
    closed = gaussian_channel_kl(mu.to(torch.complex64), n0, prior).item()
    assert abs(closed - mc) < 4 * se + 1e-3, (closed, mc, se)


def test_rate_equals_log1p_snr_at_full_power():
    k, n0 = 32, 0.25
    x = torch.exp(1j * torch.rand(3, k) * 6.28).to(torch.complex64)  # |x| = 1: Es = 1
    rate = channel_rate(x, torch.ones_like(x), torch.full((3,), n0))
    assert torch.allclose(rate, torch.full((3,), math.log(1 + 1 / n0)), atol=1e-5)
    assert (channel_rate(0.5 * x, torch.ones_like(x), torch.full((3,), n0)) < rate).all()


def test_soft_ce_of_one_hot_is_ce_and_temperature_scales():
    logits = torch.randn(5, 7)
    labels = torch.randint(0, 7, (5,))
    one_hot = torch.nn.functional.one_hot(labels, 7).float()
    assert torch.allclose(soft_cross_entropy(logits, one_hot), cross_entropy(logits, labels))
    t = 3.0
    expect = -(one_hot * torch.log_softmax(logits / t, -1)).sum(-1).mean() * t**2
    assert torch.allclose(soft_cross_entropy(logits, one_hot, t), expect)


def test_cross_entropy_skips_unlabelled_samples():
    logits, labels = torch.randn(6, 5, requires_grad=True), torch.tensor([1, -1, 3, -1, 0, 2])
    keep = labels != UNLABELLED
    expect = torch.nn.functional.cross_entropy(logits[keep], labels[keep]) * keep.sum() / 6
    assert torch.allclose(cross_entropy(logits, labels), expect)
    none = cross_entropy(logits, torch.full((6,), UNLABELLED))
    none.backward()  # a batch of transfer images only: zero loss, still a graph
    assert none.item() == 0.0 and torch.equal(logits.grad, torch.zeros(6, 5))


def test_weighted_terms_sum_and_log_each_term():
    terms = {"kd": torch.tensor(2.0, requires_grad=True), "ce": torch.tensor(1.0),
             "rate": torch.tensor(4.0)}
    out = WeightedTerms({"kd": 1.0, "ce": 0.5, "rate": 0.0})(terms)
    assert out["loss"].item() == pytest.approx(2.5)
    assert out["rate"].item() == 4.0 and out["loss"].requires_grad
    with pytest.raises(KeyError):
        WeightedTerms({"missing": 1.0})(terms)
