"""Simulated uncoded BER/SER against textbook closed forms (the external reference).

Monte-Carlo tolerance: a point with closed-form BER p simulated over N symbols of m bits must
satisfy |sim - p| <= 5·sqrt(p / N) + 2% of p. sqrt(p / N) bounds the standard deviation of the
BER estimate even though the m bits of one symbol share noise and gain (errors per symbol
e ∈ [0, m] give Var(e) <= m·E[e] = m²p). Every symbol sees an independent gain
(``symbols_per_row=1``), so symbols are independent.

Sample size: N_bits = clip(200 / p, 4e5, 8e6), i.e. ~200 expected errors when affordable.
Documented skip rule: where fewer than 20 bit errors are expected even at the cap (QPSK over
AWGN at 15 and 20 dB, p < 1e-8), the z-score test is meaningless; such points must instead show
almost no errors: symbol errors <= E + 6·sqrt(E) + 6 with E the expected count.
"""

from __future__ import annotations

import math

import pytest
import torch

from semdistill.channels import (
    ber_awgn,
    ber_rayleigh,
    get_constellation,
    ser_awgn,
    ser_rayleigh,
    simulate_ber,
    theoretical_ber,
    theoretical_ser,
)
from semdistill.channels.theory import pam_bit_error_terms, qfunc

SNRS = [0.0, 5.0, 10.0, 15.0, 20.0]


def q(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


def cho_yoon_ber(m_points: int, es_n0: float) -> float:
    """Exact Gray square M-QAM BER over AWGN, Cho & Yoon (2002) eqs. (14)-(16), with Eb/N0."""
    side = int(math.isqrt(m_points))
    eb_n0 = es_n0 / math.log2(m_points)
    n_bits = int(math.log2(side))
    total = 0.0
    for k in range(1, n_bits + 1):
        pk = 0.0
        for i in range(int((1 - 2 ** (-k)) * side)):
            w = (-1) ** math.floor(i * 2 ** (k - 1) / side) * (
                2 ** (k - 1) - math.floor(i * 2 ** (k - 1) / side + 0.5)
            )
            pk += w * math.erfc(
                (2 * i + 1) * math.sqrt(3 * math.log2(m_points) * eb_n0 / (2 * (m_points - 1)))
            )
        total += pk / side
    return total / n_bits


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 3.0, 10.0, 20.0])
def test_bpsk_qpsk_closed_forms(snr_db):
    g = 10 ** (snr_db / 10)
    assert float(ber_awgn("bpsk", snr_db)) == pytest.approx(q(math.sqrt(2 * g)), rel=1e-9)
    assert float(ber_awgn("qpsk", snr_db)) == pytest.approx(q(math.sqrt(g)), rel=1e-9)
    assert float(ber_rayleigh("bpsk", snr_db)) == pytest.approx(0.5 * (1 - math.sqrt(g / (1 + g))))
    assert float(ber_rayleigh("qpsk", snr_db)) == pytest.approx(
        0.5 * (1 - math.sqrt(g / 2 / (1 + g / 2)))
    )
    assert float(ser_awgn("qpsk", snr_db)) == pytest.approx(1 - (1 - q(math.sqrt(g))) ** 2)


@pytest.mark.parametrize("m_points", [4, 16, 64])
def test_qam_awgn_ber_equals_cho_yoon(m_points):
    name = {4: "qpsk", 16: "16qam", 64: "64qam"}[m_points]
    for snr_db in [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0]:
        expected = cho_yoon_ber(m_points, 10 ** (snr_db / 10))
        assert float(ber_awgn(name, snr_db)) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_pam_terms_have_no_constant_and_16qam_matches_textbook():
    for levels in (2, 4, 8):
        const, _ = pam_bit_error_terms(levels)
        assert const == 0
    _, w = pam_bit_error_terms(4)  # 16-QAM: (3 Q(x) + 2 Q(3x) - Q(5x)) / 4
    assert {d: float(v) for d, v in w.items()} == {1: 0.75, 3: 0.5, 5: -0.25}


@pytest.mark.parametrize("name", ["bpsk", "qpsk", "16qam", "64qam"])
def test_rayleigh_closed_forms_equal_numerical_average_of_awgn(name):
    integrate = pytest.importorskip("scipy.integrate")
    for snr_db in [0.0, 10.0, 20.0]:
        g = 10 ** (snr_db / 10)
        for fading_fn, awgn_fn in ((ber_rayleigh, ber_awgn), (ser_rayleigh, ser_awgn)):

            def integrand(x: float, awgn_fn=awgn_fn, g=g) -> float:
                return float(awgn_fn(name, 10 * math.log10(g * x))) * math.exp(-x) if x > 0 else 0.0

            avg, _ = integrate.quad(integrand, 0, math.inf, limit=200, epsabs=1e-12)
            assert float(fading_fn(name, snr_db)) == pytest.approx(avg, rel=1e-5)


def test_theory_accepts_tensors_and_rejects_unknown():
    out = theoretical_ber("16qam", "rayleigh_block", torch.tensor([0.0, 10.0]))
    assert out.shape == (2,) and out.dtype == torch.float64
    torch.testing.assert_close(qfunc(torch.tensor(0.0)), torch.tensor(0.5))
    with pytest.raises(ValueError):
        theoretical_ber("qpsk", "rician", 0.0)
    with pytest.raises(ValueError):
        ber_awgn("8psk", 0.0)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
