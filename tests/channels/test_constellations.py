"""Constellations: unit energy, Gray labels, quantization, bit mapping."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.channels import constellation_names, get_constellation

NAMES = ["bpsk", "qpsk", "16qam", "64qam"]
FAST = settings(max_examples=20, deadline=None)


def test_registry_lists_all_and_rejects_unknown_names():
    assert set(NAMES) <= set(constellation_names())
    with pytest.raises(ValueError, match="16qam.*64qam.*bpsk.*qpsk"):
        get_constellation("8psk")


@pytest.mark.parametrize("name", NAMES)
def test_unit_energy_and_shapes(name):
    c = get_constellation(name)
    m = {"bpsk": 1, "qpsk": 2, "16qam": 4, "64qam": 6}[name]
    assert c.name == name and c.bits_per_symbol == m
    assert c.points.shape == (2**m,) and c.points.dtype == torch.complex64
    assert c.bits.shape == (2**m, m)
    assert float(c.points.abs().square().mean()) == pytest.approx(1.0, abs=1e-6)
    assert len(set(map(tuple, c.bits.tolist()))) == 2**m  # labels are distinct


@pytest.mark.parametrize("name", NAMES)
def test_nearest_neighbours_differ_in_exactly_one_bit(name):
    c = get_constellation(name)
    d = (c.points[:, None] - c.points[None, :]).abs()
    dmin = d[d > 0].min()
    pairs = 0
    for i, j in itertools.combinations(range(c.num_points), 2):
        if abs(float(d[i, j]) - float(dmin)) < 1e-5:
            pairs += 1
            assert int((c.bits[i] != c.bits[j]).sum()) == 1, (i, j)
    # a square L×L grid has 2·L·(L-1) nearest-neighbour pairs (BPSK: 1)
    side = int(round(c.num_points**0.5))
    expected = 1 if name == "bpsk" else 2 * side * (side - 1)
    assert pairs == expected


@FAST
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 10_000), scale=st.floats(0.1, 3.0))
def test_hard_quantize_outputs_points_idempotently(name, seed, scale):
    c = get_constellation(name)
    z = torch.randn(4, 33, dtype=torch.complex64, generator=torch.Generator().manual_seed(seed))
    q = c.quantize(z * scale)
    dist_to_set = (q.unsqueeze(-1) - c.points).abs().min(dim=-1).values
    assert float(dist_to_set.max()) < 1e-6
    torch.testing.assert_close(c.quantize(q), q)


@FAST
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 10_000))
def test_lattice_nearest_index_equals_brute_force(name, seed):
    c = get_constellation(name)
    z = 1.5 * torch.randn(
        8, 64, dtype=torch.complex64, generator=torch.Generator().manual_seed(seed)
    )
    brute = (z.unsqueeze(-1) - c.points).abs().argmin(dim=-1)
    assert torch.equal(c.nearest_index(z), brute)


@pytest.mark.parametrize("name", NAMES)
def test_straight_through_gradient_is_identity(name):
    c = get_constellation(name)
    z = torch.randn(3, 10, dtype=torch.complex64, requires_grad=True)
    upstream = torch.randn(3, 10, dtype=torch.complex64)
    (c.quantize(z) * upstream.conj()).real.sum().backward()
    torch.testing.assert_close(z.grad, upstream)


def test_soft_quantize_is_differentiable_and_tends_to_hard():
    c = get_constellation("16qam")
    z = torch.randn(2, 50, dtype=torch.complex64, requires_grad=True)
    soft = c.quantize(z, mode="soft", temperature=0.5)
    soft.abs().sum().backward()
    assert z.grad is not None and float(z.grad.abs().sum()) > 0
    # symbols within 0.1 of a point (16-QAM half-distance: 0.32) have a clear nearest point
    g = torch.Generator().manual_seed(0)
    near = c.points[torch.randint(0, 16, (2, 50), generator=g)]
    near = near + 0.05 * torch.randn(2, 50, dtype=torch.complex64, generator=g)
    cold = c.quantize(near, mode="soft", temperature=1e-3)
    torch.testing.assert_close(cold, c.quantize(near), atol=1e-5, rtol=0)
    warm = c.quantize(near, mode="soft", temperature=10.0)
    assert float((warm - c.quantize(near)).abs().max()) > 0.1
    with pytest.raises(ValueError):
        c.quantize(z, mode="fuzzy")


@FAST
@given(name=st.sampled_from(NAMES), k=st.integers(1, 50), seed=st.integers(0, 10_000))
def test_map_demap_roundtrip_noiseless(name, k, seed):
    c = get_constellation(name)
    g = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (3, k * c.bits_per_symbol), generator=g)
    x = c.map_bits(bits)
    assert x.shape == (3, k)
    assert torch.equal(c.demap(x), bits)
    assert torch.equal(c.points[c.nearest_index(x)], x)
