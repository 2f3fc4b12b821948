"""The digital chain against known behaviour: the LDPC waterfall, bit-exact delivery at high
SNR, the channel-use accounting and the demapper's closed form."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.channels import Link, LinkOutput, get_constellation
from semdistill.channels.config import ChannelConfig
from semdistill.digital.chain import MCS, DigitalChain
from semdistill.digital.demap import SoftDemapper, unbiased


def _payloads(n: int, size: int, seed: int = 0) -> list[bytes]:
    g = torch.Generator().manual_seed(seed)
    return [bytes(torch.randint(0, 256, (size,), generator=g).tolist()) for _ in range(n)]


def _bler(chain: DigitalChain, payloads: list[bytes], snr_db: float) -> float:
    budget = chain.mcs.channel_uses(len(payloads[0]))
    tx = chain.transmit(payloads, budget, snr_db, torch.Generator().manual_seed(1))
    return sum(tx.block_errors) / sum(tx.codewords)


def test_ldpc_qpsk_awgn_waterfall():
    """5G LDPC n = 2304, R = 1/2, QPSK, AWGN, 20 BP iterations (Es/N0 = Eb/N0 here). The BI-AWGN
    Shannon limit at R = 1/2 is Eb/N0 = 0.19 dB, so BLER ~1 just above it; a 5G LDPC code of
    this length reaches 1e-2 within ~2 dB of the limit. Measured with this chain: 1.0 at
    0.5 dB, 0.49 at 1 dB, 0.04 at 1.5 dB, 0 of 200 blocks at 2 dB (docs/digital.md)."""
    mcs = MCS("1/2", "qpsk", 2304)
    chain = DigitalChain(ChannelConfig(name="awgn", equalizer="zf"), mcs, iterations=20)
    below = _bler(chain, _payloads(40, mcs.k // 8), 0.5)
    above = _bler(chain, _payloads(200, mcs.k // 8, seed=1), 2.0)
    assert below >= 0.9
    assert above < 1e-2


@pytest.mark.parametrize("modulation", ["qpsk", "16qam", "64qam"])
@pytest.mark.parametrize("channel", [
    ChannelConfig(name="awgn"),
    ChannelConfig(name="rayleigh_block", num_blocks=4, correlation="dispersion", omega=0.05,
                  equalizer="mmse"),
    ChannelConfig(name="rayleigh", equalizer="zf"),
])
def test_bit_exact_at_high_snr(modulation, channel):
    mcs = MCS("2/3", modulation, 576)
    chain = DigitalChain(channel, mcs, iterations=10)
    payloads = [p[: 17 + 9 * i] for i, p in enumerate(_payloads(4, 200))]   # ragged sizes
    budget = max(mcs.channel_uses(len(p)) for p in payloads) + 5
    tx = chain.transmit(payloads, budget, 45.0, torch.Generator().manual_seed(0))
    assert tx.payloads == payloads and sum(tx.block_errors) == 0
    assert tx.codewords == [mcs.codewords(len(p)) for p in payloads]


@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 5000), budget=st.integers(1, 20000),
       rate=st.sampled_from(["1/3", "1/2", "2/3", "3/4", "5/6"]),
       modulation=st.sampled_from(["qpsk", "16qam", "64qam"]),
       n=st.sampled_from([576, 1152, 1200]))
def test_channel_use_accounting(size, budget, rate, modulation, n):
    mcs = MCS(rate, modulation, n)
    uses = mcs.channel_uses(size)
    assert uses * mcs.bits_per_symbol == mcs.codewords(size) * n          # coded bits / m
    assert mcs.codewords(size) * mcs.k >= 8 * size                         # the payload fits
    assert (uses <= budget) == (size <= mcs.capacity_bytes(budget))        # the fit test


def test_a_payload_over_budget_is_refused():
    chain = DigitalChain(ChannelConfig(name="awgn"), MCS("1/2", "qpsk", 576), iterations=2)
    with pytest.raises(ValueError, match="does not fit in 100 channel uses"):
        chain.transmit([b"x" * 40], 100, 10.0)
    assert chain.transmit([], 100, 10.0).payloads == []


def test_qpsk_llrs_match_the_closed_form():
    """Gray QPSK, bit 1 on +1/√2: LLR = log p(1)/p(0) = 2√2·Re(x̃)/σ² per axis."""
    x = torch.complex(torch.randn(3, 8), torch.randn(3, 8))
    var = torch.rand(3, 8) + 0.1
    llr = SoftDemapper(get_constellation("qpsk"))(x, var).reshape(3, 8, 2)
    expect = torch.stack([x.real, x.imag], -1) * 2 * math.sqrt(2) / var[..., None]
    torch.testing.assert_close(llr, expect, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("equalizer", ["zf", "mmse"])
def test_unbiased_symbols_and_effective_noise(equalizer):
    """After either equalizer, z̃ = x + v with Var(v) = N0/|h|² (perfect CSI)."""
    link = Link.from_config(ChannelConfig(name="rayleigh", equalizer=equalizer), normalize=False)
    x = get_constellation("16qam").points[torch.randint(0, 16, (4000, 16))]
    out: LinkOutput = link(x, 10.0, generator=torch.Generator().manual_seed(0))
    z, var = unbiased(out, equalizer)
    torch.testing.assert_close(var, out.noise_var[:, None] / out.h.abs().square())
    standardized = (z - x) / var.sqrt()
    assert abs(float(standardized.abs().square().mean()) - 1.0) < 0.03