@pytest.mark.parametrize("name", ["qpsk", "16qam"])
def test_simulated_ber_and_ser_match_theory(name, channel):
    m = get_constellation(name).bits_per_symbol
    checked = 0
    for i, snr in enumerate(SNRS):
        p = float(theoretical_ber(name, channel, snr))
        ps = float(theoretical_ser(name, channel, snr))
        num_bits = int(min(max(200 / max(p, 1e-300), 4e5), 8e6))
        gen = torch.Generator().manual_seed(1000 * i + 7)
        res = simulate_ber(name, channel, snr, num_bits, equalizer="zf", generator=gen)
        assert res.num_bits >= num_bits and res.num_bits == res.num_symbols * m
        if res.num_bits * p < 20:  # documented rule (module docstring)
            expected = ps * res.num_symbols
            assert res.num_symbol_errors <= expected + 6 * math.sqrt(expected) + 6, (snr, res)
            continue
        checked += 1
        n = res.num_symbols
        assert abs(res.ber - p) <= 5 * math.sqrt(p / n) + 0.02 * p, (snr, res.ber, p)
        assert abs(res.ser - ps) <= 5 * math.sqrt(ps / n) + 0.02 * ps, (snr, res.ser, ps)
    # only QPSK over AWGN may fall under the skip rule, and only at 15 and 20 dB
    assert checked == (3 if (name, channel) == ("qpsk", "awgn") else len(SNRS))


def test_simulation_detects_a_wrong_snr_convention():
    """A 3 dB error (e.g. Eb/N0 vs Es/N0 for QPSK) must fail the tolerance used above."""
    gen = torch.Generator().manual_seed(3)
    res = simulate_ber("qpsk", "awgn", 5.0, 400_000, generator=gen)
    p_wrong = float(theoretical_ber("qpsk", "awgn", 8.0))
    assert abs(res.ber - p_wrong) > 5 * math.sqrt(p_wrong / res.num_symbols) + 0.02 * p_wrong


def test_imperfect_csi_is_worse_than_perfect_csi():
    gen = torch.Generator().manual_seed(4)
    zf = simulate_ber("16qam", "rayleigh", 15.0, 400_000, generator=gen)
    noisy = simulate_ber("16qam", "rayleigh", 15.0, 400_000, generator=gen, csi_error_var=0.05)
    sigma = math.sqrt(zf.ber / zf.num_symbols) + math.sqrt(noisy.ber / noisy.num_symbols)
    assert noisy.ber - zf.ber > 5 * sigma


# ---- numerical precision at high SNR (no cancellation) --------------------------------------
def _mp_q(x):
    import mpmath

    return mpmath.erfc(x / mpmath.sqrt(2)) / 2


def _mp_ser_awgn(levels_per_axis, s2, snr_db):
    """1 − Π(1 − k Q) in 50-digit arithmetic: the exact expansion, no cancellation."""
    import mpmath

    mpmath.mp.dps = 50
    gamma = mpmath.mpf(10) ** (mpmath.mpf(snr_db) / 10)
    q = _mp_q(mpmath.sqrt(2 * mpmath.mpf(s2) * gamma))
    correct = mpmath.mpf(1)
    for levels in levels_per_axis:
        correct *= 1 - 2 * (1 - mpmath.mpf(1) / levels) * q
    return float(1 - correct)


def _mp_ser_rayleigh(levels_per_axis, s2, snr_db):
    """E over |h|² ~ Exp(1) of the AWGN SER, by 50-digit quadrature."""
    import mpmath

    mpmath.mp.dps = 50
    gamma = mpmath.mpf(10) ** (mpmath.mpf(snr_db) / 10)
    ks = [2 * (1 - mpmath.mpf(1) / L) for L in levels_per_axis]

    def ser(x):
        q = _mp_q(mpmath.sqrt(2 * mpmath.mpf(s2) * gamma * x))
        correct = mpmath.mpf(1)
        for k in ks:
            correct *= 1 - k * q
        return (1 - correct) * mpmath.exp(-x)

    return float(mpmath.quad(ser, [0, 1 / gamma, 100 / gamma, 1, mpmath.inf]))


SPECS = {"bpsk": ((2,), 1.0), "qpsk": ((2, 2), 0.5), "16qam": ((4, 4), 3 / 30)}


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("snr_db", [10.0, 14.0, 16.0, 20.0, 24.0, 30.0, 40.0])
def test_awgn_ser_keeps_its_digits_at_high_snr(name, snr_db):
    levels, s2 = SPECS[name]
    want = _mp_ser_awgn(levels, s2, snr_db)
    got = float(ser_awgn(name, snr_db))
    assert got > 0 or want < 1e-300
    assert got == pytest.approx(want, rel=1e-9)


def test_bpsk_ser_equals_its_ber_where_the_old_formula_returned_zero():
    got = float(ser_awgn("bpsk", 16.0))
    assert got == pytest.approx(float(ber_awgn("bpsk", 16.0)), rel=1e-12)
    assert got == pytest.approx(2.27e-19, rel=0.01)


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("snr_db", [0.0, 20.0, 40.0, 60.0, 80.0])
def test_rayleigh_ser_keeps_its_digits_at_high_snr(name, snr_db):
    levels, s2 = SPECS[name]
    want = _mp_ser_rayleigh(levels, s2, snr_db)
    assert float(ser_rayleigh(name, snr_db)) == pytest.approx(want, rel=1e-7)
